//===- npy.cpp - fuzzing dync-run's .npy reader ---------------------------===//

#include "Npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  dync::npy::Array array;
  std::string content(reinterpret_cast<const char *>(data), size);
  std::string problem = dync::npy::parse(content, "fuzz.npy", array);
  if (!problem.empty())
    return 0;
  int64_t count = 1;
  for (int64_t d : array.shape)
    count *= d;
  if (static_cast<int64_t>(array.data.size()) != count * dync_dtype_size(array.dtype))
    __builtin_trap();
  return 0;
}
