/* A stand-in for libcuda.so.1 on machines without a GPU, for the runtime's
 * tests (DYNC_CUDA_DRIVER=fake_cuda.so). It has FAKE_CUDA_DEVICES devices
 * (default 0), allocates "managed" memory on the host, accepts a module
 * only if it is a fatbin, and cannot run kernels: FAKE_CUDA_LAUNCH=fail
 * (default) refuses each launch, =skip records and skips it. Every module
 * load, launch and stream synchronization is appended to FAKE_CUDA_LOG.
 * FAKE_CUDA_ALLOCS=N makes allocations after the first N fail;
 * FAKE_CUDA_NO_CONTEXT=1 refuses to make a context current. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
CUresult cuMemAllocManaged(unsigned long long *p, size_t bytes, unsigned flags) {
  static long made = 0;
  const char *limit = getenv("FAKE_CUDA_ALLOCS");
  (void)flags;
  if (limit && made++ >= atol(limit))
    return 2; /* CUDA_ERROR_OUT_OF_MEMORY */
  void *m = calloc(1, bytes);
  *p = (unsigned long long)(uintptr_t)m;
  return m ? 0 : 2;
}
CUresult cuMemFree_v2(unsigned long long p) { free((void *)(uintptr_t)p); return 0; }
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
  return mode && strcmp(mode, "skip") == 0 ? 0 : kNotSupported;
}
CUresult cuStreamCreate(void **s, unsigned flags) { (void)flags; *s = (void *)3; return 0; }
CUresult cuStreamDestroy_v2(void *s) { (void)s; return 0; }
CUresult cuStreamSynchronize(void *s) { (void)s; logLine("sync", ""); return 0; }
CUresult cuGetErrorString(CUresult rc, const char **text) {
  *text = rc == kNotSupported ? "fake CUDA driver: it cannot run kernels"
          : rc == kInvalidImage ? "fake CUDA driver: the image is not a fatbin"
                                : "fake CUDA driver error";
  return 0;
}
