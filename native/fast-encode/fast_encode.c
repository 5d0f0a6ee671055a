/*
 * The chunk encoder's fast path in C (src/pipeline/native-encode.ts, --encoder native): a run of
 * clean lines parsed and written as quiet meta sets in one call, byte for byte what
 * encodeCleanLine (src/pipeline/fast-line.ts) writes. Like it, it never judges a line: at the
 * first line it does not take (not clean, or its type's buffer has not the room) it stops and
 * returns where, and JS handles that line (grow, JS fast path or the general parser) and calls
 * again. Declines are rare (~0.1% of lines), so a chunk costs a few calls.
 *
 * Bounds: the caller passes `last_lf`, the chunk's last newline, which is checked here to be one.
 * Every scan below advances only over bytes that are not a newline (key bytes, digits, '-', '.',
 * ','), and reads one byte past what it advanced over only after the previous was such a byte,
 * so no read passes `last_lf`; the 4-byte id loads stop 4 bytes before it. Every write is
 * checked against the end of its out buffer (the room test before a line makes the later
 * checks never fail, but they do not rely on it).
 *
 * Words are read and written little-endian (x86-64, arm64): on a big-endian host the start-up
 * check fails and lines are encoded in JS. App ids are read a byte at a time: reading them eight
 * bytes at once (SWAR digit masks and multiplies) took ~10% more CPU on the micro benchmark
 * (its ids have 1-4 digits).
 *
 * Context-aware (NAPI_MODULE_INIT), no global state: each worker thread loads it.
 */
#ifdef MEMC_LOAD_SIMULATE_BUILD_FAILURE
#error "build failure simulated (MEMC_LOAD_SIMULATE_BUILD_FAILURE=1)"
#endif
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <string.h>

#define TAB 0x09
#define LF 0x0a
#define TYPES 4
#define TYPE_BYTES 4
/* record/key.ts: MAX_KEY_BYTES (250) - TYPE_BYTES - 1. */
#define MAX_DEV_ID_BYTES 245
/* fast-line.ts: FAST_MAX_LINE and FAST_OUT_ROOM (the room asked for besides the flags). */
#define FAST_MAX_LINE (64 * 1024)
#define FAST_OUT_ROOM (FAST_MAX_LINE + 512)
/* proto/user-apps.ts */
#define TAG_APPS_VARINT 0x08
#define TAG_LAT 0x11
#define TAG_LON 0x19
#define GEO_BYTES 18
#define LEN_DIGITS 3
/* state: used[4], records[4], then the lines taken by this call. */
#define STATE_LEN 9

/* config/servers.ts DEVICE_TYPES, in order: a line's type index is its server index. */
static const char TYPE_NAMES[TYPES][TYPE_BYTES] = {{'i', 'd', 'f', 'a'}, {'g', 'a', 'i', 'd'}, {'a', 'd', 'i', 'd'}, {'d', 'v', 'i', 'd'}};

/* Exact doubles; m / 10^k with m < 2^53 is one correctly rounded division, as in JS. */
static const double POW10[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static inline int key_byte(uint8_t c) { return c > 0x20 && c != 0x7f; }
static inline int digit(uint8_t c) { return (unsigned)(c - '0') <= 9; }

static int type_at(const uint8_t *in) {
  for (int t = 0; t < TYPES; t++)
    if (memcmp(in, TYPE_NAMES[t], TYPE_BYTES) == 0) return t;
  return -1;
}

/*
 * `-?digits[.digits]` with 1..15 digits in all, from in[*pos]; *pos is left where it stopped.
 * Returns 0 when the text is not of that shape (fast-line.ts parseCoordinate's NaN).
 */
static int coordinate(const uint8_t *in, size_t *pos, double *out) {
  size_t i = *pos;
  int negative = 0;
  if (in[i] == '-') {
    negative = 1;
    i++;
  }
  double m = 0;
  size_t first = i;
  while (digit(in[i])) m = m * 10 + (in[i++] - '0');
  size_t digits = i - first;
  size_t fraction = 0;
  if (in[i] == '.') {
    size_t frac_start = ++i;
    while (digit(in[i])) m = m * 10 + (in[i++] - '0');
    fraction = i - frac_start;
    digits += fraction;
  }
  *pos = i;
  if (digits == 0 || digits > 15) return 0;
  double v = m / POW10[fraction];
  *out = negative ? -v : v;
  return 1;
}

/*
 * The line at in[start] (its type and tab checked by the caller) into out[p..out_end), if clean:
 * returns the position after its newline and sets *frame_end; or 0 (a line never ends at 0),
 * having written nothing the caller keeps.
 */
static size_t encode_line(const uint8_t *in, size_t last_lf, size_t start, uint8_t *out, size_t p, size_t out_end,
                          const uint8_t *flags, size_t flags_len, size_t max_line, size_t *frame_end) {
  /* `ms <type>:`, the prefix, the id, ` NNNNN`, the flags: the header's most. */
  if (out_end - p < 8 + MAX_DEV_ID_BYTES + 6 + flags_len) return 0;
  memcpy(out + p, "ms ", 3);
  memcpy(out + p + 3, in + start, TYPE_BYTES);
  out[p + 7] = ':';
  p += 8;

  size_t i = start + TYPE_BYTES + 1;
  const size_t id_start = i;
  size_t id_stop = id_start + MAX_DEV_ID_BYTES + 1;
  /* Words while none of their bytes ends the id (fast-line.ts has the bit test's why). */
  size_t word_stop = (id_stop < last_lf ? id_stop : last_lf);
  while (i + 4 <= word_stop) {
    uint32_t w;
    memcpy(&w, in + i, 4);
    uint32_t x = w ^ 0x7f7f7f7fu;
    if ((((w - 0x21212121u) & ~w) | ((x - 0x01010101u) & ~x)) & 0x80808080u) break;
    i += 4;
  }
  while (i < id_stop && key_byte(in[i])) i++;
  size_t id_len = i - id_start;
  if (in[i] != TAB || id_len == 0 || id_len > MAX_DEV_ID_BYTES) return 0;
  memcpy(out + p, in + id_start, id_len);
  p += id_len;

  double lat, lon;
  i++;
  if (!coordinate(in, &i, &lat) || in[i] != TAB) return 0;
  i++;
  if (!coordinate(in, &i, &lon) || in[i] != TAB) return 0;
  i++;

  /* The value goes where a 3-digit length would leave it: ` NNN` then the flags. */
  const size_t header_end = p + 1 + LEN_DIGITS + flags_len;
  size_t q = header_end;
  const size_t limit = start + max_line;
  if (in[i] != LF) {
    for (;;) {
      if (!digit(in[i])) return 0;
      const size_t first = i;
      uint32_t v = 0;
      /* Unsigned, so a long run wraps harmlessly; more than 9 digits is declined below. */
      while (digit(in[i])) v = v * 10 + (uint32_t)(in[i++] - '0');
      if (i - first > 9) return 0;
      if (out_end - q < 6) return 0;
      out[q++] = TAG_APPS_VARINT;
      while (v >= 0x80) {
        out[q++] = (uint8_t)((v & 0x7f) | 0x80);
        v >>= 7;
      }
      out[q++] = (uint8_t)v;
      if (in[i] != ',') break;
      i++;
      if (i > limit) return 0;
    }
    if (in[i] != LF) return 0;
  }
  if (i > limit) return 0;
  /* Geo, a longer length's shift (at most 2: the value is < 10^5 bytes) and `\r\n`. */
  if (out_end - q < GEO_BYTES + 2 + 2) return 0;
  out[q] = TAG_LAT;
  memcpy(out + q + 1, &lat, 8);
  out[q + 9] = TAG_LON;
  memcpy(out + q + 10, &lon, 8);
  q += GEO_BYTES;

  const size_t value_len = q - header_end;
  if (value_len >= 100000) return 0;
  const size_t len_digits = value_len < 100 ? 2 : value_len < 1000 ? 3 : value_len < 10000 ? 4 : 5;
  if (len_digits != LEN_DIGITS) {
    /* 2 digits move the value back one byte, 4 or 5 forward. */
    memmove(out + header_end + len_digits - LEN_DIGITS, out + header_end, value_len);
    q = q + len_digits - LEN_DIGITS;
  }
  out[p++] = ' ';
  size_t rest = value_len;
  for (size_t k = len_digits; k-- > 0;) {
    out[p + k] = (uint8_t)('0' + rest % 10);
    rest /= 10;
  }
  p += len_digits;
  /* An empty Uint8Array has no data pointer, and memcpy from NULL is undefined even for 0 bytes. */
  if (flags_len > 0) memcpy(out + p, flags, flags_len);
  out[q++] = '\r';
  out[q++] = '\n';
  *frame_end = q;
  return i + 1;
}

#define CHECK(env, call)                                                 \
  do {                                                                   \
    if ((call) != napi_ok) {                                             \
      napi_throw_error((env), NULL, "fast-encode: " #call " failed");   \
      return NULL;                                                       \
    }                                                                    \
  } while (0)

static int bytes_of(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is;
  napi_typedarray_type type;
  void *d;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  if (napi_get_typedarray_info(env, v, &type, len, &d, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = d;
  return 1;
}

/*
 * run(input, start, lastLf, maxLine, flags, out0, out1, out2, out3, state) -> stop
 * input, flags, out*: Uint8Array (a Buffer is one); state: Int32Array of used[4], records[4] and
 * (written) the lines taken. Encodes clean lines from `start` while they are before `lastLf`,
 * clean, and their type's out buffer has FAST_OUT_ROOM + flags bytes free after used[type];
 * returns the start of the first line it did not take.
 */
static napi_value run(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 10) {
    napi_throw_type_error(env, NULL, "fast-encode: run takes 10 arguments");
    return NULL;
  }
  uint8_t *in, *flags, *outs[TYPES];
  size_t in_len, flags_len, out_lens[TYPES];
  int64_t start64, last_lf64, max_line64;
  int ok = bytes_of(env, argv[0], &in, &in_len) && bytes_of(env, argv[4], &flags, &flags_len);
  for (int t = 0; t < TYPES; t++) ok = ok && bytes_of(env, argv[5 + t], &outs[t], &out_lens[t]);
  ok = ok && napi_get_value_int64(env, argv[1], &start64) == napi_ok && napi_get_value_int64(env, argv[2], &last_lf64) == napi_ok &&
       napi_get_value_int64(env, argv[3], &max_line64) == napi_ok;
  napi_typedarray_type st;
  size_t state_len;
  void *state_data;
  bool is_ta;
  ok = ok && napi_is_typedarray(env, argv[9], &is_ta) == napi_ok && is_ta &&
       napi_get_typedarray_info(env, argv[9], &st, &state_len, &state_data, NULL, NULL) == napi_ok && st == napi_int32_array &&
       state_len >= STATE_LEN;
  if (!ok) {
    napi_throw_type_error(env, NULL, "fast-encode: run(Uint8Array, int, int, int, Uint8Array, Uint8Array x4, Int32Array(9))");
    return NULL;
  }
  int32_t *state = state_data;
  if (start64 < 0 || last_lf64 < 0 || (uint64_t)last_lf64 >= in_len || in[last_lf64] != LF || max_line64 < 0) {
    napi_throw_range_error(env, NULL, "fast-encode: lastLf is not a newline of the input");
    return NULL;
  }
  for (int t = 0; t < TYPES; t++) {
    if (state[t] < 0 || (size_t)state[t] > out_lens[t]) {
      napi_throw_range_error(env, NULL, "fast-encode: a used count is outside its buffer");
      return NULL;
    }
  }
  const size_t last_lf = (size_t)last_lf64;
  const size_t max_line = max_line64 < FAST_MAX_LINE ? (size_t)max_line64 : FAST_MAX_LINE;
  const size_t room = FAST_OUT_ROOM + flags_len;
  size_t start = (size_t)start64;
  int32_t lines = 0;
  while (start + 4 < last_lf) {
    if (in[start + TYPE_BYTES] != TAB) break;
    const int type = type_at(in + start);
    if (type < 0) break;
    const size_t used = (size_t)state[type];
    /* A count the caller passed at its top would overflow (undefined for int32_t): JS takes the line. */
    if (out_lens[type] - used < room || state[TYPES + type] == INT32_MAX) break;
    size_t frame_end;
    const size_t next = encode_line(in, last_lf, start, outs[type], used, out_lens[type], flags, flags_len, max_line, &frame_end);
    if (next == 0 || frame_end > INT32_MAX) break;
    state[type] = (int32_t)frame_end;
    state[TYPES + type]++;
    lines++;
    start = next;
  }
  state[2 * TYPES] = lines;
  napi_value result;
  CHECK(env, napi_create_double(env, (double)start, &result));
  return result;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "run", NAPI_AUTO_LENGTH, run, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "run", fn) != napi_ok) return NULL;
  return exports;
}
