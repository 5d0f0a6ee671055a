/**
 * `UserApps` (appsinstalled.proto) written by hand, byte-identical to Google's protobuf for the
 * reference loader:
 *
 *   apps  field 1, proto2 `repeated uint32` is unpacked: 0x08 <varint> per id, in line order
 *   lat   field 2, double: 0x11 <8 bytes little-endian>   — always written, even 0 or -0
 *   lon   field 3, double: 0x19 <8 bytes little-endian>
 *
 * The packed form (0x0a <byte length> <varints>, omitted with no apps) is smaller and decodes to
 * the same message in any protobuf library, but it changes the stored bytes, so it is opt-in.
 * A generated codec would build a message object per record; these functions write into a
 * caller's buffer and allocate nothing.
 */
import { InvalidArgumentError } from '../errors.js';

const TAG_APPS_VARINT = 0x08; // (1 << 3) | 0
const TAG_APPS_PACKED = 0x0a; // (1 << 3) | 2
const TAG_LAT = 0x11; // (2 << 3) | 1
const TAG_LON = 0x19; // (3 << 3) | 1
/** lat and lon: a tag and 8 bytes each, in every message. */
const GEO_BYTES = 18;

/**
 * The layout above for the fast path (pipeline/fast-line.ts), which writes the message itself.
 * An object, not exported constants: V8 reads an exported binding through its cell even in its
 * own module, so exporting the constants above made writeUserApps ~3% slower per line.
 */
export const USER_APPS_LAYOUT = { TAG_APPS_VARINT, TAG_APPS_PACKED, TAG_LAT, TAG_LON, GEO_BYTES } as const;

/** The message as plain data. */
export interface UserApps {
  readonly apps: ArrayLike<number>;
  readonly lat: number;
  readonly lon: number;
}

export interface UserAppsOptions {
  /** Write apps in protobuf's packed form instead of the reference's unpacked form. */
  readonly packed?: boolean;
}

/** Bytes of a uint32 as a varint. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Sum of the varint sizes of the first `count` ids of `apps` (the packed payload length). */
export function appsPayloadSize(apps: ArrayLike<number>, count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) n += varintSize(apps[i]);
  return n;
}

/**
 * Encoded size of a message with `count` apps whose varints take `payload` bytes in total
 * (`appsPayloadSize`; the line parser sums it as it reads the ids).
 */
export function userAppsSize(count: number, payload: number, packed: boolean): number {
  const appsBytes = packed ? (count === 0 ? 0 : 1 + varintSize(payload) + payload) : count + payload;
  return appsBytes + GEO_BYTES;
}

function writeVarint(target: Uint8Array, offset: number, v: number): number {
  while (v >= 0x80) {
    target[offset++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  target[offset++] = v;
  return offset;
}

// Doubles go through one shared 8-byte scratch; a DataView over each target would allocate.
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeDouble(target: Uint8Array, offset: number, v: number): number {
  f64[0] = v;
  if (LITTLE_ENDIAN) {
    for (let i = 0; i < 8; i++) target[offset + i] = f64Bytes[i];
  } else {
    for (let i = 0; i < 8; i++) target[offset + i] = f64Bytes[7 - i];
  }
  return offset + 8;
}

/**
 * Write the message at `target[offset]`, which must have `userAppsSize(...)` bytes free.
 * `payload` is `appsPayloadSize(apps, count)` (only read when packed). Returns the offset just
 * past the message.
 */
export function writeUserApps(
  target: Uint8Array,
  offset: number,
  apps: ArrayLike<number>,
  count: number,
  payload: number,
  lat: number,
  lon: number,
  packed: boolean,
): number {
  if (packed) {
    if (count > 0) {
      target[offset++] = TAG_APPS_PACKED;
      offset = writeVarint(target, offset, payload);
      for (let i = 0; i < count; i++) offset = writeVarint(target, offset, apps[i]);
    }
  } else {
    for (let i = 0; i < count; i++) {
      target[offset++] = TAG_APPS_VARINT;
      offset = writeVarint(target, offset, apps[i]);
    }
  }
  target[offset++] = TAG_LAT;
  offset = writeDouble(target, offset, lat);
  target[offset++] = TAG_LON;
  return writeDouble(target, offset, lon);
}

/** Encode one message into a new Buffer. Ids must be integers in 0..2^32-1. */
export function encodeUserApps(msg: UserApps, options: UserAppsOptions = {}): Buffer {
  const packed = options.packed === true;
  const count = msg.apps.length;
  for (let i = 0; i < count; i++) {
    const id = msg.apps[i];
    if (!Number.isInteger(id) || id < 0 || id > 0xffffffff) {
      throw new InvalidArgumentError(`app id ${id} is not a uint32`);
    }
  }
  const payload = appsPayloadSize(msg.apps, count);
  const buf = Buffer.allocUnsafe(userAppsSize(count, payload, packed));
  writeUserApps(buf, 0, msg.apps, count, payload, msg.lat, msg.lon, packed);
  return buf;
}

export interface DecodedUserApps {
  readonly apps: number[];
  /** 0 when absent, as protobuf's getters report an unset optional double. */
  readonly lat: number;
  readonly lon: number;
}

/**
 * Decode a stored value, packed or unpacked (a protobuf parser must accept both for a repeated
 * scalar). Unknown fields are skipped. Throws InvalidArgumentError on malformed input.
 */
export function decodeUserApps(buf: Uint8Array): DecodedUserApps {
  const apps: number[] = [];
  let lat = 0;
  let lon = 0;
  let p = 0;

  const malformed = (what: string): never => {
    throw new InvalidArgumentError(`malformed UserApps value: ${what} at byte ${p}`);
  };
  // Varints up to 10 bytes are legal; uint32 keeps the low 32 bits, as protobuf does.
  const readVarint = (): number => {
    let v = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= buf.length) malformed('truncated varint');
      const b = buf[p++];
      if (i < 5) v += (b & 0x7f) * 2 ** (7 * i);
      if (b < 0x80) return v % 0x100000000;
    }
    return malformed('varint longer than 10 bytes');
  };
  const readDouble = (): number => {
    if (p + 8 > buf.length) malformed('truncated double');
    for (let i = 0; i < 8; i++) f64Bytes[LITTLE_ENDIAN ? i : 7 - i] = buf[p + i];
    p += 8;
    return f64[0];
  };

  while (p < buf.length) {
    const tag = readVarint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) malformed('field number 0');
    if (field === 1 && wire === 0) {
      apps.push(readVarint());
    } else if (field === 1 && wire === 2) {
      // Read the length first: in `p + readVarint()` the old p would be used.
      const len = readVarint();
      const end = p + len;
      if (end > buf.length) malformed('truncated packed apps');
      while (p < end) apps.push(readVarint());
      if (p !== end) malformed('packed apps overrun');
    } else if (field === 2 && wire === 1) {
      lat = readDouble();
    } else if (field === 3 && wire === 1) {
      lon = readDouble();
    } else if (wire === 0) {
      readVarint();
    } else if (wire === 1) {
      p += 8;
    } else if (wire === 2) {
      const len = readVarint();
      p += len;
    } else if (wire === 5) {
      p += 4;
    } else {
      malformed(`unsupported wire type ${wire}`);
    }
    if (p > buf.length) malformed('truncated field');
  }
  return { apps, lat, lon };
}
