//===- Status.cpp - statuses, versions and dtypes -------------------------===//

#include "Internal.h"

#include <cstdarg>
#include <cstdio>
#include <new>

using namespace dync::rt;

/// What a status is when even a status cannot be allocated.
static dync_status_t outOfMemoryStatus{DYNC_STATUS_OUT_OF_MEMORY, "out of memory"};

dync_status_t *dync::rt::fail(dync_status_code_t code, const char *fmt, ...) {
  char buffer[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buffer, sizeof buffer, fmt, ap);
  va_end(ap);
  // A status is the one thing that must be made even out of memory.
  auto *status = new (std::nothrow) dync_status_t{code, buffer};
  return status ? status : &outOfMemoryStatus;
}

bool dync::rt::parseDType(const std::string &s, dync_dtype_t &out) {
  static const std::map<std::string, dync_dtype_t> names = {
      {"f32", DYNC_F32}, {"f16", DYNC_F16}, {"bf16", DYNC_BF16},
      {"i32", DYNC_I32}, {"i64", DYNC_I64}, {"bool", DYNC_BOOL}};
  auto it = names.find(s);
  if (it == names.end())
    return false;
  out = it->second;
  return true;
}

extern "C" {

int32_t dync_api_version(void) { return DYNC_API_VERSION; }
int32_t dync_model_abi_version(void) { return DYNC_MODEL_ABI_VERSION; }

dync_status_code_t dync_status_code(const dync_status_t *status) {
  return status ? status->code : DYNC_STATUS_OK;
}

const char *dync_status_code_name(dync_status_code_t code) {
  switch (code) {
  case DYNC_STATUS_OK: return "ok";
  case DYNC_STATUS_INVALID_ARGUMENT: return "invalid argument";
  case DYNC_STATUS_NOT_FOUND: return "not found";
  case DYNC_STATUS_OUT_OF_MEMORY: return "out of memory";
  case DYNC_STATUS_UNIMPLEMENTED: return "unimplemented";
  case DYNC_STATUS_INCOMPATIBLE: return "incompatible";
  case DYNC_STATUS_DATA_LOSS: return "data loss";
  case DYNC_STATUS_UNAVAILABLE: return "unavailable";
  case DYNC_STATUS_INTERNAL: return "internal";
  case DYNC_STATUS_CODE_MAX_: break;
  }
  return "unknown";
}

const char *dync_status_message(const dync_status_t *status) {
  return status ? status->message.c_str() : "ok";
}

void dync_status_free(dync_status_t *status) {
  if (status != &outOfMemoryStatus)
    delete status;
}

int64_t dync_dtype_size(dync_dtype_t dtype) {
  switch (dtype) {
  case DYNC_F32: case DYNC_I32: return 4;
  case DYNC_F16: case DYNC_BF16: return 2;
  case DYNC_I64: return 8;
  case DYNC_BOOL: return 1;
  case DYNC_DTYPE_INVALID: break;
  }
  return 0;
}

const char *dync_dtype_name(dync_dtype_t dtype) {
  switch (dtype) {
  case DYNC_F32: return "f32";
  case DYNC_F16: return "f16";
  case DYNC_BF16: return "bf16";
  case DYNC_I32: return "i32";
  case DYNC_I64: return "i64";
  case DYNC_BOOL: return "bool";
  case DYNC_DTYPE_INVALID: break;
  }
  return "?";
}

} // extern "C"
