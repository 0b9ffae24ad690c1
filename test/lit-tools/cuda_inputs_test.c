/* A CUDA model given host, managed and device memory as its input, through
 * the C API, against the stand-in driver (fake_cuda.c, loaded here from the
 * same path as the runtime loads it, so both see one driver):
 *
 *   cuda_inputs_test MODEL.so FAKE_DRIVER.so
 *
 * MODEL returns its input x (f32[4]) as y; each run prints the output and
 * whether it equals the input. */
#include "dync/runtime.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef int (*AllocFn)(unsigned long long *, size_t, unsigned);
typedef int (*DeviceAllocFn)(unsigned long long *, size_t);

static int run(dync_session_t *session, const char *what, float *x) {
  dync_tensor_t in = {DYNC_F32, 1, {4}, x, NULL};
  dync_tensor_t out;
  memset(&out, 0, sizeof out);
  dync_status_t *st = dync_session_run(session, &in, 1, &out, 1);
  if (st) {
    printf("%s: error %s\n", what, dync_status_message(st));
    dync_status_free(st);
    return 1;
  }
  const float *y = (const float *)out.data;
  int same = 1;
  for (int i = 0; i < 4; ++i)
    same &= y[i] == x[i];
  printf("%s: y = %g %g %g %g, equal %s\n", what, y[0], y[1], y[2], y[3], same ? "yes" : "no");
  dync_tensor_free(&out);
  return !same;
}

int main(int argc, char **argv) {
  if (argc != 3)
    return 2;
  void *driver = dlopen(argv[2], RTLD_NOW | RTLD_LOCAL);
  AllocFn managedAlloc = driver ? (AllocFn)dlsym(driver, "cuMemAllocManaged") : NULL;
  DeviceAllocFn deviceAlloc = driver ? (DeviceAllocFn)dlsym(driver, "cuMemAlloc_v2") : NULL;
  if (!managedAlloc || !deviceAlloc) {
    printf("cannot load the driver %s\n", argv[2]);
    return 1;
  }
  dync_model_t *model = NULL;
  dync_status_t *st = dync_model_load(argv[1], NULL, &model);
  if (st) {
    printf("load: %s\n", dync_status_message(st));
    return 1;
  }
  printf("device %s\n", dync_model_device(model));
  dync_session_t *session = NULL;
  if (dync_session_create(model, &session))
    return 1;
  int failures = 0;
  float host[4] = {1, 2, 3, 4};
  failures += run(session, "host", host);
  unsigned long long managed = 0, device = 0;
  managedAlloc(&managed, sizeof host, 1);
  deviceAlloc(&device, sizeof host);
  float *m = (float *)(size_t)managed, *d = (float *)(size_t)device;
  for (int i = 0; i < 4; ++i) {
    m[i] = 10.0f * (i + 1);
    d[i] = 100.0f * (i + 1);
  }
  failures += run(session, "managed", m);
  failures += run(session, "device", d);
  dync_session_release(session);
  dync_model_release(model);
  return failures;
}
