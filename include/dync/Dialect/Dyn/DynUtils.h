//===- DynUtils.h - small helpers every layer of dync uses ------*- C++ -*-===//
//
// Defined once, in the dialect library that every other library links.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_DIALECT_DYN_DYNUTILS_H
#define DYNC_DIALECT_DYN_DYNUTILS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <string>

namespace mlir::dyn {

/// The ranked tensor type of `v` (which must have one).
RankedTensorType rankedType(Value v);

/// `v` as `type`: itself, or a `tensor.cast` where static sizes differ.
Value castTo(OpBuilder &b, Location loc, Value v, Type type);

/// The scalar `value` broadcast to the shape of `like` (dynamic sizes read
/// from `like`), with `value`'s element type.
Value splatLike(OpBuilder &b, Location loc, Value value, Value like);

/// The shape a per-sample (per-token) region sees for the live rows: `shape`
/// with its first `n` dims replaced by one dynamic dim, the live batch.
SmallVector<int64_t> liveShape(ArrayRef<int64_t> shape, unsigned n = 1);
RankedTensorType liveType(RankedTensorType type, unsigned n = 1);

/// `[4, ?, 8]`.
std::string formatShape(ArrayRef<int64_t> shape);

} // namespace mlir::dyn

#endif // DYNC_DIALECT_DYN_DYNUTILS_H
