/*===- runtime.h - libdyncrt: load and run models compiled by dync -------===*
 *
 * C11 API. Fallible calls return a dync_status_t*: NULL means success; any
 * other value carries a code (dync_status_code) and a message
 * (dync_status_message) and must be released with dync_status_free. The
 * library never aborts on bad input, and an allocation that fails, in the
 * runtime or in a model's code on the calling thread, is an
 * DYNC_STATUS_OUT_OF_MEMORY status.
 *
 * Lifetimes: a dync_model_t must outlive the sessions created from it; a
 * dync_session_t must outlive its runs (one at a time). Output tensors own
 * their memory: they stay valid after the session and the model are
 * released, until dync_tensor_free. Statuses are independent of everything.
 *
 * Thread safety: a dync_model_t is immutable once loaded and may be shared by
 * any number of threads. A dync_session_t holds per-run state (runtime
 * parameters, statistics, its thread pool) and must be used by one thread at
 * a time; create one session per thread to run a model concurrently.
 *
 * Threads: each session runs the model's parallel loops on its own pool of
 * threads (the calling thread and threads - 1 workers; by default as many
 * threads as the process has processors). A loop uses as many threads as
 * its size is worth, so small models stay on the calling thread.
 *
 *===----------------------------------------------------------------------===*/

#ifndef DYNC_RUNTIME_H
#define DYNC_RUNTIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define DYNC_API
#else
#define DYNC_API __attribute__((visibility("default")))
#endif

/** The C API's version: bumped when this header changes incompatibly. */
#define DYNC_API_VERSION 2
/** The compiled-model ABI's version (the `abi_version` of a model's
 *  manifest): bumped when what `dync` emits changes incompatibly. A model of
 *  another version is refused with DYNC_STATUS_INCOMPATIBLE. Version 2 passes
 *  the run statistics array to the entry point. */
#define DYNC_MODEL_ABI_VERSION 2

typedef struct dync_status_t dync_status_t;

/** What kind of failure a status reports. */
typedef enum dync_status_code_t {
  DYNC_STATUS_OK = 0,
  /** A NULL or out-of-range argument, an input of the wrong dtype or shape. */
  DYNC_STATUS_INVALID_ARGUMENT = 1,
  /** A file, weight tensor or runtime parameter that does not exist. */
  DYNC_STATUS_NOT_FOUND = 2,
  /** An allocation failed. */
  DYNC_STATUS_OUT_OF_MEMORY = 3,
  /** Something this runtime does not do (yet). */
  DYNC_STATUS_UNIMPLEMENTED = 4,
  /** Not a dync model, a model of another ABI, or weights of another shape
   *  or dtype than the model was compiled for. */
  DYNC_STATUS_INCOMPATIBLE = 5,
  /** A malformed model manifest or weights file. */
  DYNC_STATUS_DATA_LOSS = 6,
  /** A device or driver that is not there (no CUDA driver, no GPU). */
  DYNC_STATUS_UNAVAILABLE = 7,
  /** A bug in dync. */
  DYNC_STATUS_INTERNAL = 8,
  /** Not a code: makes every int a valid value of the type, so a code from
   *  a newer runtime (or garbage) can be passed to dync_status_code_name. */
  DYNC_STATUS_CODE_MAX_ = 0x7fffffff,
} dync_status_code_t;
typedef struct dync_model_t dync_model_t;
typedef struct dync_session_t dync_session_t;

typedef enum dync_dtype_t {
  /** Not a dtype: what a signature query out of range returns. */
  DYNC_DTYPE_INVALID = -1,
  DYNC_F32 = 0,
  DYNC_F16 = 1,
  DYNC_BF16 = 2,
  DYNC_I32 = 3,
  DYNC_I64 = 4,
  DYNC_BOOL = 5,
} dync_dtype_t;

#define DYNC_MAX_RANK 8

/** A dense row-major tensor. For inputs the caller owns `data`. Outputs are
 *  allocated by the run; release them with dync_tensor_free. */
typedef struct dync_tensor_t {
  dync_dtype_t dtype;
  int32_t rank;
  int64_t shape[DYNC_MAX_RANK];
  void *data;
  /** Internal: the allocation behind an output (NULL for inputs). */
  void *allocation;
} dync_tensor_t;

DYNC_API int32_t dync_api_version(void);
DYNC_API int32_t dync_model_abi_version(void);

/** DYNC_STATUS_OK for NULL (success). */
DYNC_API dync_status_code_t dync_status_code(const dync_status_t *status);
/** "ok", "invalid argument", "not found", ... */
DYNC_API const char *dync_status_code_name(dync_status_code_t code);
/** "ok" for NULL. */
DYNC_API const char *dync_status_message(const dync_status_t *status);
DYNC_API void dync_status_free(dync_status_t *status);

/** Loads a compiled model (`dync model.json -o model.so`) and maps its
 *  weights. `weights_path` may be NULL: the path recorded at compile time is
 *  used, and if it does not exist, the file of that name next to the model. */
DYNC_API dync_status_t *dync_model_load(const char *model_path,
                                        const char *weights_path,
                                        dync_model_t **out_model);
DYNC_API void dync_model_release(dync_model_t *model);

/** A model linked into the program (`dync --emit=obj` + `--emit=header`):
 *  the generated header fills this in; no dynamic loading is involved. */
typedef struct dync_static_model_t {
  const char *manifest;
  void (*entry)(void **args, void *results);
  /** The weights, if compiled with --embed-weights; else NULL. */
  const uint8_t *embedded_weights;
  uint64_t embedded_weights_size;
  /** The model's `dync_parallel_hook`, which the runtime points at its
   *  thread pool (NULL: the model runs on the calling thread). */
  void **parallel_hook;
} dync_static_model_t;

/** Like dync_model_load, for a statically linked model. `weights_path` may
 *  be NULL: embedded weights, else the path recorded at compile time. */
DYNC_API dync_status_t *dync_model_load_static(const dync_static_model_t *model,
                                               const char *weights_path,
                                               dync_model_t **out_model);

DYNC_API int32_t dync_model_num_inputs(const dync_model_t *model);
/** What the model runs on: "cpu", or "cuda" for a model compiled with
 *  `dync --target=cuda` (its runs launch kernels on CUDA device 0; loading
 *  it fails with DYNC_STATUS_UNAVAILABLE without a driver or a device).
 *  NULL for a NULL model. */
DYNC_API const char *dync_model_device(const dync_model_t *model);
/** Bytes of weights the runtime copied when it loaded the model: weights
 *  packed in the panels the CPU's matmul kernel streams, misaligned tensors,
 *  a CUDA model's copies in managed memory. Every other weight is read where
 *  the weights file is mapped. 0 for a NULL model. */
DYNC_API int64_t dync_model_weight_copy_bytes(const dync_model_t *model);
DYNC_API const char *dync_model_input_name(const dync_model_t *model, int32_t i);
DYNC_API int32_t dync_model_num_outputs(const dync_model_t *model);
DYNC_API const char *dync_model_output_name(const dync_model_t *model, int32_t i);

/** The signature, for callers that check or allocate their inputs (the
 *  Python package's `inputs`/`outputs`/`params`). Out-of-range indices give
 *  -1 (DYNC_DTYPE_INVALID for dtypes), or NULL for names. */
DYNC_API dync_dtype_t dync_model_input_dtype(const dync_model_t *model, int32_t i);
DYNC_API int32_t dync_model_input_rank(const dync_model_t *model, int32_t i);
/** Dim `d` of input `i`: its static size, or -1 for a model dim (dynamic),
 *  whose name dync_model_input_dim_name gives (NULL for a static dim). */
DYNC_API int64_t dync_model_input_dim(const dync_model_t *model, int32_t i, int32_t d);
DYNC_API const char *dync_model_input_dim_name(const dync_model_t *model, int32_t i,
                                               int32_t d);
DYNC_API dync_dtype_t dync_model_output_dtype(const dync_model_t *model, int32_t i);
DYNC_API int32_t dync_model_output_rank(const dync_model_t *model, int32_t i);
/** The model's dynamic dims and the bounds it was compiled for (inclusive). */
DYNC_API int32_t dync_model_num_dims(const dync_model_t *model);
DYNC_API const char *dync_model_dim_name(const dync_model_t *model, int32_t i);
DYNC_API int64_t dync_model_dim_min(const dync_model_t *model, int32_t i);
DYNC_API int64_t dync_model_dim_max(const dync_model_t *model, int32_t i);
/** Runtime parameters: name, dtype (DYNC_F32 or DYNC_I32) and default. */
DYNC_API int32_t dync_model_num_params(const dync_model_t *model);
DYNC_API const char *dync_model_param_name(const dync_model_t *model, int32_t i);
DYNC_API dync_dtype_t dync_model_param_dtype(const dync_model_t *model, int32_t i);
DYNC_API double dync_model_param_default(const dync_model_t *model, int32_t i);

DYNC_API dync_status_t *dync_session_create(const dync_model_t *model,
                                            dync_session_t **out_session);
DYNC_API void dync_session_release(dync_session_t *session);

/** Sets the number of threads the following runs of this session use, the
 *  calling thread included: 1 runs everything on the calling thread. The
 *  default is the number of processors available to the process. Changing it
 *  stops the session's worker threads; they start again at the next run. */
DYNC_API dync_status_t *dync_session_set_threads(dync_session_t *session,
                                                 int32_t threads);
DYNC_API int32_t dync_session_threads(const dync_session_t *session);

/** How many parallel loops of the session's last run were split among more
 *  than one thread (0 with one thread, or when every loop was too small). */
DYNC_API int64_t dync_session_parallel_loops(const dync_session_t *session);

/** Sets a runtime parameter for the following runs of this session; checked
 *  against the parameter's type (an i32 parameter needs an integral value). */
DYNC_API dync_status_t *dync_session_set_param(dync_session_t *session,
                                               const char *name, double value);

/** Runs the model. `inputs` in the model's input order; each is checked
 *  (dtype, rank, sizes, dims within their declared bounds and consistent).
 *  On success `outputs[0 .. n_outputs)` receive new tensors. */
DYNC_API dync_status_t *dync_session_run(dync_session_t *session,
                                         const dync_tensor_t *inputs,
                                         int32_t n_inputs,
                                         dync_tensor_t *outputs,
                                         int32_t n_outputs);

/** Run statistics: what the network decided in the session's last run
 *  (samples that ran each gate, samples per early-exit stage, tokens per
 *  expert, attention blocks computed...). Names come from the model; values
 *  are those of the last successful run of the session (0 before any). */
DYNC_API int32_t dync_model_num_stats(const dync_model_t *model);
DYNC_API const char *dync_model_stat_name(const dync_model_t *model, int32_t i);
DYNC_API int64_t dync_session_stat(const dync_session_t *session, int32_t i);

DYNC_API void dync_tensor_free(dync_tensor_t *tensor);

/** Compiled models keep their temporary buffers in a per-thread workspace
 *  that persists between runs (so warm runs allocate nothing) and is freed
 *  when the thread exits. This frees the calling thread's workspace now;
 *  the next run on the thread allocates it again. */
DYNC_API void dync_thread_workspace_release(void);
DYNC_API int64_t dync_dtype_size(dync_dtype_t dtype);
DYNC_API const char *dync_dtype_name(dync_dtype_t dtype);

#ifdef __cplusplus
}
#endif

#endif /* DYNC_RUNTIME_H */
