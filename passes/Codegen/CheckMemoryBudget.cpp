//===- CheckMemoryBudget.cpp - the memory plan against a budget -----------===//
//
// A compile-time limit on what a run may allocate; see the pass description
// in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Codegen/Passes.h"
#include "dync/Analysis/BoundsAnalysis.h"

#include "mlir/IR/Matchers.h"
#include "llvm/Support/Format.h"

#include <map>

namespace dync {
#define GEN_PASS_DEF_DYNCHECKMEMORYBUDGET
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

std::string humanBytes(int64_t bytes) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << bytes << " bytes";
  if (bytes >= (1 << 20))
    os << " (" << llvm::format("%.1f", bytes / double(1 << 20)) << " MiB)";
  else if (bytes >= (1 << 10))
    os << " (" << llvm::format("%.1f", bytes / double(1 << 10)) << " KiB)";
  return s;
}

struct CheckMemoryBudgetPass : dync::impl::DynCheckMemoryBudgetBase<CheckMemoryBudgetPass> {
  using Base::Base;

  void runOnOperation() override {
    if (maxBytes <= 0)
      return;
    ModuleOp module = getOperation();
    dync::BoundsAnalysis bounds(module);
    std::map<int64_t, int64_t> slots;
    int64_t others = 0, otherCount = 0;
    auto add = [](int64_t &sum, int64_t b) {
      sum = __builtin_add_overflow(sum, b, &sum) ? INT64_MAX : sum;
    };
    WalkResult walk = module.walk([&](Operation *op) -> WalkResult {
      if (auto call = dyn_cast<func::CallOp>(op); call && call.getCallee() == "dync_workspace") {
        APInt slot;
        std::optional<int64_t> b = bounds.scalar(call.getOperand(1));
        if (!matchPattern(call.getOperand(0), m_ConstantInt(&slot)) || !b)
          return unbounded(op, "workspace buffer");
        int64_t &s = slots[slot.getSExtValue()];
        s = std::max(s, *b);
        return WalkResult::advance();
      }
      auto alloc = dyn_cast<memref::AllocOp>(op);
      if (!alloc)
        return WalkResult::advance();
      MemRefType type = alloc.getType();
      Type elt = type.getElementType();
      std::optional<int64_t> b =
          elt.isIndex() ? 8 : elt.isIntOrFloat() ? (elt.getIntOrFloatBitWidth() + 7) / 8 : 0;
      for (int64_t d = 0; d < type.getRank() && b; ++d) {
        std::optional<int64_t> size = bounds.dim(alloc.getResult(), d);
        if (!size)
          return unbounded(op, "buffer");
        b = __builtin_mul_overflow(*b, *size, &*b) ? INT64_MAX : *b;
      }
      add(others, *b);
      ++otherCount;
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    int64_t workspace = 0;
    for (auto [slot, bytes] : slots)
      add(workspace, bytes);
    int64_t total = 0;
    add(total, workspace);
    add(total, others);
    if (total <= maxBytes)
      return;
    Location loc = module.getLoc();
    for (auto fn : module.getOps<func::FuncOp>())
      if (fn.isPublic() && !fn.isDeclaration())
        loc = fn.getLoc();
    emitError(loc) << "the model's memory plan needs up to " << humanBytes(total)
                   << " at the largest sizes of its dims (a workspace of " << humanBytes(workspace)
                   << " in " << slots.size() << " slots, plus " << humanBytes(others) << " in "
                   << otherCount << " other buffers), over the budget of " << humanBytes(maxBytes)
                   << " (--memory-budget)";
    signalPassFailure();
  }

  WalkResult unbounded(Operation *op, StringRef what) {
    op->emitError() << "cannot bound the size of this " << what
                    << " to check the model's memory against the budget (--memory-budget)";
    return WalkResult::interrupt();
  }
};

} // namespace
