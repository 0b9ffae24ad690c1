//===- Cuda.h - libdyncrt's CUDA backend ------------------------*- C++ -*-===//
//
// A model compiled with --target=cuda runs its kernels through the CUDA
// driver API, which the runtime loads with dlopen on first use: nothing
// needs a GPU or a driver to build, link or run CPU models. Its runs keep
// every buffer the model touches in managed memory (addressed by host and
// device alike); the host program synchronizes after each launch, so host
// code reads what a kernel wrote.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_RUNTIME_CUDA_H
#define DYNC_RUNTIME_CUDA_H

#include "dync/runtime.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace dync::rt::cuda {

/// Loads the driver (`$DYNC_CUDA_DRIVER`, else `libcuda.so.1`) and makes
/// device 0's primary context current on this thread, once per process and
/// thread: null, or an UNAVAILABLE status ("no CUDA driver", "no CUDA
/// device") or the driver's error.
dync_status_t *ensureDevice();

/// Managed memory of `bytes` (at least 1), or null. Runs' buffers come from
/// a pool (`pooled`): a freed buffer is kept for the next allocation of its
/// size class, so warm runs make no driver allocation. Weights, allocated
/// once per model, are not pooled.
void *allocManaged(size_t bytes, bool pooled = true);
/// Returns `p` to the pool, or to the driver if it was not pooled.
void freeManaged(void *p);
/// Returns a pooled `p` to the pool without calling the driver: for a
/// thread's workspace when the thread (or the process) exits, when the
/// driver may already be shutting down. Its kernels have finished: every
/// run waits for them before it returns.
void recycle(void *p);

/// Where a caller's buffer lives, as the driver sees it (Host if it does
/// not know the pointer).
enum class Memory { Host, Managed, Device };
Memory classify(const void *p);

/// Copies `bytes` from device memory to managed memory on the device.
bool copyFromDevice(void *managed, const void *device, size_t bytes);

/// c[m, n] += sum_k a[m, k] * b(n, k) with cuBLAS on the device (b is
/// [k, n] if `bIsKN`, else [n, k]); row-major with leading dimensions. Ends
/// the run with a status if cuBLAS cannot be loaded or fails.
void gemm(int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
          int64_t ldb, bool bIsKN, float *c, int64_t ldc);

/// The error of loading the kernels of the last model whose library was
/// opened (the constructor that loads them has nowhere else to report it),
/// or empty; cleared by reading.
std::string takeModuleLoadError();

} // namespace dync::rt::cuda

#endif // DYNC_RUNTIME_CUDA_H
