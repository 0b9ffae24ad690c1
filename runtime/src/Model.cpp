//===- Model.cpp - loading a compiled model and binding its weights -------===//

#include "Cuda.h"
#include "Internal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <new>
#include <sys/stat.h>

using namespace dync::rt;

namespace {

bool fileExists(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

std::string dirOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

std::string baseOf(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

const char *storedName(dync_dtype_t dtype) {
  return dtype == DYNC_F32 ? "F32" : dtype == DYNC_F16 ? "F16" : dtype == DYNC_BF16 ? "BF16" : "?";
}

/// `stored`, an f32 [panels * panel, k] matrix (possibly misaligned), into
/// `packed` as [panels, k, panel]: each stored row read in order, written
/// with a stride of `panel`.
void packPanels(const uint8_t *stored, float *packed, int64_t panels, int64_t k, int64_t panel) {
  for (int64_t j = 0; j < panels; ++j)
    for (int64_t t = 0; t < panel; ++t) {
      const uint8_t *row = stored + ((j * panel + t) * k) * sizeof(float);
      float *out = packed + j * k * panel + t;
      for (int64_t i = 0; i < k; ++i)
        std::memcpy(out + i * panel, row + i * sizeof(float), sizeof(float));
    }
}

/// A model library's undefined dync_* symbols (allocation, the clock, ...)
/// resolve against libdyncrt in the global scope. A host that loaded
/// libdyncrt with RTLD_LOCAL (Python extensions, ctypes) left it out of that
/// scope; this promotes it, once, before the first model is loaded.
void makeRuntimeGlobal() {
  static std::once_flag once;
  std::call_once(once, [] {
    Dl_info info;
    if (dladdr(reinterpret_cast<void *>(&dync_model_load), &info) && info.dli_fname)
      dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_GLOBAL);
  });
}

} // namespace

dync_model_t::~dync_model_t() {
  // The weights may be mapped from a library's embedded bytes: release them
  // before the library.
  for (void *p : deviceCopies)
    dync::rt::cuda::freeManaged(p);
  weights.reset();
  if (library)
    dlclose(library);
}

dync_status_t *dync::rt::bindWeights(dync_model_t &model, const char *modelPath,
                                     const char *weightsPath, const uint8_t *embedded,
                                     uint64_t embeddedSize) {
  bool needsWeights = false;
  for (const Arg &a : model.args)
    needsWeights |= a.kind == ArgKind::Weight;
  if (!needsWeights)
    return nullptr;
  std::string path = weightsPath ? weightsPath : model.weightsFile;
  std::string error;
  if (!weightsPath && embedded) {
    // Compiled with --embed-weights: the model carries its weights.
    path = std::string(modelPath) + " (embedded weights)";
    model.weights = dync::safetensors::File::fromMemory(embedded, embeddedSize, path, error);
  } else {
    if (!weightsPath && !fileExists(path))
      path = dirOf(modelPath) + "/" + baseOf(path);
    if (!fileExists(path))
      return fail(DYNC_STATUS_NOT_FOUND, "weights file '%s' does not exist", path.c_str());
    model.weights = dync::safetensors::File::open(path, error);
  }
  if (!model.weights)
    return fail(DYNC_STATUS_DATA_LOSS, "%s", error.c_str());
  for (Arg &a : model.args) {
    if (a.kind != ArgKind::Weight)
      continue;
    const auto *info = model.weights->find(a.name);
    if (!info)
      return fail(DYNC_STATUS_NOT_FOUND,
                  "weights file '%s' has no tensor '%s', which the model needs", path.c_str(),
                  a.name.c_str());
    // A weight packed in panels, [(E,) N / panel, K, panel], is stored [(E,) N, K].
    std::vector<int64_t> stored = a.shape;
    if (a.panel) {
      stored.pop_back();
      stored[stored.size() - 2] *= a.panel;
    }
    if (info->shape != stored)
      return fail(DYNC_STATUS_INCOMPATIBLE,
                  "weight '%s' in '%s' has a different shape than the model was compiled for",
                  a.name.c_str(), path.c_str());
    const char *storedType = dync::safetensors::dtypeName(info->dtype);
    if (std::strcmp(storedType, storedName(a.dtype)) != 0)
      return fail(DYNC_STATUS_INCOMPATIBLE,
                  "weight '%s' in '%s' is %s, but the model was compiled for %s",
                  a.name.c_str(), path.c_str(), storedType, dync_dtype_name(a.dtype));
    const uint8_t *data = model.weights->data(*info);
    size_t size = info->end - info->begin;
    if (a.panel) {
      // Once, here: the matmul kernel streams panels of `panel` rows,
      // [N / panel, K, panel]; element (j, k, t) is the stored (j * panel + t, k)
      // (of each expert's matrix, for [E, N / panel, K, panel]).
      void *packed = std::aligned_alloc(64, (size + 63) / 64 * 64);
      if (!packed)
        return fail(DYNC_STATUS_OUT_OF_MEMORY, "cannot pack weight '%s' (%zu bytes)",
                    a.name.c_str(), size);
      model.packedCopies.emplace_back(packed, std::free);
      int64_t matrices = a.shape.size() == 4 ? a.shape[0] : 1;
      int64_t panels = a.shape[a.shape.size() - 3], k = a.shape[a.shape.size() - 2];
      for (int64_t e = 0; e < matrices; ++e)
        packPanels(data + e * panels * a.panel * k * sizeof(float),
                   static_cast<float *>(packed) + e * panels * k * a.panel, panels, k, a.panel);
      model.weightCopyBytes += size;
      data = static_cast<const uint8_t *>(packed);
      // A weight read only in panels is not read from the file again: its
      // pages leave memory now, before the next weight is packed (else the
      // process would hold every packed weight twice at its peak).
      bool readAsStored = std::any_of(model.args.begin(), model.args.end(), [&](const Arg &o) {
        return o.kind == ArgKind::Weight && !o.panel && o.name == a.name;
      });
      if (!readAsStored)
        model.weights->release(*info);
    } else if (reinterpret_cast<uintptr_t>(data) % dync_dtype_size(a.dtype) != 0) {
      // Generated code assumes element alignment: copy the rare misaligned
      // tensor once.
      auto *copy = new (std::nothrow) char[size];
      if (!copy)
        return fail(DYNC_STATUS_OUT_OF_MEMORY, "cannot copy weight '%s' (%zu bytes)",
                    a.name.c_str(), size);
      model.alignedCopies.emplace_back(copy);
      std::memcpy(copy, data, size);
      model.weightCopyBytes += size;
      data = reinterpret_cast<const uint8_t *>(copy);
    }
    if (model.cuda) {
      // Kernels read weights from memory the device addresses: one copy,
      // made here, kept for the model's life.
      void *copy = dync::rt::cuda::allocManaged(size, /*pooled=*/false);
      if (!copy)
        return fail(DYNC_STATUS_OUT_OF_MEMORY,
                    "cannot copy weight '%s' (%zu bytes) to CUDA managed memory", a.name.c_str(),
                    size);
      model.deviceCopies.push_back(copy);
      std::memcpy(copy, data, size);
      model.weightCopyBytes += size;
      data = static_cast<const uint8_t *>(copy);
    }
    a.data = data;
  }
  return nullptr;
}

extern "C" {

dync_status_t *dync_model_load(const char *modelPath, const char *weightsPath,
                               dync_model_t **outModel) {
  if (!modelPath || !outModel)
    return fail(DYNC_STATUS_INVALID_ARGUMENT,
                "dync_model_load: model_path and out_model must not be NULL");
  *outModel = nullptr;
  std::unique_ptr<dync_model_t> model(new (std::nothrow) dync_model_t);
  if (!model)
    return fail(DYNC_STATUS_OUT_OF_MEMORY, "out of memory loading '%s'", modelPath);
  // A bare file name means this directory, not the library search path.
  std::string path = std::strchr(modelPath, '/') ? modelPath : std::string("./") + modelPath;
  if (!fileExists(path))
    return fail(DYNC_STATUS_NOT_FOUND, "cannot load model '%s': no such file", modelPath);
  makeRuntimeGlobal();
  model->library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!model->library)
    return fail(DYNC_STATUS_INCOMPATIBLE, "cannot load model '%s': %s", modelPath, dlerror());
  auto *manifestText = static_cast<const char *>(dlsym(model->library, "dync_manifest"));
  model->entry = reinterpret_cast<EntryFn>(dlsym(model->library, "dync_entry"));
  if (!manifestText || !model->entry)
    return fail(DYNC_STATUS_INCOMPATIBLE,
                "'%s' is not a model compiled by dync (no dync_manifest or dync_entry)",
                modelPath);
  auto *embedded = static_cast<const uint8_t *>(dlsym(model->library, "dync_embedded_weights"));
  auto *embeddedSize =
      static_cast<const uint64_t *>(dlsym(model->library, "dync_embedded_weights_size"));
  if (dync_status_t *st = readManifest(*model, manifestText, modelPath))
    return st;
  // Loading the library ran its constructor, which loaded its kernels (or
  // said why it could not).
  std::string kernelError = model->cuda ? dync::rt::cuda::takeModuleLoadError() : "";
  if (model->cuda) {
    if (dync_status_t *st = dync::rt::cuda::ensureDevice()) {
      dync_status_t *named = fail(DYNC_STATUS_UNAVAILABLE, "cannot run model '%s': %s", modelPath,
                                  dync_status_message(st));
      dync_status_free(st);
      return named;
    }
    if (!kernelError.empty())
      return fail(DYNC_STATUS_UNAVAILABLE, "cannot run model '%s': %s", modelPath,
                  kernelError.c_str());
  }
  if (dync_status_t *st = bindWeights(*model, modelPath, weightsPath, embedded,
                                      embeddedSize ? *embeddedSize : 0))
    return st;
  installParallelHook(static_cast<void **>(dlsym(model->library, "dync_parallel_hook")));
  *outModel = model.release();
  return nullptr;
}

dync_status_t *dync_model_load_static(const dync_static_model_t *linked,
                                      const char *weightsPath, dync_model_t **outModel) {
  if (!linked || !linked->manifest || !linked->entry || !outModel)
    return fail(DYNC_STATUS_INVALID_ARGUMENT,
                "dync_model_load_static: model, its manifest and entry, and out_model must "
                "not be NULL");
  *outModel = nullptr;
  std::unique_ptr<dync_model_t> model(new (std::nothrow) dync_model_t);
  if (!model)
    return fail(DYNC_STATUS_OUT_OF_MEMORY, "out of memory loading the linked model");
  model->entry = linked->entry;
  if (dync_status_t *st = readManifest(*model, linked->manifest, "(linked model)"))
    return st;
  if (model->cuda)
    return fail(DYNC_STATUS_UNIMPLEMENTED,
                "the linked model was compiled for CUDA; link a CPU model statically, or load "
                "a CUDA model's library with dync_model_load");
  if (dync_status_t *st = bindWeights(*model, "(linked model)", weightsPath,
                                      linked->embedded_weights, linked->embedded_weights_size))
    return st;
  installParallelHook(linked->parallel_hook);
  *outModel = model.release();
  return nullptr;
}

void dync_model_release(dync_model_t *model) { delete model; }

const char *dync_model_device(const dync_model_t *model) {
  return !model ? nullptr : model->cuda ? "cuda" : "cpu";
}

int64_t dync_model_weight_copy_bytes(const dync_model_t *model) {
  return model ? model->weightCopyBytes : 0;
}

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
int32_t dync_model_num_stats(const dync_model_t *model) {
  return model ? static_cast<int32_t>(model->statNames.size()) : 0;
}
const char *dync_model_stat_name(const dync_model_t *model, int32_t i) {
  if (!model || i < 0 || i >= dync_model_num_stats(model))
    return nullptr;
  return model->statNames[i].c_str();
}

} // extern "C"
