/**
 * In-order reassembly: workers finish chunks in any order, but writes must reach each server in
 * line order for the last line to win. Entries are released strictly by sequence number.
 * The map never holds more than the pipeline's bound on outstanding chunks.
 */
export class Sequencer<T> {
  readonly #pending = new Map<number, T>();
  readonly #apply: (entry: T) => void;
  #next = 0;

  constructor(apply: (entry: T) => void) {
    this.#apply = apply;
  }

  put(seq: number, entry: T): void {
    this.#pending.set(seq, entry);
    for (let e = this.#pending.get(this.#next); e !== undefined; e = this.#pending.get(this.#next)) {
      this.#pending.delete(this.#next);
      this.#next++;
      this.#apply(e);
    }
  }

  get waiting(): number {
    return this.#pending.size;
  }
}
