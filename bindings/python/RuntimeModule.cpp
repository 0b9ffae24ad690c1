//===- RuntimeModule.cpp - dync._runtime: libdyncrt for Python ------------===//
//
// A thin nanobind layer over the C API in dync/runtime.h: a Model (a loaded
// model library and its signature) and a Session (one thread's runs). Inputs
// are C-contiguous CPU arrays of the input's dtype, handed to the runtime
// without a copy (the Python side converts anything else first); outputs
// are NumPy arrays over the tensors the run allocated, freed with them. The
// GIL is released while a model runs. Every runtime status becomes the
// exception of its code.
//
// nanobind, not pybind11: its ndarray type takes NumPy arrays, torch
// tensors and anything else speaking DLPack or the buffer protocol without
// a copy, and it builds faster and smaller.
//
//===----------------------------------------------------------------------===//

#include "dync/runtime.h"

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/variant.h>
#include <nanobind/stl/vector.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace nb = nanobind;

namespace {

//===----------------------------------------------------------------------===//
// Errors
//===----------------------------------------------------------------------===//

/// dync.DyncError and one subclass per status code, each also deriving from
/// the builtin exception a Python caller would expect (ValueError for an
/// invalid argument, ...).
struct ErrorClasses {
  PyObject *base = nullptr;
  PyObject *byCode[9] = {};
};
ErrorClasses errors;

PyObject *newError(nb::module_ &m, const char *name, PyObject *bases, const char *doc) {
  std::string qualified = std::string("dync.") + name;
  PyObject *cls = PyErr_NewExceptionWithDoc(qualified.c_str(), doc, bases, nullptr);
  if (!cls)
    throw nb::python_error();
  m.attr(name) = nb::handle(cls);
  return cls;
}

void defineErrors(nb::module_ &m) {
  nb::tuple baseBases = nb::make_tuple(nb::handle(PyExc_RuntimeError));
  errors.base = newError(m, "DyncError", baseBases.ptr(),
                         "Base class of every error dync raises; `code` is the runtime "
                         "status name (\"invalid argument\", ...) where there is one.");
  nb::setattr(nb::handle(errors.base), "code", nb::none());
  struct Spec {
    dync_status_code_t code;
    const char *name;
    PyObject *builtin;
    const char *doc;
  };
  const Spec specs[] = {
      {DYNC_STATUS_INVALID_ARGUMENT, "InvalidArgumentError", PyExc_ValueError,
       "An input of the wrong dtype or shape, a bad parameter value or argument."},
      {DYNC_STATUS_NOT_FOUND, "NotFoundError", PyExc_LookupError,
       "A file, weight tensor or runtime parameter that does not exist."},
      {DYNC_STATUS_OUT_OF_MEMORY, "OutOfMemoryError", PyExc_MemoryError,
       "An allocation failed (in the runtime or in the model's code)."},
      {DYNC_STATUS_UNIMPLEMENTED, "UnimplementedError", PyExc_NotImplementedError,
       "Something this runtime does not do (yet)."},
      {DYNC_STATUS_INCOMPATIBLE, "IncompatibleError", nullptr,
       "Not a dync model, a model of another ABI, or weights that do not fit it."},
      {DYNC_STATUS_DATA_LOSS, "DataLossError", nullptr,
       "A malformed model manifest or weights file."},
      {DYNC_STATUS_UNAVAILABLE, "UnavailableError", nullptr,
       "A device or driver that is not there."},
      {DYNC_STATUS_INTERNAL, "InternalError", nullptr, "A bug in dync."},
  };
  for (const Spec &s : specs) {
    nb::tuple bases = s.builtin ? nb::make_tuple(nb::handle(errors.base), nb::handle(s.builtin))
                                : nb::make_tuple(nb::handle(errors.base));
    errors.byCode[s.code] = newError(m, s.name, bases.ptr(), s.doc);
    nb::setattr(nb::handle(errors.byCode[s.code]), "code", nb::str(dync_status_code_name(s.code)));
  }
}

/// Raises the exception of `code` with `message`, as a runtime status would
/// (each class's `code` is its status name).
[[noreturn]] void raiseError(dync_status_code_t code, const std::string &message) {
  PyObject *cls = code > 0 && code < 9 && errors.byCode[code] ? errors.byCode[code] : errors.base;
  PyErr_SetString(cls, message.c_str());
  throw nb::python_error();
}

/// Raises the exception of a failed status (and frees it); no-op on success.
void check(dync_status_t *status) {
  if (!status)
    return;
  dync_status_code_t code = dync_status_code(status);
  std::string message = dync_status_message(status);
  dync_status_free(status);
  raiseError(code, message);
}

//===----------------------------------------------------------------------===//
// Dtypes
//===----------------------------------------------------------------------===//

/// The DLPack dtype a dync dtype is exchanged as (bf16 as its uint16 bits:
/// NumPy has no bfloat16).
nb::dlpack::dtype dlpackType(dync_dtype_t t) {
  switch (t) {
  case DYNC_F32: return nb::dtype<float>();
  case DYNC_F16: return {static_cast<uint8_t>(nb::dlpack::dtype_code::Float), 16, 1};
  case DYNC_BF16: return nb::dtype<uint16_t>();
  case DYNC_I32: return nb::dtype<int32_t>();
  case DYNC_I64: return nb::dtype<int64_t>();
  case DYNC_BOOL: return nb::dtype<bool>();
  case DYNC_DTYPE_INVALID: break;
  }
  return {};
}

bool sameType(nb::dlpack::dtype a, nb::dlpack::dtype b) {
  return a.code == b.code && a.bits == b.bits && a.lanes == b.lanes;
}

/// "float64", "int8", ... for messages.
std::string typeName(nb::dlpack::dtype t) {
  const char *kind = "?";
  switch (static_cast<nb::dlpack::dtype_code>(t.code)) {
  case nb::dlpack::dtype_code::Int: kind = "int"; break;
  case nb::dlpack::dtype_code::UInt: kind = "uint"; break;
  case nb::dlpack::dtype_code::Float: kind = "float"; break;
  case nb::dlpack::dtype_code::Bfloat: kind = "bfloat"; break;
  case nb::dlpack::dtype_code::Complex: kind = "complex"; break;
  case nb::dlpack::dtype_code::Bool: return "bool";
  default: break;
  }
  return kind + std::to_string(t.bits);
}

//===----------------------------------------------------------------------===//
// Model and Session
//===----------------------------------------------------------------------===//

using Dim = std::variant<int64_t, std::string>;
using InputSpec = std::tuple<std::string, std::string, std::vector<Dim>>;
using OutputSpec = std::tuple<std::string, std::string, int32_t>;
using ParamSpec = std::tuple<std::string, std::string, double>;
using DimSpec = std::tuple<std::string, int64_t, int64_t>;

class Model {
public:
  Model(const std::string &path, std::optional<std::string> weights) : path_(path) {
    check(dync_model_load(path.c_str(), weights ? weights->c_str() : nullptr, &model_));
  }
  ~Model() { dync_model_release(model_); }
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  const dync_model_t *get() const { return model_; }
  const std::string &path() const { return path_; }

  std::vector<InputSpec> inputs() const {
    std::vector<InputSpec> out;
    for (int32_t i = 0, n = dync_model_num_inputs(model_); i < n; ++i) {
      std::vector<Dim> shape;
      for (int32_t d = 0, r = dync_model_input_rank(model_, i); d < r; ++d) {
        if (const char *name = dync_model_input_dim_name(model_, i, d))
          shape.emplace_back(std::string(name));
        else
          shape.emplace_back(dync_model_input_dim(model_, i, d));
      }
      out.emplace_back(dync_model_input_name(model_, i),
                       dync_dtype_name(dync_model_input_dtype(model_, i)), std::move(shape));
    }
    return out;
  }

  std::vector<OutputSpec> outputs() const {
    std::vector<OutputSpec> out;
    for (int32_t i = 0, n = dync_model_num_outputs(model_); i < n; ++i)
      out.emplace_back(dync_model_output_name(model_, i),
                       dync_dtype_name(dync_model_output_dtype(model_, i)),
                       dync_model_output_rank(model_, i));
    return out;
  }

  std::vector<ParamSpec> params() const {
    std::vector<ParamSpec> out;
    for (int32_t i = 0, n = dync_model_num_params(model_); i < n; ++i)
      out.emplace_back(dync_model_param_name(model_, i),
                       dync_dtype_name(dync_model_param_dtype(model_, i)),
                       dync_model_param_default(model_, i));
    return out;
  }

  std::vector<DimSpec> dims() const {
    std::vector<DimSpec> out;
    for (int32_t i = 0, n = dync_model_num_dims(model_); i < n; ++i)
      out.emplace_back(dync_model_dim_name(model_, i), dync_model_dim_min(model_, i),
                       dync_model_dim_max(model_, i));
    return out;
  }

  std::string device() const { return dync_model_device(model_); }
  int64_t weightCopyBytes() const { return dync_model_weight_copy_bytes(model_); }

  std::vector<std::string> statNames() const {
    std::vector<std::string> out;
    for (int32_t i = 0, n = dync_model_num_stats(model_); i < n; ++i)
      out.emplace_back(dync_model_stat_name(model_, i));
    return out;
  }

private:
  std::string path_;
  dync_model_t *model_ = nullptr;
};

using CpuArray = nb::ndarray<nb::ro, nb::c_contig, nb::device::cpu>;

class Session {
public:
  explicit Session(const Model &model) : model_(model) {
    check(dync_session_create(model.get(), &session_));
  }
  ~Session() { dync_session_release(session_); }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  int32_t threads() const { return dync_session_threads(session_); }
  void setThreads(int32_t n) {
    std::unique_lock<std::mutex> lock = lockReleasingGil();
    check(dync_session_set_threads(session_, n));
  }

  /// Runs with `inputs` in the model's input order. Every parameter is set
  /// for this run: to its value in `params`, else to its default.
  std::vector<nb::ndarray<nb::numpy>> run(const std::vector<nb::object> &inputs,
                                          const nb::dict &params) {
    const dync_model_t *m = model_.get();
    int32_t nIn = dync_model_num_inputs(m), nOut = dync_model_num_outputs(m);
    if (static_cast<int32_t>(inputs.size()) != nIn)
      raiseError(DYNC_STATUS_INVALID_ARGUMENT,
                 "the model takes " + std::to_string(nIn) + " input(s), got " +
                     std::to_string(inputs.size()));
    std::vector<CpuArray> arrays(inputs.size());
    std::vector<dync_tensor_t> tensors(inputs.size());
    for (int32_t i = 0; i < nIn; ++i) {
      std::string name = dync_model_input_name(m, i);
      if (!nb::try_cast(inputs[i], arrays[i], /*convert=*/false))
        raiseError(DYNC_STATUS_INVALID_ARGUMENT,
                   "input '" + name + "' is not a C-contiguous array on the CPU");
      const CpuArray &a = arrays[i];
      dync_dtype_t want = dync_model_input_dtype(m, i);
      if (!sameType(a.dtype(), dlpackType(want)))
        raiseError(DYNC_STATUS_INVALID_ARGUMENT,
                   "input '" + name + "' is " + typeName(a.dtype()) + "; the model takes " +
                       dync_dtype_name(want));
      if (a.ndim() > DYNC_MAX_RANK)
        raiseError(DYNC_STATUS_INVALID_ARGUMENT,
                   "input '" + name + "' has rank " + std::to_string(a.ndim()) +
                       "; the runtime takes at most " + std::to_string(DYNC_MAX_RANK));
      dync_tensor_t &t = tensors[i];
      std::memset(&t, 0, sizeof t);
      t.dtype = want;
      t.rank = static_cast<int32_t>(a.ndim());
      for (size_t d = 0; d < a.ndim(); ++d)
        t.shape[d] = static_cast<int64_t>(a.shape(d));
      t.data = const_cast<void *>(a.data());
    }

    std::unique_lock<std::mutex> lock = lockReleasingGil();
    // The runtime checks each value (and reports an unknown name).
    for (auto [key, value] : params)
      check(dync_session_set_param(session_, nb::cast<std::string>(nb::str(key)).c_str(),
                                   nb::cast<double>(value)));
    for (int32_t i = 0, n = dync_model_num_params(m); i < n; ++i)
      if (const char *name = dync_model_param_name(m, i); !params.contains(name))
        check(dync_session_set_param(session_, name, dync_model_param_default(m, i)));

    std::vector<dync_tensor_t> outs(nOut);
    dync_status_t *status;
    {
      nb::gil_scoped_release released;
      status = dync_session_run(session_, tensors.data(), nIn, outs.data(), nOut);
    }
    check(status);

    lastInputs_.clear();
    for (const dync_tensor_t &t : tensors)
      lastInputs_.push_back(reinterpret_cast<uintptr_t>(t.data));
    lastOutputs_.clear();
    std::vector<nb::ndarray<nb::numpy>> results;
    for (dync_tensor_t &t : outs) {
      lastOutputs_.push_back(reinterpret_cast<uintptr_t>(t.data));
      auto *owned = new dync_tensor_t(t);
      nb::capsule owner(owned, [](void *p) noexcept {
        auto *tensor = static_cast<dync_tensor_t *>(p);
        dync_tensor_free(tensor);
        delete tensor;
      });
      size_t shape[DYNC_MAX_RANK];
      for (int32_t d = 0; d < t.rank; ++d)
        shape[d] = static_cast<size_t>(t.shape[d]);
      static char empty;
      results.emplace_back(t.data ? t.data : &empty, static_cast<size_t>(t.rank), shape, owner,
                           nullptr, dlpackType(t.dtype));
    }
    return results;
  }

  std::vector<int64_t> stats() const {
    std::vector<int64_t> out;
    for (int32_t i = 0, n = dync_model_num_stats(model_.get()); i < n; ++i)
      out.push_back(dync_session_stat(session_, i));
    return out;
  }
  int64_t parallelLoops() const { return dync_session_parallel_loops(session_); }
  const std::vector<uintptr_t> &lastInputs() const { return lastInputs_; }
  const std::vector<uintptr_t> &lastOutputs() const { return lastOutputs_; }

private:
  /// Waits for the session without holding the GIL: the thread that has it
  /// needs the GIL back to finish its run.
  std::unique_lock<std::mutex> lockReleasingGil() {
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    nb::gil_scoped_release released;
    lock.lock();
    return lock;
  }

  const Model &model_;
  dync_session_t *session_ = nullptr;
  /// The C API allows one run of a session at a time; Python threads that
  /// share a session wait for each other instead of racing.
  std::mutex mutex_;
  std::vector<uintptr_t> lastInputs_, lastOutputs_;
};

} // namespace

NB_MODULE(_runtime, m) {
  m.doc() = "libdyncrt, the dync runtime (use the `dync` package, not this module)";
  defineErrors(m);
  m.attr("API_VERSION") = dync_api_version();
  m.attr("MODEL_ABI_VERSION") = dync_model_abi_version();

  nb::class_<Model>(m, "Model", "A loaded model library and its signature.")
      .def(nb::init<const std::string &, std::optional<std::string>>(), nb::arg("path"),
           nb::arg("weights") = nb::none())
      .def_prop_ro("path", &Model::path)
      .def_prop_ro("inputs", &Model::inputs,
                   "(name, dtype, shape) per input; a shape entry is a size or a dim name")
      .def_prop_ro("outputs", &Model::outputs, "(name, dtype, rank) per output")
      .def_prop_ro("params", &Model::params, "(name, dtype, default) per runtime parameter")
      .def_prop_ro("dims", &Model::dims, "(name, min, max) per dynamic dim")
      .def_prop_ro("stat_names", &Model::statNames)
      .def_prop_ro("device", &Model::device, "'cpu', or 'cuda' for a model compiled for CUDA")
      .def_prop_ro("weight_copy_bytes", &Model::weightCopyBytes,
                   "Bytes of weights copied at load (packed for the matmul kernel, misaligned, "
                   "or in CUDA managed memory)");

  nb::class_<Session>(m, "Session", "One thread's runs of a model (runs are serialized).")
      .def(nb::init<const Model &>(), nb::arg("model"), nb::keep_alive<1, 2>())
      .def_prop_rw("threads", &Session::threads, &Session::setThreads)
      .def("run", &Session::run, nb::arg("inputs"), nb::arg("params"),
           "Runs the model on C-contiguous CPU arrays in input order; returns the outputs")
      .def("stats", &Session::stats, "The counters of the last run, in stat_names order")
      .def_prop_ro("parallel_loops", &Session::parallelLoops)
      .def_prop_ro("last_input_addresses", &Session::lastInputs,
                   "Data addresses the last run was given (to check that inputs are not copied)")
      .def_prop_ro("last_output_addresses", &Session::lastOutputs,
                   "Data addresses of the last run's outputs, as the runtime allocated them");
}
