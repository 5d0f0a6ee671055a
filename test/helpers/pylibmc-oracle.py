#!/usr/bin/python3
"""
The pool oracle: what readers built on libmemcached see. Reads a JSON request on stdin:

  {"behaviors": {"ketama_weighted": true}, "pools": {"idfa": ["h:p:w", ...], ...},
   "keys": {"idfa": ["idfa:...", ...], ...}}      (keys as latin-1 strings, one char per byte)

and prints, per type: "values", each key's value as pylibmc reads it through the whole pool (hex,
or null when missing), and "holders", per node the keys that node alone holds (read with a
client of that one server). Nothing here knows how memc-load places keys.
"""
import json, sys
import pylibmc
from pylibmc.client import translate_server_spec

def alone(spec):
    _, host, port, _ = translate_server_spec(spec)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

def main():
    req = json.load(sys.stdin)
    out = {}
    for t, specs in req["pools"].items():
        keys = [k.encode("latin-1") for k in req["keys"][t]]
        pool = pylibmc.Client(specs, binary=False, behaviors=req["behaviors"])
        values = {}
        for i in range(0, len(keys), 1000):
            values.update(pool.get_multi(keys[i:i + 1000]))
        holders = []
        for spec in specs:
            one = pylibmc.Client([alone(spec)], binary=False)
            held = {}
            for i in range(0, len(keys), 1000):
                held.update(one.get_multi(keys[i:i + 1000]))
            holders.append(sorted(k.decode("latin-1") for k in held))
        out[t] = {
            "values": {k.decode("latin-1"): (values[k].hex() if k in values else None) for k in keys},
            "holders": holders,
        }
    json.dump(out, sys.stdout)

main()
