/* Exercises libdyncrt's C API, including every error status, on a model
 * compiled by the lit test that runs this program.
 *
 *   api_test MODEL.so WEIGHTED.so NOT_A_MODEL.so
 *
 * The model: inputs x [B, 4] f32 (B in [1, 8]) and y [B, 4] f32; output
 * s = x + y. Prints one line per check; exits non-zero on the first failure. */
#include "dync/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

/* Expects `s` to be an error whose message contains `needle` (or success if
 * needle is NULL); frees it. */
static void expect(const char *what, dync_status_t *s, const char *needle) {
  const char *msg = dync_status_message(s);
  int ok = needle ? (s != NULL && strstr(msg, needle) != NULL) : s == NULL;
  printf("%s %s: %s\n", ok ? "PASS" : "FAIL", what, msg);
  if (!ok)
    ++failures;
  dync_status_free(s);
}

static dync_tensor_t tensor(float *data, int64_t b, int64_t n) {
  dync_tensor_t t;
  memset(&t, 0, sizeof t);
  t.dtype = DYNC_F32;
  t.rank = 2;
  t.shape[0] = b;
  t.shape[1] = n;
  t.data = data;
  return t;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: api_test MODEL.so WEIGHTED.so NOT_A_MODEL.so\n");
    return 2;
  }
  printf("api version %d\n", dync_api_version());

  dync_model_t *model = NULL;
  expect("missing file", dync_model_load("/nonexistent/model.so", NULL, &model),
         "cannot load model '/nonexistent/model.so'");
  expect("not a dync model", dync_model_load(argv[3], NULL, &model),
         "is not a model compiled by dync");
  expect("null arguments", dync_model_load(NULL, NULL, &model), "must not be NULL");
  expect("load", dync_model_load(argv[1], NULL, &model), NULL);
  if (!model)
    return 1;
  printf("inputs %d: %s %s; outputs %d: %s\n", dync_model_num_inputs(model),
         dync_model_input_name(model, 0), dync_model_input_name(model, 1),
         dync_model_num_outputs(model), dync_model_output_name(model, 0));
  if (dync_model_input_name(model, 7) != NULL || dync_model_output_name(model, -1) != NULL) {
    printf("FAIL out-of-range names are not NULL\n");
    ++failures;
  }

  dync_session_t *session = NULL;
  expect("session", dync_session_create(model, &session), NULL);
  printf("stats %d, name out of range %s, value out of range %lld\n",
         dync_model_num_stats(model), dync_model_stat_name(model, 3) ? "set" : "NULL",
         (long long)dync_session_stat(session, 5));
  expect("unknown param", dync_session_set_param(session, "nope", 1.0),
         "the model has no runtime parameter 'nope' (it has: none)");
  printf("default threads at least 1: %s\n", dync_session_threads(session) >= 1 ? "yes" : "no");
  expect("zero threads", dync_session_set_threads(session, 0),
         "threads must be between 1 and 1024, got 0");
  expect("too many threads", dync_session_set_threads(session, 5000),
         "threads must be between 1 and 1024, got 5000");
  expect("threads of a NULL session", dync_session_set_threads(NULL, 2), "must not be NULL");
  expect("three threads", dync_session_set_threads(session, 3), NULL);
  printf("threads %d, parallel loops before a run %lld\n", dync_session_threads(session),
         (long long)dync_session_parallel_loops(session));

  float x[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  float y[12] = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};
  dync_tensor_t in[2] = {tensor(x, 3, 4), tensor(y, 3, 4)};
  dync_tensor_t out[1];

  expect("input count", dync_session_run(session, in, 1, out, 1),
         "the model takes 2 input(s), got 1");
  expect("output count", dync_session_run(session, in, 2, out, 2),
         "the model produces 1 output(s), room was given for 2");
  dync_tensor_t bad = in[1];
  bad.dtype = DYNC_I32;
  dync_tensor_t badIn[2] = {in[0], bad};
  expect("dtype", dync_session_run(session, badIn, 2, out, 1), "input 'y' must be f32, got i32");
  bad = in[1];
  bad.rank = 1;
  badIn[1] = bad;
  expect("rank", dync_session_run(session, badIn, 2, out, 1), "input 'y' must have rank 2, got 1");
  bad = in[1];
  bad.shape[1] = 5;
  badIn[1] = bad;
  expect("static dim", dync_session_run(session, badIn, 2, out, 1), "input 'y' dim 1 must be 4, got 5");
  badIn[0] = tensor(x, 9, 4);
  badIn[1] = tensor(y, 9, 4);
  expect("dim bound", dync_session_run(session, badIn, 2, out, 1),
         "input 'x' dim 0 is B = 9, outside its bounds [1, 8]");
  badIn[0] = tensor(x, 3, 4);
  badIn[1] = tensor(y, 2, 4);
  expect("dims agree", dync_session_run(session, badIn, 2, out, 1),
         "input 'y' dim 0 is B = 2, but another input has B = 3");
  badIn[1] = tensor(NULL, 3, 4);
  expect("no data", dync_session_run(session, badIn, 2, out, 1), "input 'y' has no data");
  expect("null session", dync_session_run(NULL, in, 2, out, 1), "NULL session");

  expect("run", dync_session_run(session, in, 2, out, 1), NULL);
  int ok = out[0].rank == 2 && out[0].shape[0] == 3 && out[0].shape[1] == 4;
  for (int i = 0; ok && i < 12; ++i)
    ok = ((float *)out[0].data)[i] == x[i] + y[i];
  printf("%s output values\n", ok ? "PASS" : "FAIL");
  failures += !ok;
  dync_tensor_free(&out[0]);
  dync_tensor_free(&out[0]); /* a second free is a no-op */

  /* The thread's workspace freed between runs: the next run allocates it
   * again and computes the same. */
  dync_thread_workspace_release();
  expect("run after releasing the workspace", dync_session_run(session, in, 2, out, 1), NULL);
  ok = out[0].rank == 2;
  for (int i = 0; ok && i < 12; ++i)
    ok = ((float *)out[0].data)[i] == x[i] + y[i];
  printf("%s output values after releasing the workspace\n", ok ? "PASS" : "FAIL");
  failures += !ok;
  dync_tensor_free(&out[0]);

  /* A model with weights: a missing weights file, and one without the
   * tensor the model needs. */
  dync_model_t *other = NULL;
  expect("weights file missing", dync_model_load(argv[2], "/nonexistent.safetensors", &other),
         "weights file '/nonexistent.safetensors'");
  expect("weights file lacks a tensor", dync_model_load(argv[2], getenv("OTHER_WEIGHTS"), &other),
         "has no tensor 'w', which the model needs");
  expect("weighted load", dync_model_load(argv[2], NULL, &other), NULL);
  dync_model_release(other);

  dync_session_release(session);
  dync_model_release(model);
  printf("%d failure(s)\n", failures);
  return failures != 0;
}
