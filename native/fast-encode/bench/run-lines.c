/*
 * The native encoder's hot loop alone (run_lines in ../fast_encode.c), timed and hashed over a
 * TSV file cut in 1 MiB chunks as the pipeline cuts them; a declined line is skipped as if JS
 * took it. For comparing builds of the C side without Node's noise (issue #19's log in
 * docs/benchmarks.md): same hash = same bytes, and callgrind's count is exact.
 *
 *   zcat FILE.tsv.gz | head -200000 > /tmp/lines.tsv
 *   gcc -O2 -fno-strict-aliasing -ffp-contract=off -I/usr/include/node -no-pie \
 *       -Wl,--unresolved-symbols=ignore-all -DSRC='"../fast_encode.c"' run-lines.c -o /tmp/run-lines
 *   /tmp/run-lines /tmp/lines.tsv [ROUNDS=5] [DUMP_FILE]
 *
 * The addon's N-API calls are left unresolved (never called here). Time is the thread's CPU
 * time, the best of ROUNDS; the hash and the dump are of the first round's output.
 */
#define _GNU_SOURCE
#include SRC
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (f == NULL) return 1;
  const int rounds = argc > 2 ? atoi(argv[2]) : 5;
  /* As the addon: MEMC_LOAD_SIMD=avx512|avx2|none, MEMC_LOAD_NO_SIMD=1 (simd_mode). */
  const int simd = simd_mode();
  fprintf(stderr, "app ids: %s\n", SIMD_NAMES[simd]);
  FILE *dump = argc > 3 ? fopen(argv[3], "wb") : NULL;
  fseek(f, 0, SEEK_END);
  const size_t n = (size_t)ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *in = malloc(n);
  if (in == NULL || fread(in, 1, n, f) != n) return 1;
  fclose(f);
  static const uint8_t flags[] = " q\r\n";
  const size_t out_len = 4 << 20;
  uint8_t *outs[TYPES];
  size_t out_lens[TYPES];
  for (int t = 0; t < TYPES; t++) {
    outs[t] = malloc(out_len);
    out_lens[t] = out_len;
  }
  double best = 1e9;
  unsigned long long taken = 0, declined = 0, hash = 1469598103934665603ull;
  for (int r = 0; r < rounds; r++) {
    const double t0 = cpu_now();
    taken = declined = 0;
    for (size_t cs = 0; cs < n;) {
      size_t last_lf = (cs + (1 << 20) < n ? cs + (1 << 20) : n) - 1;
      while (last_lf > cs && in[last_lf] != LF) last_lf--;
      if (in[last_lf] != LF) break;
      int32_t state[STATE_LEN] = {0};
      size_t start = cs;
      while (start < last_lf) {
        start = run_lines(in, start, last_lf, 1 << 20, flags, sizeof flags - 1, outs, out_lens, state, simd);
        taken += (unsigned long long)state[2 * TYPES];
        for (int t = 0; t < TYPES; t++) {
          /* Flushed when full or at the chunk's end, as the pipeline sends its frames. */
          if ((size_t)state[t] <= out_len - FAST_OUT_ROOM - 64 && start < last_lf) continue;
          if (r == 0) {
            for (int32_t k = 0; k < state[t]; k++) hash = (hash ^ outs[t][k]) * 1099511628211ull;
            if (dump != NULL) fwrite(outs[t], 1, (size_t)state[t], dump);
          }
          state[t] = 0;
        }
        if (start < last_lf && state[2 * TYPES] == 0) {
          if (r == 0 && dump != NULL) fprintf(dump, "DECLINED %zu\n", start);
          declined++;
          while (in[start] != LF) start++;
          start++;
        }
      }
      cs = last_lf + 1;
    }
    const double t = cpu_now() - t0;
    if (t < best) best = t;
  }
  printf("lines %llu declined %llu hash %016llx best %.1f ms %.1f ns/line\n", taken, declined, hash, best * 1e3,
         best * 1e9 / (double)(taken + declined));
  return 0;
}
