//===- Session.cpp - per-run settings: threads, parameters, statistics ----===//

#include "Internal.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <new>

using namespace dync::rt;

extern "C" {

dync_status_t *dync_session_create(const dync_model_t *model, dync_session_t **outSession) {
  if (!model || !outSession)
    return fail(DYNC_STATUS_INVALID_ARGUMENT,
                "dync_session_create: model and out_session must not be NULL");
  auto *s = new (std::nothrow) dync_session_t;
  if (!s)
    return fail(DYNC_STATUS_OUT_OF_MEMORY, "out of memory creating a session");
  s->model = model;
  s->stats.assign(model->statNames.size(), 0);
  s->threads = std::min(availableProcessors(), kMaxThreads);
  // Each parameter's default in its own type only (the manifest checks
  // that an i32 default fits; an f32 one need not fit an int).
  for (size_t i : model->paramArgs) {
    const Arg &a = model->args[i];
    s->params[i] = a.dtype == DYNC_I32
                       ? std::make_pair(0.f, static_cast<int32_t>(a.defaultValue))
                       : std::make_pair(static_cast<float>(a.defaultValue), int32_t(0));
  }
  *outSession = s;
  return nullptr;
}

void dync_session_release(dync_session_t *session) { delete session; }

dync_status_t *dync_session_set_threads(dync_session_t *session, int32_t threads) {
  if (!session)
    return fail(DYNC_STATUS_INVALID_ARGUMENT,
                "dync_session_set_threads: session must not be NULL");
  if (threads < 1 || threads > kMaxThreads)
    return fail(DYNC_STATUS_INVALID_ARGUMENT,
                "dync_session_set_threads: threads must be between 1 and %d, got %d",
                kMaxThreads, threads);
  if (threads != session->threads)
    session->pool.reset();
  session->threads = threads;
  return nullptr;
}

int32_t dync_session_threads(const dync_session_t *session) {
  return session ? session->threads : 0;
}

int64_t dync_session_parallel_loops(const dync_session_t *session) {
  return session ? session->parallelLoops : 0;
}

dync_status_t *dync_session_set_param(dync_session_t *session, const char *name,
                                      double value) {
  if (!session || !name)
    return fail(DYNC_STATUS_INVALID_ARGUMENT,
                "dync_session_set_param: session and name must not be NULL");
  for (size_t i : session->model->paramArgs) {
    const Arg &a = session->model->args[i];
    if (a.name != name)
      continue;
    if (a.dtype == DYNC_I32) {
      if (value != std::floor(value) || value < INT32_MIN || value > INT32_MAX)
        return fail(DYNC_STATUS_INVALID_ARGUMENT,
                    "runtime parameter '%s' is i32; %g is not a 32-bit integer", name, value);
      session->params[i].second = static_cast<int32_t>(value);
    } else {
      session->params[i].first = static_cast<float>(value);
    }
    return nullptr;
  }
  std::string known;
  for (size_t i : session->model->paramArgs)
    known += (known.empty() ? "" : ", ") + session->model->args[i].name;
  return fail(DYNC_STATUS_NOT_FOUND, "the model has no runtime parameter '%s' (it has: %s)",
              name, known.empty() ? "none" : known.c_str());
}

int64_t dync_session_stat(const dync_session_t *session, int32_t i) {
  if (!session || i < 0 || i >= static_cast<int32_t>(session->stats.size()))
    return 0;
  return session->stats[i];
}

} // extern "C"
