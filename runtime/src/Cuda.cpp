//===- Cuda.cpp - the CUDA driver, loaded on demand, and mgpu* -------------===//
//
// The entry points MLIR's gpu-to-llvm lowering calls (mgpuModuleLoad,
// mgpuLaunchKernel, ...; upstream's libmlir_cuda_runtime is not shipped with
// MLIR here) on the driver API, which is looked up with dlopen/dlsym. A
// failing driver call during a run ends the run with the driver's message
// (the same return path as an allocation failure, Run.cpp).
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "Internal.h"

#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <unordered_map>
#include <mutex>
#include <type_traits>
#include <utility>
#include <string>

using namespace dync::rt;

namespace {

// The driver API's types and the few constants used, as cuda.h spells them
// (the runtime builds without the CUDA toolkit).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = void *;
using CUmodule = void *;
using CUfunction = void *;
using CUstream = void *;
constexpr CUresult CUDA_SUCCESS = 0;
constexpr unsigned CU_MEM_ATTACH_GLOBAL = 1;
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;

struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, CUstream, void **, void **);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuPointerGetAttribute)(void *, int, CUdeviceptr);
  CUresult (*cuMemcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUcontext context = nullptr;
  /// Why the device is unusable, or empty.
  std::string unavailable;
};

std::string describe(const Driver &d, CUresult rc) {
  const char *text = nullptr;
  if (d.cuGetErrorString && d.cuGetErrorString(rc, &text) != CUDA_SUCCESS)
    text = nullptr;
  // What the driver cannot say about itself.
  if (!text)
    text = rc == 34    ? "CUDA_ERROR_STUB_LIBRARY: the toolkit's stub libcuda, not a driver"
           : rc == 35  ? "CUDA_ERROR_INSUFFICIENT_DRIVER: the driver is older than the runtime needs"
           : rc == 100 ? "CUDA_ERROR_NO_DEVICE"
           : rc == 209 ? "CUDA_ERROR_NO_BINARY_FOR_GPU"
                       : nullptr;
  return text ? std::string(text) + " (CUresult " + std::to_string(rc) + ")"
              : "CUresult " + std::to_string(rc);
}

/// The process's driver, loaded once.
Driver &driver() {
  static Driver d;
  static std::once_flag once;
  std::call_once(once, [] {
    const char *path = std::getenv("DYNC_CUDA_DRIVER");
    if (!path || !*path)
      path = "libcuda.so.1";
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      d.unavailable = std::string("no CUDA driver (") + path + " cannot be loaded: " + dlerror() +
                      "); the model was compiled with --target=cuda";
      return;
    }
    bool complete = true;
    auto sym = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      complete &= fn != nullptr;
    };
    sym(d.cuInit, "cuInit");
    sym(d.cuDeviceGetCount, "cuDeviceGetCount");
    sym(d.cuDeviceGet, "cuDeviceGet");
    sym(d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
    sym(d.cuCtxSetCurrent, "cuCtxSetCurrent");
    sym(d.cuMemAllocManaged, "cuMemAllocManaged");
    sym(d.cuMemFree, "cuMemFree_v2");
    sym(d.cuModuleLoadData, "cuModuleLoadData");
    sym(d.cuModuleUnload, "cuModuleUnload");
    sym(d.cuModuleGetFunction, "cuModuleGetFunction");
    sym(d.cuLaunchKernel, "cuLaunchKernel");
    sym(d.cuStreamCreate, "cuStreamCreate");
    sym(d.cuStreamDestroy, "cuStreamDestroy_v2");
    sym(d.cuStreamSynchronize, "cuStreamSynchronize");
    sym(d.cuCtxSynchronize, "cuCtxSynchronize");
    sym(d.cuPointerGetAttribute, "cuPointerGetAttribute");
    sym(d.cuMemcpy, "cuMemcpy");
    sym(d.cuGetErrorString, "cuGetErrorString");
    if (!complete) {
      d.unavailable = std::string("the CUDA driver ") + path +
                      " lacks entry points libdyncrt needs (a driver older than CUDA 11?)";
      return;
    }
    if (CUresult rc = d.cuInit(0); rc != CUDA_SUCCESS) {
      d.unavailable = rc == 100 ? "no CUDA device (the driver reports none)"
                                : "the CUDA driver did not initialize: " + describe(d, rc);
      return;
    }
    int count = 0;
    if (CUresult rc = d.cuDeviceGetCount(&count); rc != CUDA_SUCCESS || count == 0) {
      d.unavailable = rc != CUDA_SUCCESS ? "cannot count CUDA devices: " + describe(d, rc)
                                         : "no CUDA device (the driver reports none)";
      return;
    }
    CUdevice dev;
    if (CUresult rc = d.cuDeviceGet(&dev, 0); rc != CUDA_SUCCESS) {
      d.unavailable = "cannot open CUDA device 0: " + describe(d, rc);
      return;
    }
    if (CUresult rc = d.cuDevicePrimaryCtxRetain(&d.context, dev); rc != CUDA_SUCCESS)
      d.unavailable = "cannot create a context on CUDA device 0: " + describe(d, rc);
  });
  return d;
}

/// The driver, its context current on this thread; null if unusable.
Driver *ready() {
  Driver &d = driver();
  if (!d.unavailable.empty())
    return nullptr;
  thread_local bool current = false;
  if (!current) {
    if (d.cuCtxSetCurrent(d.context) != CUDA_SUCCESS)
      return nullptr;
    current = true;
  }
  return &d;
}

/// Ends the run on this thread with `message` (the driver failed under it).
/// Off a run (a model's constructor) there is nothing to end.
[[noreturn]] void failRun(const std::string &message) {
  RunContext *run = currentRun();
  if (run) {
    run->failure = DYNC_STATUS_INTERNAL;
    run->failureMessage = message;
    std::longjmp(run->outOfMemory, 1);
  }
  std::fprintf(stderr, "libdyncrt: %s\n", message.c_str());
  std::abort();
}

void check(Driver &d, CUresult rc, const char *what) {
  if (rc != CUDA_SUCCESS)
    failRun(std::string(what) + " failed: " + describe(d, rc));
}

Driver &inRun() {
  Driver *d = ready();
  if (!d)
    failRun(driver().unavailable.empty() ? "the CUDA context cannot be made current"
                                         : driver().unavailable);
  return *d;
}

std::mutex moduleErrorMutex;
std::string moduleError;

/// Kernel names by function handle, for messages.
std::mutex namesMutex;
std::map<void *, std::string> kernelNames;

std::string kernelName(void *fn) {
  std::lock_guard<std::mutex> lock(namesMutex);
  auto it = kernelNames.find(fn);
  return it == kernelNames.end() ? "?" : it->second;
}

} // namespace

dync_status_t *cuda::ensureDevice() {
  if (ready())
    return nullptr;
  const std::string &why = driver().unavailable;
  return fail(DYNC_STATUS_UNAVAILABLE, "%s",
              why.empty() ? "the CUDA context cannot be made current" : why.c_str());
}

namespace {

/// The pool of managed buffers that runs freed, by size class.
struct Pool {
  std::mutex mutex;
  /// Every live or cached pooled buffer's size class; absent: not pooled.
  std::unordered_map<void *, size_t> classOf;
  std::unordered_multimap<size_t, void *> free;
  size_t cachedBytes = 0;
};
Pool &pool() {
  static Pool *p = new Pool; // never destroyed: the driver may be gone at exit
  return *p;
}

/// At most this much memory is kept for reuse; more is returned to the driver.
constexpr size_t kMaxCachedBytes = size_t(1) << 30;

/// A size class: powers of two from 256 bytes to 64 MiB, then multiples of
/// 2 MiB (at most half again as much as asked for, or 2 MiB more).
size_t sizeClass(size_t bytes) {
  if (bytes > (size_t(64) << 20))
    return (bytes + (size_t(2) << 20) - 1) / (size_t(2) << 20) * (size_t(2) << 20);
  size_t c = 256;
  while (c < bytes)
    c *= 2;
  return c;
}

void *driverAlloc(size_t bytes) {
  Driver *d = ready();
  CUdeviceptr p = 0;
  if (!d || d->cuMemAllocManaged(&p, bytes ? bytes : 1, CU_MEM_ATTACH_GLOBAL) != CUDA_SUCCESS)
    return nullptr;
  return reinterpret_cast<void *>(p);
}

} // namespace

void *cuda::allocManaged(size_t bytes, bool pooled) {
  if (!pooled)
    return driverAlloc(bytes);
  size_t c = sizeClass(bytes);
  Pool &p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.free.find(c);
    if (it != p.free.end()) {
      void *buffer = it->second;
      p.free.erase(it);
      p.cachedBytes -= c;
      return buffer;
    }
  }
  void *buffer = driverAlloc(c);
  if (buffer) {
    std::lock_guard<std::mutex> lock(p.mutex);
    p.classOf[buffer] = c;
  }
  return buffer;
}

void cuda::freeManaged(void *ptr) {
  Driver *d = ready();
  if (!d || !ptr)
    return;
  // Launches are asynchronous (dyn-async-launches): a kernel in flight may
  // still use the buffer (a workspace slot that grows, a dealloc).
  d->cuCtxSynchronize();
  Pool &p = pool();
  {
    std::lock_guard<std::mutex> lock(p.mutex);
    auto it = p.classOf.find(ptr);
    if (it != p.classOf.end() && p.cachedBytes + it->second <= kMaxCachedBytes) {
      p.free.emplace(it->second, ptr);
      p.cachedBytes += it->second;
      return;
    }
    if (it != p.classOf.end())
      p.classOf.erase(it);
  }
  d->cuMemFree(reinterpret_cast<CUdeviceptr>(ptr));
}

cuda::Memory cuda::classify(const void *p) {
  constexpr int kMemoryType = 2, kIsManaged = 8; // CU_POINTER_ATTRIBUTE_*
  constexpr unsigned kDeviceMemory = 2;          // CU_MEMORYTYPE_DEVICE
  Driver *d = ready();
  if (!d || !p)
    return Memory::Host;
  auto ptr = reinterpret_cast<CUdeviceptr>(p);
  unsigned managed = 0, type = 0;
  if (d->cuPointerGetAttribute(&managed, kIsManaged, ptr) == CUDA_SUCCESS && managed)
    return Memory::Managed;
  if (d->cuPointerGetAttribute(&type, kMemoryType, ptr) == CUDA_SUCCESS && type == kDeviceMemory)
    return Memory::Device;
  return Memory::Host;
}

bool cuda::copyFromDevice(void *managed, const void *device, size_t bytes) {
  Driver *d = ready();
  return d && d->cuMemcpy(reinterpret_cast<CUdeviceptr>(managed),
                          reinterpret_cast<CUdeviceptr>(device), bytes) == CUDA_SUCCESS;
}

namespace {

/// cuBLAS, loaded with the first GEMM of a CUDA run (`$DYNC_CUBLAS`, else
/// libcublas.so.13, .12, .11): the handle is per process. Sessions on other
/// threads share it: cuBLAS documents its functions as thread-safe with one
/// handle as long as no thread changes the handle's configuration (stream,
/// math mode, workspace), and nothing here does.
struct Cublas {
  using Handle = void *;
  int (*create)(Handle *);
  int (*sgemm)(Handle, int, int, int, int, int, const float *, const float *, int,
               const float *, int, const float *, float *, int);
  Handle handle = nullptr;
  std::string unavailable;
};

Cublas &cublas() {
  static Cublas c;
  static std::once_flag once;
  std::call_once(once, [] {
    const char *env = std::getenv("DYNC_CUBLAS");
    void *lib = nullptr;
    std::string tried;
    for (const char *name : {env, "libcublas.so.13", "libcublas.so.12", "libcublas.so.11"}) {
      if (!name || !*name || lib)
        continue;
      lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
      tried += std::string(tried.empty() ? "" : ", ") + name;
      if (env && name == env)
        break; // the one asked for, or nothing
    }
    if (!lib) {
      c.unavailable = "the model was compiled with --cuda-gemm=cublas, but cuBLAS cannot be "
                      "loaded (tried " + tried + ")";
      return;
    }
    c.create = reinterpret_cast<decltype(c.create)>(dlsym(lib, "cublasCreate_v2"));
    c.sgemm = reinterpret_cast<decltype(c.sgemm)>(dlsym(lib, "cublasSgemm_v2"));
    if (!c.create || !c.sgemm) {
      c.unavailable = "the cuBLAS library lacks cublasCreate_v2 or cublasSgemm_v2";
      return;
    }
    if (int rc = c.create(&c.handle); rc != 0)
      c.unavailable = "cublasCreate failed (cublasStatus_t " + std::to_string(rc) + ")";
  });
  return c;
}

} // namespace

void cuda::gemm(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                int64_t ldb, bool bIsKN, float *c, int64_t ldc) {
  Driver &d = inRun();
  Cublas &blas = cublas();
  if (!blas.unavailable.empty())
    failRun(blas.unavailable);
  if (m == 0 || n == 0 || k == 0)
    return;
  // Row-major c = a @ B is column-major cᵀ = Bᵀ aᵀ: cuBLAS computes the
  // n x m product of Bᵀ (b read transposed when it is [n, k]) and aᵀ (a's
  // memory as it is).
  constexpr int kNoTranspose = 0, kTranspose = 1; // CUBLAS_OP_N, CUBLAS_OP_T
  const float one = 1.0f;
  check(d, d.cuCtxSynchronize(), "waiting for the kernels before a cuBLAS GEMM");
  int rc = blas.sgemm(blas.handle, bIsKN ? kNoTranspose : kTranspose, kNoTranspose,
                      static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &one, b,
                      static_cast<int>(ldb), a, static_cast<int>(lda), &one, c,
                      static_cast<int>(ldc));
  if (rc != 0)
    failRun("cublasSgemm failed (cublasStatus_t " + std::to_string(rc) + ")");
  check(d, d.cuCtxSynchronize(), "a cuBLAS GEMM");
}

void cuda::recycle(void *ptr) {
  Pool &p = pool();
  std::lock_guard<std::mutex> lock(p.mutex);
  auto it = p.classOf.find(ptr);
  if (it == p.classOf.end())
    return; // not pooled: left to the process's end
  p.free.emplace(it->second, ptr);
  p.cachedBytes += it->second;
}

std::string cuda::takeModuleLoadError() {
  std::lock_guard<std::mutex> lock(moduleErrorMutex);
  return std::exchange(moduleError, std::string());
}

//===----------------------------------------------------------------------===//
// What gpu-to-llvm's lowering calls
//===----------------------------------------------------------------------===//

extern "C" {

/// A model library's constructor loads its fatbin here; null (and the
/// reason kept for dync_model_load) if the device or the image is unusable.
DYNC_API void *mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  Driver *d = ready();
  std::string error;
  CUmodule module = nullptr;
  if (!d)
    error = driver().unavailable;
  else if (CUresult rc = d->cuModuleLoadData(&module, data); rc != CUDA_SUCCESS)
    error = "cannot load the model's GPU kernels: " + describe(*d, rc) +
            " (built for other GPU architectures? see --cuda-arch)";
  if (!error.empty()) {
    std::lock_guard<std::mutex> lock(moduleErrorMutex);
    moduleError = error;
  }
  return module;
}

DYNC_API void mgpuModuleUnload(void *module) {
  if (Driver *d = ready(); d && module)
    d->cuModuleUnload(module);
}

DYNC_API void *mgpuModuleGetFunction(void *module, const char *name) {
  Driver &d = inRun();
  if (!module)
    failRun("the model's GPU kernels are not loaded");
  CUfunction fn = nullptr;
  check(d, d.cuModuleGetFunction(&fn, module, name),
        ("cuModuleGetFunction of kernel '" + std::string(name) + "'").c_str());
  std::lock_guard<std::mutex> lock(namesMutex);
  kernelNames.emplace(fn, name);
  return fn;
}

DYNC_API void *mgpuStreamCreate() {
  Driver &d = inRun();
  CUstream stream = nullptr;
  check(d, d.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate");
  return stream;
}

DYNC_API void mgpuStreamDestroy(void *stream) {
  if (Driver *d = ready())
    d->cuStreamDestroy(stream);
}

DYNC_API void mgpuStreamSynchronize(void *stream) {
  Driver &d = inRun();
  check(d, d.cuStreamSynchronize(stream), "a GPU kernel of the model");
}

DYNC_API void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                               intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                               int32_t smem, void *stream, void **params, void **extra,
                               size_t /*paramsCount*/) {
  // A loop over an empty range (no token routed to an expert): no work, and
  // CUDA refuses an empty grid.
  if (gridX <= 0 || gridY <= 0 || gridZ <= 0)
    return;
  Driver &d = inRun();
  check(d,
        d.cuLaunchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ, smem, stream,
                         params, extra),
        ("cuLaunchKernel of kernel '" + kernelName(function) + "'").c_str());
}

} // extern "C"
