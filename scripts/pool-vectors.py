#!/usr/bin/python3
"""
Regenerates test/fixtures/pool-vectors.json: where pylibmc (libmemcached) puts keys in a pool.

It starts real memcached processes, stores every key through a pylibmc client over the whole
pool, then asks each node alone (a single-server client) which keys it holds. So the placement
is what libmemcached did, read back from the servers; nothing here computes a hash.

    /usr/bin/python3 scripts/pool-vectors.py > test/fixtures/pool-vectors.json

Needs Debian's python3-pylibmc and memcached, and free ports 41001..41009 on 127.0.0.1/::1 and
11211 on 127.0.0.2..127.0.0.4 (the port libmemcached leaves out of its continuum names).
"""
import json, os, random, subprocess, sys, time
import pylibmc
from pylibmc.client import translate_server_spec

MEMCACHED = os.environ.get("MEMCACHED_BIN", "/usr/bin/memcached")
BEHAVIORS = {
    "ketama_weighted": {"ketama_weighted": True},
    "ketama": {"ketama": True},
    "modula": {},
}

def P(port):
    return f"127.0.0.1:{port}"

CASES = [
    ("weighted, 1 node", "ketama_weighted", [P(41001)]),
    ("weighted, 2 nodes", "ketama_weighted", [P(41001), P(41002)]),
    ("weighted, 3 nodes", "ketama_weighted", [P(41001), P(41002), P(41003)]),
    ("weighted, 5 nodes", "ketama_weighted", [P(p) for p in range(41001, 41006)]),
    ("weighted, weights 1 2 3", "ketama_weighted", [P(41001) + ":1", P(41002) + ":2", P(41003) + ":3"]),
    ("weighted, 5 nodes, weights 1 1 2 3 7", "ketama_weighted",
     [P(41001) + ":1", P(41002) + ":1", P(41003) + ":2", P(41004) + ":3", P(41005) + ":7"]),
    ("weighted, port 11211 drops out of the name", "ketama_weighted",
     ["127.0.0.2:11211", "127.0.0.3:11211:2", "127.0.0.4:11211", P(41006)]),
    ("weighted, hostname and IPv6", "ketama_weighted",
     ["localhost:41007", "[::1]:41008", "[::1]:41009:2", P(41001)]),
    ("weighted, one IPv6 node", "ketama_weighted", ["[::1]:41008"]),
    ("ketama, 3 nodes", "ketama", [P(41001), P(41002), P(41003)]),
    ("ketama, a weight turns on the weighted circle", "ketama", [P(41001) + ":5", P(41002), P(41003) + ":2"]),
    ("ketama, 5 nodes with hostname and IPv6", "ketama",
     ["localhost:41007", "[::1]:41008", P(41001), P(41002), "127.0.0.2:11211"]),
    ("modula, 2 nodes", "modula", [P(41001), P(41002)]),
    ("modula, 5 nodes", "modula", [P(p) for p in range(41001, 41006)]),
    # Weights whose share libmemcached's float arithmetic rounds down where doubles would not.
    ("weighted, float rounding: weights 1 2 4 8 10", "ketama_weighted",
     [P(41001) + ":1", P(41002) + ":2", P(41003) + ":4", P(41004) + ":8", P(41005) + ":10"]),
]

def keys(seed, n):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        t = rng.choice(["idfa", "gaid", "adid", "dvid"])
        r = rng.random()
        if r < 0.7:
            dev = "%08x-%04x-%04x-%04x-%012x" % tuple(rng.getrandbits(b) for b in (32, 16, 16, 16, 48))
            key = f"{t}:{dev}".encode()
        elif r < 0.85:
            key = f"{t}:{rng.getrandbits(64):x}".encode()
        elif r < 0.95:
            # Bytes over 0x7f: libmemcached's one-at-a-time hash reads them as signed chars.
            key = f"{t}:".encode() + bytes(rng.choice([rng.randint(0x21, 0x7e), rng.randint(0x80, 0xff)]) for _ in range(rng.randint(1, 40)))
        else:
            key = f"{t}:".encode() + bytes(rng.randint(0x21, 0x7e) for _ in range(250 - 5))
        out.append(key)
    return out

def listen_of(spec):
    """(host to listen on, port) for a spec as pylibmc reads it."""
    _, host, port, _ = translate_server_spec(spec)
    return ("127.0.0.1" if host == "localhost" else host, port)

def unweighted(spec):
    """The same node without its weight: a client of that one server."""
    _, host, port, _ = translate_server_spec(spec)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

def start(addrs):
    procs = []
    for host, port in sorted(addrs):
        args = [MEMCACHED, "-l", f"[{host}]" if ":" in host else host, "-p", str(port), "-U", "0", "-m", "16"]
        if os.getuid() == 0:
            args += ["-u", "root"]
        procs.append(subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    deadline = time.time() + 5
    for host, port in addrs:
        spec = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        while True:
            try:
                pylibmc.Client([spec]).get_stats()
                break
            except pylibmc.Error:
                if time.time() > deadline:
                    raise SystemExit(f"memcached on {spec} did not start (port in use?)")
                time.sleep(0.05)
    return procs

def main():
    addrs = {listen_of(s) for _, _, specs in CASES for s in specs}
    procs = start(addrs)
    try:
        cases = []
        for i, (name, distribution, specs) in enumerate(CASES):
            ks = keys(i + 1, 400)
            pool = pylibmc.Client(specs, binary=False, behaviors=BEHAVIORS[distribution])
            pool.flush_all()
            for k in ks:
                assert pool.set(k, b"x"), (name, k)
            node_of = []
            singles = [pylibmc.Client([unweighted(s)]) for s in specs]
            holders = [set(c.get_multi(ks).keys()) for c in singles]
            for k in ks:
                where = [j for j, h in enumerate(holders) if k in h]
                assert len(where) == 1, (name, k, where)
                node_of.append(where[0])
            cases.append({
                "name": name,
                "distribution": distribution,
                "servers": specs,
                "keys": [k.decode("latin-1") for k in ks],
                "nodeOf": node_of,
            })
        json.dump({
            "generator": "scripts/pool-vectors.py",
            "pylibmc": pylibmc.__version__,
            "libmemcached": pylibmc.libmemcached_version,
            "keysAreLatin1": True,
            "cases": cases,
        }, sys.stdout, indent=1)
        sys.stdout.write("\n")
    finally:
        for p in procs:
            p.kill()
            p.wait()

main()
