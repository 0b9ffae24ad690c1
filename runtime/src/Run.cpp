//===- Run.cpp - one run: inputs checked, the entry called, outputs -------===//
//
// The entry takes `void **args` (one pointer per argument of the manifest:
// a memref descriptor for inputs and weights, a scalar for parameters, the
// statistics array) and writes the results' memref descriptors.
//
//===----------------------------------------------------------------------===//

#include "Cuda.h"
#include "Internal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

using namespace dync::rt;

namespace {

/// Checks every input against the model and binds the model dims they carry.
dync_status_t *checkInputs(const dync_model_t &model, const dync_tensor_t *inputs,
                           int32_t nInputs) {
  std::map<std::string, int64_t> bound;
  for (int32_t i = 0; i < nInputs; ++i) {
    const Arg &a = model.args[model.inputArgs[i]];
    const dync_tensor_t &t = inputs[i];
    if (t.dtype != a.dtype)
      return fail(DYNC_STATUS_INVALID_ARGUMENT, "input '%s' must be %s, got %s", a.name.c_str(),
                  dync_dtype_name(a.dtype), dync_dtype_name(t.dtype));
    if (t.rank != static_cast<int32_t>(a.shape.size()))
      return fail(DYNC_STATUS_INVALID_ARGUMENT, "input '%s' must have rank %zu, got %d",
                  a.name.c_str(), a.shape.size(), t.rank);
    int64_t n = 1;
    for (int32_t d = 0; d < t.rank; ++d) {
      if (t.shape[d] < 0)
        return fail(DYNC_STATUS_INVALID_ARGUMENT, "input '%s' dim %d is negative (%lld)",
                    a.name.c_str(), d, static_cast<long long>(t.shape[d]));
      n *= t.shape[d];
    }
    if (!t.data && n > 0)
      return fail(DYNC_STATUS_INVALID_ARGUMENT, "input '%s' has no data", a.name.c_str());
    for (int32_t d = 0; d < t.rank; ++d) {
      int64_t size = t.shape[d];
      if (a.shape[d] >= 0 && size != a.shape[d])
        return fail(DYNC_STATUS_INVALID_ARGUMENT, "input '%s' dim %d must be %lld, got %lld",
                    a.name.c_str(), d, static_cast<long long>(a.shape[d]),
                    static_cast<long long>(size));
      if (a.shape[d] >= 0 || a.symbols[d].empty())
        continue;
      const std::string &sym = a.symbols[d];
      auto range = model.dims.find(sym);
      if (range != model.dims.end() &&
          (size < range->second.first || size > range->second.second))
        return fail(DYNC_STATUS_INVALID_ARGUMENT,
                    "input '%s' dim %d is %s = %lld, outside its bounds [%lld, %lld]",
                    a.name.c_str(), d, sym.c_str(), static_cast<long long>(size),
                    static_cast<long long>(range->second.first),
                    static_cast<long long>(range->second.second));
      auto seen = bound.find(sym);
      if (seen != bound.end() && seen->second != size)
        return fail(DYNC_STATUS_INVALID_ARGUMENT,
                    "input '%s' dim %d is %s = %lld, but another input has %s = %lld",
                    a.name.c_str(), d, sym.c_str(), static_cast<long long>(size), sym.c_str(),
                    static_cast<long long>(seen->second));
      bound[sym] = size;
    }
  }
  return nullptr;
}

/// A ranked memref descriptor {allocated, aligned, offset, sizes, strides}
/// over contiguous row-major data.
std::vector<int64_t> descriptor(const void *data, const int64_t *shape, size_t rank) {
  std::vector<int64_t> desc(3 + 2 * rank);
  std::memcpy(&desc[0], &data, sizeof(void *));
  std::memcpy(&desc[1], &data, sizeof(void *));
  desc[2] = 0;
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    desc[3 + d] = shape[d];
    desc[3 + rank + d] = stride;
    stride *= shape[d];
  }
  return desc;
}

/// Calls the entry; false if an allocation failed in the model's code
/// (the allocator returns here, see ModelSupport.cpp).
bool callEntry(EntryFn entry, void **args, void *results, RunContext &run) {
  if (setjmp(run.outOfMemory) != 0)
    return false;
  entry(args, results);
  return true;
}

/// Copies a strided result into a fresh contiguous buffer.
void *copyContiguous(const char *base, const int64_t *sizes, const int64_t *strides,
                     int32_t rank, int64_t esize, int64_t elems) {
  char *copy = static_cast<char *>(std::malloc(std::max<int64_t>(1, elems * esize)));
  if (!copy)
    return nullptr;
  std::vector<int64_t> index(rank, 0);
  for (int64_t e = 0; e < elems; ++e) {
    int64_t src = 0;
    for (int32_t d = 0; d < rank; ++d)
      src += index[d] * strides[d];
    std::memcpy(copy + e * esize, base + src * esize, esize);
    for (int32_t d = rank; d-- > 0;) {
      if (++index[d] < sizes[d])
        break;
      index[d] = 0;
    }
  }
  return copy;
}

} // namespace

extern "C" dync_status_t *dync_session_run(dync_session_t *session,
                                           const dync_tensor_t *inputs, int32_t nInputs,
                                           dync_tensor_t *outputs, int32_t nOutputs) {
  if (!session || (nInputs > 0 && !inputs) || (nOutputs > 0 && !outputs))
    return fail(DYNC_STATUS_INVALID_ARGUMENT, "dync_session_run: NULL session, inputs or outputs");
  const dync_model_t *model = session->model;
  if (nInputs != dync_model_num_inputs(model))
    return fail(DYNC_STATUS_INVALID_ARGUMENT, "the model takes %d input(s), got %d",
                dync_model_num_inputs(model), nInputs);
  if (nOutputs != dync_model_num_outputs(model))
    return fail(DYNC_STATUS_INVALID_ARGUMENT,
                "the model produces %d output(s), room was given for %d",
                dync_model_num_outputs(model), nOutputs);
  if (dync_status_t *st = checkInputs(*model, inputs, nInputs))
    return st;

  // A CUDA model's kernels address managed memory only: its inputs and
  // statistics are copied there for the run (weights were at load).
  bool device = model->cuda;
  if (device)
    if (dync_status_t *st = cuda::ensureDevice())
      return st;
  std::vector<void *> staged;
  auto stage = [&](const void *data, size_t bytes) -> void * {
    void *copy = cuda::allocManaged(bytes);
    if (copy) {
      std::memcpy(copy, data, bytes);
      staged.push_back(copy);
    }
    return copy;
  };
  struct Unstage {
    std::vector<void *> &buffers;
    ~Unstage() {
      for (void *p : buffers)
        cuda::freeManaged(p);
    }
  } unstage{staged};
  int64_t *stats = session->stats.data();

  // The entry's arguments.
  std::vector<std::vector<int64_t>> descriptors;
  descriptors.reserve(model->args.size());
  std::vector<void *> argPtrs;
  std::vector<float> paramF(model->args.size());
  std::vector<int32_t> paramI(model->args.size());
  std::fill(session->stats.begin(), session->stats.end(), 0);
  int32_t input = 0;
  for (size_t i = 0; i < model->args.size(); ++i) {
    const Arg &a = model->args[i];
    switch (a.kind) {
    case ArgKind::Stats: {
      int64_t n = static_cast<int64_t>(session->stats.size());
      if (device && !(stats = static_cast<int64_t *>(
                          stage(session->stats.data(), n * sizeof(int64_t)))))
        return fail(DYNC_STATUS_OUT_OF_MEMORY, "out of CUDA managed memory for the statistics");
      descriptors.push_back(descriptor(stats, &n, 1));
      break;
    }
    case ArgKind::Param: {
      auto p = session->params.at(i);
      paramF[i] = p.first;
      paramI[i] = p.second;
      argPtrs.push_back(a.dtype == DYNC_I32 ? static_cast<void *>(&paramI[i])
                                            : static_cast<void *>(&paramF[i]));
      continue;
    }
    case ArgKind::Weight:
      descriptors.push_back(descriptor(a.data, a.shape.data(), a.shape.size()));
      break;
    case ArgKind::Input: {
      const void *data = inputs[input].data;
      // Managed memory is used as it is; device memory (cuMemAlloc) is
      // copied on the device, host memory from the host.
      cuda::Memory where = device ? cuda::classify(data) : cuda::Memory::Managed;
      if (where != cuda::Memory::Managed) {
        int64_t bytes = dync_dtype_size(a.dtype);
        for (size_t d = 0; d < a.shape.size(); ++d)
          bytes *= inputs[input].shape[d];
        void *copy = where == cuda::Memory::Host ? stage(data, bytes) : cuda::allocManaged(bytes);
        if (!copy)
          return fail(DYNC_STATUS_OUT_OF_MEMORY,
                      "out of CUDA managed memory for input '%s' (%lld bytes)", a.name.c_str(),
                      static_cast<long long>(bytes));
        if (where == cuda::Memory::Device) {
          staged.push_back(copy);
          if (!cuda::copyFromDevice(copy, data, bytes))
            return fail(DYNC_STATUS_INVALID_ARGUMENT,
                        "input '%s' is device memory that cannot be read (%lld bytes)",
                        a.name.c_str(), static_cast<long long>(bytes));
        }
        data = copy;
      }
      descriptors.push_back(descriptor(data, inputs[input].shape, a.shape.size()));
      ++input;
      break;
    }
    }
    argPtrs.push_back(descriptors.back().data());
  }

  size_t resultWords = 0;
  for (const Result &r : model->results)
    resultWords += 3 + 2 * r.rank;
  std::vector<int64_t> results(resultWords, 0);
  if (session->threads > 1 && !session->pool)
    session->pool.reset(new (std::nothrow) ThreadPool(session->threads));
  RunContext run;
  run.pool = session->pool.get();
  run.cuda = device;
  RunContext *outer = currentRun();
  currentRun() = &run;
  bool completed = callEntry(model->entry, argPtrs.data(), results.data(), run);
  currentRun() = outer;
  session->parallelLoops = run.parallelLoops;
  if (!completed) {
    // The model's code ran out of memory: free what the run allocated.
    for (void *p : run.allocations)
      freeModelBuffer(p, &run);
    std::fill(session->stats.begin(), session->stats.end(), 0);
    if (!run.failureMessage.empty())
      return fail(run.failure, "%s", run.failureMessage.c_str());
    return fail(DYNC_STATUS_OUT_OF_MEMORY, "the model ran out of memory during the run");
  }
  if (device && stats != session->stats.data())
    std::memcpy(session->stats.data(), stats, session->stats.size() * sizeof(int64_t));

  // Outputs: contiguous row-major results are handed over as they are;
  // anything else is copied into a fresh buffer. Outputs can be views of one
  // allocation (a reshape of another output): the first takes the
  // allocation, later views are copied.
  size_t at = 0;
  std::vector<void *> handedOut, copiedFrom;
  dync_status_t *status = nullptr;
  for (int32_t i = 0; i < nOutputs; ++i) {
    const Result &r = model->results[i];
    void *allocated, *aligned;
    std::memcpy(&allocated, &results[at], sizeof(void *));
    std::memcpy(&aligned, &results[at + 1], sizeof(void *));
    int64_t offset = results[at + 2];
    const int64_t *sizes = &results[at + 3], *strides = &results[at + 3 + r.rank];
    dync_tensor_t &out = outputs[i];
    out.dtype = r.dtype;
    out.rank = r.rank;
    int64_t elems = 1, expected = 1;
    bool contiguous = true;
    for (int32_t d = r.rank; d-- > 0;) {
      out.shape[d] = sizes[d];
      contiguous &= strides[d] == expected || out.shape[d] == 1;
      expected *= out.shape[d];
      elems *= out.shape[d];
    }
    if (!aligned && elems > 0) {
      // A broken model (a fuzzed manifest over another entry): no data.
      if (!status)
        status = fail(DYNC_STATUS_INTERNAL, "the model returned no data for output '%s'",
                      r.name.c_str());
      out.data = out.allocation = nullptr;
      at += 3 + 2 * r.rank;
      continue;
    }
    int64_t esize = dync_dtype_size(r.dtype);
    char *base = static_cast<char *>(aligned) + offset * esize;
    // An output that is a caller's input or a weight is not ours to hand
    // over: copy it.
    bool borrowed = false;
    for (const std::vector<int64_t> &desc : descriptors) {
      void *owned;
      std::memcpy(&owned, &desc[0], sizeof(void *));
      borrowed |= owned == allocated;
    }
    borrowed |= std::find(handedOut.begin(), handedOut.end(), allocated) != handedOut.end();
    // A CUDA model's buffers are managed memory, which the caller frees
    // with dync_tensor_free (free): copy them out too.
    if (contiguous && !borrowed && !device) {
      out.data = base;
      out.allocation = allocated;
      handedOut.push_back(allocated);
    } else {
      void *copy = copyContiguous(base, sizes, strides, r.rank, esize, elems);
      if (!borrowed)
        copiedFrom.push_back(allocated);
      out.data = copy;
      out.allocation = copy;
      if (!copy && !status)
        status = fail(DYNC_STATUS_OUT_OF_MEMORY, "out of memory copying output '%s'",
                      r.name.c_str());
    }
    at += 3 + 2 * r.rank;
  }
  // The model's buffers that were copied out, unless another output holds
  // them.
  std::sort(copiedFrom.begin(), copiedFrom.end());
  copiedFrom.erase(std::unique(copiedFrom.begin(), copiedFrom.end()), copiedFrom.end());
  for (void *p : copiedFrom)
    if (std::find(handedOut.begin(), handedOut.end(), p) == handedOut.end())
      freeModelBuffer(p, &run);
  if (status)
    for (int32_t i = 0; i < nOutputs; ++i)
      dync_tensor_free(&outputs[i]);
  return status;
}

extern "C" void dync_tensor_free(dync_tensor_t *tensor) {
  if (!tensor)
    return;
  std::free(tensor->allocation);
  tensor->allocation = nullptr;
  tensor->data = nullptr;
}
