//===- runtime.cpp - fuzzing libdyncrt's API ------------------------------===//
//
// Input: a model manifest (the text a compiled model carries), then, after a
// NUL byte, bytes that choose runtime parameters and input tensors (dtype,
// rank, sizes). The model is loaded as a linked model whose entry does
// nothing, so what is fuzzed is the runtime: manifest reading, weights
// binding, parameters, input validation, result handling.
//
//===----------------------------------------------------------------------===//

#include "dync/runtime.h"

#include <cstring>
#include <string>
#include <vector>

namespace {
void noEntry(void **, void *) {}

struct Bytes {
  const uint8_t *p, *end;
  uint8_t next() { return p < end ? *p++ : 0; }
};
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = static_cast<const uint8_t *>(std::memchr(data, 0, size));
  std::string manifest(reinterpret_cast<const char *>(data), nul ? nul - data : size);
  Bytes rest{nul ? nul + 1 : data + size, data + size};
  dync_static_model_t linked = {manifest.c_str(), noEntry, nullptr, 0, nullptr};
  dync_model_t *model = nullptr;
  if (dync_status_t *s = dync_model_load_static(&linked, nullptr, &model)) {
    (void)dync_status_code(s);
    dync_status_free(s);
    return 0;
  }
  dync_session_t *session = nullptr;
  if (dync_status_t *s = dync_session_create(model, &session)) {
    dync_status_free(s);
    dync_model_release(model);
    return 0;
  }
  dync_status_free(dync_session_set_param(session, "k", rest.next() / 4.0));
  dync_status_free(dync_session_set_threads(session, rest.next() % 4));
  int32_t nIn = dync_model_num_inputs(model), nOut = dync_model_num_outputs(model);
  if (rest.next() & 1)
    nIn += 1; // a wrong count
  std::vector<dync_tensor_t> inputs(nIn > 0 ? nIn : 0);
  std::vector<std::vector<char>> buffers(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) {
    dync_tensor_t &t = inputs[i];
    std::memset(&t, 0, sizeof t);
    t.dtype = static_cast<dync_dtype_t>(rest.next() % 7);
    t.rank = rest.next() % 10;
    int64_t elems = 1;
    for (int32_t d = 0; d < t.rank && d < DYNC_MAX_RANK; ++d) {
      t.shape[d] = static_cast<int8_t>(rest.next()) % 9;
      if (t.shape[d] > 0)
        elems *= t.shape[d];
    }
    buffers[i].assign(static_cast<size_t>(elems) * 8 + 8, 0);
    t.data = (rest.next() % 8) ? buffers[i].data() : nullptr;
  }
  std::vector<dync_tensor_t> outputs(nOut > 0 ? nOut : 0);
  dync_status_t *s = dync_session_run(session, inputs.data(), static_cast<int32_t>(inputs.size()),
                                      outputs.data(), static_cast<int32_t>(outputs.size()));
  if (!s)
    for (dync_tensor_t &o : outputs)
      dync_tensor_free(&o);
  dync_status_free(s);
  for (int32_t i = 0; i < dync_model_num_stats(model); ++i)
    (void)dync_session_stat(session, i);
  dync_session_release(session);
  dync_model_release(model);
  return 0;
}
