//===- EmitManifest.cpp - the entry point described for the runtime -------===//
//
// The manifest is the contract between a compiled model and libdyncrt: the
// entry's arguments in order, its results, the model dims and the names of
// the run statistics. It is computed from the host program once weights and
// parameters are threaded into the entry and the statistics are allocated.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Codegen/Passes.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Support/TensorBuilder.h"

#include <nlohmann/json.hpp>

namespace dync {
#define GEN_PASS_DEF_DYNEMITMANIFEST
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

/// The manifest's text. Names come from the model file (an `.mlir` may hold
/// any bytes): text that is not UTF-8 is replaced, never thrown on (this
/// code has no exceptions, so nlohmann's default would abort).
std::string dumpManifest(const nlohmann::json &m) {
  return m.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}


/// The compiled-model ABI (libdyncrt's DYNC_MODEL_ABI_VERSION): 2 passes the
/// run statistics array as an entry argument.
constexpr int kModelAbiVersion = 2;

std::string buildManifest(ModuleOp module, StringRef target) {
  nlohmann::json m;
  m["abi_version"] = kModelAbiVersion;
  if (target != "cpu")
    m["target"] = target.str();
  if (auto name = module->getAttrOfType<StringAttr>(mlir::dyn::attrs::kModel))
    m["model"] = name.getValue().str();
  if (auto weights = module->getAttrOfType<StringAttr>(mlir::dyn::attrs::kWeightsPath))
    m["weights_file"] = weights.getValue().str();
  else if (auto name = module->getAttrOfType<StringAttr>(mlir::dyn::attrs::kWeights))
    m["weights_file"] = name.getValue().str();
  auto entry = module.lookupSymbol<func::FuncOp>("forward");
  if (!entry)
    return dumpManifest(m);
  m["dims"] = nlohmann::json::object();
  if (auto dims = entry->getAttrOfType<DictionaryAttr>(mlir::dyn::attrs::kDims))
    for (NamedAttribute d : dims)
      if (auto b = dyn_cast<DenseI64ArrayAttr>(d.getValue()); b && b.size() == 2)
        m["dims"][d.getName().str()] = {{"min", b[0]}, {"max", b[1]}};
  m["stats"] = nlohmann::json::array();
  if (auto stats = module->getAttrOfType<ArrayAttr>(mlir::dyn::attrs::kStats))
    for (Attribute a : stats)
      m["stats"].push_back(cast<StringAttr>(a).getValue().str());
  m["args"] = nlohmann::json::array();
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    nlohmann::json arg;
    if (entry.getArgAttr(i, mlir::dyn::attrs::kStatsArray)) {
      // The run statistics array, i64 per name of "stats".
      arg["kind"] = "stats";
      m["args"].push_back(arg);
      continue;
    }
    Type t = entry.getArgumentTypes()[i];
    auto tensor = dyn_cast<RankedTensorType>(t);
    arg["dtype"] = dtypeName(tensor ? tensor.getElementType() : t);
    nlohmann::json shape = nlohmann::json::array();
    if (tensor) {
      auto symbolic = entry.getArgAttrOfType<ArrayAttr>(i, mlir::dyn::attrs::kShape);
      for (int64_t d = 0; d < tensor.getRank(); ++d) {
        if (!tensor.isDynamicDim(d))
          shape.push_back(tensor.getDimSize(d));
        else if (symbolic && d < static_cast<int64_t>(symbolic.size()) &&
                 isa<StringAttr>(symbolic[d]))
          shape.push_back(cast<StringAttr>(symbolic[d]).getValue().str());
        else
          shape.push_back(nullptr);
      }
    }
    arg["shape"] = shape;
    if (auto name = entry.getArgAttrOfType<StringAttr>(i, mlir::dyn::attrs::kName)) {
      arg["kind"] = "input";
      arg["name"] = name.getValue().str();
    } else if (auto w = entry.getArgAttrOfType<StringAttr>(i, mlir::dyn::attrs::kWeight)) {
      arg["kind"] = "weight";
      arg["name"] = w.getValue().str();
      // Packed by the runtime at load: `shape` is the packed one.
      if (auto panel = entry.getArgAttrOfType<IntegerAttr>(i, mlir::dyn::attrs::kWeightPanel))
        arg["panel"] = panel.getInt();
    } else if (auto p = entry.getArgAttrOfType<FlatSymbolRefAttr>(i, mlir::dyn::attrs::kParam)) {
      arg["kind"] = "param";
      arg["name"] = p.getValue().str();
      if (auto def = module.lookupSymbol<dyn::ParamDefOp>(p.getValue())) {
        if (auto f = dyn_cast<FloatAttr>(def.getDefaultValue()))
          arg["default"] = f.getValueAsDouble();
        else if (auto n = dyn_cast<IntegerAttr>(def.getDefaultValue()))
          arg["default"] = n.getInt();
      }
    }
    m["args"].push_back(arg);
  }
  m["results"] = nlohmann::json::array();
  for (unsigned i = 0; i < entry.getNumResults(); ++i) {
    auto t = cast<RankedTensorType>(entry.getResultTypes()[i]);
    nlohmann::json r;
    auto name = entry.getResultAttrOfType<StringAttr>(i, mlir::dyn::attrs::kName);
    r["name"] = name ? name.getValue().str() : "result" + std::to_string(i);
    r["dtype"] = dtypeName(t.getElementType());
    r["rank"] = t.getRank();
    m["results"].push_back(r);
  }
  return dumpManifest(m);
}

struct EmitManifestPass : dync::impl::DynEmitManifestBase<EmitManifestPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The manifest describes tensors and scalars; IR that is already
    // bufferized (or not dync's) is refused here rather than misread.
    if (auto entry = module.lookupSymbol<func::FuncOp>("forward")) {
      for (auto [i, t] : llvm::enumerate(entry.getArgumentTypes()))
        if (!isa<RankedTensorType>(t) && !t.isIntOrFloat() &&
            !entry.getArgAttr(i, mlir::dyn::attrs::kStatsArray)) {
          entry.emitError() << "argument " << i << " of @forward has type " << t
                            << "; dync compiles IR whose entry takes tensors and scalars";
          return signalPassFailure();
        }
      for (auto [i, t] : llvm::enumerate(entry.getResultTypes()))
        if (!isa<RankedTensorType>(t)) {
          entry.emitError() << "result " << i << " of @forward has type " << t
                            << "; dync compiles IR whose entry returns tensors";
          return signalPassFailure();
        }
    }
    module->setAttr(kManifestAttr, StringAttr::get(module.getContext(),
                                                  buildManifest(module, target)));
  }
};

} // namespace
