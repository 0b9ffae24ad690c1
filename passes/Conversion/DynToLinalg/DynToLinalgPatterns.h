//===- DynToLinalgPatterns.h - convert-dyn-to-linalg's families -*- C++ -*-===//
//
// Internal to the conversion: the patterns of each op family, and the
// helpers they share.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CONVERSION_DYNTOLINALG_PATTERNS_H
#define DYNC_PASSES_CONVERSION_DYNTOLINALG_PATTERNS_H

#include "dync/Dialect/Dyn/DynOps.h"
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

mlir::Value constI32(mlir::ImplicitLocOpBuilder &b, int32_t v);
mlir::Value toIndex(mlir::ImplicitLocOpBuilder &b, mlir::Value v);

/// A parallel generic of element type `elt` and `sizes`, each element
/// `body(indices)`: the body may loop over and read any captured tensor (a
/// GPU gives each element a thread).
mlir::Value
elementwise(mlir::ImplicitLocOpBuilder &b, llvm::ArrayRef<mlir::OpFoldResult> sizes,
            mlir::Type elt,
            llvm::function_ref<mlir::Value(mlir::ImplicitLocOpBuilder &, llvm::ArrayRef<mlir::Value>)>
                body);

/// A sequential loop over [lo, hi) folding `step(i, acc)` from `init`.
mlir::Value
sumOver(mlir::ImplicitLocOpBuilder &b, mlir::Value lo, mlir::Value hi, mlir::Value init,
        llvm::function_ref<mlir::Value(mlir::ImplicitLocOpBuilder &, mlir::Value, mlir::Value)>
            step);

/// acc + (cond ? 1 : 0), in acc's integer type.
mlir::Value addIf(mlir::ImplicitLocOpBuilder &b, mlir::Value acc, mlir::Value cond);

/// The k largest entries along the last axis of `x` (values, i64 indices).
std::pair<mlir::Value, mlir::Value> topkLastAxis(mlir::ImplicitLocOpBuilder &b, mlir::Value x,
                                                 int64_t k);

/// Whether block-sparse attention with these queries and values can be
/// computed by rows (attentionByRows): f32, static lengths, and a value row
/// that fits in a thread's registers.
bool fitsAttentionByRows(mlir::RankedTensorType q, mlir::RankedTensorType v);

/// softmax(q·kᵀ·scale [+ causal mask])·v over the key blocks `layout` keeps
/// (over every key if `layout` is null, any lengths),
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

/// Whether dyn.moe.experts can run on the device (moeOnDevice): f32
/// operands and static weights, as stored (not in panels).
bool fitsMoeOnDevice(mlir::dyn::MoeExpertsOp op);

/// dyn.moe.dispatch's results (rows, offsets, slots) computed element by
/// element: each assignment's place in its expert's queue by counting the
/// assignments before it in grant order, each row's token likewise. Parallel
/// generics only, so that a GPU decides on the device (the CUDA target's
/// form; the CPU's grants in a sequential loop).
llvm::SmallVector<mlir::Value> dispatchOnDevice(mlir::ImplicitLocOpBuilder &b, mlir::Value x,
                                                mlir::Value idx, int64_t numExperts,
                                                mlir::Value capacity);

/// dyn.moe.experts as two parallel loop nests over (row, unit) and (row,
/// column), each row reading its expert from `offsets` and skipping the
/// rows past offsets[E]: the grouped GEMM with no host loop over experts.
/// The hidden layer's loop is mapped to GPU threads and counts each row it
/// computes under `counter` (one slot per expert).
mlir::Value expertsOnDevice(mlir::ImplicitLocOpBuilder &b, mlir::dyn::MoeExpertsOp op,
                            mlir::Value rows, mlir::Value offsets, mlir::Value w1, mlir::Value w2,
                            mlir::Value w3, mlir::Value b1, mlir::Value b2,
                            llvm::StringRef counter);

/// dyn.rt.iota, select, gather_rows, scatter_rows.
void populateRowsPatterns(mlir::RewritePatternSet &patterns);
/// dyn.attention, dyn.bsa.select, dyn.bsa.attention.
void populateAttentionPatterns(mlir::RewritePatternSet &patterns, bool attentionByBlocks,
                               bool bsaByRows, bool attentionByRows);
/// dyn.topk, dyn.scatter_add.
void populateIndexingPatterns(mlir::RewritePatternSet &patterns);
/// dyn.moe.route, dispatch, experts, combine.
void populateMoePatterns(mlir::RewritePatternSet &patterns, bool moeOnDevice);

} // namespace dync::dyn_to_linalg

#endif // DYNC_PASSES_CONVERSION_DYNTOLINALG_PATTERNS_H
