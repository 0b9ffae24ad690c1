//===- TensorBuilder.h - building blocks for static layers ------*- C++ -*-===//
//
// Small helpers that emit upstream ops (linalg, tensor, arith, math) on ranked
// tensors whose dimensions may be dynamic. The importer decides what is
// legal; these helpers only build IR, taking dynamic sizes from `tensor.dim`
// of the operands.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_SUPPORT_TENSORBUILDER_H
#define DYNC_SUPPORT_TENSORBUILDER_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>

namespace dync {

/// `ShiftMax` is a maximum taken only as the shift that keeps a softmax's
/// exponentials in range: `arith.maxnumf` (a NaN is passed over, either
/// zero may win), which x86 computes in fewer instructions than `Max`'s
/// `arith.maximumf` (no signed-zero rule). The softmax is the same either
/// way: a NaN in the row makes its exponential, hence the whole row, NaN;
/// the sign of a zero shift changes no exponential. Measured on W2
/// block-sparse attention's max over each key block (dync-run --bench 100,
/// five interleaved pairs): 5.89 -> 5.69 ms.
enum class ReduceKind { Sum, Max, Mean, ShiftMax };

/// Body of an elementwise computation: scalar arguments (one per input, in
/// their own element types) to the scalar result.
using ScalarFn =
    std::function<mlir::Value(mlir::ImplicitLocOpBuilder &, mlir::ValueRange)>;

class TensorBuilder {
public:
  explicit TensorBuilder(mlir::ImplicitLocOpBuilder &b) : b(b) {}

  /// Size `i` of `v`: a constant when static, else `tensor.dim`.
  mlir::OpFoldResult size(mlir::Value v, int64_t i);
  /// Size `i` of `v` as an `index` value.
  mlir::Value sizeValue(mlir::Value v, int64_t i);

  mlir::Value empty(llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elt);
  mlir::Value filled(llvm::ArrayRef<mlir::OpFoldResult> sizes, mlir::Type elt,
                     mlir::TypedAttr value);
  mlir::Value scalar(mlir::Type type, double value);

  /// Elementwise map over `inputs` with NumPy broadcasting (inputs aligned on
  /// their trailing dims; a static 1 broadcasts). `outType` gives the result
  /// shape; its dynamic dims are read from an input that has the dim.
  mlir::Value map(mlir::ValueRange inputs, mlir::RankedTensorType outType,
                  const ScalarFn &fn);

  /// `dest = fn(inputs..., dest)` elementwise, `inputs` broadcast to
  /// `dest`'s shape as in `map`: destination-passing style, so that
  /// bufferization updates `dest`'s buffer in place when nothing reads the
  /// old value afterwards (a loop's carried state).
  mlir::Value update(mlir::Value dest, mlir::ValueRange inputs, const ScalarFn &fn);

  /// Converts the element type (float widths, int widths, int<->float, i1).
  mlir::Value convert(mlir::Value v, mlir::Type elt);
  mlir::Value convertScalar(mlir::Value v, mlir::Type elt);

  /// `x[..., k] · w[n, k]ᵀ (+ bias[n])`: PyTorch's linear. A rank-3 `w` is
  /// that matrix in panels of P rows, `[n / P, k, P]` (`dyn.weight`'s panel).
  mlir::Value linear(mlir::Value x, mlir::Value w, mlir::Value bias);

  /// torch.matmul for operands of rank >= 2 with broadcasting batch dims;
  /// `outType` is the broadcast result type. With `transposeB`, `b` is
  /// `[..., n, k]` and the product is `a @ bᵀ` (attention's q·kᵀ) without
  /// materializing the transpose: both operands are read along k, the form
  /// the matmul micro-kernel takes. With `transposeA`, `a` is `[..., k, m]`
  /// and the product `aᵀ @ b`, read in place too.
  mlir::Value matmul(mlir::Value a, mlir::Value b, mlir::RankedTensorType outType,
                     bool transposeB = false, bool transposeA = false);

  /// Reduction over `axes` (sorted, unique); the axes are removed, or kept as
  /// size 1 with `keepDim`.
  mlir::Value reduce(mlir::Value x, llvm::ArrayRef<int64_t> axes,
                     ReduceKind kind, bool keepDim);

  /// Index of the first maximum along `axis` (i64), the axis removed.
  mlir::Value argmax(mlir::Value x, int64_t axis);

  mlir::Value softmax(mlir::Value x, int64_t axis);
  mlir::Value transpose(mlir::Value x, llvm::ArrayRef<int64_t> perm);

  /// Reshape to `sizes` (mixed static/dynamic, already resolved).
  mlir::Value reshape(mlir::Value x, llvm::ArrayRef<mlir::OpFoldResult> sizes,
                      mlir::RankedTensorType outType);

  /// `tensor.expand_shape` of `x` into `outType` (output `sizes`), or a
  /// `tensor.reshape` when a group expands into more than one dynamic dim:
  /// MLIR 22's expand-strided-metadata crashes on such an expand_shape (a
  /// `[B·S, d]` → `[B, S, d]` with both B and S dynamic).
  mlir::Value expand(mlir::Value x, mlir::RankedTensorType outType,
                     llvm::ArrayRef<mlir::ReassociationIndices> groups,
                     llvm::ArrayRef<mlir::OpFoldResult> sizes);

  /// Pads dims 2 and 3 (H, W) of an NCHW tensor with `value`.
  mlir::Value padHW(mlir::Value x, int64_t padH, int64_t padW,
                    mlir::TypedAttr value);

  /// numpy.take(data, indices, axis).
  mlir::Value take(mlir::Value data, mlir::Value indices, int64_t axis,
                   mlir::RankedTensorType outType);

private:
  mlir::ImplicitLocOpBuilder &b;
};

/// Rank-polymorphic helpers for scalar bodies.
mlir::Value buildGelu(mlir::ImplicitLocOpBuilder &b, mlir::Value x,
                      bool tanhApprox);
mlir::Value buildSigmoid(mlir::ImplicitLocOpBuilder &b, mlir::Value x);
/// The scalar activation `name` (relu, gelu, gelu_tanh, silu, sigmoid, tanh,
/// exp) of a float `x`: the one definition the importer and the lowerings
/// share.
mlir::Value buildActivation(mlir::ImplicitLocOpBuilder &b, llvm::StringRef name,
                            mlir::Value x);

/// The model format's name of an element type (f32, f16, bf16, i32, i64,
/// bool), or MLIR's spelling for any other.
std::string dtypeName(mlir::Type type);

} // namespace dync

#endif // DYNC_SUPPORT_TENSORBUILDER_H
