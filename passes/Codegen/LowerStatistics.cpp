//===- LowerStatistics.cpp - the run statistics in memory -----------------===//

#include "dync/Passes/Codegen/Passes.h"

#include "dync/Dialect/Dyn/DynAttrNames.h"
#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

#include <vector>

namespace dync {
#define GEN_PASS_DEF_DYNLOWERSTATISTICS
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

Value constIndex(ImplicitLocOpBuilder &b, int64_t v) { return arith::ConstantIndexOp::create(b, v); }

/// Run statistics: each dyn.rt.count gets slots in one thread-local i64
/// array, `dync_stats`, which the runtime zeroes before a run and reads after
/// it (thread-local, so sessions on different threads do not mix). The slot
/// names are recorded on the module as `dyn.stats`, in slot order.
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
  OpBuilder mb = OpBuilder::atBlockBegin(module.getBody());
  auto i64 = IntegerType::get(ctx, 64);
  auto arrayType = LLVM::LLVMArrayType::get(i64, names.size());
  auto zero = DenseElementsAttr::get(
      RankedTensorType::get({static_cast<int64_t>(names.size())}, i64), APInt(64, 0));
  auto global = LLVM::GlobalOp::create(mb, module.getLoc(), arrayType, /*isConstant=*/false,
                                       LLVM::Linkage::External, "dync_stats", zero,
                                       /*alignment=*/8, /*addrSpace=*/0, /*dsoLocal=*/false,
                                       /*threadLocal=*/true);
  auto ptrType = LLVM::LLVMPointerType::get(ctx);
  for (auto [c, slot] : llvm::zip_equal(counts, slots)) {
    ImplicitLocOpBuilder b(c.getLoc(), c);
    auto addAt = [&](Value v64, LLVM::GEPArg at) {
      Value addr = LLVM::AddressOfOp::create(b, global);
      Value p = LLVM::GEPOp::create(b, ptrType, arrayType, addr,
                                    ArrayRef<LLVM::GEPArg>{0, at});
      Value old = LLVM::LoadOp::create(b, i64, p);
      LLVM::StoreOp::create(b, arith::AddIOp::create(b, old, v64), p);
    };
    auto add = [&](Value v64, int64_t at) { addAt(v64, static_cast<int32_t>(at)); };
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
      addAt(v64, Value(arith::IndexCastOp::create(b, i64, at)));
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
