/*
 * gzip inflate over ISA-L's streaming isal_inflate, for src/logfile/isal-gunzip.ts.
 *
 * It behaves as Node's zlib Gunzip does on the same input, so the loader's reading loop
 * (inline-gunzip.ts) and its zero-padding rule (gzip-padding.ts) serve both:
 * - members back to back are inflated without stopping; after a member, a zero byte stops the
 *   call with that byte unconsumed (the caller skips the padding); any other byte starts a new
 *   member, whose header is then checked (so trailing garbage fails as zlib fails);
 * - a finishing call on a stream that is not at the end of a member fails "unexpected end of file";
 * - errors carry zlib's codes (Z_DATA_ERROR, Z_BUF_ERROR) and, where the check is the same one,
 *   zlib's message.
 * Memory per inflater is one inflate_state (~30 KiB history and tables), nothing else: the caller
 * owns the input and output buffers. Context-aware (NAPI_MODULE_INIT): no global state, so any
 * number of worker threads may load it.
 */
#ifdef MEMC_LOAD_SIMULATE_BUILD_FAILURE
#error "build failure simulated (MEMC_LOAD_SIMULATE_BUILD_FAILURE=1)"
#endif
#define NAPI_VERSION 8
#include <node_api.h>
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  struct inflate_state *state; /* NULL once closed */
  int member_done;             /* the last member ended with its trailer checked */
  uint64_t member_in;          /* compressed bytes of the current member consumed so far */
  uint8_t tail[8];             /* the last 8 bytes consumed: a trailer, when the check fails */
  uint8_t head[4];             /* the member's first 4 bytes, as they arrive */
} inflater;

/* Keeps the last 8 of the bytes consumed so far, across calls. */
static void keep_tail(inflater *z, const uint8_t *from, uint32_t n) {
  if (n >= 8) {
    memcpy(z->tail, from + n - 8, 8);
  } else if (n > 0) {
    memmove(z->tail, z->tail + n, 8 - n);
    memcpy(z->tail + 8 - n, from, n);
  }
}

#define CHECK(env, call)                                   \
  do {                                                     \
    if ((call) != napi_ok) {                               \
      napi_throw_error((env), NULL, "isal-inflate: " #call " failed"); \
      return NULL;                                         \
    }                                                      \
  } while (0)

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  inflater *z = data;
  if (z == NULL) return;
  free(z->state);
  free(z);
}

static void start_member(inflater *z) {
  isal_inflate_reset(z->state);
  z->state->crc_flag = ISAL_GZIP;
  z->member_done = 0;
  z->member_in = 0;
}

/*
 * The checks zlib makes on a member's first 4 bytes (the message, or NULL), in zlib's order and as soon as zlib makes
 * them (two bytes at a time): ISA-L waits for the whole header, and ignores reserved flag bits.
 * Without them a member cut short after a bad first byte would fail "unexpected end of file"
 * where zlib says "incorrect header check".
 */
static const char *check_head(inflater *z) {
  struct inflate_state *s = z->state;
  if (z->member_in >= sizeof z->head) return NULL;
  size_t have = (size_t)z->member_in;
  size_t known = have + s->avail_in < sizeof z->head ? have + s->avail_in : sizeof z->head;
  if (known > have) memcpy(z->head + have, s->next_in, known - have);
  if (known >= 2 && (z->head[0] != 0x1f || z->head[1] != 0x8b)) return "incorrect header check";
  if (known >= 4 && z->head[2] != 8) return "unknown compression method";
  if (known >= 4 && (z->head[3] & 0xe0) != 0) return "unknown header flags set";
  return NULL;
}

/*
 * zlib fails on the trailer's CRC32 as soon as its 4 bytes are in; ISA-L waits for all 8 (with
 * ISIZE). Stopped inside the trailer, ISA-L holds the bytes it has in tmp_in_buffer: check the
 * CRC there, so a file cut inside ISIZE after a bad CRC fails as zlib fails.
 */
static int crc_read_and_wrong(const struct inflate_state *s) {
  if (s->block_state != ISAL_CHECKSUM_CHECK || s->read_in_length != 0 || s->tmp_in_size < 4) return 0;
  const uint8_t *t = s->tmp_in_buffer;
  uint32_t crc = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
  return crc != s->crc;
}

/* create(): a new inflater, as an external freed with its JS object (or by close()). */
static napi_value create(napi_env env, napi_callback_info info) {
  (void)info;
  inflater *z = calloc(1, sizeof *z);
  if (z == NULL) {
    napi_throw_error(env, "ENOMEM", "isal-inflate: out of memory");
    return NULL;
  }
  z->state = malloc(sizeof *z->state);
  if (z->state == NULL) {
    free(z);
    napi_throw_error(env, "ENOMEM", "isal-inflate: out of memory");
    return NULL;
  }
  isal_inflate_init(z->state);
  start_member(z);
  napi_value ext;
  if (napi_create_external(env, z, finalize, NULL, &ext) != napi_ok) {
    finalize(env, z, NULL);
    napi_throw_error(env, NULL, "isal-inflate: napi_create_external failed");
    return NULL;
  }
  return ext;
}

static inflater *unwrap(napi_env env, napi_value v) {
  napi_valuetype t;
  void *data = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "isal-inflate: not an inflater");
    return NULL;
  }
  inflater *z = data;
  if (z->state == NULL) {
    napi_throw_error(env, NULL, "isal-inflate: inflater is closed");
    return NULL;
  }
  return z;
}

/* A Uint8Array's bytes [off, off + len), checked against its length; NULL (thrown) if outside. */
static uint8_t *range(napi_env env, napi_value arr, napi_value off_v, napi_value len_v, uint32_t *len_out) {
  bool is_ta = false;
  napi_typedarray_type type;
  size_t length = 0;
  void *data = NULL;
  int64_t off = -1, len = -1;
  if (napi_is_typedarray(env, arr, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, arr, &type, &length, &data, NULL, NULL) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, "isal-inflate: expected a Uint8Array");
    return NULL;
  }
  if (napi_get_value_int64(env, off_v, &off) != napi_ok || napi_get_value_int64(env, len_v, &len) != napi_ok ||
      off < 0 || len < 0 || len > UINT32_MAX || (uint64_t)off > length || (uint64_t)len > length - (uint64_t)off) {
    napi_throw_range_error(env, NULL, "isal-inflate: range outside the array");
    return NULL;
  }
  *len_out = (uint32_t)len;
  /* An empty array may have no storage at all: any non-NULL pointer with length 0 will do. */
  return data == NULL ? (uint8_t *)"" : (uint8_t *)data + off;
}

static napi_value fail(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

/* zlib's words for the same failed check where there is one; ISA-L's own where it differs. */
static napi_value isal_error(napi_env env, const inflater *z, int ret) {
  enum isal_block_state where = z->state->block_state;
  switch (ret) {
    case ISAL_INVALID_WRAPPER: return fail(env, "Z_DATA_ERROR", "incorrect header check");
    case ISAL_UNSUPPORTED_METHOD: return fail(env, "Z_DATA_ERROR", "unknown compression method");
    case ISAL_INCORRECT_CHECKSUM: {
      /* In the trailer (ISA-L has moved past the deflate data), else in the header's FHCRC. */
      if (where != ISAL_BLOCK_FINISH && where != ISAL_CHECKSUM_CHECK && where != ISAL_BLOCK_INPUT_DONE)
        return fail(env, "Z_DATA_ERROR", "header crc mismatch");
      /* zlib checks CRC32 first, then ISIZE: the tail is the trailer just read. */
      uint32_t crc = (uint32_t)z->tail[0] | (uint32_t)z->tail[1] << 8 | (uint32_t)z->tail[2] << 16 | (uint32_t)z->tail[3] << 24;
      return fail(env, "Z_DATA_ERROR", crc == z->state->crc ? "incorrect length check" : "incorrect data check");
    }
    case ISAL_INVALID_BLOCK: return fail(env, "Z_DATA_ERROR", "invalid deflate block");
    case ISAL_INVALID_SYMBOL: return fail(env, "Z_DATA_ERROR", "invalid deflate code");
    case ISAL_INVALID_LOOKBACK: return fail(env, "Z_DATA_ERROR", "invalid distance too far back");
    default: return fail(env, "Z_DATA_ERROR", "invalid gzip data");
  }
}

/*
 * inflate(z, input, inOff, inLen, out, outOff, outLen, finish, result): inflates from
 * input[inOff, inOff+inLen) into out[outOff, outOff+outLen); result (a Uint32Array of 2) gets
 * [bytes consumed, bytes produced]. With finish, the input is known to be all there is.
 */
static napi_value inflate(napi_env env, napi_callback_info info) {
  size_t argc = 9;
  napi_value argv[9];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 9) return fail(env, NULL, "isal-inflate: inflate takes 9 arguments");
  inflater *z = unwrap(env, argv[0]);
  if (z == NULL) return NULL;
  uint32_t in_len = 0, out_len = 0;
  uint8_t *in = range(env, argv[1], argv[2], argv[3], &in_len);
  if (in == NULL) return NULL;
  uint8_t *out = range(env, argv[4], argv[5], argv[6], &out_len);
  if (out == NULL) return NULL;
  bool finish = false;
  CHECK(env, napi_get_value_bool(env, argv[7], &finish));
  bool is_ta = false;
  napi_typedarray_type type;
  size_t res_count = 0;
  void *res_data = NULL;
  CHECK(env, napi_is_typedarray(env, argv[8], &is_ta));
  if (!is_ta) return fail(env, NULL, "isal-inflate: result must be a Uint32Array");
  CHECK(env, napi_get_typedarray_info(env, argv[8], &type, &res_count, &res_data, NULL, NULL));
  if (type != napi_uint32_array || res_count < 2) return fail(env, NULL, "isal-inflate: result must be a Uint32Array of 2");

  struct inflate_state *s = z->state;
  s->next_in = in;
  s->avail_in = in_len;
  s->next_out = out;
  s->avail_out = out_len;
  for (;;) {
    if (z->member_done) {
      /* As Node's zlib: a zero byte after a member stops here, anything else is a new member. */
      if (s->avail_in == 0 || s->next_in[0] == 0) break;
      uint8_t *next_in = s->next_in, *next_out = s->next_out;
      uint32_t avail_in = s->avail_in, avail_out = s->avail_out;
      start_member(z);
      s->next_in = next_in;
      s->avail_in = avail_in;
      s->next_out = next_out;
      s->avail_out = avail_out;
    }
    const char *bad_head = check_head(z);
    if (bad_head != NULL) return fail(env, "Z_DATA_ERROR", bad_head);
    uint32_t avail_before = s->avail_in;
    int ret = isal_inflate(s);
    z->member_in += avail_before - s->avail_in;
    keep_tail(z, s->next_in - (avail_before - s->avail_in), avail_before - s->avail_in);
    if (ret < 0) return isal_error(env, z, ret);
    if (ret != ISAL_DECOMP_OK) return fail(env, "Z_DATA_ERROR", "invalid gzip data");
    if (s->block_state == ISAL_BLOCK_FINISH) {
      z->member_done = 1;
      continue;
    }
    if (crc_read_and_wrong(s)) return fail(env, "Z_DATA_ERROR", "incorrect data check");
    break;
  }
  uint32_t consumed = in_len - s->avail_in;
  uint32_t produced = out_len - s->avail_out;
  if (finish && produced < out_len && !z->member_done) return fail(env, "Z_BUF_ERROR", "unexpected end of file");
  ((uint32_t *)res_data)[0] = consumed;
  ((uint32_t *)res_data)[1] = produced;
  return NULL;
}

/* close(z): frees the state now; the external's finalizer frees the rest. */
static napi_value close_inflater(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *data = NULL;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 1 || napi_get_value_external(env, argv[0], &data) != napi_ok || data == NULL)
    return fail(env, NULL, "isal-inflate: close takes an inflater");
  inflater *z = data;
  free(z->state);
  z->state = NULL;
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
    {"create", NULL, create, NULL, NULL, NULL, napi_enumerable, NULL},
    {"inflate", NULL, inflate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"close", NULL, close_inflater, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
