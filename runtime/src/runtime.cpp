//===- runtime.cpp - libdyncrt --------------------------------------------===//
//
// Loads a shared library written by `dync -o model.so`, reads its manifest
// (the entry point's arguments in order: inputs, weights, params), maps the
// weights file, and calls the packed entry point `dync_entry(args, results)`
// with memref descriptors built around caller and weight memory.
//
//===----------------------------------------------------------------------===//

#include "dync/runtime.h"

#include "SafeTensors.h"
#include "ThreadPool.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <time.h>
#include <vector>

struct dync_status_t {
  std::string message;
};

/// More threads than this per session is a mistake, not a configuration.
static constexpr int kMaxThreads = 1024;

namespace {

dync_status_t *fail(const char *fmt, ...) {
  char buffer[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buffer, sizeof buffer, fmt, ap);
  va_end(ap);
  return new dync_status_t{buffer};
}

bool parseDType(const std::string &s, dync_dtype_t &out) {
  static const std::map<std::string, dync_dtype_t> names = {
      {"f32", DYNC_F32}, {"f16", DYNC_F16}, {"bf16", DYNC_BF16},
      {"i32", DYNC_I32}, {"i64", DYNC_I64}, {"bool", DYNC_BOOL}};
  auto it = names.find(s);
  if (it == names.end())
    return false;
  out = it->second;
  return true;
}

enum class ArgKind { Input, Weight, Param };

struct Arg {
  ArgKind kind;
  std::string name;
  dync_dtype_t dtype;
  /// Static sizes; -1 with a symbol for model dims.
  std::vector<int64_t> shape;
  std::vector<std::string> symbols;
  double defaultValue = 0;
  /// Weights: the mapped (or, if misaligned, copied) data.
  const void *data = nullptr;
};

struct Result {
  std::string name;
  dync_dtype_t dtype;
  int32_t rank;
};

using EntryFn = void (*)(void **args, void *results);

/// What a run on this thread hands its parallel loops to.
struct RunContext {
  dync::rt::ThreadPool *pool;
  /// Parallel loops of this run that more than one thread took part in.
  int64_t parallelLoops = 0;
};
thread_local RunContext *currentRun = nullptr;

/// The function compiled models call through `dync_parallel_hook` for each
/// outermost parallel loop. Outside a run with a pool (a worker thread, a
/// one-thread session) the loop runs here.
void parallelHook(dync::rt::ChunkFn fn, void *frame, int64_t n, int64_t work) {
  RunContext *run = currentRun;
  if (!run || !run->pool) {
    if (n > 0)
      fn(frame, 0, n);
    return;
  }
  if (run->pool->parallelFor(fn, frame, n, work))
    ++run->parallelLoops;
}

/// Points a model's `dync_parallel_hook` at the runtime's thread pool.
void installParallelHook(void **hook) {
  if (hook)
    *hook = reinterpret_cast<void *>(&parallelHook);
}

bool fileExists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The manifest comes from a file the user gave us: read it without ever
// trusting a type (nlohmann's checked accessors abort without exceptions).
std::string jsonString(const nlohmann::json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
int64_t jsonInt(const nlohmann::json &j, const char *key, int64_t dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : dflt;
}
const nlohmann::json &jsonArray(const nlohmann::json &j, const char *key) {
  static const nlohmann::json empty = nlohmann::json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

std::string dirOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string baseOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

} // namespace

struct dync_model_t;
static dync_status_t *initModel(dync_model_t &model, const char *manifestText,
                                const char *modelPath, const char *weightsPath,
                                const uint8_t *embedded, uint64_t embeddedSize);

struct dync_model_t {
  void *library = nullptr;
  EntryFn entry = nullptr;
  /// The compiled model's `dync_stats_address`: the calling thread's
  /// statistics array (found once, at load).
  int64_t *(*statsAddress)(void) = nullptr;
  std::vector<Arg> args;
  std::vector<Result> results;
  std::map<std::string, std::pair<int64_t, int64_t>> dims;
  std::vector<size_t> inputArgs, paramArgs;
  std::vector<std::string> statNames;
  std::unique_ptr<dync::safetensors::File> weights;
  std::vector<std::unique_ptr<char[]>> alignedCopies;

  ~dync_model_t() {
    if (library)
      dlclose(library);
  }
};

struct dync_session_t {
  const dync_model_t *model = nullptr;
  /// Parameter values by argument index (as float or int32 bytes).
  std::map<size_t, std::pair<float, int32_t>> params;
  /// Statistics of the last run.
  std::vector<int64_t> stats;
  /// Threads a run may use (the caller included); the pool is started at
  /// the first run that can use it.
  int threads = dync::rt::availableProcessors();
  std::unique_ptr<dync::rt::ThreadPool> pool;
  int64_t parallelLoops = 0;
};

extern "C" {

int32_t dync_api_version(void) { return DYNC_API_VERSION; }

const char *dync_status_message(const dync_status_t *status) {
  return status ? status->message.c_str() : "ok";
}

void dync_status_free(dync_status_t *status) { delete status; }

int64_t dync_dtype_size(dync_dtype_t dtype) {
  switch (dtype) {
  case DYNC_F32: case DYNC_I32: return 4;
  case DYNC_F16: case DYNC_BF16: return 2;
  case DYNC_I64: return 8;
  case DYNC_BOOL: return 1;
  }
  return 0;
}

const char *dync_dtype_name(dync_dtype_t dtype) {
  switch (dtype) {
  case DYNC_F32: return "f32";
  case DYNC_F16: return "f16";
  case DYNC_BF16: return "bf16";
  case DYNC_I32: return "i32";
  case DYNC_I64: return "i64";
  case DYNC_BOOL: return "bool";
  }
  return "?";
}

dync_status_t *dync_model_load(const char *modelPath, const char *weightsPath,
                               dync_model_t **outModel) {
  if (!modelPath || !outModel)
    return fail("dync_model_load: model_path and out_model must not be NULL");
  *outModel = nullptr;
  auto model = std::make_unique<dync_model_t>();
  // A bare file name means this directory, not the library search path.
  std::string path = std::strchr(modelPath, '/') ? modelPath : std::string("./") + modelPath;
  model->library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!model->library)
    return fail("cannot load model '%s': %s", modelPath, dlerror());
  auto *manifestText =
      static_cast<const char *>(dlsym(model->library, "dync_manifest"));
  model->entry = reinterpret_cast<EntryFn>(dlsym(model->library, "dync_entry"));
  if (!manifestText || !model->entry)
    return fail("'%s' is not a model compiled by dync (no dync_manifest or "
                "dync_entry)", modelPath);
  auto *embedded = static_cast<const uint8_t *>(dlsym(model->library, "dync_embedded_weights"));
  auto *embeddedSize = static_cast<const uint64_t *>(dlsym(model->library, "dync_embedded_weights_size"));
  if (dync_status_t *st = initModel(*model, manifestText, modelPath, weightsPath, embedded,
                                    embeddedSize ? *embeddedSize : 0))
    return st;
  model->statsAddress =
      reinterpret_cast<int64_t *(*)(void)>(dlsym(model->library, "dync_stats_address"));
  installParallelHook(static_cast<void **>(dlsym(model->library, "dync_parallel_hook")));
  if (!model->statNames.empty() && !model->statsAddress)
    return fail("'%s' names run statistics but has no dync_stats_address", modelPath);
  *outModel = model.release();
  return nullptr;
}

dync_status_t *dync_model_load_static(const dync_static_model_t *linked,
                                      const char *weightsPath,
                                      dync_model_t **outModel) {
  if (!linked || !linked->manifest || !linked->entry || !outModel)
    return fail("dync_model_load_static: model, its manifest and entry, and "
                "out_model must not be NULL");
  *outModel = nullptr;
  auto model = std::make_unique<dync_model_t>();
  model->entry = linked->entry;
  model->statsAddress = linked->stats;
  installParallelHook(linked->parallel_hook);
  if (dync_status_t *st = initModel(*model, linked->manifest, "(linked model)", weightsPath,
                                    linked->embedded_weights, linked->embedded_weights_size))
    return st;
  if (!model->statNames.empty() && !model->statsAddress)
    return fail("the linked model names run statistics but gives no stats accessor");
  *outModel = model.release();
  return nullptr;
}

} // extern "C"

/// Reads the manifest and binds the weights: everything loading a model
/// needs once its code is reachable.
static dync_status_t *initModel(dync_model_t &m, const char *manifestText,
                                const char *modelPath, const char *weightsPath,
                                const uint8_t *embedded, uint64_t embeddedSize) {
  dync_model_t *model = &m;
  nlohmann::json manifest = nlohmann::json::parse(manifestText, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object() ||
      jsonInt(manifest, "abi_version", 0) != DYNC_API_VERSION)
    return fail("'%s' was compiled for another runtime ABI (this runtime "
                "reads version %d)", modelPath, DYNC_API_VERSION);

  if (auto dims = manifest.find("dims"); dims != manifest.end() && dims->is_object())
    for (auto &[name, d] : dims->items())
      if (d.is_object())
        model->dims[name] = {jsonInt(d, "min", 1), jsonInt(d, "max", 1)};
  for (const auto &a : jsonArray(manifest, "args")) {
    if (!a.is_object())
      return fail("'%s' has a malformed manifest", modelPath);
    Arg arg;
    std::string kind = jsonString(a, "kind");
    arg.kind = kind == "input" ? ArgKind::Input
               : kind == "weight" ? ArgKind::Weight
                                  : ArgKind::Param;
    arg.name = jsonString(a, "name");
    if (!parseDType(jsonString(a, "dtype"), arg.dtype))
      return fail("model argument '%s' has an unsupported dtype", arg.name.c_str());
    for (const auto &d : jsonArray(a, "shape")) {
      arg.shape.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
      arg.symbols.push_back(d.is_string() ? d.get<std::string>() : "");
    }
    if (auto dflt = a.find("default"); dflt != a.end() && dflt->is_number())
      arg.defaultValue = dflt->get<double>();
    if (arg.kind == ArgKind::Input)
      model->inputArgs.push_back(model->args.size());
    if (arg.kind == ArgKind::Param)
      model->paramArgs.push_back(model->args.size());
    model->args.push_back(arg);
  }
  for (const auto &name : jsonArray(manifest, "stats"))
    model->statNames.push_back(name.is_string() ? name.get<std::string>() : "?");
  for (const auto &r : jsonArray(manifest, "results")) {
    if (!r.is_object())
      return fail("'%s' has a malformed manifest", modelPath);
    Result res;
    res.name = jsonString(r, "name");
    res.rank = static_cast<int32_t>(jsonInt(r, "rank", -1));
    if (!parseDType(jsonString(r, "dtype"), res.dtype) || res.rank < 0 ||
        res.rank > DYNC_MAX_RANK)
      return fail("model output '%s' is not supported", res.name.c_str());
    model->results.push_back(res);
  }

  // Weights: the given file, the compile-time path, or that file's name next
  // to the model.
  bool needsWeights = false;
  for (const Arg &a : model->args)
    needsWeights |= a.kind == ArgKind::Weight;
  if (needsWeights) {
    std::string path = weightsPath ? weightsPath : jsonString(manifest, "weights_file");
    std::string error;
    if (!weightsPath && embedded) {
      // Compiled with --embed-weights: the model carries its weights.
      path = std::string(modelPath) + " (embedded weights)";
      model->weights = dync::safetensors::File::fromMemory(embedded, embeddedSize, path, error);
    } else {
      if (!weightsPath && !fileExists(path))
        path = dirOf(modelPath) + "/" + baseOf(path);
      model->weights = dync::safetensors::File::open(path, error);
    }
    if (!model->weights)
      return fail("%s", error.c_str());
    for (Arg &a : model->args) {
      if (a.kind != ArgKind::Weight)
        continue;
      const auto *info = model->weights->find(a.name);
      if (!info)
        return fail("weights file '%s' has no tensor '%s', which the model needs",
                    path.c_str(), a.name.c_str());
      if (info->shape != a.shape)
        return fail("weight '%s' in '%s' has a different shape than the model "
                    "was compiled for", a.name.c_str(), path.c_str());
      const char *stored = dync::safetensors::dtypeName(info->dtype);
      if (std::string(stored) != (a.dtype == DYNC_F32 ? "F32"
                                  : a.dtype == DYNC_F16 ? "F16"
                                  : a.dtype == DYNC_BF16 ? "BF16" : "?"))
        return fail("weight '%s' in '%s' is %s, but the model was compiled for %s",
                    a.name.c_str(), path.c_str(), stored, dync_dtype_name(a.dtype));
      const uint8_t *data = model->weights->data(*info);
      size_t size = info->end - info->begin;
      if (reinterpret_cast<uintptr_t>(data) % dync_dtype_size(a.dtype) != 0) {
        // Generated code assumes element alignment: copy the rare misaligned
        // tensor once.
        model->alignedCopies.emplace_back(new char[size]);
        std::memcpy(model->alignedCopies.back().get(), data, size);
        data = reinterpret_cast<const uint8_t *>(model->alignedCopies.back().get());
      }
      a.data = data;
    }
  }
  return nullptr;
}

extern "C" {

void dync_model_release(dync_model_t *model) { delete model; }

int32_t dync_model_num_inputs(const dync_model_t *model) {
  return model ? static_cast<int32_t>(model->inputArgs.size()) : 0;
}
const char *dync_model_input_name(const dync_model_t *model, int32_t i) {
  if (!model || i < 0 || i >= dync_model_num_inputs(model))
    return nullptr;
  return model->args[model->inputArgs[i]].name.c_str();
}
int32_t dync_model_num_outputs(const dync_model_t *model) {
  return model ? static_cast<int32_t>(model->results.size()) : 0;
}
const char *dync_model_output_name(const dync_model_t *model, int32_t i) {
  if (!model || i < 0 || i >= dync_model_num_outputs(model))
    return nullptr;
  return model->results[i].name.c_str();
}

dync_status_t *dync_session_create(const dync_model_t *model,
                                   dync_session_t **outSession) {
  if (!model || !outSession)
    return fail("dync_session_create: model and out_session must not be NULL");
  auto *s = new dync_session_t;
  s->model = model;
  s->stats.assign(model->statNames.size(), 0);
  s->threads = std::min(s->threads, kMaxThreads);
  for (size_t i : model->paramArgs)
    s->params[i] = {static_cast<float>(model->args[i].defaultValue),
                    static_cast<int32_t>(model->args[i].defaultValue)};
  *outSession = s;
  return nullptr;
}

void dync_session_release(dync_session_t *session) { delete session; }

dync_status_t *dync_session_set_threads(dync_session_t *session, int32_t threads) {
  if (!session)
    return fail("dync_session_set_threads: session must not be NULL");
  if (threads < 1 || threads > kMaxThreads)
    return fail("dync_session_set_threads: threads must be between 1 and %d, got %d",
                kMaxThreads, threads);
  if (threads != session->threads)
    session->pool.reset();
  session->threads = threads;
  return nullptr;
}

int32_t dync_session_threads(const dync_session_t *session) {
  return session ? session->threads : 0;
}

int64_t dync_session_parallel_loops(const dync_session_t *session) {
  return session ? session->parallelLoops : 0;
}

dync_status_t *dync_session_set_param(dync_session_t *session, const char *name,
                                      double value) {
  if (!session || !name)
    return fail("dync_session_set_param: session and name must not be NULL");
  for (size_t i : session->model->paramArgs) {
    const Arg &a = session->model->args[i];
    if (a.name != name)
      continue;
    if (a.dtype == DYNC_I32) {
      if (value != std::floor(value) || value < INT32_MIN || value > INT32_MAX)
        return fail("runtime parameter '%s' is i32; %g is not a 32-bit integer",
                    name, value);
      session->params[i].second = static_cast<int32_t>(value);
    } else {
      session->params[i].first = static_cast<float>(value);
    }
    return nullptr;
  }
  std::string known;
  for (size_t i : session->model->paramArgs)
    known += (known.empty() ? "" : ", ") + session->model->args[i].name;
  return fail("the model has no runtime parameter '%s' (it has: %s)", name,
              known.empty() ? "none" : known.c_str());
}

dync_status_t *dync_session_run(dync_session_t *session,
                                const dync_tensor_t *inputs, int32_t nInputs,
                                dync_tensor_t *outputs, int32_t nOutputs) {
  if (!session || (nInputs > 0 && !inputs) || (nOutputs > 0 && !outputs))
    return fail("dync_session_run: NULL session, inputs or outputs");
  const dync_model_t *model = session->model;
  if (nInputs != dync_model_num_inputs(model))
    return fail("the model takes %d input(s), got %d",
                dync_model_num_inputs(model), nInputs);
  if (nOutputs != dync_model_num_outputs(model))
    return fail("the model produces %d output(s), room was given for %d",
                dync_model_num_outputs(model), nOutputs);

  // Check every input and bind the model dims they carry.
  std::map<std::string, int64_t> bound;
  for (int32_t i = 0; i < nInputs; ++i) {
    const Arg &a = model->args[model->inputArgs[i]];
    const dync_tensor_t &t = inputs[i];
    if (t.dtype != a.dtype)
      return fail("input '%s' must be %s, got %s", a.name.c_str(),
                  dync_dtype_name(a.dtype), dync_dtype_name(t.dtype));
    if (t.rank != static_cast<int32_t>(a.shape.size()))
      return fail("input '%s' must have rank %zu, got %d", a.name.c_str(),
                  a.shape.size(), t.rank);
    if (!t.data && t.rank >= 0) {
      int64_t n = 1;
      for (int32_t d = 0; d < t.rank; ++d)
        n *= t.shape[d];
      if (n > 0)
        return fail("input '%s' has no data", a.name.c_str());
    }
    for (int32_t d = 0; d < t.rank; ++d) {
      int64_t size = t.shape[d];
      if (a.shape[d] >= 0 && size != a.shape[d])
        return fail("input '%s' dim %d must be %lld, got %lld", a.name.c_str(), d,
                    static_cast<long long>(a.shape[d]), static_cast<long long>(size));
      if (a.shape[d] < 0 && !a.symbols[d].empty()) {
        const std::string &sym = a.symbols[d];
        auto range = model->dims.find(sym);
        if (range != model->dims.end() &&
            (size < range->second.first || size > range->second.second))
          return fail("input '%s' dim %d is %s = %lld, outside its bounds [%lld, %lld]",
                      a.name.c_str(), d, sym.c_str(), static_cast<long long>(size),
                      static_cast<long long>(range->second.first),
                      static_cast<long long>(range->second.second));
        auto seen = bound.find(sym);
        if (seen != bound.end() && seen->second != size)
          return fail("input '%s' dim %d is %s = %lld, but another input has %s = %lld",
                      a.name.c_str(), d, sym.c_str(), static_cast<long long>(size),
                      sym.c_str(), static_cast<long long>(seen->second));
        bound[sym] = size;
      }
    }
  }

  // Memref descriptors: {allocated, aligned, offset, sizes[r], strides[r]}.
  std::vector<std::vector<int64_t>> descriptors;
  std::vector<void *> argPtrs;
  descriptors.reserve(model->args.size());
  std::vector<float> paramF(model->args.size());
  std::vector<int32_t> paramI(model->args.size());
  int32_t input = 0;
  for (size_t i = 0; i < model->args.size(); ++i) {
    const Arg &a = model->args[i];
    if (a.kind == ArgKind::Param) {
      auto p = session->params.at(i);
      paramF[i] = p.first;
      paramI[i] = p.second;
      argPtrs.push_back(a.dtype == DYNC_I32 ? static_cast<void *>(&paramI[i])
                                            : static_cast<void *>(&paramF[i]));
      continue;
    }
    const void *data = a.kind == ArgKind::Weight ? a.data : inputs[input].data;
    const int64_t *shape = a.kind == ArgKind::Weight ? a.shape.data() : inputs[input].shape;
    size_t rank = a.shape.size();
    std::vector<int64_t> desc(3 + 2 * rank);
    std::memcpy(&desc[0], &data, sizeof(void *));
    std::memcpy(&desc[1], &data, sizeof(void *));
    desc[2] = 0;
    int64_t stride = 1;
    for (size_t d = rank; d-- > 0;) {
      desc[3 + d] = shape[d];
      desc[3 + rank + d] = stride;
      stride *= shape[d];
    }
    descriptors.push_back(std::move(desc));
    argPtrs.push_back(descriptors.back().data());
    if (a.kind == ArgKind::Input)
      ++input;
  }

  size_t resultWords = 0;
  for (const Result &r : model->results)
    resultWords += 3 + 2 * r.rank;
  std::vector<int64_t> results(resultWords, 0);
  // The statistics array is thread-local in the model: this thread's copy.
  int64_t *stats = model->statNames.empty() ? nullptr : model->statsAddress();
  if (stats)
    std::memset(stats, 0, model->statNames.size() * sizeof(int64_t));
  if (session->threads > 1 && !session->pool)
    session->pool = std::make_unique<dync::rt::ThreadPool>(session->threads);
  RunContext run{session->pool.get()};
  RunContext *outer = currentRun;
  currentRun = &run;
  model->entry(argPtrs.data(), results.data());
  currentRun = outer;
  session->parallelLoops = run.parallelLoops;
  if (stats)
    std::memcpy(session->stats.data(), stats, model->statNames.size() * sizeof(int64_t));

  // Outputs: contiguous row-major results are handed over as they are;
  // anything else is copied into a fresh buffer.
  size_t at = 0;
  // Outputs can be views of one allocation (a reshape of another output):
  // the first takes the allocation, later views are copied.
  std::vector<void *> handedOut;
  for (int32_t i = 0; i < nOutputs; ++i) {
    const Result &r = model->results[i];
    void *allocated, *aligned;
    std::memcpy(&allocated, &results[at], sizeof(void *));
    std::memcpy(&aligned, &results[at + 1], sizeof(void *));
    int64_t offset = results[at + 2];
    dync_tensor_t &out = outputs[i];
    out.dtype = r.dtype;
    out.rank = r.rank;
    int64_t elems = 1, expected = 1;
    bool contiguous = true;
    for (int32_t d = r.rank; d-- > 0;) {
      out.shape[d] = results[at + 3 + d];
      int64_t s = results[at + 3 + r.rank + d];
      contiguous &= s == expected || out.shape[d] == 1;
      expected *= out.shape[d];
      elems *= out.shape[d];
    }
    int64_t esize = dync_dtype_size(r.dtype);
    char *base = static_cast<char *>(aligned) + offset * esize;
    // An output that is a caller's input or a weight is not ours to hand
    // over: copy it.
    bool borrowed = false;
    for (size_t k = 0; k < descriptors.size(); ++k) {
      void *owned;
      std::memcpy(&owned, &descriptors[k][0], sizeof(void *));
      borrowed |= owned == allocated;
    }
    bool shared = std::find(handedOut.begin(), handedOut.end(), allocated) !=
                  handedOut.end();
    borrowed |= shared;
    if (borrowed)
      contiguous = false;
    if (contiguous) {
      out.data = base;
      out.allocation = allocated;
      handedOut.push_back(allocated);
    } else {
      char *copy = static_cast<char *>(std::malloc(std::max<int64_t>(1, elems * esize)));
      std::vector<int64_t> index(r.rank, 0);
      for (int64_t e = 0; e < elems; ++e) {
        int64_t src = 0;
        for (int32_t d = 0; d < r.rank; ++d)
          src += index[d] * results[at + 3 + r.rank + d];
        std::memcpy(copy + e * esize, base + src * esize, esize);
        for (int32_t d = r.rank; d-- > 0;) {
          if (++index[d] < out.shape[d])
            break;
          index[d] = 0;
        }
      }
      if (!borrowed)
        std::free(allocated);
      out.data = copy;
      out.allocation = copy;
    }
    at += 3 + 2 * r.rank;
  }
  return nullptr;
}

int32_t dync_model_num_stats(const dync_model_t *model) {
  return model ? static_cast<int32_t>(model->statNames.size()) : 0;
}
const char *dync_model_stat_name(const dync_model_t *model, int32_t i) {
  if (!model || i < 0 || i >= dync_model_num_stats(model))
    return nullptr;
  return model->statNames[i].c_str();
}
int64_t dync_session_stat(const dync_session_t *session, int32_t i) {
  if (!session || i < 0 || i >= static_cast<int32_t>(session->stats.size()))
    return 0;
  return session->stats[i];
}

void dync_tensor_free(dync_tensor_t *tensor) {
  if (!tensor)
    return;
  std::free(tensor->allocation);
  tensor->allocation = nullptr;
  tensor->data = nullptr;
}

} // extern "C"

//===----------------------------------------------------------------------===//
// Support functions compiled models call
//===----------------------------------------------------------------------===//

namespace {
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
} // namespace

namespace {
/// The calling thread's workspace: one buffer per slot of the compiled
/// models' memory plans (dyn-plan-buffers), grown on demand and kept, so
/// that warm runs allocate no temporaries. Freed when the thread exits.
struct Workspace {
  std::vector<std::pair<void *, int64_t>> slots;
  ~Workspace() { release(); }
  void release() {
    for (auto &[p, capacity] : slots)
      std::free(p);
    slots.clear();
  }
};
thread_local Workspace workspace;

/// A rank-1 memref descriptor, as MLIR's C interface passes it.
struct MemRef1D {
  void *allocated;
  void *aligned;
  int64_t offset, size, stride;
};
} // namespace

/// `bytes` bytes for the slot `slot` of the calling thread's workspace
/// (64-byte aligned; contents undefined), as compiled models request them.
extern "C" DYNC_API void _mlir_ciface_dync_workspace(MemRef1D *out, int64_t slot,
                                                     int64_t bytes) {
  if (slot >= static_cast<int64_t>(workspace.slots.size()))
    workspace.slots.resize(slot + 1, {nullptr, 0});
  auto &[p, capacity] = workspace.slots[slot];
  if (bytes > capacity) {
    // Room to grow by half again: sizes follow the batch, which varies.
    int64_t want = std::max<int64_t>(bytes, capacity + capacity / 2);
    want = (want + 63) / 64 * 64;
    std::free(p);
    p = std::aligned_alloc(64, want);
    capacity = p ? want : 0;
  }
  *out = MemRef1D{p, p, 0, bytes, 1};
}

extern "C" DYNC_API void dync_thread_workspace_release(void) { workspace.release(); }

/// The monotonic clock compiled models read to time their subgraphs.
extern "C" DYNC_API int64_t dync_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// Strided copy between two memrefs of the same shape: what MLIR's lowering
/// of memref.copy calls when the layouts are not both contiguous. The same
/// contract as MLIR's runner utils, provided here so that compiled models
/// depend on libdyncrt alone.
extern "C" DYNC_API void memrefCopy(int64_t elemSize, UnrankedMemRef *src,
                                    UnrankedMemRef *dst) {
  int64_t rank = src->rank;
  auto *s = static_cast<int64_t *>(src->descriptor);
  auto *d = static_cast<int64_t *>(dst->descriptor);
  char *sBase, *dBase;
  std::memcpy(&sBase, &s[1], sizeof(void *));
  std::memcpy(&dBase, &d[1], sizeof(void *));
  sBase += s[2] * elemSize;
  dBase += d[2] * elemSize;
  const int64_t *sizes = &s[3], *sStrides = &s[3 + rank], *dStrides = &d[3 + rank];
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= sizes[i];
  if (total == 0)
    return;
  std::vector<int64_t> index(rank, 0);
  for (int64_t e = 0; e < total; ++e) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i < rank; ++i) {
      so += index[i] * sStrides[i];
      dof += index[i] * dStrides[i];
    }
    std::memcpy(dBase + dof * elemSize, sBase + so * elemSize, elemSize);
    for (int64_t i = rank; i-- > 0;) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
  }
}
