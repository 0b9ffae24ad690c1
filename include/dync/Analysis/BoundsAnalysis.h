//===- BoundsAnalysis.h - upper bounds of dynamic dimensions ----*- C++ -*-===//
//
// A dynamic dimension in dync always comes from somewhere bounded: a model
// dim (declared with its max), a live batch compacted from a bounded batch,
// MoE rows (at most T·k), or a size computed from those. The analysis follows
// each dimension back to such a source, through ops, calls and branches, and
// takes the maximum over all the ways a value can be produced.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_ANALYSIS_BOUNDSANALYSIS_H
#define DYNC_ANALYSIS_BOUNDSANALYSIS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>

namespace dync {

class BoundsAnalysis {
public:
  using Bound = std::optional<int64_t>;

  explicit BoundsAnalysis(mlir::ModuleOp module);

  /// Upper bound of dimension `i` of the tensor `v`, if one can be derived.
  Bound dim(mlir::Value v, int64_t i);
  /// Upper bound of an index or integer scalar.
  Bound scalar(mlir::Value v);

private:
  Bound fromCallers(mlir::BlockArgument arg, llvm::function_ref<Bound(mlir::Value)> of);
  Bound fromReturns(mlir::func::CallOp call, unsigned index,
                    llvm::function_ref<Bound(mlir::Value)> of);
  Bound fromMixed(mlir::OpFoldResult size);
  Bound fromShapeBuffer(mlir::memref::LoadOp load);
  Bound fromShapeBuffer(mlir::Value buffer, llvm::ArrayRef<int64_t> at);
  Bound shapeElement(mlir::Value shape, int64_t i);
  Bound fromModelDims(mlir::func::FuncOp fn, unsigned argNo, int64_t i);
  /// The bound the defining op states through ValueBoundsOpInterface, in
  /// terms of its operands (whose bounds this analysis supplies).
  Bound fromValueBounds(mlir::Value v, std::optional<int64_t> dim);
  Bound computeDim(mlir::Value v, int64_t i);
  /// Dim `i` of the loop-carried value `v` (a region argument of scf.for or
  /// scf.while) entered with `init` and continued with `yielded`.
  Bound loopCarried(mlir::Value v, int64_t i, mlir::Value init, mlir::Value yielded);
  Bound computeScalar(mlir::Value v);

  llvm::DenseMap<mlir::func::FuncOp, llvm::SmallVector<mlir::func::CallOp>> callers;
  llvm::DenseMap<std::pair<void *, int64_t>, Bound> memo;
  /// The dims whose bound is being computed (their memo entry a placeholder).
  llvm::DenseSet<std::pair<void *, int64_t>> inProgress;
};

} // namespace dync

#endif // DYNC_ANALYSIS_BOUNDSANALYSIS_H
