//===- MatmulMatch.h - recognizing matmuls ----------------------*- C++ -*-===//
//
// The matmuls the targets give their own kernels: a linalg.generic
// computing out[.., m, n] += a[.., m, k] * b[.., n, k] (a Linear
// layer x @ Wᵀ, the experts of a MoE layer) or a[.., m, k] * b[.., k, n]
// (x @ W, attention's p @ v), with an f32 output. The CPU's micro-kernels
// (dyn-vectorize-matmuls) and the CUDA target's cuBLAS calls
// (dyn-outline-gemms) share it, on buffers; dyn-pack-weights finds the
// weights to pack with it, on tensors.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CODEGEN_MATMULMATCH_H
#define DYNC_PASSES_CODEGEN_MATMULMATCH_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinTypes.h"

#include <optional>

namespace dync {

/// The loops of a matmul and how its operands are indexed.
struct Matmul {
  mlir::linalg::GenericOp op;
  unsigned m, n, k;
  llvm::SmallVector<unsigned> batch;
  /// b is [.., k, n] (contiguous along n) or in panels: the outer-product
  /// kernel; else b is [.., n, k]: the dot-product kernel.
  bool outer = false;
  /// b is a weight in panels of this many rows (`dyn.weight` with `panel`):
  /// [n / panel, k, panel], read at (n floordiv panel, k, n mod panel); 0 if
  /// not.
  int64_t panel = 0;
};

/// Recognizes out[.., m, n] += a[.., m, k] * b[.., n, k] (or b[.., k, n], or
/// b in panels; with b[.., k, n] or panels, also a[.., k, m]) on buffers or
/// tensors with an f32 output, f32 inputs or
/// f16/bf16 ones the body extends to f32, and, on buffers, unit strides along
/// the dimensions the kernels read as vectors (a and b along k for dot
/// products; b and out along n for outer products).
std::optional<Matmul> matchMatmul(mlir::linalg::GenericOp op);

/// Whether the innermost dimension of `type` has stride 1.
bool unitInnerStride(mlir::MemRefType type);

} // namespace dync

#endif // DYNC_PASSES_CODEGEN_MATMULMATCH_H
