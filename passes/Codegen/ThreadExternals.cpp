//===- ThreadExternals.cpp - weights and params as entry arguments --------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"
#include "dync/Passes/Codegen/Passes.h"

#include "llvm/ADT/MapVector.h"

namespace dync {
#define GEN_PASS_DEF_DYNTHREADEXTERNALS
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

/// What a read refers to: the weight's name (a StringAttr), a packed
/// weight's name and panel width (an ArrayAttr: the same tensor packed and
/// not packed are two arguments) or the parameter's symbol (a
/// FlatSymbolRefAttr); the attribute kinds differ, so the keys never collide.
using Key = Attribute;

Key keyOf(Operation *op) {
  if (auto w = dyn_cast<dyn::WeightOp>(op)) {
    if (IntegerAttr panel = w.getPanelAttr())
      return ArrayAttr::get(op->getContext(), {w.getNameAttr(), panel});
    return w.getNameAttr();
  }
  if (auto p = dyn_cast<dyn::ParamReadOp>(op))
    return p.getParamAttr();
  return {};
}

struct ThreadExternalsPass
    : dync::impl::DynThreadExternalsBase<ThreadExternalsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> entries;
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn.isPublic() && !fn.isExternal())
        entries.push_back(fn);
    if (entries.size() != 1) {
      module.emitError() << "dyn-thread-externals needs exactly one public "
                            "entry function, found "
                         << entries.size();
      return signalPassFailure();
    }
    func::FuncOp entry = entries.front();

    // The argument each function already has for a weight or param, so that
    // a value threaded in twice (read locally and by a callee) stays one.
    DenseMap<Operation *, llvm::DenseMap<Key, unsigned>> argFor;

    // Move reads up one level at a time until only the entry has any.
    bool changed = true;
    while (changed) {
      changed = false;
      for (auto fn : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
        if (fn == entry || fn.isExternal())
          continue;
        llvm::MapVector<Key, SmallVector<Operation *>> reads;
        fn.walk([&](Operation *op) {
          if (Key key = keyOf(op))
            reads[key].push_back(op);
        });
        if (reads.empty())
          continue;
        changed = true;
        SmallVector<Operation *> prototypes;
        auto &known = argFor[fn];
        for (auto &[key, ops] : reads) {
          auto it = known.find(key);
          bool fresh = it == known.end();
          unsigned index = fresh ? fn.getNumArguments() : it->second;
          if (fresh) {
            if (failed(fn.insertArgument(index, ops.front()->getResult(0).getType(),
                                         {}, ops.front()->getLoc())))
              return signalPassFailure();
            known[key] = index;
          }
          for (Operation *op : ops) {
            op->getResult(0).replaceAllUsesWith(fn.getArgument(index));
            if (op != ops.front() || !fresh)
              op->erase();
          }
          if (fresh)
            prototypes.push_back(ops.front());
        }
        if (prototypes.empty())
          continue;
        // Every caller now reads the values and passes them in.
        std::optional<SymbolTable::UseRange> uses = fn.getSymbolUses(module);
        for (const SymbolTable::SymbolUse &use : *uses) {
          auto call = dyn_cast<func::CallOp>(use.getUser());
          if (!call)
            continue;
          OpBuilder b(call);
          SmallVector<Value> extra;
          for (Operation *proto : prototypes)
            extra.push_back(b.clone(*proto)->getResult(0));
          call->insertOperands(call->getNumOperands(), extra);
        }
        for (Operation *proto : prototypes)
          proto->erase();
      }
    }

    // The entry: one argument per weight and per parameter.
    llvm::MapVector<Key, SmallVector<Operation *>> reads;
    entry.walk([&](Operation *op) {
      if (Key key = keyOf(op))
        reads[key].push_back(op);
    });
    Builder b(module.getContext());
    for (auto &[key, ops] : reads) {
      unsigned index = entry.getNumArguments();
      SmallVector<NamedAttribute> attrs;
      if (isa<FlatSymbolRefAttr>(key)) {
        attrs.push_back(b.getNamedAttr(mlir::dyn::attrs::kParam, key));
      } else if (auto packed = dyn_cast<ArrayAttr>(key)) {
        attrs.push_back(b.getNamedAttr(mlir::dyn::attrs::kWeight, packed[0]));
        attrs.push_back(b.getNamedAttr(mlir::dyn::attrs::kWeightPanel, packed[1]));
      } else {
        attrs.push_back(b.getNamedAttr(mlir::dyn::attrs::kWeight, key));
      }
      if (failed(entry.insertArgument(index, ops.front()->getResult(0).getType(),
                                      b.getDictionaryAttr(attrs),
                                      ops.front()->getLoc())))
        return signalPassFailure();
      for (Operation *op : ops) {
        op->getResult(0).replaceAllUsesWith(entry.getArgument(index));
        op->erase();
      }
    }
  }
};

} // namespace
