//===- DynFolds.cpp - dyn dialect canonicalizations -----------------------===//

#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::dyn;

void MoeOp::getCanonicalizationPatterns(RewritePatternSet &, MLIRContext *) {}
void MoeRouteOp::getCanonicalizationPatterns(RewritePatternSet &,
                                             MLIRContext *) {}
void MoeDispatchOp::getCanonicalizationPatterns(RewritePatternSet &,
                                                MLIRContext *) {}
void GateOp::getCanonicalizationPatterns(RewritePatternSet &, MLIRContext *) {}
void CondOp::getCanonicalizationPatterns(RewritePatternSet &, MLIRContext *) {}
void EarlyExitOp::getCanonicalizationPatterns(RewritePatternSet &,
                                              MLIRContext *) {}
void BsaAttentionOp::getCanonicalizationPatterns(RewritePatternSet &,
                                                 MLIRContext *) {}
