//===- Signature.cpp - what a model takes and returns ---------------------===//
//
// Read-only views of the manifest a model was loaded with: its inputs'
// dtypes and shapes (static sizes or model dims), its outputs, its dims'
// bounds and its runtime parameters.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

using namespace dync::rt;

namespace {

const Arg *inputArg(const dync_model_t *model, int32_t i) {
  if (!model || i < 0 || i >= static_cast<int32_t>(model->inputArgs.size()))
    return nullptr;
  return &model->args[model->inputArgs[i]];
}

const Arg *paramArg(const dync_model_t *model, int32_t i) {
  if (!model || i < 0 || i >= static_cast<int32_t>(model->paramArgs.size()))
    return nullptr;
  return &model->args[model->paramArgs[i]];
}

const Result *result(const dync_model_t *model, int32_t i) {
  if (!model || i < 0 || i >= static_cast<int32_t>(model->results.size()))
    return nullptr;
  return &model->results[i];
}

/// The i-th dim in name order (the manifest's dims are a map).
const std::pair<const std::string, std::pair<int64_t, int64_t>> *dim(const dync_model_t *model,
                                                                      int32_t i) {
  if (!model || i < 0 || i >= static_cast<int32_t>(model->dims.size()))
    return nullptr;
  return &*std::next(model->dims.begin(), i);
}

} // namespace

extern "C" {

dync_dtype_t dync_model_input_dtype(const dync_model_t *model, int32_t i) {
  const Arg *a = inputArg(model, i);
  return a ? a->dtype : DYNC_DTYPE_INVALID;
}

int32_t dync_model_input_rank(const dync_model_t *model, int32_t i) {
  const Arg *a = inputArg(model, i);
  return a ? static_cast<int32_t>(a->shape.size()) : -1;
}

int64_t dync_model_input_dim(const dync_model_t *model, int32_t i, int32_t d) {
  const Arg *a = inputArg(model, i);
  if (!a || d < 0 || d >= static_cast<int32_t>(a->shape.size()))
    return -1;
  return a->shape[d];
}

const char *dync_model_input_dim_name(const dync_model_t *model, int32_t i, int32_t d) {
  const Arg *a = inputArg(model, i);
  if (!a || d < 0 || d >= static_cast<int32_t>(a->symbols.size()) || a->symbols[d].empty())
    return nullptr;
  return a->symbols[d].c_str();
}

dync_dtype_t dync_model_output_dtype(const dync_model_t *model, int32_t i) {
  const Result *r = result(model, i);
  return r ? r->dtype : DYNC_DTYPE_INVALID;
}

int32_t dync_model_output_rank(const dync_model_t *model, int32_t i) {
  const Result *r = result(model, i);
  return r ? r->rank : -1;
}

int32_t dync_model_num_dims(const dync_model_t *model) {
  return model ? static_cast<int32_t>(model->dims.size()) : 0;
}

const char *dync_model_dim_name(const dync_model_t *model, int32_t i) {
  auto *d = dim(model, i);
  return d ? d->first.c_str() : nullptr;
}

int64_t dync_model_dim_min(const dync_model_t *model, int32_t i) {
  auto *d = dim(model, i);
  return d ? d->second.first : -1;
}

int64_t dync_model_dim_max(const dync_model_t *model, int32_t i) {
  auto *d = dim(model, i);
  return d ? d->second.second : -1;
}

int32_t dync_model_num_params(const dync_model_t *model) {
  return model ? static_cast<int32_t>(model->paramArgs.size()) : 0;
}

const char *dync_model_param_name(const dync_model_t *model, int32_t i) {
  const Arg *a = paramArg(model, i);
  return a ? a->name.c_str() : nullptr;
}

dync_dtype_t dync_model_param_dtype(const dync_model_t *model, int32_t i) {
  const Arg *a = paramArg(model, i);
  return a ? a->dtype : DYNC_DTYPE_INVALID;
}

double dync_model_param_default(const dync_model_t *model, int32_t i) {
  const Arg *a = paramArg(model, i);
  return a ? a->defaultValue : 0;
}

} // extern "C"
