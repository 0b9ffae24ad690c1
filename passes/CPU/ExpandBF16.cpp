//===- ExpandBF16.cpp - bf16 conversions as integer arithmetic ------------===//
//
// See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace dync {
#define GEN_PASS_DEF_DYNEXPANDBF16
#include "dync/Passes/CPU/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {
struct ExpandBF16Pass : dync::impl::DynExpandBF16Base<ExpandBF16Pass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    arith::populateExpandBFloat16Patterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
