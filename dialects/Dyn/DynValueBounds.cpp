//===- DynValueBounds.cpp - the dims of dyn ops' results ------------------===//
//
// ValueBoundsOpInterface for the dyn ops: each says how its results' dims
// relate to its operands' (equal, or at most), so that upstream's value-bound
// machinery, and dync's bounds analysis through it, reason about dyn ops as
// they do about tensor and linalg ops. Where a result's dims are a function
// of the operands' sizes alone, ReifyRankedShapedTypeOpInterface builds them.
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

using namespace mlir;
using namespace mlir::dyn;

namespace {
/// dim `dim` of `value` equals dim `from` of `other`.
void same(ValueBoundsConstraintSet &cstr, Value value, int64_t dim, Value other,
          int64_t from) {
  cstr.bound(value)[dim] == cstr.getExpr(other, from);
}
/// Every dim of `value` equals the same dim of `other`.
void sameShape(ValueBoundsConstraintSet &cstr, Value value, int64_t dim, Value other) {
  same(cstr, value, dim, other, dim);
}
} // namespace

void MoeOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                            ValueBoundsConstraintSet &cstr) {
  if (value == getResult())
    sameShape(cstr, value, dim, getInput());
}

void MoeRouteOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                 ValueBoundsConstraintSet &cstr) {
  if (dim == 0)
    same(cstr, value, 0, getLogits(), 0);
  else
    cstr.bound(value)[1] == static_cast<int64_t>(getTopK());
}

void MoeDispatchOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                    ValueBoundsConstraintSet &cstr) {
  if (value == getSlots()) {
    sameShape(cstr, value, dim, getIndices());
    return;
  }
  if (value != getRows())
    return;
  if (dim == 1) {
    same(cstr, value, 1, getInput(), 1);
    return;
  }
  // At most T·k rows: every assignment, none dropped.
  int64_t k = getIndices().getType().getDimSize(1);
  cstr.bound(value)[0] >= 0;
  if (!ShapedType::isDynamic(k))
    cstr.bound(value)[0] <= cstr.getExpr(getInput(), 0) * k;
}

void MoeExpertsOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                   ValueBoundsConstraintSet &cstr) {
  sameShape(cstr, value, dim, getRows());
}

void MoeCombineOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                   ValueBoundsConstraintSet &cstr) {
  if (dim == 0)
    same(cstr, value, 0, getSlots(), 0);
  else
    same(cstr, value, 1, getExpertRows(), 1);
}

void GateOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                             ValueBoundsConstraintSet &cstr) {
  sameShape(cstr, value, dim, value == getResult() ? getInput() : getScore());
}

LogicalResult GateOp::reifyResultShapes(OpBuilder &b,
                                        ReifiedRankedShapedTypeDims &shapes) {
  // Skipped samples pass through, so the result has the input's shape and
  // the mask the score's.
  shapes.push_back(tensor::getMixedSizes(b, getLoc(), getInput()));
  if (getMask())
    shapes.push_back(tensor::getMixedSizes(b, getLoc(), getScore()));
  return success();
}

void CondOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                             ValueBoundsConstraintSet &cstr) {
  // Per sample, the merged results have the predicate's batch; their other
  // dims, and a scalar cond's results, are those of the branch taken.
  if (isPerSample() && dim == 0)
    same(cstr, value, 0, getPredicate(), 0);
}

void EarlyExitOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                  ValueBoundsConstraintSet &cstr) {
  if (dim == 0)
    same(cstr, value, 0, getInput(), 0);
}

void AttentionOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                  ValueBoundsConstraintSet &cstr) {
  same(cstr, value, dim, dim == 3 ? getValue() : getQuery(), dim);
}

void BsaAttentionOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                     ValueBoundsConstraintSet &cstr) {
  same(cstr, value, dim, dim == 3 ? getValue() : getQuery(), dim);
}

void BsaSelectOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                  ValueBoundsConstraintSet &cstr) {
  if (dim < 2)
    same(cstr, value, dim, getQuery(), dim);
}

void TopKOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                             ValueBoundsConstraintSet &cstr) {
  if (dim == static_cast<int64_t>(getAxis()))
    cstr.bound(value)[dim] == static_cast<int64_t>(getK());
  else
    sameShape(cstr, value, dim, getInput());
}

void ScatterAddOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                   ValueBoundsConstraintSet &cstr) {
  sameShape(cstr, value, dim, getData());
}

void RtIotaOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                               ValueBoundsConstraintSet &cstr) {
  same(cstr, value, 0, getLike(), 0);
}

void RtSelectOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                 ValueBoundsConstraintSet &cstr) {
  // The set entries of the mask: between none and all of them.
  cstr.bound(value)[0] >= 0;
  cstr.bound(value)[0] <= cstr.getExpr(getMask(), 0);
}

void RtGatherRowsOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                     ValueBoundsConstraintSet &cstr) {
  if (dim == 0)
    same(cstr, value, 0, getIndices(), 0);
  else
    sameShape(cstr, value, dim, getSource());
}

void RtScatterRowsOp::populateBoundsForShapedValueDim(Value value, int64_t dim,
                                                      ValueBoundsConstraintSet &cstr) {
  sameShape(cstr, value, dim, getDest());
}
