//===- DynToLinalgPatterns.h - convert-dyn-to-linalg's families -*- C++ -*-===//
//
// Internal to the conversion: the patterns of each op family, and the
// helpers they share.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CONVERSION_DYNTOLINALG_PATTERNS_H
#define DYNC_PASSES_CONVERSION_DYNTOLINALG_PATTERNS_H

#include "dync/Dialect/Dyn/DynUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/PatternMatch.h"

#include <string>
#include <utility>

namespace dync::dyn_to_linalg {

using mlir::dyn::rankedType;

/// `v` as `type` (a tensor.cast when a dimension's static size differs).
inline mlir::Value castTo(mlir::ImplicitLocOpBuilder &b, mlir::Value v, mlir::Type type) {
  return mlir::dyn::castTo(b, b.getLoc(), v, type);
}

inline mlir::Value constIndex(mlir::ImplicitLocOpBuilder &b, int64_t v) {
  return mlir::arith::ConstantIndexOp::create(b, v);
}

/// The user's node name of `op` (its location's name), for statistics.
inline std::string nodeNameOf(mlir::Operation *op, llvm::StringRef fallback) {
  if (auto name = llvm::dyn_cast<mlir::NameLoc>(op->getLoc()))
    return name.getName().str();
  return fallback.str();
}

/// The k largest entries along the last axis of `x` (values, i64 indices).
std::pair<mlir::Value, mlir::Value> topkLastAxis(mlir::ImplicitLocOpBuilder &b, mlir::Value x,
                                                 int64_t k);

/// Whether block-sparse attention with these queries and values can be
/// computed by rows (attentionByRows): f32, static lengths, and a value row
/// that fits in a thread's registers.
bool fitsAttentionByRows(mlir::RankedTensorType q, mlir::RankedTensorType v);

/// softmax(q·kᵀ·scale [+ causal mask])·v over the key blocks `layout` keeps,
/// as one `scf.forall` over (batch, head, query row) mapped to GPU threads: a
/// row's online softmax visits the kept blocks' keys one by one, in
/// registers. `entered` is built where a kept block's first query row starts
/// on its keys (its counters). The CUDA target's form: the layout is read in
/// the kernel, not by the host.
mlir::Value attentionByRows(mlir::ImplicitLocOpBuilder &b, mlir::Value q, mlir::Value k,
                            mlir::Value v, mlir::Value layout, int64_t bs, double scale,
                            bool causal,
                            llvm::function_ref<void(mlir::ImplicitLocOpBuilder &, mlir::Value)>
                                entered);

/// dyn.rt.iota, select, gather_rows, scatter_rows.
void populateRowsPatterns(mlir::RewritePatternSet &patterns);
/// dyn.attention, dyn.bsa.select, dyn.bsa.attention.
void populateAttentionPatterns(mlir::RewritePatternSet &patterns, bool attentionByBlocks,
                               bool bsaByRows);
/// dyn.topk, dyn.scatter_add.
void populateIndexingPatterns(mlir::RewritePatternSet &patterns);
/// dyn.moe.route, dispatch, experts, combine.
void populateMoePatterns(mlir::RewritePatternSet &patterns);

} // namespace dync::dyn_to_linalg

#endif // DYNC_PASSES_CONVERSION_DYNTOLINALG_PATTERNS_H
