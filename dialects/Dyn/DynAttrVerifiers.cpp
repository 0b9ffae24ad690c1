//===- DynAttrVerifiers.cpp - the dyn.* attributes where they appear ------===//
//
// Importers and passes record facts on modules, functions and arguments as
// `dyn.*` attributes (DynAttrNames.h). The dialect checks each one's kind and
// place, so that a pass reading one can trust it, and a misspelled or stale
// attribute is reported instead of ignored.
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynAttrNames.h"
#include "dync/Dialect/Dyn/DynDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace mlir::dyn;

namespace {

LogicalResult expectString(Operation *op, NamedAttribute attr) {
  if (!isa<StringAttr>(attr.getValue()))
    return op->emitOpError() << "'" << attr.getName().strref() << "' must be a string";
  return success();
}

LogicalResult expectOn(Operation *op, NamedAttribute attr, bool ok, StringRef where) {
  if (!ok)
    return op->emitOpError() << "'" << attr.getName().strref() << "' belongs on " << where;
  return success();
}

/// The rank of a ranked tensor or memref, or -1 for any other type: after
/// lowering to LLVM an argument's attributes ride on its descriptor, and only
/// their kind is checked.
int64_t rankOf(Type t) {
  auto shaped = dyn_cast<ShapedType>(t);
  return shaped && shaped.hasRank() ? shaped.getRank() : -1;
}

} // namespace

LogicalResult DynDialect::verifyOperationAttribute(Operation *op, NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  bool onModule = isa<ModuleOp>(op), onFunction = isa<FunctionOpInterface>(op);
  if (name == attrs::kModel || name == attrs::kWeights || name == attrs::kWeightsPath ||
      name == attrs::kManifest)
    return failure(failed(expectOn(op, attr, onModule, "a module")) ||
                   failed(expectString(op, attr)));
  if (name == attrs::kStats) {
    if (failed(expectOn(op, attr, onModule, "a module")))
      return failure();
    auto array = dyn_cast<ArrayAttr>(attr.getValue());
    if (!array || !llvm::all_of(array, [](Attribute a) { return isa<StringAttr>(a); }))
      return op->emitOpError() << "'" << name << "' must be an array of statistic names";
    return success();
  }
  if (name == attrs::kDims) {
    if (failed(expectOn(op, attr, onFunction, "a function")))
      return failure();
    auto dims = dyn_cast<DictionaryAttr>(attr.getValue());
    if (!dims)
      return op->emitOpError() << "'" << name << "' must map dim names to [min, max]";
    for (NamedAttribute d : dims) {
      auto bounds = dyn_cast<DenseI64ArrayAttr>(d.getValue());
      if (!bounds || bounds.size() != 2 || bounds[0] < 1 || bounds[1] < bounds[0])
        return op->emitOpError() << "'" << name << "': dim '" << d.getName().strref()
                                 << "' needs bounds array<i64: min, max> with 1 <= min <= max";
    }
    return success();
  }
  if (name == attrs::kSubgraph) {
    if (failed(expectOn(op, attr, onFunction, "a function")))
      return failure();
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitOpError() << "'" << name << "' is a unit attribute";
    return success();
  }
  if (name == attrs::kRegion) {
    if (failed(expectOn(op, attr, onFunction, "a function")) ||
        failed(expectString(op, attr)))
      return failure();
    StringRef region = cast<StringAttr>(attr.getValue()).getValue();
    if (!llvm::is_contained({"dyn.gate", "dyn.cond", "dyn.early_exit"}, region))
      return op->emitOpError() << "'" << name << "' must name the region op it was "
                                  "outlined from (dyn.gate, dyn.cond or dyn.early_exit), got '"
                               << region << "'";
    return success();
  }
  if (name == attrs::kWorkspaceSlots) {
    if (failed(expectOn(op, attr, onFunction, "a function")))
      return failure();
    auto n = dyn_cast<IntegerAttr>(attr.getValue());
    if (!n || n.getInt() < 0)
      return op->emitOpError() << "'" << name << "' must be a non-negative integer";
    return success();
  }
  if (name == attrs::kName || name == attrs::kShape || name == attrs::kWeight ||
      name == attrs::kWeightPanel || name == attrs::kParam || name == attrs::kBounds ||
      name == attrs::kStatsArray)
    return op->emitOpError() << "'" << name
                             << "' belongs on a function argument or result";
  return op->emitOpError() << "unknown dyn attribute '" << name << "'";
}

/// Arguments: dyn.name, dyn.shape, dyn.weight, dyn.weight_panel, dyn.param,
/// dyn.bounds.
LogicalResult DynDialect::verifyRegionArgAttribute(Operation *op, unsigned regionIndex,
                                                   unsigned argIndex, NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  auto fn = dyn_cast<FunctionOpInterface>(op);
  if (!fn)
    return op->emitOpError() << "'" << name << "' belongs on a function argument";
  Type type = fn.getArgumentTypes()[argIndex];
  int64_t rank = rankOf(type);
  if (name == attrs::kName || name == attrs::kWeight)
    return expectString(op, attr);
  if (name == attrs::kWeightPanel) {
    auto panel = dyn_cast<IntegerAttr>(attr.getValue());
    // Checked while the argument is a tensor or memref (not once lowered).
    auto shaped = dyn_cast<ShapedType>(type);
    bool fits = panel && (!shaped || (shaped.hasRank() && shaped.getRank() >= 3 &&
                                      shaped.getRank() <= 4 &&
                                      shaped.getShape().back() == panel.getInt()));
    if (!fits || panel.getInt() < 1 || !fn.getArgAttr(argIndex, attrs::kWeight))
      return op->emitOpError() << "'" << name << "' of argument #" << argIndex
                               << " must be the panel width of a weight of type [(E,) N / panel, "
                                  "K, panel], got "
                               << type;
    return success();
  }
  if (name == attrs::kStatsArray) {
    if (!isa<UnitAttr>(attr.getValue()))
      return op->emitOpError() << "'" << name << "' is a unit attribute";
    return success();
  }
  if (name == attrs::kParam) {
    if (!isa<FlatSymbolRefAttr>(attr.getValue()))
      return op->emitOpError() << "'" << name << "' must name a dyn.param.def (@name)";
    return success();
  }
  if (name == attrs::kShape) {
    auto shape = dyn_cast<ArrayAttr>(attr.getValue());
    if (!shape || (rank >= 0 && static_cast<int64_t>(shape.size()) != rank) ||
        !llvm::all_of(shape, [](Attribute a) { return isa<IntegerAttr, StringAttr>(a); }))
      return op->emitOpError() << "'" << name << "' of argument #" << argIndex
                               << " must give one size or dim name per dim of " << type;
    return success();
  }
  if (name == attrs::kBounds) {
    auto bounds = dyn_cast<DenseI64ArrayAttr>(attr.getValue());
    if (!bounds || (rank >= 0 && static_cast<int64_t>(bounds.size()) != rank) ||
        llvm::any_of(bounds.asArrayRef(), [](int64_t b) { return b < 0; }))
      return op->emitOpError() << "'" << name << "' of argument #" << argIndex
                               << " must give one non-negative bound per dim of " << type;
    return success();
  }
  return op->emitOpError() << "unknown dyn argument attribute '" << name << "'";
}

/// Results: dyn.name, dyn.bounds.
LogicalResult DynDialect::verifyRegionResultAttribute(Operation *op, unsigned regionIndex,
                                                      unsigned resultIndex,
                                                      NamedAttribute attr) {
  StringRef name = attr.getName().strref();
  auto fn = dyn_cast<FunctionOpInterface>(op);
  if (!fn)
    return op->emitOpError() << "'" << name << "' belongs on a function result";
  if (name == attrs::kName)
    return expectString(op, attr);
  if (name == attrs::kBounds) {
    Type type = fn.getResultTypes()[resultIndex];
    int64_t rank = rankOf(type);
    auto bounds = dyn_cast<DenseI64ArrayAttr>(attr.getValue());
    if (!bounds || (rank >= 0 && static_cast<int64_t>(bounds.size()) != rank) ||
        llvm::any_of(bounds.asArrayRef(), [](int64_t b) { return b < 0; }))
      return op->emitOpError() << "'" << name << "' of result #" << resultIndex
                               << " must give one non-negative bound per dim of " << type;
    return success();
  }
  return op->emitOpError() << "unknown dyn result attribute '" << name << "'";
}
