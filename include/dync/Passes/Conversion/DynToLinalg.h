//===- DynToLinalg.h - dyn runtime entry points to upstream ops -*- C++ -*-===//

#ifndef DYNC_PASSES_CONVERSION_DYNTOLINALG_H
#define DYNC_PASSES_CONVERSION_DYNTOLINALG_H

#include "mlir/IR/PatternMatch.h"

namespace dync {

/// Patterns spelling dyn.rt.{iota,select,gather_rows,scatter_rows} and
/// dyn.attention with linalg/tensor/scf/arith on tensors; dense attention
/// by blocks where its lengths allow and `attentionByBlocks` asks for it,
/// or by query rows, one GPU thread each, where `attentionByRows` does;
/// block-sparse attention by query rows, one GPU thread each, where
/// `bsaByRows` asks for it and the rows fit; MoE dispatch and experts as
/// parallel loops that decide on the device where `moeOnDevice` asks for it.
void populateDynToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                 bool attentionByBlocks = true, bool bsaByRows = false,
                                 bool moeOnDevice = false, bool attentionByRows = false);

} // namespace dync

#endif // DYNC_PASSES_CONVERSION_DYNTOLINALG_H
