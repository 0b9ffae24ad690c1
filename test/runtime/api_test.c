/* Exercises libdyncrt's C API, including every error status, on a model
 * compiled by the lit test that runs this program.
 *
 *   api_test MODEL.so WEIGHTED.so NOT_A_MODEL.so NOT_A_LIBRARY
 *
 * The model: inputs x [B, 4] f32 (B in [1, 8]) and y [B, 4] f32; output
 * s = x + y. Prints one line per check; exits non-zero on the first failure. */
#include "dync/runtime.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

/* Expects `s` to be an error of `code` whose message contains `needle` (or
 * success if needle is NULL); frees it. */
static void expectCode(const char *what, dync_status_t *s, dync_status_code_t code,
                       const char *needle) {
  const char *msg = dync_status_message(s);
  int ok = needle ? (s != NULL && strstr(msg, needle) != NULL && dync_status_code(s) == code)
                  : s == NULL && dync_status_code(s) == DYNC_STATUS_OK;
  printf("%s %s: [%s] %s\n", ok ? "PASS" : "FAIL", what,
         dync_status_code_name(dync_status_code(s)), msg);
  if (!ok)
    ++failures;
  dync_status_free(s);
}
#define expect(what, s, needle) expectCode(what, s, DYNC_STATUS_INVALID_ARGUMENT, needle)

static void noEntry(void **args, void *results) {
  (void)args;
  (void)results;
}

/* Loading a linked model described by `manifest` (with no code to run). */
static dync_status_t *loadManifest(const char *manifest, const char *weights,
                                   dync_model_t **out) {
  dync_static_model_t m = {manifest, noEntry, NULL, 0, NULL};
  return dync_model_load_static(&m, weights, out);
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
  if (argc != 5) {
    fprintf(stderr, "usage: api_test MODEL.so WEIGHTED.so NOT_A_MODEL.so NOT_A_LIBRARY\n");
    return 2;
  }
  printf("api version %d, model abi version %d\n", dync_api_version(), dync_model_abi_version());

  dync_model_t *model = NULL;
  expectCode("missing file", dync_model_load("/nonexistent/model.so", NULL, &model),
             DYNC_STATUS_NOT_FOUND, "cannot load model '/nonexistent/model.so': no such file");
  expectCode("not a dync model", dync_model_load(argv[3], NULL, &model),
             DYNC_STATUS_INCOMPATIBLE,
             "is not a model compiled by dync (no dync_manifest or dync_entry)");
  expectCode("not a library", dync_model_load(argv[4], NULL, &model), DYNC_STATUS_INCOMPATIBLE,
             "cannot load model");
  expect("null load_static", dync_model_load_static(NULL, NULL, &model),
         "dync_model_load_static: model, its manifest and entry, and out_model must not be NULL");
  expectCode("malformed manifest", loadManifest("{not json", NULL, &model),
             DYNC_STATUS_DATA_LOSS, "has a malformed manifest (not a JSON object)");
  expectCode("another ABI", loadManifest("{\"abi_version\": 1}", NULL, &model),
             DYNC_STATUS_INCOMPATIBLE,
             "was compiled for model ABI version 1, but this runtime reads version 2: "
             "compile it again with this dync");
  expectCode("another target", loadManifest("{\"abi_version\": 2, \"target\": \"tpu\"}", NULL, &model),
             DYNC_STATUS_INCOMPATIBLE, "was compiled for target 'tpu', which this runtime cannot run");
  expectCode("cuda linked statically",
             loadManifest("{\"abi_version\": 2, \"target\": \"cuda\"}", NULL, &model),
             DYNC_STATUS_UNIMPLEMENTED,
             "the linked model was compiled for CUDA; link a CPU model statically, or load a "
             "CUDA model's library with dync_model_load");
  expectCode("param default out of range",
             loadManifest("{\"abi_version\": 2, \"args\": [{\"kind\": \"param\", \"name\": \"k\", "
                          "\"dtype\": \"i32\", \"shape\": [], \"default\": 2.2e69}]}",
                          NULL, &model),
             DYNC_STATUS_DATA_LOSS, "has a malformed manifest (param 'k' has default 2.2e+69, which is "
                                    "not a i32 value)");
  expectCode("argument not an object", loadManifest("{\"abi_version\": 2, \"args\": [1]}", NULL, &model),
             DYNC_STATUS_DATA_LOSS, "has a malformed manifest (an argument is not an object)");
  expectCode("argument kind",
             loadManifest("{\"abi_version\": 2, \"args\": [{\"kind\": \"blob\"}]}", NULL, &model),
             DYNC_STATUS_DATA_LOSS, "has a malformed manifest (argument kind 'blob')");
  expectCode("argument dtype",
             loadManifest("{\"abi_version\": 2, \"args\": [{\"kind\": \"input\", \"name\": \"x\", "
                          "\"dtype\": \"q8\", \"shape\": [4]}]}", NULL, &model),
             DYNC_STATUS_UNIMPLEMENTED, "model argument 'x' has an unsupported dtype");
  expectCode("argument rank",
             loadManifest("{\"abi_version\": 2, \"args\": [{\"kind\": \"input\", \"name\": \"x\", "
                          "\"dtype\": \"f32\", \"shape\": [1,1,1,1,1,1,1,1,1]}]}", NULL, &model),
             DYNC_STATUS_UNIMPLEMENTED, "model argument 'x' has rank 9; the runtime takes at most 8");
  expectCode("result not an object", loadManifest("{\"abi_version\": 2, \"results\": [1]}", NULL, &model),
             DYNC_STATUS_DATA_LOSS, "has a malformed manifest (a result is not an object)");
  expectCode("result dtype",
             loadManifest("{\"abi_version\": 2, \"results\": [{\"name\": \"y\", \"dtype\": \"q8\", "
                          "\"rank\": 1}]}", NULL, &model),
             DYNC_STATUS_UNIMPLEMENTED, "model output 'y' is not supported (dtype or rank)");
  expect("null arguments", dync_model_load(NULL, NULL, &model),
         "dync_model_load: model_path and out_model must not be NULL");
  expect("null session arguments", dync_session_create(NULL, NULL),
         "dync_session_create: model and out_session must not be NULL");
  expect("load", dync_model_load(argv[1], NULL, &model), NULL);
  if (!model)
    return 1;
  printf("device %s (null model: %s)\n", dync_model_device(model),
         dync_model_device(NULL) ? "?" : "NULL");
  printf("inputs %d: %s %s; outputs %d: %s\n", dync_model_num_inputs(model),
         dync_model_input_name(model, 0), dync_model_input_name(model, 1),
         dync_model_num_outputs(model), dync_model_output_name(model, 0));
  if (dync_model_input_name(model, 7) != NULL || dync_model_output_name(model, -1) != NULL) {
    printf("FAIL out-of-range names are not NULL\n");
    ++failures;
  }

  printf("signature: x %s rank %d [%lld(%s), %lld(%s)]; s %s rank %d; dims %d: %s %lld:%lld; "
         "params %d\n",
         dync_dtype_name(dync_model_input_dtype(model, 0)), dync_model_input_rank(model, 0),
         (long long)dync_model_input_dim(model, 0, 0), dync_model_input_dim_name(model, 0, 0),
         (long long)dync_model_input_dim(model, 0, 1),
         dync_model_input_dim_name(model, 0, 1) ? "named" : "static",
         dync_dtype_name(dync_model_output_dtype(model, 0)), dync_model_output_rank(model, 0),
         dync_model_num_dims(model), dync_model_dim_name(model, 0),
         (long long)dync_model_dim_min(model, 0), (long long)dync_model_dim_max(model, 0),
         dync_model_num_params(model));
  if (dync_model_input_rank(model, 2) != -1 || dync_model_input_dim(model, 0, 2) != -1 ||
      dync_model_input_dim_name(model, 0, -1) != NULL || dync_model_output_rank(model, 1) != -1 ||
      (int)dync_model_input_dtype(model, 9) != -1 || dync_model_dim_name(model, 1) != NULL ||
      dync_model_dim_max(model, 1) != -1 || dync_model_param_name(model, 0) != NULL ||
      (int)dync_model_param_dtype(model, 0) != -1 || dync_model_num_dims(NULL) != 0) {
    printf("FAIL out-of-range signature queries\n");
    ++failures;
  }

  dync_session_t *session = NULL;
  expect("session", dync_session_create(model, &session), NULL);
  printf("stats %d, name out of range %s, value out of range %lld\n",
         dync_model_num_stats(model), dync_model_stat_name(model, 3) ? "set" : "NULL",
         (long long)dync_session_stat(session, 5));
  expectCode("unknown param", dync_session_set_param(session, "nope", 1.0),
             DYNC_STATUS_NOT_FOUND, "the model has no runtime parameter 'nope' (it has: none)");
  expect("null param name", dync_session_set_param(session, NULL, 1.0),
         "dync_session_set_param: session and name must not be NULL");
  printf("default threads at least 1: %s\n", dync_session_threads(session) >= 1 ? "yes" : "no");
  expect("zero threads", dync_session_set_threads(session, 0),
         "threads must be between 1 and 1024, got 0");
  expect("too many threads", dync_session_set_threads(session, 5000),
         "threads must be between 1 and 1024, got 5000");
  expect("threads of a NULL session", dync_session_set_threads(NULL, 2),
         "dync_session_set_threads: session must not be NULL");
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
  expect("null session", dync_session_run(NULL, in, 2, out, 1),
         "dync_session_run: NULL session, inputs or outputs");

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
  expectCode("weights file missing", dync_model_load(argv[2], "/nonexistent.safetensors", &other),
             DYNC_STATUS_NOT_FOUND, "weights file '/nonexistent.safetensors' does not exist");
  expectCode("weights file lacks a tensor", dync_model_load(argv[2], getenv("OTHER_WEIGHTS"), &other),
             DYNC_STATUS_NOT_FOUND, "has no tensor 'w', which the model needs");
  expect("weighted load", dync_model_load(argv[2], NULL, &other), NULL);
  printf("weights copied: %lld bytes (null model: %lld)\n",
         (long long)dync_model_weight_copy_bytes(other),
         (long long)dync_model_weight_copy_bytes(NULL));
  dync_model_release(other);

  /* A weight the runtime packs in panels (lin32's [32, 4] Linear weight):
   * its copy is counted, and a stored weight of another shape is refused. */
  if (getenv("PACKED_MODEL")) {
    expect("packed load", dync_model_load(getenv("PACKED_MODEL"), NULL, &other), NULL);
    printf("packed weights copied: %lld bytes\n", (long long)dync_model_weight_copy_bytes(other));
    dync_model_release(other);
    expectCode("packed weight shape",
               dync_model_load(getenv("PACKED_MODEL"), getenv("SHAPE_WEIGHTS"), &other),
               DYNC_STATUS_INCOMPATIBLE, "has a different shape than the model was compiled for");
  }
  expectCode("panel not a weight's",
             loadManifest("{\"abi_version\": 2, \"args\": [{\"kind\": \"weight\", \"name\": \"w\", "
                          "\"dtype\": \"f32\", \"shape\": [1, 4, 16], \"panel\": 32}]}",
                          NULL, &other),
             DYNC_STATUS_DATA_LOSS,
             "has a malformed manifest (argument 'w' has a panel, but is not an f32 weight of shape [(E,) N / panel, K, panel])");

  /* Weights of another shape or dtype than the model was compiled for. */
  expectCode("weight shape", dync_model_load(argv[2], getenv("SHAPE_WEIGHTS"), &other),
             DYNC_STATUS_INCOMPATIBLE, "has a different shape than the model was compiled for");
  expectCode("weight dtype", dync_model_load(argv[2], getenv("DTYPE_WEIGHTS"), &other),
             DYNC_STATUS_INCOMPATIBLE, "is F16, but the model was compiled for f32");
  expectCode("weights file malformed", dync_model_load(argv[2], argv[4], &other),
             DYNC_STATUS_DATA_LOSS, "");

  /* An i32 runtime parameter takes integers only. */
  dync_model_t *withParam = NULL;
  expectCode("i32 param model",
             loadManifest("{\"abi_version\": 2, \"args\": [{\"kind\": \"param\", \"name\": \"k\", "
                          "\"dtype\": \"i32\", \"shape\": [], \"default\": 2}]}", NULL, &withParam),
             DYNC_STATUS_OK, NULL);
  printf("params %d: %s %s default %g\n", dync_model_num_params(withParam),
         dync_model_param_name(withParam, 0),
         dync_dtype_name(dync_model_param_dtype(withParam, 0)),
         dync_model_param_default(withParam, 0));
  dync_session_t *ps = NULL;
  expectCode("i32 param session", dync_session_create(withParam, &ps), DYNC_STATUS_OK, NULL);
  expect("i32 param given 2.5", dync_session_set_param(ps, "k", 2.5),
         "runtime parameter 'k' is i32; 2.5 is not a 32-bit integer");
  expect("i32 param given 2^40", dync_session_set_param(ps, "k", 1099511627776.0),
         "runtime parameter 'k' is i32; 1.09951e+12 is not a 32-bit integer");
  expectCode("i32 param given 3", dync_session_set_param(ps, "k", 3), DYNC_STATUS_OK, NULL);
  dync_session_release(ps);
  dync_model_release(withParam);

  /* An entry that returns no data for a non-empty output (a broken model). */
  dync_model_t *noData = NULL;
  expectCode("no-data model",
             loadManifest("{\"abi_version\": 2, \"results\": [{\"name\": \"y\", \"dtype\": "
                          "\"f32\", \"rank\": 0}]}", NULL, &noData),
             DYNC_STATUS_OK, NULL);
  dync_session_t *nds = NULL;
  expectCode("no-data session", dync_session_create(noData, &nds), DYNC_STATUS_OK, NULL);
  dync_tensor_t ndOut;
  memset(&ndOut, 0, sizeof ndOut);
  expectCode("no data for an output", dync_session_run(nds, NULL, 0, &ndOut, 1),
             DYNC_STATUS_INTERNAL, "the model returned no data for output 'y'");
  dync_session_release(nds);
  dync_model_release(noData);

  /* Inputs with a negative dim. */
  badIn[0] = tensor(x, -1, 4);
  badIn[1] = tensor(y, 3, 4);
  expect("negative dim", dync_session_run(session, badIn, 2, out, 1),
         "input 'x' dim 0 is negative (-1)");

  printf("codes: %s, %s, %s, %s\n", dync_status_code_name(DYNC_STATUS_OUT_OF_MEMORY),
         dync_status_code_name(DYNC_STATUS_UNAVAILABLE), dync_status_code_name(DYNC_STATUS_INTERNAL),
         dync_status_code_name((dync_status_code_t)99));

  dync_session_release(session);
  dync_model_release(model);
  printf("%d failure(s)\n", failures);
  return failures != 0;
}
