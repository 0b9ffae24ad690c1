//===- MatmulFusion.h - a matmul's fill and elementwise epilogue ----------===//
//
// What dyn-vectorize-matmuls folds into a matmul's micro-kernel on buffers:
// the linalg.fill that initialises its output (the accumulators start from
// the fill's value instead of reading the output) and the elementwise
// linalg.generic right after it that reads the output (bias, activation,
// residual: applied to the accumulators before their one store, to the
// generic's own output).
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CPU_MATMULFUSION_H
#define DYNC_PASSES_CPU_MATMULFUSION_H

#include "dync/Passes/Codegen/MatmulMatch.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace dync {

struct MatmulFusion {
  /// The fill of the output just before the matmul, and its value.
  mlir::linalg::FillOp fill;
  mlir::Value fillValue;
  /// The elementwise generic after it, with the matmul's output as its
  /// input `outInput`, and the buffer it writes: the matmul's output
  /// (updated in place) or another that the kernel stores to instead.
  mlir::linalg::GenericOp epilogue;
  unsigned outInput = 0;
  mlir::Value target;
  /// n's position among the output's indices (and the epilogue's loops).
  unsigned nDim = 0;
};

/// The fill and epilogue `mm` (on buffers) may absorb. An epilogue is taken
/// only for the outer-product kernel (`mm.outer`), with `lanes`-wide vector
/// loads of its other inputs along n (or broadcasts of inputs without n),
/// a body of elementwise arith and math ops on f32, and inputs that cannot
/// alias the output (distinct allocations or workspace slots), since the
/// kernel writes each tile before the other tiles' inputs are read.
MatmulFusion matchMatmulFusion(Matmul mm);

/// The epilogue's body applied to `acc` (a vector of lanes f32, or a
/// scalar): its other inputs loaded at `outIndices` (the output's indices
/// of the element, or of the vector's first element).
mlir::Value applyEpilogue(mlir::ImplicitLocOpBuilder &b, const MatmulFusion &fusion,
                          mlir::Value acc, mlir::ValueRange outIndices);

} // namespace dync

#endif // DYNC_PASSES_CPU_MATMULFUSION_H
