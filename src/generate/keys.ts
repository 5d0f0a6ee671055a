/**
 * Device keys and the bounded pool of recent ones that repeated lines draw from.
 *
 * Ids are kept as four 32-bit words, not strings: the pool holds up to ~10^5 keys, and a
 * typed-array ring costs 21 bytes per key with nothing for the GC to trace.
 */
import type { Rng } from './rng.js';

export class DevKey {
  /** Index into DEVICE_TYPES. */
  type = 0;
  readonly id = new Uint32Array(4);

  fresh(rng: Rng, typeCount: number): this {
    this.type = rng.int(typeCount);
    for (let i = 0; i < 4; i++) this.id[i] = rng.u32();
    return this;
  }
}

export class KeyPool {
  readonly capacity: number;
  readonly #types: Uint8Array;
  readonly #ids: Uint32Array;
  // The last file that loaded each pooled key, to count distinct keys per file without a Set
  // of every key (up to millions a file).
  readonly #lastFile: Int32Array;
  #size = 0;
  #next = 0;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.#types = new Uint8Array(capacity);
    this.#ids = new Uint32Array(capacity * 4);
    this.#lastFile = new Int32Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Stores a copy of `key`, evicting the oldest when full; returns its slot, or -1 if no pool. */
  add(key: DevKey): number {
    if (this.capacity === 0) return -1;
    const slot = this.#next;
    this.#next = (slot + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
    this.#types[slot] = key.type;
    this.#ids.set(key.id, slot * 4);
    this.#lastFile[slot] = -1;
    return slot;
  }

  /** Copies a uniformly chosen pooled key into `out`; returns its slot. Pool must be non-empty. */
  pick(rng: Rng, out: DevKey): number {
    const slot = rng.int(this.#size);
    out.type = this.#types[slot];
    for (let i = 0; i < 4; i++) out.id[i] = this.#ids[slot * 4 + i];
    return slot;
  }

  /** Records that the key in `slot` was loaded by file `file`; true the first time. */
  markLoaded(slot: number, file: number): boolean {
    if (this.#lastFile[slot] === file) return false;
    this.#lastFile[slot] = file;
    return true;
  }
}
