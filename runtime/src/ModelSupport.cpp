//===- ModelSupport.cpp - what compiled models call -----------------------===//
//
// Compiled models depend on libdyncrt alone: their allocations, workspace,
// parallel loops, strided copies and clock come from here.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "Internal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <time.h>

using namespace dync::rt;

RunContext *&dync::rt::currentRun() {
  thread_local RunContext *run = nullptr;
  return run;
}

void dync::rt::freeModelBuffer(void *p, const RunContext *run) {
  if (run && run->cuda)
    dync::rt::cuda::freeManaged(p);
  else
    std::free(p);
}

//===----------------------------------------------------------------------===//
// Allocation
//===----------------------------------------------------------------------===//

namespace {

/// Test hook: DYNC_FAIL_ALLOCATION_AFTER=N makes the N+1-th allocation of a
/// model's code fail, so that tests reach the out-of-memory path.
int64_t allocationsBeforeFailure() {
  static const int64_t limit = [] {
    const char *v = std::getenv("DYNC_FAIL_ALLOCATION_AFTER");
    return v ? std::atoll(v) : -1;
  }();
  return limit;
}

/// `p`, or, if null, the end of the run that asked for it: the run on this
/// thread returns an out-of-memory status (Run.cpp). Off the calling thread
/// (a worker of a parallel loop) there is no run to return to, and the
/// process stops with a message rather than use a null buffer.
void *checked(void *p, size_t bytes) {
  static std::atomic<int64_t> made{0};
  int64_t limit = allocationsBeforeFailure();
  RunContext *run = currentRun();
  if (p && limit >= 0 && made.fetch_add(1) >= limit) {
    freeModelBuffer(p, run);
    p = nullptr;
  }
  if (p) {
    if (run)
      run->allocations.insert(p);
    return p;
  }
  if (run)
    std::longjmp(run->outOfMemory, 1);
  std::fprintf(stderr, "libdyncrt: out of memory (%zu bytes) in a parallel loop of a model\n",
               bytes);
  std::abort();
}

} // namespace

extern "C" {

DYNC_API void *_mlir_memref_to_llvm_alloc(size_t bytes) {
  RunContext *run = currentRun();
  if (run && run->cuda)
    return checked(dync::rt::cuda::allocManaged(bytes), bytes);
  return checked(std::malloc(std::max<size_t>(bytes, 1)), bytes);
}

DYNC_API void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t bytes) {
  RunContext *run = currentRun();
  // Managed memory is aligned to at least 256 bytes.
  if (run && run->cuda && alignment <= 256)
    return checked(dync::rt::cuda::allocManaged(bytes), bytes);
  size_t size = (std::max<size_t>(bytes, 1) + alignment - 1) / alignment * alignment;
  return checked(std::aligned_alloc(alignment, size), bytes);
}

DYNC_API void _mlir_memref_to_llvm_free(void *p) {
  RunContext *run = currentRun();
  if (run)
    run->allocations.erase(p);
  freeModelBuffer(p, run);
}

} // extern "C"

//===----------------------------------------------------------------------===//
// Parallel loops
//===----------------------------------------------------------------------===//

namespace {
/// The function compiled models call through `dync_parallel_hook` for each
/// outermost parallel loop. Outside a run with a pool (a worker thread, a
/// one-thread session) the loop runs here.
void parallelHook(ChunkFn fn, void *frame, int64_t n, int64_t work) {
  RunContext *run = currentRun();
  if (!run || !run->pool) {
    if (n > 0)
      fn(frame, 0, n);
    return;
  }
  if (run->pool->parallelFor(fn, frame, n, work))
    ++run->parallelLoops;
}
} // namespace

void dync::rt::installParallelHook(void **hook) {
  if (hook)
    *hook = reinterpret_cast<void *>(&parallelHook);
}

//===----------------------------------------------------------------------===//
// Workspace
//===----------------------------------------------------------------------===//

namespace {
/// The calling thread's workspace: one buffer per slot of the compiled
/// models' memory plans (dyn-plan-buffers), grown on demand and kept, so
/// that warm runs allocate no temporaries. Freed when the thread exits.
/// CUDA runs have their own, in managed memory.
struct Workspace {
  bool managed = false;
  std::vector<std::pair<void *, int64_t>> slots;
  ~Workspace() {
    // At a thread's exit (the process's, for the main thread) the CUDA
    // driver may be shutting down: managed slots go back to the pool
    // without calling it.
    if (managed) {
      for (auto &[p, capacity] : slots)
        dync::rt::cuda::recycle(p);
      slots.clear();
    }
    release();
  }
  void *allocate(int64_t bytes) {
    return managed ? dync::rt::cuda::allocManaged(bytes) : std::aligned_alloc(64, bytes);
  }
  void free(void *p) {
    if (managed)
      dync::rt::cuda::freeManaged(p);
    else
      std::free(p);
  }
  void release() {
    for (auto &[p, capacity] : slots)
      free(p);
    slots.clear();
  }
};
thread_local Workspace hostWorkspace;
thread_local Workspace deviceWorkspace{true, {}};

/// A rank-1 memref descriptor, as MLIR's C interface passes it.
struct MemRef1D {
  void *allocated;
  void *aligned;
  int64_t offset, size, stride;
};

struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
} // namespace

/// `bytes` bytes for the slot `slot` of the calling thread's workspace
/// (64-byte aligned; contents undefined), as compiled models request them.
extern "C" DYNC_API void _mlir_ciface_dync_workspace(MemRef1D *out, int64_t slot,
                                                     int64_t bytes) {
  RunContext *run = currentRun();
  Workspace &workspace = run && run->cuda ? deviceWorkspace : hostWorkspace;
  if (slot >= static_cast<int64_t>(workspace.slots.size()))
    workspace.slots.resize(slot + 1, {nullptr, 0});
  auto &[p, capacity] = workspace.slots[slot];
  if (bytes > capacity) {
    // Room to grow by half again: sizes follow the batch, which varies.
    int64_t want = std::max<int64_t>(bytes, capacity + capacity / 2);
    want = (want + 63) / 64 * 64;
    workspace.free(p);
    p = workspace.allocate(want);
    capacity = p ? want : 0;
    if (!p) {
      // Not the run's to free: the workspace outlives runs.
      if (run)
        std::longjmp(run->outOfMemory, 1);
      std::fprintf(stderr, "libdyncrt: out of memory (%lld bytes of workspace)\n",
                   static_cast<long long>(want));
      std::abort();
    }
  }
  *out = MemRef1D{p, p, 0, bytes, 1};
}

extern "C" DYNC_API void dync_thread_workspace_release(void) {
  hostWorkspace.release();
  deviceWorkspace.release();
}

namespace {
/// A rank-2 memref descriptor of f32.
struct MemRef2D {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};
} // namespace

/// c[m, n] += sum_k a[m, k] * b(n, k), b being [n, k] or, if `bIsKN`, [k, n]:
/// the matmuls dyn-outline-gemms hands over (--cuda-gemm=cublas). cuBLAS in
/// a CUDA run; elsewhere (the CPU emulation of the CUDA target) a loop nest
/// in the order the reference sums, k innermost.
extern "C" DYNC_API void _mlir_ciface_dync_gemm(MemRef2D *a, MemRef2D *b, MemRef2D *c,
                                                int32_t bIsKN) {
  int64_t m = c->sizes[0], n = c->sizes[1], k = a->sizes[1];
  const float *pa = a->aligned + a->offset, *pb = b->aligned + b->offset;
  float *pc = c->aligned + c->offset;
  int64_t lda = a->strides[0], ldb = b->strides[0], ldc = c->strides[0];
  if (RunContext *run = currentRun(); run && run->cuda)
    return dync::rt::cuda::gemm(m, n, k, pa, lda, pb, ldb, bIsKN != 0, pc, ldc);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float sum = pc[i * ldc + j];
      for (int64_t p = 0; p < k; ++p)
        sum += pa[i * lda + p] * (bIsKN ? pb[p * ldb + j] : pb[j * ldb + p]);
      pc[i * ldc + j] = sum;
    }
}

/// The monotonic clock compiled models read to time their subgraphs.
extern "C" DYNC_API int64_t dync_clock_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

/// Strided copy between two memrefs of the same shape: what MLIR's lowering
/// of memref.copy calls when the layouts are not both contiguous (a slice of
/// rows, the q, k, v thirds of a fused projection). The same contract as
/// MLIR's runner utils, provided here so that compiled models depend on
/// libdyncrt alone. The innermost dims that both sides store contiguously
/// are copied as one run of bytes (a row, usually); the others are counted
/// through.
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
  for (int64_t i = 0; i < rank; ++i)
    if (sizes[i] == 0)
      return;
  // Dims [inner, rank) are one contiguous run of `run` elements on both.
  int64_t inner = rank, run = 1;
  while (inner > 0 && (sizes[inner - 1] == 1 ||
                       (sStrides[inner - 1] == run && dStrides[inner - 1] == run))) {
    --inner;
    run *= sizes[inner];
  }
  const size_t bytes = static_cast<size_t>(run * elemSize);
  std::vector<int64_t> index(inner, 0);
  for (;;) {
    int64_t so = 0, dof = 0;
    for (int64_t i = 0; i < inner; ++i) {
      so += index[i] * sStrides[i];
      dof += index[i] * dStrides[i];
    }
    std::memcpy(dBase + dof * elemSize, sBase + so * elemSize, bytes);
    int64_t i = inner;
    while (i-- > 0) {
      if (++index[i] < sizes[i])
        break;
      index[i] = 0;
    }
    if (i < 0)
      return;
  }
}
