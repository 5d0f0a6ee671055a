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
 * so no byte read is past `last_lf`. Word loads (8 bytes of the id, of app ids and of a
 * coordinate's digits) are made only where all 8 bytes are before `last_lf`; nearer it the same
 * scans go a byte at a time. The vector paths for app ids: apps_avx512's 64-byte load is masked
 * to the bytes up to `last_lf`; apps_avx2 (AVX2 has no masked loads) reads a 64-byte block only
 * where all of it is at or before `last_lf`, and leaves the rest of the line to the scalar loop.
 * Writes: encode_line checks the room once, for the longest line it takes (see there), so the
 * stores of one app id or of the id need no test each.
 *
 * Words are read and written little-endian (x86-64, arm64): on a big-endian host the start-up
 * check fails and lines are encoded in JS. App ids: most are 4 digits and a comma, taken by one
 * 4-byte test and a branch that is nearly always taken. Counting each id's digits from a word
 * without that branch (a ctz per id) made every id wait for the previous one's count: ~10% more
 * CPU than a byte at a time on the micro benchmark, and no faster on the bench's lines for 18%
 * fewer instructions (issue #19's entry in docs/benchmarks.md's log).
 *
 * Context-aware (NAPI_MODULE_INIT), no global state: each worker thread loads it.
 */
#ifdef MEMC_LOAD_SIMULATE_BUILD_FAILURE
#error "build failure simulated (MEMC_LOAD_SIMULATE_BUILD_FAILURE=1)"
#endif
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
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

#define ONES 0x0101010101010101ull

/* The app ids' path, chosen when the addon loads (simd_mode): one at a time, apps_avx2 or apps_avx512. */
enum { SIMD_NONE = 0, SIMD_AVX2 = 1, SIMD_AVX512 = 2 };

/*
 * App ids, 8 input bytes at a time (in[i..i+7], all before last_lf). A byte is a digit when
 * c - '0' is 0..9: below '0' the subtraction borrows (its top bit set), from 10 up c - '0' +
 * 0x76 reaches 0x80, and from 0x8a up it carries. A borrow or a carry only spoils the bytes
 * after a non-digit, so the lowest flagged byte of non_digits() is exactly the first non-digit.
 */
static inline uint64_t non_digits(uint64_t d) { return (d | (d + 0x76 * ONES)) & 0x80 * ONES; }

/* The value of the 4 digits d holds (c - '0' each, the first in the low byte): pairs, then the pair of pairs. */
static inline uint32_t four_digits(uint32_t d) {
  d = d * 10 + (d >> 8);
  return ((d & 0x00ff00ffu) * (1 + (100u << 16))) >> 16;
}

/* The value of the first n (1..8) digits of d: moved to the word's top (leading zeros below), then summed in pairs, fours and eights. */
static inline uint32_t digits_value(uint64_t d, unsigned n) {
  uint64_t x = d << (64 - 8 * n);
  x = x * 10 + (x >> 8);
  x = ((x & 0x000000ff000000ffull) * (100 + (1000000ull << 32)) + ((x >> 16) & 0x000000ff000000ffull) * (1 + (10000ull << 32))) >> 32;
  return (uint32_t)x;
}

/* Tag and varint at out[q]; returns the end. 1- and 2-byte varints (ids < 16384) are one store. */
static inline size_t put_app(uint8_t *out, size_t q, uint32_t v) {
  if (v - 0x80 < 0x4000 - 0x80) {
    const uint32_t b = TAG_APPS_VARINT | ((v & 0x7f) | 0x80) << 8 | (v >> 7) << 16;
    memcpy(out + q, &b, 4);
    return q + 3;
  }
  if (v < 0x80) {
    const uint16_t b = (uint16_t)(TAG_APPS_VARINT | v << 8);
    memcpy(out + q, &b, 2);
    return q + 2;
  }
  out[q++] = TAG_APPS_VARINT;
  while (v >= 0x80) {
    out[q++] = (uint8_t)((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out[q++] = (uint8_t)v;
  return q;
}

/*
 * The digits at in[i] appended to *m (m * 10 + digit each); returns where they stop. Eight
 * bytes at a time while they are before last_lf (i < last_lf: in[i] is not the line's newline).
 */
static inline size_t digit_run(const uint8_t *in, size_t i, size_t last_lf, uint64_t *m) {
  static const uint64_t SCALE[9] = {1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000};
  uint64_t acc = *m;
  while (i + 7 < last_lf) {
    uint64_t w;
    memcpy(&w, in + i, 8);
    const uint64_t d = w - 0x30 * ONES;
    const uint64_t nd = non_digits(d);
    const unsigned n = nd == 0 ? 8 : (unsigned)__builtin_ctzll(nd) >> 3;
    if (n > 0) acc = acc * SCALE[n] + digits_value(d, n);
    i += n;
    if (n < 8) {
      *m = acc;
      return i;
    }
  }
  while (digit(in[i])) acc = acc * 10 + (uint64_t)(in[i++] - '0');
  *m = acc;
  return i;
}

/*
 * `-?digits[.digits]` with 1..15 digits in all, from in[*pos]; *pos is left where it stopped.
 * Returns 0 when the text is not of that shape (fast-line.ts parseCoordinate's NaN).
 * The digits gather in an integer: with at most 15 of them m < 10^15 < 2^53, so (double)m is
 * exact and m / 10^k is the one correctly rounded division JS does. More digits wrap the
 * unsigned sum harmlessly: such a text is declined.
 */
static int coordinate(const uint8_t *in, size_t last_lf, size_t *pos, double *out) {
  size_t i = *pos;
  const int negative = in[i] == '-';
  i += (size_t)negative;
  uint64_t m = 0;
  const size_t first = i;
  i = digit_run(in, i, last_lf, &m);
  size_t digits = i - first;
  size_t fraction = 0;
  if (in[i] == '.') {
    const size_t frac_start = ++i;
    i = digit_run(in, i, last_lf, &m);
    fraction = i - frac_start;
    digits += fraction;
  }
  *pos = i;
  if (digits == 0 || digits > 15) return 0;
  const double v = (double)m / POW10[fraction];
  *out = negative ? -v : v;
  return 1;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_APPS_SIMD 1
#define APPS_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vbmi,avx512vbmi2,bmi,bmi2,popcnt")))

/* Whether this CPU runs apps_avx512 (vpcompressb is AVX512-VBMI2: Ice Lake, Zen 4 and later). */
static int apps_avx512_supported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vbmi") &&
         __builtin_cpu_supports("avx512vbmi2") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
}

/*
 * A 64-byte block's separators for the vector paths, from its comma and digit masks (bit b:
 * in[i+b]): the commas up to the first byte that is neither, and that byte, which must be the
 * line's newline and among the `avail` bytes read (*line_end set, where line_end is given); 0
 * when the block holds another byte there, or no separator.
 */
static inline uint64_t block_seps(const uint8_t *in, size_t i, uint64_t comma, uint64_t digits, size_t avail, int *line_end) {
  const uint64_t other = ~(comma | digits);
  if (line_end != NULL) *line_end = other != 0;
  if (other == 0) return comma;
  const unsigned p = (unsigned)__builtin_ctzll(other);
  if (p >= avail || in[i + p] != LF) return 0;
  return (comma & ((1ull << p) - 1)) | 1ull << p;
}

/* Bits 0..bit set. */
static inline uint64_t bits_through(unsigned bit) { return bit == 63 ? ~0ull : (2ull << bit) - 1; }

/*
 * Whether every id the separators `seps` end (from bit 0) has 1..4 digits: none empty (a
 * separator first or after another), none of 5 digits or more. *last is the last separator's bit.
 */
static inline int ids_of_4_digits(uint64_t seps, uint64_t digits, unsigned *last) {
  *last = 63 - (unsigned)__builtin_clzll(seps);
  const uint64_t d = digits & bits_through(*last);
  return (seps & ((seps << 1) | 1)) == 0 && (d & d >> 1 & d >> 2 & d >> 3 & d >> 4) == 0;
}

/*
 * App ids 16 at a time, from in[i] (the start of an id) while they are all of 1..4 digits, each
 * followed by a comma or, for the last, the line's newline; the scalar loop takes over at the
 * first 64 bytes that hold anything else (a longer or empty id, another byte, an id past
 * `limit`), from the start of the id it stopped at, so a line is written or declined exactly as
 * there. Returns where it stopped; *at_lf is set when that is the line's newline, all ids taken.
 *
 * Per block: the separators' positions are compressed out of 0..63 (vpcompressb), each id's
 * digits gathered right-aligned into a 32-bit lane (vpermb, zeros before its start), valued by
 * two multiply-adds, and written as the scalar put_app writes them (tag, then a 1- or 2-byte
 * varint: a 4-digit id is < 16384) by one compressing store of the bytes each lane keeps.
 * Reads: 64 bytes masked to those up to last_lf (masked bytes are not read). Writes: only the
 * bytes kept, as many as the scalar loop writes for the same ids.
 */
APPS_AVX512_TARGET static size_t apps_avx512(const uint8_t *in, size_t i, size_t last_lf, size_t limit, uint8_t *out, size_t *qp, int *at_lf) {
  const __m512i iota = _mm512_set_epi8(63, 62, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 43, 42, 41, 40, 39, 38,
                                       37, 36, 35, 34, 33, 32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12,
                                       11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  /* Byte b of lane j takes lane j's entry: j = b / 4. */
  const __m512i by_lane = _mm512_srli_epi16(_mm512_and_si512(iota, _mm512_set1_epi8(0x3c)), 2);
  /* Byte b of a lane reads the id's end - 4 + b (b = 3 is its last digit). */
  const __m512i back = _mm512_set1_epi32((int)0xfffefdfc);
  const __m512i ten_one = _mm512_set1_epi16(0x010a);
  const __m512i hundred_one = _mm512_set1_epi32(0x00010064);
  size_t q = *qp;
  *at_lf = 0;
  while (i + 63 <= limit) {
    const size_t avail = last_lf + 1 - i;
    const __mmask64 loaded = avail >= 64 ? ~0ull : (1ull << avail) - 1;
    const __m512i v = _mm512_maskz_loadu_epi8(loaded, in + i);
    const __mmask64 comma = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(','));
    const __mmask64 digits = _mm512_cmple_epu8_mask(_mm512_sub_epi8(v, _mm512_set1_epi8('0')), _mm512_set1_epi8(9));
    uint64_t seps = block_seps(in, i, comma, digits, avail, NULL);
    if (seps == 0) break;
    /* At most 16 ids: the separators from the 17th on are left for the next block. */
    if (__builtin_popcountll(seps) > 16) seps &= _pdep_u64(1ull << 15, seps) * 2 - 1;
    unsigned last;
    if (!ids_of_4_digits(seps, digits, &last)) break;
    const uint64_t region = bits_through(last);
    const unsigned k = (unsigned)__builtin_popcountll(seps);
    const uint64_t lanes = k == 16 ? ~0ull : (1ull << (4 * k)) - 1;
    const __m512i ends = _mm512_maskz_compress_epi8(seps, iota);
    const __m512i starts = _mm512_maskz_compress_epi8((seps << 1 | 1) & region, iota);
    const __m512i at = _mm512_add_epi8(_mm512_permutexvar_epi8(by_lane, ends), back);
    const __mmask64 taken = _mm512_cmpge_epi8_mask(at, _mm512_permutexvar_epi8(by_lane, starts)) & lanes;
    const __m512i dv = _mm512_maskz_sub_epi8(taken, _mm512_permutexvar_epi8(at, v), _mm512_set1_epi8('0'));
    const __m512i value = _mm512_madd_epi16(_mm512_maddubs_epi16(dv, ten_one), hundred_one);
    const __mmask16 two = _mm512_cmpge_epu32_mask(value, _mm512_set1_epi32(0x80));
    const __m512i low7 = _mm512_and_si512(value, _mm512_set1_epi32(0x7f));
    const __m512i low = _mm512_mask_or_epi32(low7, two, low7, _mm512_set1_epi32(0x80));
    const __m512i bytes = _mm512_or_si512(_mm512_or_si512(_mm512_set1_epi32(TAG_APPS_VARINT), _mm512_slli_epi32(low, 8)),
                                          _mm512_slli_epi32(_mm512_srli_epi32(value, 7), 16));
    const uint64_t keep = (0x3333333333333333ull | _pdep_u64(two, 0x4444444444444444ull)) & lanes;
    _mm512_mask_compressstoreu_epi8(out + q, keep, bytes);
    q += (size_t)__builtin_popcountll(keep);
    if (in[i + last] == LF) {
      i += last;
      *at_lf = 1;
      break;
    }
    i += last + 1;
  }
  *qp = q;
  return i;
}

#define APPS_AVX2_TARGET __attribute__((target("avx2,bmi,bmi2,popcnt")))

/* Whether this CPU runs apps_avx2 (AVX2 and BMI2: Intel Haswell and later, AMD Zen and later). */
static int apps_avx2_supported(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
}

/* The positions of the set bits of a byte, lowest first, one a byte (the first 4: a byte of separators holds at most 4 of ids that are not empty). */
static const uint32_t SEP_POSITIONS[256] = {
    0x00000000u, 0x00000000u, 0x00000001u, 0x00000100u, 0x00000002u, 0x00000200u, 0x00000201u, 0x00020100u,
    0x00000003u, 0x00000300u, 0x00000301u, 0x00030100u, 0x00000302u, 0x00030200u, 0x00030201u, 0x03020100u,
    0x00000004u, 0x00000400u, 0x00000401u, 0x00040100u, 0x00000402u, 0x00040200u, 0x00040201u, 0x04020100u,
    0x00000403u, 0x00040300u, 0x00040301u, 0x04030100u, 0x00040302u, 0x04030200u, 0x04030201u, 0x03020100u,
    0x00000005u, 0x00000500u, 0x00000501u, 0x00050100u, 0x00000502u, 0x00050200u, 0x00050201u, 0x05020100u,
    0x00000503u, 0x00050300u, 0x00050301u, 0x05030100u, 0x00050302u, 0x05030200u, 0x05030201u, 0x03020100u,
    0x00000504u, 0x00050400u, 0x00050401u, 0x05040100u, 0x00050402u, 0x05040200u, 0x05040201u, 0x04020100u,
    0x00050403u, 0x05040300u, 0x05040301u, 0x04030100u, 0x05040302u, 0x04030200u, 0x04030201u, 0x03020100u,
    0x00000006u, 0x00000600u, 0x00000601u, 0x00060100u, 0x00000602u, 0x00060200u, 0x00060201u, 0x06020100u,
    0x00000603u, 0x00060300u, 0x00060301u, 0x06030100u, 0x00060302u, 0x06030200u, 0x06030201u, 0x03020100u,
    0x00000604u, 0x00060400u, 0x00060401u, 0x06040100u, 0x00060402u, 0x06040200u, 0x06040201u, 0x04020100u,
    0x00060403u, 0x06040300u, 0x06040301u, 0x04030100u, 0x06040302u, 0x04030200u, 0x04030201u, 0x03020100u,
    0x00000605u, 0x00060500u, 0x00060501u, 0x06050100u, 0x00060502u, 0x06050200u, 0x06050201u, 0x05020100u,
    0x00060503u, 0x06050300u, 0x06050301u, 0x05030100u, 0x06050302u, 0x05030200u, 0x05030201u, 0x03020100u,
    0x00060504u, 0x06050400u, 0x06050401u, 0x05040100u, 0x06050402u, 0x05040200u, 0x05040201u, 0x04020100u,
    0x06050403u, 0x05040300u, 0x05040301u, 0x04030100u, 0x05040302u, 0x04030200u, 0x04030201u, 0x03020100u,
    0x00000007u, 0x00000700u, 0x00000701u, 0x00070100u, 0x00000702u, 0x00070200u, 0x00070201u, 0x07020100u,
    0x00000703u, 0x00070300u, 0x00070301u, 0x07030100u, 0x00070302u, 0x07030200u, 0x07030201u, 0x03020100u,
    0x00000704u, 0x00070400u, 0x00070401u, 0x07040100u, 0x00070402u, 0x07040200u, 0x07040201u, 0x04020100u,
    0x00070403u, 0x07040300u, 0x07040301u, 0x04030100u, 0x07040302u, 0x04030200u, 0x04030201u, 0x03020100u,
    0x00000705u, 0x00070500u, 0x00070501u, 0x07050100u, 0x00070502u, 0x07050200u, 0x07050201u, 0x05020100u,
    0x00070503u, 0x07050300u, 0x07050301u, 0x05030100u, 0x07050302u, 0x05030200u, 0x05030201u, 0x03020100u,
    0x00070504u, 0x07050400u, 0x07050401u, 0x05040100u, 0x07050402u, 0x05040200u, 0x05040201u, 0x04020100u,
    0x07050403u, 0x05040300u, 0x05040301u, 0x04030100u, 0x05040302u, 0x04030200u, 0x04030201u, 0x03020100u,
    0x00000706u, 0x00070600u, 0x00070601u, 0x07060100u, 0x00070602u, 0x07060200u, 0x07060201u, 0x06020100u,
    0x00070603u, 0x07060300u, 0x07060301u, 0x06030100u, 0x07060302u, 0x06030200u, 0x06030201u, 0x03020100u,
    0x00070604u, 0x07060400u, 0x07060401u, 0x06040100u, 0x07060402u, 0x06040200u, 0x06040201u, 0x04020100u,
    0x07060403u, 0x06040300u, 0x06040301u, 0x04030100u, 0x06040302u, 0x04030200u, 0x04030201u, 0x03020100u,
    0x00070605u, 0x07060500u, 0x07060501u, 0x06050100u, 0x07060502u, 0x06050200u, 0x06050201u, 0x05020100u,
    0x07060503u, 0x06050300u, 0x06050301u, 0x05030100u, 0x06050302u, 0x05030200u, 0x05030201u, 0x03020100u,
    0x07060504u, 0x06050400u, 0x06050401u, 0x05040100u, 0x06050402u, 0x05040200u, 0x05040201u, 0x04020100u,
    0x06050403u, 0x05040300u, 0x05040301u, 0x04030100u, 0x05040302u, 0x04030200u, 0x04030201u, 0x03020100u};

/* The bytes a lane of tag, low and high varint byte keeps, 4 lanes: 2 each, and the third where bit j of the index is set (a 2-byte varint). */
static const int8_t KEEP_BYTES[16][16] = {
    {0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1},
    {0, 1, 2, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1},
    {0, 1, 4, 5, 6, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1},
    {0, 1, 2, 4, 5, 6, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1},
    {0, 1, 4, 5, 8, 9, 10, 12, 13, -1, -1, -1, -1, -1, -1, -1},
    {0, 1, 2, 4, 5, 8, 9, 10, 12, 13, -1, -1, -1, -1, -1, -1},
    {0, 1, 4, 5, 6, 8, 9, 10, 12, 13, -1, -1, -1, -1, -1, -1},
    {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, -1, -1, -1, -1, -1},
    {0, 1, 4, 5, 8, 9, 12, 13, 14, -1, -1, -1, -1, -1, -1, -1},
    {0, 1, 2, 4, 5, 8, 9, 12, 13, 14, -1, -1, -1, -1, -1, -1},
    {0, 1, 4, 5, 6, 8, 9, 12, 13, 14, -1, -1, -1, -1, -1, -1},
    {0, 1, 2, 4, 5, 6, 8, 9, 12, 13, 14, -1, -1, -1, -1, -1},
    {0, 1, 4, 5, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, -1, -1},
    {0, 1, 2, 4, 5, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, -1},
    {0, 1, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1, -1},
    {0, 1, 2, 4, 5, 6, 8, 9, 10, 12, 13, 14, -1, -1, -1, -1}};

/*
 * App ids with AVX2 (CPUs without AVX512-VBMI2): apps_avx512's contract, 64 bytes read at a time,
 * ids taken 16 bytes at a time. Takes ids of 1..4 digits each followed by a comma or, for the
 * last, the line's newline, from in[i] (the start of an id); stops at the start of the first id
 * of a block that holds anything else (a longer or empty id, another byte, a block past `limit`
 * or, as AVX2 has no masked loads, past last_lf), and the scalar loop goes on from there.
 * Returns where it stopped; *at_lf is set when that is the line's newline, all ids taken.
 *
 * A block: 64 bytes at in[i] (all <= last_lf and <= limit), commas and digits as 64-bit masks
 * (movemask), the separators up to the first other byte (which must be the newline) checked at
 * once for an empty id or a 5th digit. Then, from the block's start o = 0 while o <= 48 (so its
 * 16 bytes are in the block), a step takes the ids whose separators are in in[i+o..i+o+15]
 * (1..8): their end positions come from two lookups of the separator mask's bytes, each id's
 * digits are gathered right-aligned into a 32-bit lane by one pshufb of those 16 bytes (in both
 * halves of a ymm register; bytes before the id's start zeroed), valued by two multiply-adds,
 * and written as put_app writes them (tag, then a 1- or 2-byte varint) by a pshufb per 4 lanes
 * that keeps each lane's 2 or 3 bytes. Writes: two 16-byte stores, the second right after the
 * first lanes' bytes or, with 4 ids or fewer, the first's bytes again at the same place. So a
 * step writes what the scalar loop writes for its ids and at most 14 bytes past them, which the
 * line's next ids or its geo fields (18 bytes, written after the ids) write over; every store is
 * within the room encode_line checked (14 bytes past the ids at most, of 512 spare).
 */
APPS_AVX2_TARGET static size_t apps_avx2(const uint8_t *in, size_t i, size_t last_lf, size_t limit, uint8_t *out, size_t *qp, int *at_lf) {
  /* Byte b of lane j (j = 0..7: 4 lanes a 128-bit half) takes byte j of a 64-bit word broadcast to both halves. */
  const __m256i by_lane = _mm256_setr_epi8(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7);
  /* Byte b of a lane reads the id's end - 4 + b (b = 3 is its last digit). */
  const __m256i back = _mm256_set1_epi32((int)0xfffefdfc);
  const __m256i ten_one = _mm256_set1_epi16(0x010a);
  const __m256i hundred_one = _mm256_set1_epi32(0x00010064);
  const __m256i zero_char = _mm256_set1_epi8('0');
  const __m256i comma_char = _mm256_set1_epi8(',');
  const __m256i nine = _mm256_set1_epi8(9);
  size_t q = *qp;
  *at_lf = 0;
  while (i + 63 <= limit && i + 63 <= last_lf) {
    const __m256i v0 = _mm256_loadu_si256((const __m256i *)(in + i));
    const __m256i v1 = _mm256_loadu_si256((const __m256i *)(in + i + 32));
    const __m256i d0 = _mm256_sub_epi8(v0, zero_char);
    const __m256i d1 = _mm256_sub_epi8(v1, zero_char);
    /* A digit: c - '0' <= 9 unsigned, that is min(c - '0', 9) == c - '0'. */
    const uint64_t comma = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v0, comma_char)) |
                           (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v1, comma_char)) << 32;
    const uint64_t digits = (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(d0, nine), d0)) |
                            (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(d1, nine), d1)) << 32;
    int line_end;
    const uint64_t seps = block_seps(in, i, comma, digits, 64, &line_end);
    unsigned last;
    if (seps == 0 || !ids_of_4_digits(seps, digits, &last)) break;
    unsigned o = 0;
    for (;;) {
      const unsigned s16 = (unsigned)(seps >> o) & 0xffff;
      if (s16 == 0) break;
      const unsigned lo = s16 & 0xff, hi = s16 >> 8;
      const unsigned k = (unsigned)__builtin_popcount(s16);
      /* The ids' ends (separators) from o, one a byte; an id starts after the previous one's end, the first at 0. */
      const uint64_t ends = (uint64_t)SEP_POSITIONS[lo] | (uint64_t)(SEP_POSITIONS[hi] + 0x08080808u) << (8 * __builtin_popcount(lo));
      const uint64_t starts = (ends + ONES) << 8;
      const __m256i e = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)ends), by_lane);
      const __m256i st = _mm256_shuffle_epi8(_mm256_set1_epi64x((long long)starts), by_lane);
      __m256i at = _mm256_add_epi8(e, back);
      /* Bytes before the id's start read as 0 (a pshufb index with its top bit set). */
      at = _mm256_or_si256(at, _mm256_cmpgt_epi8(st, at));
      const __m256i src = _mm256_broadcastsi128_si256(_mm_sub_epi8(_mm_loadu_si128((const __m128i *)(in + i + o)), _mm_set1_epi8('0')));
      const __m256i dv = _mm256_shuffle_epi8(src, at);
      const __m256i value = _mm256_madd_epi16(_mm256_maddubs_epi16(dv, ten_one), hundred_one);
      const __m256i two = _mm256_cmpgt_epi32(value, _mm256_set1_epi32(0x7f));
      const __m256i low = _mm256_or_si256(_mm256_and_si256(value, _mm256_set1_epi32(0x7f)), _mm256_and_si256(two, _mm256_set1_epi32(0x80)));
      const __m256i bytes = _mm256_or_si256(_mm256_or_si256(_mm256_set1_epi32(TAG_APPS_VARINT), _mm256_slli_epi32(low, 8)),
                                            _mm256_slli_epi32(_mm256_srli_epi32(value, 7), 16));
      const unsigned twos = (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(two)) & ((1u << k) - 1);
      const __m128i first = _mm_shuffle_epi8(_mm256_castsi256_si128(bytes), _mm_loadu_si128((const __m128i *)KEEP_BYTES[twos & 0xf]));
      const __m128i later = _mm_shuffle_epi8(_mm256_extracti128_si256(bytes, 1), _mm_loadu_si128((const __m128i *)KEEP_BYTES[twos >> 4]));
      /* With 4 ids or fewer the second store writes the first's bytes again, at the same place. */
      const __m128i more = _mm_set1_epi8((char)-(k > 4));
      const __m128i second = _mm_blendv_epi8(first, later, more);
      const size_t second_at = q + (k > 4 ? 8 + (size_t)__builtin_popcount(twos & 0xf) : 0);
      _mm_storeu_si128((__m128i *)(out + q), first);
      _mm_storeu_si128((__m128i *)(out + second_at), second);
      q += 2 * (size_t)k + (size_t)__builtin_popcount(twos);
      o += 32 - (unsigned)__builtin_clz(s16);
      if (o > 48) break;
    }
    if (line_end && o == last + 1) {
      i += last;
      *at_lf = 1;
      break;
    }
    i += o;
  }
  *qp = q;
  return i;
}
#endif

/*
 * The line at in[start] (its type and tab checked by the caller) into out[p..out_end), if clean:
 * returns the position after its newline and sets *frame_end; or 0 (a line never ends at 0),
 * having written nothing the caller keeps.
 *
 * Room: the caller's test (FAST_OUT_ROOM + flags_len free at p, max_line <= FAST_MAX_LINE) is
 * made again here once, and bounds every write of the line, so none is checked on its own. The
 * header is at most 8 + 245 + 4 + flags_len bytes. An app id of n <= 9 digits is at most n + 1
 * bytes (a tag and a varint of <= n bytes: 10^n < 2^7n) and was read with its separator, n + 1
 * bytes of the input; every id written starts at or before `limit` (the line is declined as
 * soon as one starts past it), so the value's ids take at most max_line + 10 bytes, and a store
 * reaches 1 byte past them (3 bytes in a 4-byte store), apps_avx2's 16-byte stores 14 bytes past
 * them; the id's fixed 32-byte copy, 32 bytes past the header's start.
 * Then geo (18), a longer length's shift (2) and `\r\n`: all well inside the 512 spare bytes.
 */
static size_t encode_line(const uint8_t *in, size_t last_lf, size_t start, uint8_t *out, size_t p, size_t out_end,
                          const uint8_t *flags, size_t flags_len, size_t max_line, int simd, size_t *frame_end) {
  if (out_end - p < FAST_OUT_ROOM + flags_len || max_line > FAST_MAX_LINE) return 0;
  memcpy(out + p, "ms ", 3);
  memcpy(out + p + 3, in + start, TYPE_BYTES);
  out[p + 7] = ':';
  p += 8;

  size_t i = start + TYPE_BYTES + 1;
  const size_t id_start = i;
  size_t id_stop = id_start + MAX_DEV_ID_BYTES + 1;
  /* Words while none of their bytes ends the id (fast-line.ts has the bit test's why). */
  size_t word_stop = (id_stop < last_lf ? id_stop : last_lf);
  while (i + 8 <= word_stop) {
    uint64_t w;
    memcpy(&w, in + i, 8);
    uint64_t x = w ^ 0x7f * ONES;
    if ((((w - 0x21 * ONES) & ~w) | ((x - ONES) & ~x)) & 0x80 * ONES) break;
    i += 8;
  }
  while (i < id_stop && key_byte(in[i])) i++;
  size_t id_len = i - id_start;
  if (in[i] != TAB || id_len == 0 || id_len > MAX_DEV_ID_BYTES) return 0;
  if (id_len <= 32 && id_start + 32 <= last_lf) {
    /* The usual 32-byte id in fixed-size copies; the bytes past it are written over below. */
    memcpy(out + p, in + id_start, 32);
  } else {
    memcpy(out + p, in + id_start, id_len);
  }
  p += id_len;

  double lat, lon;
  i++;
  if (!coordinate(in, last_lf, &i, &lat) || in[i] != TAB) return 0;
  i++;
  if (!coordinate(in, last_lf, &i, &lon) || in[i] != TAB) return 0;
  i++;

  /* The value goes where a 3-digit length would leave it: ` NNN` then the flags. */
  const size_t header_end = p + 1 + LEN_DIGITS + flags_len;
  size_t q = header_end;
  const size_t limit = start + max_line;
  /* The vector path stops at the start of an id: from there the loop below takes the line on, an empty id included. */
  const size_t apps_start = i;
  int at_lf = 0;
#ifdef HAVE_APPS_SIMD
  if (in[i] != LF) {
    if (simd == SIMD_AVX512) i = apps_avx512(in, i, last_lf, limit, out, &q, &at_lf);
    else if (simd == SIMD_AVX2) i = apps_avx2(in, i, last_lf, limit, out, &q, &at_lf);
  }
#else
  (void)simd;
#endif
  if (!at_lf && (in[i] != LF || i != apps_start)) {
    /*
     * Ids before fast_stop are at most `limit` and have 8 bytes before last_lf to read a word
     * from. Any id after `limit` makes the line too long (i only grows, and so must end at most
     * at `limit`), so it is declined as soon as one starts there.
     */
    const size_t fast_stop = last_lf >= 7 && last_lf - 7 < limit + 1 ? last_lf - 7 : limit + 1;
    for (;;) {
      if (i < fast_stop) {
        /*
         * Most ids are 4 digits and a comma: a branch that is nearly always taken, so the next
         * id's load does not wait for this one's digit count (a chain of ~15 cycles an id).
         */
        uint32_t w4;
        memcpy(&w4, in + i, 4);
        const uint32_t d4 = w4 - 0x30303030u;
        if (((d4 | (d4 + 0x76767676u)) & 0x80808080u) == 0 && in[i + 4] == ',') {
          q = put_app(out, q, four_digits(d4));
          i += 5;
          continue;
        }
        uint64_t w;
        memcpy(&w, in + i, 8);
        const uint64_t d = w - 0x30 * ONES;
        const uint64_t nd = non_digits(d);
        if (nd != 0) {
          const unsigned n = (unsigned)__builtin_ctzll(nd) >> 3;
          if (n == 0) return 0;
          q = put_app(out, q, digits_value(d, n));
          i += n;
          if (in[i] != ',') break;
          i++;
          continue;
        }
      }
      if (i > limit) return 0;
      /* 8 digits or more, or too near last_lf for a word: a byte at a time. */
      if (!digit(in[i])) return 0;
      const size_t first = i;
      uint32_t v = 0;
      /* Unsigned, so a long run wraps harmlessly; more than 9 digits is declined below. */
      while (digit(in[i])) v = v * 10 + (uint32_t)(in[i++] - '0');
      if (i - first > 9) return 0;
      q = put_app(out, q, v);
      if (in[i] != ',') break;
      i++;
    }
    if (in[i] != LF) return 0;
  }
  if (i > limit) return 0;
  /* Geo, a longer length's shift (at most 2: the value is < 10^5 bytes) and `\r\n`. */
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

/*
 * Clean lines from `start` while they are before `last_lf` and their type's out buffer has the
 * room; returns the start of the first line not taken. Its arguments are checked by run().
 */
static size_t run_lines(const uint8_t *in, size_t start, size_t last_lf, size_t max_line_arg, const uint8_t *flags, size_t flags_len,
                        uint8_t *const *outs, const size_t *out_lens, int32_t *state, int simd) {
  const size_t max_line = max_line_arg < FAST_MAX_LINE ? max_line_arg : FAST_MAX_LINE;
  const size_t room = FAST_OUT_ROOM + flags_len;
  int32_t lines = 0;
  while (start + 4 < last_lf) {
    if (in[start + TYPE_BYTES] != TAB) break;
    const int type = type_at(in + start);
    if (type < 0) break;
    const size_t used = (size_t)state[type];
    /* A count the caller passed at its top would overflow (undefined for int32_t): JS takes the line. */
    if (out_lens[type] - used < room || state[TYPES + type] == INT32_MAX) break;
    size_t frame_end;
    const size_t next = encode_line(in, last_lf, start, outs[type], used, out_lens[type], flags, flags_len, max_line, simd, &frame_end);
    if (next == 0 || frame_end > INT32_MAX) break;
    state[type] = (int32_t)frame_end;
    state[TYPES + type]++;
    lines++;
    start = next;
  }
  state[2 * TYPES] = lines;
  return start;
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
  void *simd;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, &simd));
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
  const size_t stop = run_lines(in, (size_t)start64, (size_t)last_lf64, (size_t)max_line64, flags, flags_len, outs, out_lens, state, (int)(uintptr_t)simd);
  napi_value result;
  CHECK(env, napi_create_double(env, (double)stop, &result));
  return result;
}

/*
 * The app ids' path for this CPU and environment: MEMC_LOAD_NO_SIMD=1 means none; MEMC_LOAD_SIMD
 * = avx512, avx2 or none asks for that path, or the best this CPU has below it when it lacks it
 * (any other value, or none set: the best this CPU has). avx512 needs AVX512-VBMI2, avx2 AVX2
 * and BMI2. Read when the addon loads (run-lines.c too).
 */
static int simd_mode(void) {
  int best = SIMD_NONE;
#ifdef HAVE_APPS_SIMD
  best = apps_avx512_supported() ? SIMD_AVX512 : apps_avx2_supported() ? SIMD_AVX2 : SIMD_NONE;
#endif
  const char *off = getenv("MEMC_LOAD_NO_SIMD");
  if (off != NULL && strcmp(off, "1") == 0) return SIMD_NONE;
  const char *asked = getenv("MEMC_LOAD_SIMD");
  if (asked == NULL) return best;
  if (strcmp(asked, "none") == 0) return SIMD_NONE;
  if (strcmp(asked, "avx2") == 0) return best >= SIMD_AVX2 ? SIMD_AVX2 : best;
  return best;
}

static const char *const SIMD_NAMES[3] = {"none", "avx2", "avx512"};

/*
 * exports: run, and `simd`, the app ids' path it took (simd_mode): "avx512" where the CPU has
 * AVX512-VBMI2, "avx2" where it has AVX2 and BMI2, "none" otherwise or as the environment asks
 * when the addon is loaded (tests compare the paths; operators can rule out a vector path).
 * Passed to run as its data: no global state.
 */
NAPI_MODULE_INIT() {
  const int simd = simd_mode();
  napi_value fn, name;
  if (napi_create_function(env, "run", NAPI_AUTO_LENGTH, run, (void *)(uintptr_t)simd, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "run", fn) != napi_ok) return NULL;
  if (napi_create_string_utf8(env, SIMD_NAMES[simd], NAPI_AUTO_LENGTH, &name) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "simd", name) != napi_ok) return NULL;
  return exports;
}
