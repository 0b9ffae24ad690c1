//===- MergeSubgraphs.cpp - identical subgraphs compiled once -------------===//
//
// See the pass description in Passes.td. Candidates are bucketed by a
// cheap key (type and op count) before the op-by-op comparison, so a model
// with many distinct subgraphs costs little more than one walk.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Codegen/Passes.h"
#include "dync/Passes/Common.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/OperationSupport.h"

#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/SetVector.h"

namespace dync {
#define GEN_PASS_DEF_DYNMERGESUBGRAPHS
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

/// Whether `a` and `b` can stand for each other at every call: the same
/// signature with the same attributes, and bodies equal op for op.
bool equivalent(func::FuncOp a, func::FuncOp b) {
  if (a.getFunctionType() != b.getFunctionType() ||
      a.getArgAttrsAttr() != b.getArgAttrsAttr() ||
      a.getResAttrsAttr() != b.getResAttrsAttr() ||
      a->getDiscardableAttrDictionary() != b->getDiscardableAttrDictionary())
    return false;
  return OperationEquivalence::isRegionEquivalentTo(
      &a.getBody(), &b.getBody(), OperationEquivalence::IgnoreLocations);
}

struct MergeSubgraphsPass : dync::impl::DynMergeSubgraphsBase<MergeSubgraphsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // Subgraphs in the order the host program first calls them (so that the
    // one kept is the earliest: `sg0` stands for the later layers, not the
    // reverse), then any not called; bucketed by type and size.
    llvm::SetVector<func::FuncOp> order;
    for (auto host : module.getOps<func::FuncOp>())
      if (!host->hasAttr(kSubgraphAttr))
        host.walk([&](func::CallOp call) {
          auto callee = module.lookupSymbol<func::FuncOp>(call.getCalleeAttr());
          if (callee && callee->hasAttr(kSubgraphAttr) && !callee.isExternal())
            order.insert(callee);
        });
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn->hasAttr(kSubgraphAttr) && !fn.isExternal())
        order.insert(fn);
    llvm::MapVector<std::pair<Type, int64_t>, SmallVector<func::FuncOp>> buckets;
    for (func::FuncOp fn : order) {
      int64_t ops = 0;
      fn.walk([&](Operation *) { ++ops; });
      buckets[{fn.getFunctionType(), ops}].push_back(fn);
    }

    // The first of each class stands for the rest.
    SmallVector<func::FuncOp> merged;
    for (auto &bucket : buckets) {
      SmallVector<func::FuncOp> kept;
      for (func::FuncOp fn : bucket.second) {
        auto same = llvm::find_if(kept, [&](func::FuncOp k) { return equivalent(k, fn); });
        if (same == kept.end()) {
          kept.push_back(fn);
          continue;
        }
        if (failed(SymbolTable::replaceAllSymbolUses(fn, same->getSymNameAttr(), module))) {
          fn.emitError("dyn-merge-subgraphs: cannot redirect the uses of this subgraph");
          return signalPassFailure();
        }
        merged.push_back(fn);
      }
    }
    for (func::FuncOp fn : merged)
      fn.erase();
    numMerged += merged.size();
  }
};

} // namespace
