//===- Entry.cpp - the entry function and the finished module ------------===//
//
// What every front end does the same way around its nodes: `@forward` with
// the model's inputs (names, model shapes, the dims' bounds and values), its
// results, and the checks of the finished module.
//
//===----------------------------------------------------------------------===//

#include "GraphBuilder.h"

#include "dync/Dialect/Dyn/DynAttrNames.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;

namespace dync::import {

func::FuncOp GraphBuilder::createEntry(OpBuilder &b, Location loc, ArrayRef<EntryInput> inputs,
                                       SmallVector<TValue> &args) {
  SmallVector<Type> types;
  for (const EntryInput &in : inputs)
    types.push_back(typeOf(in.shape, in.elt));
  auto func = func::FuncOp::create(b, loc, "forward", b.getFunctionType(types, {}));
  Block *entry = func.addEntryBlock();
  SmallVector<NamedAttribute> dimAttrs;
  for (auto &d : dims)
    dimAttrs.push_back(b.getNamedAttr(
        d.getKey(), b.getDenseI64ArrayAttr({d.second.first, d.second.second})));
  llvm::sort(dimAttrs, [](const NamedAttribute &a, const NamedAttribute &c) {
    return a.getName().strref() < c.getName().strref();
  });
  func->setAttr(mlir::dyn::attrs::kDims, b.getDictionaryAttr(dimAttrs));
  OpBuilder body = OpBuilder::atBlockBegin(entry);
  for (size_t i = 0; i < inputs.size(); ++i) {
    BlockArgument arg = entry->getArgument(i);
    SmallVector<Attribute> shapeAttr;
    for (const auto &[idx, d] : llvm::enumerate(inputs[i].shape)) {
      if (d.isStatic())
        shapeAttr.push_back(body.getI64IntegerAttr(d.size));
      else
        shapeAttr.push_back(body.getStringAttr(d.sym));
      // The first argument dim that carries a model dim gives its value.
      if (!d.isStatic() && !dimValues.count(d.sym))
        dimValues[d.sym] = tensor::DimOp::create(body, loc, arg, idx);
    }
    func.setArgAttr(i, mlir::dyn::attrs::kName, body.getStringAttr(inputs[i].name));
    func.setArgAttr(i, mlir::dyn::attrs::kShape, body.getArrayAttr(shapeAttr));
    args.push_back(TValue{arg, inputs[i].shape});
  }
  return func;
}

void GraphBuilder::finishEntry(func::FuncOp func, Location loc,
                               ArrayRef<std::pair<std::string, Value>> results) {
  OpBuilder b = OpBuilder::atBlockEnd(&func.getBody().front());
  SmallVector<Value> values;
  for (const auto &r : results)
    values.push_back(r.second);
  func::ReturnOp::create(b, loc, values);
  func.setFunctionType(
      b.getFunctionType(func.getArgumentTypes(), TypeRange(ValueRange(values))));
  for (size_t i = 0; i < results.size(); ++i)
    func.setResultAttr(i, mlir::dyn::attrs::kName, b.getStringAttr(results[i].first));
}

LogicalResult GraphBuilder::finishModule(ModuleOp module) {
  if (weightsFile) {
    SmallVector<std::string> unused;
    for (const safetensors::TensorInfo &t : weightsFile->tensors())
      if (!usedWeights.contains(t.name))
        unused.push_back(t.name);
    if (!unused.empty()) {
      std::string list;
      for (size_t i = 0; i < unused.size() && i < 5; ++i)
        list += (i ? ", " : "") + unused[i];
      if (unused.size() > 5)
        list += ", ...";
      diags.warnings.push_back(source + ": " + std::to_string(unused.size()) +
                               " tensor(s) in the weights file are not used by "
                               "any node: " + list);
    }
  }
  if (!internalError.empty())
    return fail("internal error: " + internalError + "; please report this model");
  // The importer's checks should make this unreachable; if not, say so
  // rather than hand broken IR on.
  std::string verifyMessage;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    if (verifyMessage.empty()) {
      llvm::raw_string_ostream os(verifyMessage);
      os << d.getLocation() << ": " << d.str();
    }
    return success();
  });
  if (failed(verify(module)))
    return fail("internal error: the imported IR does not verify (" + verifyMessage +
                "); please report this model");
  return success();
}

} // namespace dync::import
