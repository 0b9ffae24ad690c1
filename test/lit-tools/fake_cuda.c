/* A stand-in for libcuda.so.1 on machines without a GPU, for the runtime's
 * tests (DYNC_CUDA_DRIVER=fake_cuda.so). It has FAKE_CUDA_DEVICES devices
 * (default 0), allocates "managed" memory on the host, accepts a module
 * only if it is a fatbin, and cannot run kernels: FAKE_CUDA_LAUNCH=fail
 * (default) refuses each launch, =skip records and skips it. Every module
 * load, launch and stream synchronization is appended to FAKE_CUDA_LOG.
 * FAKE_CUDA_ALLOCS=N makes allocations after the first N fail;
 * FAKE_CUDA_NO_CONTEXT=1 refuses to make a context current;
 * FAKE_CUDA_MEMCPY_FAILS=1 fails device-to-device copies.
 *
 * Managed memory is enforced as on a GPU without concurrent managed access:
 * from a launch until the next stream or context synchronization, every
 * managed allocation is inaccessible to the host (mprotect PROT_NONE), so a
 * host program that touches a buffer before waiting for the kernels crashes
 * the test instead of reading stale data. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int CUresult;
static const CUresult kNotSupported = 801, kInvalidImage = 200;

static void logLine(const char *what, const char *arg) {
  const char *path = getenv("FAKE_CUDA_LOG");
  if (!path)
    return;
  FILE *f = fopen(path, "a");
  if (!f)
    return;
  fprintf(f, "%s %s\n", what, arg ? arg : "");
  fclose(f);
}

CUresult cuInit(unsigned flags) { (void)flags; return 0; }
CUresult cuDeviceGetCount(int *n) {
  const char *v = getenv("FAKE_CUDA_DEVICES");
  *n = v ? atoi(v) : 0;
  return 0;
}
CUresult cuDeviceGet(int *dev, int ordinal) { *dev = ordinal; return 0; }
CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) { (void)dev; *ctx = (void *)1; return 0; }
CUresult cuCtxSetCurrent(void *ctx) {
  (void)ctx;
  return getenv("FAKE_CUDA_NO_CONTEXT") ? 201 : 0;
}
/* The live managed allocations, and whether kernels are in flight. */
enum { kMaxAllocations = 1 << 16 };
static struct { void *p; size_t size; } allocations[kMaxAllocations];
static int numAllocations = 0, inFlight = 0;

static size_t pages(size_t bytes) {
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  return (bytes + page - 1) / page * page;
}
static void protectAll(int prot) {
  for (int i = 0; i < numAllocations; ++i)
    mprotect(allocations[i].p, allocations[i].size, prot);
}

CUresult cuMemAllocManaged(unsigned long long *p, size_t bytes, unsigned flags) {
  static long made = 0;
  const char *limit = getenv("FAKE_CUDA_ALLOCS");
  (void)flags;
  if ((limit && made++ >= atol(limit)) || numAllocations == kMaxAllocations)
    return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
  size_t size = pages(bytes ? bytes : 1);
  void *m = mmap(NULL, size, inFlight ? PROT_NONE : PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED)
    return 2;
  allocations[numAllocations].p = m;
  allocations[numAllocations++].size = size;
  logLine("alloc", "");
  *p = (unsigned long long)(uintptr_t)m;
  return 0;
}
/* Device memory: host-addressable here, but reported as device memory. */
static void *deviceBuffers[64];
static int numDeviceBuffers = 0;
CUresult cuMemAlloc_v2(unsigned long long *p, size_t bytes) {
  void *m = numDeviceBuffers < 64 ? calloc(1, bytes ? bytes : 1) : NULL;
  if (!m)
    return 2;
  deviceBuffers[numDeviceBuffers++] = m;
  *p = (unsigned long long)(uintptr_t)m;
  return 0;
}
CUresult cuPointerGetAttribute(void *data, int attribute, unsigned long long ptr) {
  void *p = (void *)(uintptr_t)ptr;
  int managed = 0, device = 0;
  for (int i = 0; i < numAllocations; ++i)
    managed |= (char *)p >= (char *)allocations[i].p &&
                (char *)p < (char *)allocations[i].p + allocations[i].size;
  for (int i = 0; i < numDeviceBuffers; ++i)
    device |= p == deviceBuffers[i];
  if (!managed && !device)
    return 1; /* CUDA_ERROR_INVALID_VALUE: not the driver's */
  if (attribute == 8) /* CU_POINTER_ATTRIBUTE_IS_MANAGED */
    *(unsigned *)data = managed;
  else if (attribute == 2) /* CU_POINTER_ATTRIBUTE_MEMORY_TYPE: device */
    *(unsigned *)data = 2;
  else
    return 1;
  return 0;
}
CUresult cuMemcpy(unsigned long long dst, unsigned long long src, size_t bytes) {
  logLine("memcpy", "");
  if (getenv("FAKE_CUDA_MEMCPY_FAILS"))
    return 700; /* CUDA_ERROR_ILLEGAL_ADDRESS */
  memcpy((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, bytes);
  return 0;
}
CUresult cuMemFree_v2(unsigned long long p) {
  for (int i = 0; i < numAllocations; ++i)
    if (allocations[i].p == (void *)(uintptr_t)p) {
      munmap(allocations[i].p, allocations[i].size);
      allocations[i] = allocations[--numAllocations];
      return 0;
    }
  return 1; /* CUDA_ERROR_INVALID_VALUE */
}
CUresult cuModuleLoadData(void **module, const void *image) {
  uint32_t magic;
  memcpy(&magic, image, 4);
  if (magic != 0xBA55ED50u) { /* a fatbin's header */
    logLine("module-rejected", "");
    return kInvalidImage;
  }
  logLine("module-load", "fatbin");
  *module = (void *)2;
  return 0;
}
CUresult cuModuleUnload(void *module) { (void)module; return 0; }
CUresult cuModuleGetFunction(void **fn, void *module, const char *name) {
  (void)module;
  *fn = strdup(name); /* leaked: a test's few hundred names */
  return 0;
}
CUresult cuLaunchKernel(void *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                        unsigned by, unsigned bz, unsigned smem, void *stream, void **params,
                        void **extra) {
  (void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)smem; (void)stream;
  (void)params; (void)extra;
  logLine("launch", (const char *)fn);
  const char *mode = getenv("FAKE_CUDA_LAUNCH");
  if (!mode || strcmp(mode, "skip") != 0)
    return kNotSupported;
  if (!inFlight)
    protectAll(PROT_NONE);
  inFlight = 1;
  return 0;
}
CUresult cuStreamCreate(void **s, unsigned flags) { (void)flags; *s = (void *)3; return 0; }
CUresult cuStreamDestroy_v2(void *s) { (void)s; return 0; }
static void finish(void) {
  if (inFlight)
    protectAll(PROT_READ | PROT_WRITE);
  inFlight = 0;
}
CUresult cuStreamSynchronize(void *s) {
  (void)s;
  logLine("sync", "");
  finish();
  return 0;
}
CUresult cuCtxSynchronize(void) {
  logLine("sync", "context");
  finish();
  return 0;
}
CUresult cuGetErrorString(CUresult rc, const char **text) {
  *text = rc == kNotSupported ? "fake CUDA driver: it cannot run kernels"
          : rc == kInvalidImage ? "fake CUDA driver: the image is not a fatbin"
                                : "fake CUDA driver error";
  return 0;
}
