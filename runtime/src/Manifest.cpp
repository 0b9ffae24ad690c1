//===- Manifest.cpp - what a compiled model says of its entry -------------===//
//
// The manifest comes from a file the user gave us: it is read without ever
// trusting a type (nlohmann's checked accessors abort without exceptions).
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include <cfloat>
#include <cmath>
#include <optional>

using namespace dync::rt;

namespace {

std::string jsonString(const nlohmann::json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}
int64_t jsonInt(const nlohmann::json &j, const char *key, int64_t dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : dflt;
}
const nlohmann::json &jsonArray(const nlohmann::json &j, const char *key) {
  static const nlohmann::json empty = nlohmann::json::array();
  auto it = j.find(key);
  return it != j.end() && it->is_array() ? *it : empty;
}

/// Whether the running CPU has the x86 feature `name`, as the compiler names
/// it in the manifest's `cpu_features`; nullopt for a name this runtime
/// cannot test (a newer compiler's), which is not held against the model.
std::optional<bool> cpuHas(const std::string &name) {
#if defined(__x86_64__) || defined(__i386__)
  // __builtin_cpu_supports takes only string literals.
#define DYNC_FEATURE(llvmName, builtinName)                                             \
  if (name == llvmName)                                                                \
    return __builtin_cpu_supports(builtinName) != 0;
  DYNC_FEATURE("sse4.1", "sse4.1")
  DYNC_FEATURE("sse4.2", "sse4.2")
  DYNC_FEATURE("popcnt", "popcnt")
  DYNC_FEATURE("avx", "avx")
  DYNC_FEATURE("avx2", "avx2")
  DYNC_FEATURE("fma", "fma")
  DYNC_FEATURE("f16c", "f16c")
  DYNC_FEATURE("bmi", "bmi")
  DYNC_FEATURE("bmi2", "bmi2")
  DYNC_FEATURE("avx512f", "avx512f")
  DYNC_FEATURE("avx512bw", "avx512bw")
  DYNC_FEATURE("avx512dq", "avx512dq")
  DYNC_FEATURE("avx512vl", "avx512vl")
  DYNC_FEATURE("avx512cd", "avx512cd")
  DYNC_FEATURE("avx512vnni", "avx512vnni")
  DYNC_FEATURE("avx512bf16", "avx512bf16")
  DYNC_FEATURE("avx512fp16", "avx512fp16")
  DYNC_FEATURE("avx512vbmi", "avx512vbmi")
  DYNC_FEATURE("avx512ifma", "avx512ifma")
#undef DYNC_FEATURE
#endif
  return std::nullopt;
}

} // namespace

dync_status_t *dync::rt::readManifest(dync_model_t &model, const char *text,
                                      const char *modelPath) {
  nlohmann::json manifest = nlohmann::json::parse(text, nullptr, false);
  if (manifest.is_discarded() || !manifest.is_object())
    return fail(DYNC_STATUS_DATA_LOSS, "'%s' has a malformed manifest (not a JSON object)",
                modelPath);
  int64_t abi = jsonInt(manifest, "abi_version", 0);
  if (abi != DYNC_MODEL_ABI_VERSION)
    return fail(DYNC_STATUS_INCOMPATIBLE,
                "'%s' was compiled for model ABI version %lld, but this runtime "
                "reads version %d: compile it again with this dync",
                modelPath, static_cast<long long>(abi), DYNC_MODEL_ABI_VERSION);
  std::string target = jsonString(manifest, "target");
  if (target != "" && target != "cpu" && target != "cuda")
    return fail(DYNC_STATUS_INCOMPATIBLE,
                "'%s' was compiled for target '%s', which this runtime cannot run", modelPath,
                target.c_str());
  model.cuda = target == "cuda";
  std::string missing;
  for (const auto &f : jsonArray(manifest, "cpu_features"))
    if (f.is_string() && cpuHas(f.get<std::string>()) == false)
      missing += (missing.empty() ? "" : ", ") + f.get<std::string>();
  if (!missing.empty())
    return fail(DYNC_STATUS_INCOMPATIBLE,
                "cannot run model '%s': it was compiled for CPU features this CPU lacks (%s); "
                "compile it on this machine, or for it with dync --cpu/--mattr",
                modelPath, missing.c_str());

  if (auto dims = manifest.find("dims"); dims != manifest.end() && dims->is_object())
    for (auto &[name, d] : dims->items())
      if (d.is_object())
        model.dims[name] = {jsonInt(d, "min", 1), jsonInt(d, "max", 1)};
  for (const auto &a : jsonArray(manifest, "args")) {
    if (!a.is_object())
      return fail(DYNC_STATUS_DATA_LOSS, "'%s' has a malformed manifest (an argument is not "
                                         "an object)", modelPath);
    Arg arg;
    std::string kind = jsonString(a, "kind");
    if (kind == "stats") {
      arg.kind = ArgKind::Stats;
      model.args.push_back(arg);
      continue;
    }
    if (kind != "input" && kind != "weight" && kind != "param")
      return fail(DYNC_STATUS_DATA_LOSS, "'%s' has a malformed manifest (argument kind '%s')",
                  modelPath, kind.c_str());
    arg.kind = kind == "input" ? ArgKind::Input : kind == "weight" ? ArgKind::Weight
                                                                     : ArgKind::Param;
    arg.name = jsonString(a, "name");
    if (!parseDType(jsonString(a, "dtype"), arg.dtype))
      return fail(DYNC_STATUS_UNIMPLEMENTED, "model argument '%s' has an unsupported dtype",
                  arg.name.c_str());
    for (const auto &d : jsonArray(a, "shape")) {
      arg.shape.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
      arg.symbols.push_back(d.is_string() ? d.get<std::string>() : "");
    }
    if (arg.shape.size() > DYNC_MAX_RANK)
      return fail(DYNC_STATUS_UNIMPLEMENTED, "model argument '%s' has rank %zu; the runtime "
                  "takes at most %d", arg.name.c_str(), arg.shape.size(), DYNC_MAX_RANK);
    if (auto panel = a.find("panel"); panel != a.end()) {
      // A weight the runtime packs in panels: f32, [(E,) N / panel, K, panel].
      arg.panel = panel->is_number_integer() ? panel->get<int64_t>() : -1;
      bool sized = std::all_of(arg.shape.begin(), arg.shape.end(), [](int64_t d) { return d >= 0; });
      if (arg.kind != ArgKind::Weight || arg.dtype != DYNC_F32 || arg.shape.size() < 3 ||
          arg.shape.size() > 4 || arg.panel < 1 || arg.shape.back() != arg.panel || !sized)
        return fail(DYNC_STATUS_DATA_LOSS,
                    "'%s' has a malformed manifest (argument '%s' has a panel, but is not an f32 "
                    "weight of shape [(E,) N / panel, K, panel])", modelPath, arg.name.c_str());
    }
    if (auto dflt = a.find("default"); dflt != a.end() && dflt->is_number())
      arg.defaultValue = dflt->get<double>();
    // A parameter's default must fit its type (the session converts it).
    if (arg.kind == ArgKind::Param) {
      double v = arg.defaultValue;
      bool fits = arg.dtype == DYNC_I32 ? v >= -2147483648.0 && v <= 2147483647.0 && v == std::floor(v)
                                        : std::isfinite(v) && std::fabs(v) <= FLT_MAX;
      if (!fits)
        return fail(DYNC_STATUS_DATA_LOSS,
                    "'%s' has a malformed manifest (param '%s' has default %g, which is not a "
                    "%s value)", modelPath, arg.name.c_str(), v, dync_dtype_name(arg.dtype));
    }
    if (arg.kind == ArgKind::Input)
      model.inputArgs.push_back(model.args.size());
    if (arg.kind == ArgKind::Param)
      model.paramArgs.push_back(model.args.size());
    model.args.push_back(arg);
  }
  for (const auto &name : jsonArray(manifest, "stats"))
    model.statNames.push_back(name.is_string() ? name.get<std::string>() : "?");
  for (const auto &r : jsonArray(manifest, "results")) {
    if (!r.is_object())
      return fail(DYNC_STATUS_DATA_LOSS, "'%s' has a malformed manifest (a result is not an "
                                         "object)", modelPath);
    Result res;
    res.name = jsonString(r, "name");
    res.rank = static_cast<int32_t>(jsonInt(r, "rank", -1));
    if (!parseDType(jsonString(r, "dtype"), res.dtype) || res.rank < 0 ||
        res.rank > DYNC_MAX_RANK)
      return fail(DYNC_STATUS_UNIMPLEMENTED, "model output '%s' is not supported (dtype or "
                  "rank)", res.name.c_str());
    model.results.push_back(res);
  }
  model.weightsFile = jsonString(manifest, "weights_file");
  return nullptr;
}
