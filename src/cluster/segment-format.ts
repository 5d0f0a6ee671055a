/**
 * A segment: one lane's share of one split file, the frames exactly as the loader would send
 * them, in line order, in the loader's batches (each closed by its `mn\r\n` fence):
 *
 *   "MCLSEG1\n" │ len u32le │ records u32le │ len bytes: ms …ms … mn\r\n │ len │ records │ … │
 *
 * The batch header exists so apply can hand the connection whole batches without parsing
 * frames, and so each acknowledgement (`MN`) counts the records it covers. Pure: no I/O here,
 * the reader takes chunks cut anywhere (a stream's reads). A truncated or foreign segment is
 * an error, never a short load: the manifest's byte and record counts are checked at the end.
 */

export const SEGMENT_MAGIC = Buffer.from('MCLSEG1\n', 'latin1');
export const BATCH_HEADER_BYTES = 8;
/**
 * A batch is a lane's share of one --batch-bytes chunk (at most 64 MiB of input); its frames
 * are a little larger than its lines. Anything far beyond is damage, not data.
 */
export const MAX_SEGMENT_BATCH_BYTES = 256 * 1024 * 1024;

const FENCE = [0x6d, 0x6e, 0x0d, 0x0a]; // mn\r\n

export interface SegmentBatch {
  /**
   * The frames and their closing `mn\r\n` (kept until acknowledged): a view of the chunk read when
   * the batch lies inside one, else a buffer of its own. The reader never writes to a chunk it was
   * given, so a view stays as read.
   */
  readonly buf: Uint8Array;
  readonly records: number;
}

/** The 8-byte header that goes before `frames` (which must end with `mn\r\n`). */
export function batchHeader(frames: Uint8Array, records: number): Buffer {
  if (!endsWithFence(frames)) throw new Error('a segment batch must end with mn\\r\\n');
  if (!Number.isInteger(records) || records < 1 || records > 0xffffffff) throw new Error(`bad record count ${records}`);
  const h = Buffer.allocUnsafe(BATCH_HEADER_BYTES);
  h.writeUInt32LE(frames.byteLength, 0);
  h.writeUInt32LE(records, 4);
  return h;
}

function endsWithFence(b: Uint8Array): boolean {
  const n = b.byteLength;
  return n >= 4 && b[n - 4] === FENCE[0] && b[n - 3] === FENCE[1] && b[n - 2] === FENCE[2] && b[n - 1] === FENCE[3];
}

/** What `pushWhole` took from a chunk. */
export interface WholeBatches {
  readonly batches: SegmentBatch[];
  /** Bytes taken: the magic and the whole batches. */
  readonly used: number;
  /** The least bytes the rest of the chunk needs to make its batch whole: its header, then header and body. */
  readonly need: number;
}

function u32le(b: Uint8Array, at: number): number {
  return ((b[at] as number) | ((b[at + 1] as number) << 8) | ((b[at + 2] as number) << 16)) + (b[at + 3] as number) * 0x1000000;
}

/** What a whole segment held, for checking against the manifest. */
export interface SegmentTotals {
  readonly bytes: number;
  readonly records: number;
  readonly batches: number;
}

/**
 * Incremental reader: `push` each chunk as it is read, get the batches it completes; `end`
 * throws if the segment stopped inside its magic, a header or a batch. A batch may be a view of
 * the chunk it came in: the caller must not reuse a chunk while its batches are in use (a file
 * stream's chunks are each fresh memory).
 */
export class SegmentReader {
  #magicSeen = 0;
  #header = Buffer.alloc(BATCH_HEADER_BYTES);
  #headerSeen = 0;
  /** The batch being filled, and its record count; null between batches. */
  #body: Buffer | null = null;
  #bodySeen = 0;
  #records = 0;
  #bytes = 0;
  #totalRecords = 0;
  #batches = 0;
  /** Batches completed by the chunk being pushed. */
  readonly #out: SegmentBatch[] = [];
  readonly #name: string;

  /** `name`: the segment's path, for messages. */
  constructor(name: string) {
    this.#name = name;
  }

  push(chunk: Uint8Array): SegmentBatch[] {
    this.#out.length = 0; // what a push that threw left
    let i = 0;
    this.#bytes += chunk.byteLength;
    while (i < chunk.byteLength) {
      if (this.#magicSeen < SEGMENT_MAGIC.length) {
        if (chunk[i] !== SEGMENT_MAGIC[this.#magicSeen]) throw new Error(`${this.#name}: not a segment (bad magic at byte ${this.#magicSeen})`);
        this.#magicSeen++;
        i++;
        continue;
      }
      if (this.#body === null) {
        const take = Math.min(BATCH_HEADER_BYTES - this.#headerSeen, chunk.byteLength - i);
        this.#header.set(chunk.subarray(i, i + take), this.#headerSeen);
        this.#headerSeen += take;
        i += take;
        if (this.#headerSeen < BATCH_HEADER_BYTES) break;
        const len = this.#header.readUInt32LE(0);
        const records = this.#header.readUInt32LE(4);
        if (len < 4 || len > MAX_SEGMENT_BATCH_BYTES || records < 1) {
          throw new Error(`${this.#name}: damaged batch header (${len} bytes, ${records} records) after batch ${this.#batches}`);
        }
        if (chunk.byteLength - i >= len) {
          // Whole inside this chunk (the common case: a batch is ~1/8 of a 1 MiB read): no copy,
          // no fresh memory to fault in (issue #19 item 4).
          const body = chunk.subarray(i, i + len);
          i += len;
          this.#headerSeen = 0;
          this.#ended(body, records);
          continue;
        }
        this.#body = Buffer.allocUnsafe(len);
        this.#bodySeen = 0;
        this.#records = records;
        this.#headerSeen = 0;
        continue;
      }
      const body = this.#body;
      const take = Math.min(body.byteLength - this.#bodySeen, chunk.byteLength - i);
      body.set(chunk.subarray(i, i + take), this.#bodySeen);
      this.#bodySeen += take;
      i += take;
      if (this.#bodySeen < body.byteLength) break;
      this.#body = null;
      this.#ended(body, this.#records);
    }
    return this.#out.splice(0);
  }

  /**
   * Like `push`, but takes only the magic and whole batches (header and body inside `chunk`), each
   * a view of it: `used` bytes; the rest is the start of the next batch, which the caller hands
   * again at the start of its next chunk (`need`: that chunk's least size, the whole batch once its
   * header is in). No batch is then ever a copy of its own (issue #19 item 4). Between batches only.
   */
  pushWhole(chunk: Uint8Array): WholeBatches {
    if (this.#body !== null || this.#headerSeen > 0) throw new Error(`${this.#name}: pushWhole inside a batch`);
    this.#out.length = 0; // what a push that threw left
    let i = 0;
    while (i < chunk.byteLength && this.#magicSeen < SEGMENT_MAGIC.length) {
      if (chunk[i] !== SEGMENT_MAGIC[this.#magicSeen]) throw new Error(`${this.#name}: not a segment (bad magic at byte ${this.#magicSeen})`);
      this.#magicSeen++;
      i++;
    }
    let need = BATCH_HEADER_BYTES;
    while (chunk.byteLength - i >= BATCH_HEADER_BYTES) {
      const len = u32le(chunk, i);
      const records = u32le(chunk, i + 4);
      if (len < 4 || len > MAX_SEGMENT_BATCH_BYTES || records < 1) {
        throw new Error(`${this.#name}: damaged batch header (${len} bytes, ${records} records) after batch ${this.#batches}`);
      }
      need = BATCH_HEADER_BYTES + len;
      if (chunk.byteLength - i < need) break;
      this.#ended(chunk.subarray(i + BATCH_HEADER_BYTES, i + need), records);
      i += need;
      need = BATCH_HEADER_BYTES;
    }
    this.#bytes += i;
    return { batches: this.#out.splice(0), used: i, need };
  }

  #ended(body: Uint8Array, records: number): void {
    if (!endsWithFence(body)) throw new Error(`${this.#name}: batch ${this.#batches} does not end with its mn fence`);
    this.#out.push({ buf: body, records });
    this.#totalRecords += records;
    this.#batches++;
  }

  /** The segment's end: its totals, or an error if it stopped part-way. */
  end(): SegmentTotals {
    if (this.#magicSeen < SEGMENT_MAGIC.length) throw new Error(`${this.#name}: truncated (no segment header)`);
    if (this.#body !== null || this.#headerSeen > 0) throw new Error(`${this.#name}: truncated inside batch ${this.#batches}`);
    return { bytes: this.#bytes, records: this.#totalRecords, batches: this.#batches };
  }
}
