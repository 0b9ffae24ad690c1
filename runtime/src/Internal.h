//===- Internal.h - libdyncrt's state, shared by its files ------*- C++ -*-===//
//
// runtime/src/: Status.cpp (statuses, versions, dtypes), Manifest.cpp (what
// a compiled model says of its entry), Model.cpp (loading, weights),
// Signature.cpp (the inputs, outputs, dims and parameters it describes),
// Session.cpp (per-run settings and statistics), Run.cpp (validation, the
// entry's arguments, the outputs), ModelSupport.cpp (what compiled code
// calls: allocation, workspace, parallel loops, copies, the clock), Cuda.cpp
// (the CUDA driver and the mgpu* calls of CUDA models).
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_RUNTIME_INTERNAL_H
#define DYNC_RUNTIME_INTERNAL_H

#include "dync/runtime.h"

#include "SafeTensors.h"
#include "ThreadPool.h"

#include <csetjmp>
#include <map>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

struct dync_status_t {
  dync_status_code_t code;
  std::string message;
};

namespace dync::rt {

/// A status of `code` with a printf-style message.
dync_status_t *fail(dync_status_code_t code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/// More threads than this per session is a mistake, not a configuration.
inline constexpr int kMaxThreads = 1024;

enum class ArgKind { Input, Weight, Param, Stats };

/// An argument of the compiled entry, as the manifest describes it.
struct Arg {
  ArgKind kind;
  std::string name;
  dync_dtype_t dtype = DYNC_F32;
  /// Static sizes; -1 with a symbol for model dims.
  std::vector<int64_t> shape;
  std::vector<std::string> symbols;
  double defaultValue = 0;
  /// Weights: the mapped (or, if misaligned or packed, copied) data.
  const void *data = nullptr;
  /// Weights packed in panels of this many rows (`shape` is the packed
  /// [N / panel, K, panel] of the stored [N, K]); 0 for a weight as stored.
  int64_t panel = 0;
};

struct Result {
  std::string name;
  dync_dtype_t dtype;
  int32_t rank;
};

using EntryFn = void (*)(void **args, void *results);

bool parseDType(const std::string &s, dync_dtype_t &out);

/// The state a run on this thread gives the code it calls: the session's
/// pool for parallel loops, and where to return if an allocation fails.
struct RunContext {
  ThreadPool *pool = nullptr;
  /// Parallel loops of this run that more than one thread took part in.
  int64_t parallelLoops = 0;
  /// Allocations the model made during the run (freed if it is abandoned).
  std::unordered_set<void *> allocations;
  /// A CUDA model's run: its buffers are managed memory (Cuda.h).
  bool cuda = false;
  /// Where a run that cannot go on returns, and why (out of memory unless
  /// said otherwise: a failing CUDA driver call sets its own).
  std::jmp_buf outOfMemory;
  dync_status_code_t failure = DYNC_STATUS_OUT_OF_MEMORY;
  std::string failureMessage;
};

/// The run in progress on this thread, or null.
RunContext *&currentRun();

/// Frees a buffer the model's code allocated during `run` (managed memory
/// in a CUDA run).
void freeModelBuffer(void *p, const RunContext *run);

/// Points a model's `dync_parallel_hook` at the runtime's thread pool.
void installParallelHook(void **hook);

} // namespace dync::rt

struct dync_model_t {
  void *library = nullptr;
  dync::rt::EntryFn entry = nullptr;
  std::vector<dync::rt::Arg> args;
  std::vector<dync::rt::Result> results;
  std::map<std::string, std::pair<int64_t, int64_t>> dims;
  std::vector<size_t> inputArgs, paramArgs;
  std::vector<std::string> statNames;
  std::string weightsFile;
  std::unique_ptr<dync::safetensors::File> weights;
  std::vector<std::unique_ptr<char[]>> alignedCopies;
  /// Weights packed for the matmul kernel (64-byte aligned, freed with free).
  std::vector<std::unique_ptr<void, void (*)(void *)>> packedCopies;
  /// Bytes of weights copied at load: packed, misaligned, or to the device.
  int64_t weightCopyBytes = 0;
  /// Compiled with --target=cuda: the weights live in managed memory.
  bool cuda = false;
  std::vector<void *> deviceCopies;

  ~dync_model_t();
};

struct dync_session_t {
  const dync_model_t *model = nullptr;
  /// Parameter values by argument index (as float or int32 bytes).
  std::map<size_t, std::pair<float, int32_t>> params;
  /// Statistics of the last run; the array the model counts into.
  std::vector<int64_t> stats;
  /// Threads a run may use (the caller included); the pool is started at
  /// the first run that can use it.
  int threads = 1;
  std::unique_ptr<dync::rt::ThreadPool> pool;
  int64_t parallelLoops = 0;
};

namespace dync::rt {

/// Reads a model's manifest into `model` (arguments, results, dims, stats).
dync_status_t *readManifest(dync_model_t &model, const char *text, const char *modelPath);

/// Binds the weights a model needs: from `weightsPath`, the embedded bytes,
/// the path recorded at compile time, or that file's name next to the model.
dync_status_t *bindWeights(dync_model_t &model, const char *modelPath, const char *weightsPath,
                           const uint8_t *embedded, uint64_t embeddedSize);

} // namespace dync::rt

#endif // DYNC_RUNTIME_INTERNAL_H
