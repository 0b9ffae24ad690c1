//===- DynToLinalg.cpp - dyn kernels and host ops to upstream ops ---------===//
//
// A dialect conversion: every dyn op but the parameter definitions and the
// run statistics is illegal afterwards, so an op no pattern handles is
// reported where it stands. The patterns live with their op family
// (RowsToLinalg, AttentionToLinalg, IndexingToLinalg, MoeToLinalg).
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Conversion/DynToLinalg.h"
#include "dync/Passes/Conversion/Passes.h"

#include "DynToLinalgPatterns.h"

#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Transforms/DialectConversion.h"

namespace dync {
#define GEN_PASS_DEF_CONVERTDYNTOLINALG
#include "dync/Passes/Conversion/Passes.h.inc"
} // namespace dync

using namespace mlir;
using namespace dync;

namespace {

struct ConvertDynToLinalgPass
    : dync::impl::ConvertDynToLinalgBase<ConvertDynToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect, math::MathDialect,
                           scf::SCFDialect, tensor::TensorDialect, func::FuncDialect>();
    target.addIllegalDialect<dyn::DynDialect>();
    // Run statistics are lowered by dyn-lower-statistics, parameter
    // definitions dropped by dyn-prepare-entry.
    target.addLegalOp<dyn::RtCountOp, dyn::ParamDefOp, dyn::ParamReadOp, dyn::WeightOp>();
    // Top-k of integers has no lowering yet: left for dyn-check-cpu-support to
    // report in the model's terms.
    target.addDynamicallyLegalOp<dyn::TopKOp>([](dyn::TopKOp op) {
      return !isa<FloatType>(op.getInput().getType().getElementType());
    });
    RewritePatternSet patterns(ctx);
    populateDynToLinalgPatterns(patterns, attentionByBlocks, bsaByRows, moeOnDevice,
                                attentionByRows);
    if (failed(applyPartialConversion(getOperation(), target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void dync::populateDynToLinalgPatterns(RewritePatternSet &patterns, bool attentionByBlocks,
                                       bool bsaByRows, bool moeOnDevice, bool attentionByRows) {
  dyn_to_linalg::populateRowsPatterns(patterns);
  dyn_to_linalg::populateAttentionPatterns(patterns, attentionByBlocks, bsaByRows,
                                           attentionByRows);
  dyn_to_linalg::populateIndexingPatterns(patterns);
  dyn_to_linalg::populateMoePatterns(patterns, moeOnDevice);
}
