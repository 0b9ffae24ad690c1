/* One compiled model, shared by several threads, each with its own session
 * and its own runtime parameter: every concurrent run must give exactly the
 * outputs and statistics of the same run done alone.
 *
 *   threads_test MODEL.so   (the skip_mlp example: input x [B, 64]) */
#include "dync/runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, ROUNDS = 50, B = 8, D = 64 };

static dync_model_t *model;
static float input[B * D];
static float expected[THREADS][B * D];
static int64_t expectedStats[THREADS][64];
static int failures[THREADS];

static double threshold(int t) { return 0.2 * t; }

/* Runs once with the thread's threshold; stores outputs and stats. */
static int runOnce(dync_session_t *s, float *out, int64_t *stats) {
  dync_tensor_t in;
  memset(&in, 0, sizeof in);
  in.dtype = DYNC_F32;
  in.rank = 2;
  in.shape[0] = B;
  in.shape[1] = D;
  in.data = input;
  dync_tensor_t outs[2];
  dync_status_t *st = dync_session_run(s, &in, 1, outs, 2);
  if (st) {
    fprintf(stderr, "run failed: %s\n", dync_status_message(st));
    dync_status_free(st);
    return 0;
  }
  memcpy(out, outs[0].data, sizeof(float) * B * D);
  for (int i = 0; i < dync_model_num_stats(model); ++i)
    stats[i] = dync_session_stat(s, i);
  dync_tensor_free(&outs[0]);
  dync_tensor_free(&outs[1]);
  return 1;
}

/* Decision statistics must match exactly; times (time_ns.*) vary by nature. */
static int sameDecisions(const int64_t *a, const int64_t *b) {
  for (int i = 0; i < dync_model_num_stats(model); ++i)
    if (strncmp(dync_model_stat_name(model, i), "time_ns.", 8) != 0 && a[i] != b[i])
      return 0;
  return 1;
}

static void *worker(void *arg) {
  int t = (int)(long)arg;
  dync_session_t *s = NULL;
  dync_session_create(model, &s);
  dync_session_set_param(s, "gate_threshold", threshold(t));
  float out[B * D];
  int64_t stats[64];
  for (int r = 0; r < ROUNDS; ++r) {
    if (!runOnce(s, out, stats) || memcmp(out, expected[t], sizeof out) != 0 ||
        !sameDecisions(stats, expectedStats[t]))
      ++failures[t];
  }
  dync_session_release(s);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2)
    return 2;
  dync_status_t *st = dync_model_load(argv[1], NULL, &model);
  if (st) {
    fprintf(stderr, "%s\n", dync_status_message(st));
    return 1;
  }
  if (dync_model_num_stats(model) > 64)
    return 1;
  unsigned seed = 1;
  for (int i = 0; i < B * D; ++i) {
    seed = seed * 1103515245u + 12345u;
    input[i] = ((seed >> 8) % 2000) / 1000.0f - 1.0f;
  }
  /* Reference results, one thread at a time. */
  for (int t = 0; t < THREADS; ++t) {
    dync_session_t *s = NULL;
    dync_session_create(model, &s);
    dync_session_set_param(s, "gate_threshold", threshold(t));
    if (!runOnce(s, expected[t], expectedStats[t]))
      return 1;
    dync_session_release(s);
  }
  int distinct = memcmp(expected[0], expected[THREADS - 1], sizeof expected[0]) != 0;
  pthread_t th[THREADS];
  for (int t = 0; t < THREADS; ++t)
    pthread_create(&th[t], NULL, worker, (void *)(long)t);
  int total = 0;
  for (int t = 0; t < THREADS; ++t) {
    pthread_join(th[t], NULL);
    total += failures[t];
  }
  printf("thresholds give different results: %s\n", distinct ? "yes" : "no");
  printf("%d threads x %d runs, %d mismatch(es)\n", THREADS, ROUNDS, total);
  dync_model_release(model);
  return total != 0 || !distinct;
}
