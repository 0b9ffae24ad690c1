//===- safetensors.cpp - fuzzing the safetensors reader -------------------===//

#include "SafeTensors.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  auto file = dync::safetensors::File::fromMemory(data, size, "fuzz.safetensors", error);
  if (!file)
    return 0;
  // Every tensor the header lists must lie inside the data.
  for (const auto &t : file->tensors()) {
    const uint8_t *p = file->data(t);
    if (t.end > t.begin && (p < data || p + (t.end - t.begin) > data + size))
      __builtin_trap();
  }
  return 0;
}
