//===- LowerStatistics.cpp - the run statistics in memory -----------------===//

#include "dync/Passes/Codegen/Passes.h"

#include "dync/Dialect/Dyn/DynAttrNames.h"
#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/SetVector.h"

#include <vector>

namespace dync {
#define GEN_PASS_DEF_DYNLOWERSTATISTICS
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

Value constIndex(ImplicitLocOpBuilder &b, int64_t v) { return arith::ConstantIndexOp::create(b, v); }

/// Run statistics: each dyn.rt.count gets slots in one i64 array that the
/// runtime passes to the entry (zeroed before a run, read after it). The
/// slot names are recorded on the module as `dyn.stats`, in slot order.
LogicalResult lowerCounts(ModuleOp module) {
  SmallVector<dyn::RtCountOp> counts;
  module.walk([&](dyn::RtCountOp c) { counts.push_back(c); });
  if (counts.empty())
    return success();
  MLIRContext *ctx = module.getContext();
  // One slot per distinct name: counts of the same statistic (a subgraph
  // called from two places) add up. Slots are in name order, each family
  // (`name[0]`, `name[1]`, ...) consecutive and in index order.
  SmallVector<SmallVector<std::string>> keysOf;
  std::vector<std::pair<std::string, int64_t>> order; // (base, index; -1: none)
  for (dyn::RtCountOp c : counts) {
    int64_t family = 0;
    if (auto t = dyn_cast<RankedTensorType>(c.getValue().getType()))
      family = t.getDimSize(0);
    else if (c.getSlots())
      family = *c.getSlots();
    keysOf.emplace_back();
    for (int64_t i = 0; i < family; ++i) {
      keysOf.back().push_back(c.getName().str() + "[" + std::to_string(i) + "]");
      order.emplace_back(c.getName().str(), i);
    }
    if (!family) {
      keysOf.back().push_back(c.getName().str());
      order.emplace_back(c.getName().str(), -1);
    }
  }
  llvm::sort(order);
  order.erase(std::unique(order.begin(), order.end()), order.end());
  SmallVector<Attribute> names;
  llvm::StringMap<int64_t> slotOf;
  for (auto &[base, index] : order) {
    std::string key = index < 0 ? base : base + "[" + std::to_string(index) + "]";
    slotOf[key] = names.size();
    names.push_back(StringAttr::get(ctx, key));
  }
  SmallVector<SmallVector<int64_t>> slots;
  for (auto [c, keys] : llvm::zip_equal(counts, keysOf)) {
    slots.emplace_back();
    for (const std::string &k : keys)
      slots.back().push_back(slotOf[k]);
    for (size_t i = 1; c.getSlot() && i < slots.back().size(); ++i)
      if (slots.back()[i] != slots.back()[0] + static_cast<int64_t>(i))
        return c.emitOpError() << "statistic family '" << c.getName()
                               << "' is counted with another size elsewhere";
  }
  module->setAttr(mlir::dyn::attrs::kStats, ArrayAttr::get(ctx, names));

  // The statistics array is an argument: of every function that counts, and
  // of their callers up to the entry, where the runtime passes the session's
  // array. Compiled code keeps no state of its own, so a parallel loop that
  // counts runs on any thread (it captures the pointer; adds are atomic).
  auto i64 = IntegerType::get(ctx, 64);
  auto arrayType = MemRefType::get({static_cast<int64_t>(names.size())}, i64);
  llvm::SetVector<func::FuncOp> counting;
  for (dyn::RtCountOp c : counts)
    if (auto fn = c->getParentOfType<func::FuncOp>())
      counting.insert(fn);
  for (size_t i = 0; i < counting.size(); ++i) {
    func::FuncOp fn = counting[i];
    std::optional<SymbolTable::UseRange> uses = fn.getSymbolUses(module);
    if (!uses)
      continue;
    for (const SymbolTable::SymbolUse &use : *uses)
      if (auto caller = use.getUser()->getParentOfType<func::FuncOp>())
        counting.insert(caller);
  }
  llvm::DenseMap<func::FuncOp, Value> statsArg;
  for (func::FuncOp fn : counting.getArrayRef()) {
    unsigned index = fn.getNumArguments();
    DictionaryAttr attrs;
    if (fn.isPublic())
      attrs = DictionaryAttr::get(
          ctx, {NamedAttribute(StringAttr::get(ctx, mlir::dyn::attrs::kStatsArray),
                               UnitAttr::get(ctx))});
    if (failed(fn.insertArgument(index, arrayType, attrs, fn.getLoc())))
      return failure();
    statsArg[fn] = fn.getArgument(index);
  }
  for (func::FuncOp fn : counting.getArrayRef()) {
    std::optional<SymbolTable::UseRange> uses = fn.getSymbolUses(module);
    if (!uses)
      continue;
    for (const SymbolTable::SymbolUse &use : *uses)
      if (auto call = dyn_cast<func::CallOp>(use.getUser()))
        call->insertOperands(call->getNumOperands(),
                             statsArg[call->getParentOfType<func::FuncOp>()]);
  }
  for (auto [c, slot] : llvm::zip_equal(counts, slots)) {
    ImplicitLocOpBuilder b(c.getLoc(), c);
    Value stats = statsArg[c->getParentOfType<func::FuncOp>()];
    auto addAt = [&](Value v64, Value at) {
      memref::AtomicRMWOp::create(b, arith::AtomicRMWKind::addi, v64, stats, ValueRange{at});
    };
    auto add = [&](Value v64, int64_t at) { addAt(v64, constIndex(b, at)); };
    if (Value index = c.getSlot()) {
      // The family's slots are consecutive (families are allocated whole);
      // an index outside it counts nothing rather than writing past them.
      Value n = constIndex(b, *c.getSlots());
      Value inRange = arith::AndIOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::sge, index, constIndex(b, 0)),
          arith::CmpIOp::create(b, arith::CmpIPredicate::slt, index, n));
      Value v64 = arith::SelectOp::create(b, inRange, arith::IndexCastOp::create(b, i64, c.getValue()),
                                          arith::ConstantOp::create(b, b.getI64IntegerAttr(0)));
      Value at = arith::AddIOp::create(b, arith::SelectOp::create(b, inRange, index, constIndex(b, 0)),
                                       constIndex(b, slot[0]));
      addAt(v64, at);
      c.erase();
      continue;
    }
    if (auto t = dyn_cast<RankedTensorType>(c.getValue().getType())) {
      for (int64_t i = 0; i < t.getDimSize(0); ++i) {
        Value e = tensor::ExtractOp::create(b, c.getValue(), ValueRange{constIndex(b, i)});
        add(arith::ExtSIOp::create(b, i64, e), slot[i]);
      }
    } else {
      add(arith::IndexCastOp::create(b, i64, c.getValue()), slot[0]);
    }
    c.erase();
  }
  return success();
}

struct LowerStatisticsPass : dync::impl::DynLowerStatisticsBase<LowerStatisticsPass> {
  void runOnOperation() override {
    if (failed(lowerCounts(getOperation())))
      signalPassFailure();
  }
};

} // namespace
