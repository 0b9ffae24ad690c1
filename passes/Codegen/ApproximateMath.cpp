//===- ApproximateMath.cpp - vectorizable transcendental functions --------===//
//
// exp, log, tanh, erf... as polynomial approximations in arith ops, which
// LLVM vectorizes with the loops around them. See Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Codegen/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace dync {
#define GEN_PASS_DEF_DYNAPPROXIMATEMATH
#include "dync/Passes/Codegen/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {
struct ApproximateMathPass : dync::impl::DynApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
