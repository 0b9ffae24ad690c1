//===- OnnxGatherScatter.cpp - ONNX ops that index by computed positions ---===//
//
// GatherElements, GatherND, ScatterElements, ScatterND, Tile and CumSum, each
// one linalg.generic, so that partitioning sees static compute (a loop nest
// of scf ops would be host control, one call per element). Gathers read the
// data with tensor.extract at computed coordinates. A scatter is a reduction
// over the updates into the data: each output element combines, in order,
// the updates whose index lands on it (ScatterElements: |out| x the indices'
// axis; ScatterND: |out| x the number of index tuples, quadratic in a
// row-scatter -- correct, not fast; raising exported MoE idioms to dyn.moe is
// what makes them fast). CumSum sums the positions up to each one
// (|out| x the axis).
//
// Indices follow ONNX: negative ones count from the end. ONNX leaves indices
// still out of range undefined (ONNX Runtime fails the run); here a gather
// clamps them, as dync's take does, and a scatter skips them, so that no
// access ever leaves a tensor.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace dync::import {

namespace {

/// An ONNX index (any integer type) into a dim of `size`, negative ones
/// counted from the end; and whether it is then in range.
std::pair<Value, Value> normalize(ImplicitLocOpBuilder &ib, Value raw, Value size) {
  Value idx = arith::IndexCastOp::create(ib, ib.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(ib, 0);
  Value neg = arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, idx, zero);
  idx = arith::SelectOp::create(ib, neg, arith::AddIOp::create(ib, idx, size), idx);
  Value inRange = arith::AndIOp::create(
      ib, arith::CmpIOp::create(ib, arith::CmpIPredicate::sge, idx, zero),
      arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, idx, size));
  return {idx, inRange};
}

/// normalize(), then clamped into [0, size): a position a gather may read.
Value clamped(ImplicitLocOpBuilder &ib, Value raw, Value size) {
  Value idx = normalize(ib, raw, size).first;
  idx = arith::MaxSIOp::create(ib, idx, arith::ConstantIndexOp::create(ib, 0));
  return arith::MinSIOp::create(
      ib, idx, arith::SubIOp::create(ib, size, arith::ConstantIndexOp::create(ib, 1)));
}

enum class Reduction { None, Add, Mul, Max, Min };

FailureOr<Reduction> parseReduction(const std::string &s) {
  if (s == "none") return Reduction::None;
  if (s == "add") return Reduction::Add;
  if (s == "mul") return Reduction::Mul;
  if (s == "max") return Reduction::Max;
  if (s == "min") return Reduction::Min;
  return failure();
}

Value combine(ImplicitLocOpBuilder &ib, Reduction r, Value old, Value upd) {
  bool isFloat = isa<FloatType>(old.getType());
  switch (r) {
  case Reduction::None: return upd;
  case Reduction::Add:
    return isFloat ? Value(arith::AddFOp::create(ib, old, upd)) : arith::AddIOp::create(ib, old, upd);
  case Reduction::Mul:
    return isFloat ? Value(arith::MulFOp::create(ib, old, upd)) : arith::MulIOp::create(ib, old, upd);
  case Reduction::Max:
    return isFloat ? Value(arith::MaximumFOp::create(ib, old, upd))
                   : arith::MaxSIOp::create(ib, old, upd);
  case Reduction::Min:
    return isFloat ? Value(arith::MinimumFOp::create(ib, old, upd))
                   : arith::MinSIOp::create(ib, old, upd);
  }
  return upd;
}

SmallVector<Value> dimValues(TensorBuilder &tb, Value v) {
  SmallVector<Value> out;
  for (int64_t d = 0, r = cast<RankedTensorType>(v.getType()).getRank(); d < r; ++d)
    out.push_back(tb.sizeValue(v, d));
  return out;
}

} // namespace

/// A scatter's data, indices and updates, with integer indices and updates
/// of the data's type; or failure naming the node.
struct ScatterOperands {
  TValue data, indices, updates;
};
static FailureOr<ScatterOperands> scatterOperands(OnnxImporter &im, OnnxNodeView &n,
                                                  const onnx::NodeProto &node,
                                                  ImplicitLocOpBuilder &b) {
  FailureOr<TValue> data = im.tensorInput(n, node, 0, b);
  FailureOr<TValue> indices = im.tensorInput(n, node, 1, b);
  FailureOr<TValue> updates = im.tensorInput(n, node, 2, b);
  if (failed(data) || failed(indices) || failed(updates))
    return failure();
  if (!isa<IntegerType>(indices->elt()) || updates->elt() != data->elt()) {
    (void)im.failNode(n, "indices must be integers and updates of the data's type");
    return failure();
  }
  return ScatterOperands{*data, *indices, *updates};
}

static FailureOr<Reduction> reductionOf(OnnxImporter &im, OnnxNodeView &n, const onnx::NodeProto &node) {
  std::string s = "none";
  if (const onnx::AttributeProto *a = im.attr(node, "reduction"))
    s = a->s();
  FailureOr<Reduction> r = parseReduction(s);
  if (failed(r)) {
    (void)im.failNode(n, "reduction '" + s + "' is not one of none, add, mul, max, min");
    return failure();
  }
  return r;
}

/// The axis attribute of a node on a tensor of `rank`, negative counted from
/// the end; or failure naming the node.
static FailureOr<int64_t> axisOf(OnnxImporter &im, OnnxNodeView &n, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) {
    (void)im.failNode(n, "axis " + std::to_string(axis) + " is out of range for rank " +
                             std::to_string(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

LogicalResult OnnxImporter::translateGatherElements(OnnxNodeView &n, const onnx::NodeProto &node,
                                                    ImplicitLocOpBuilder &b) {
  FailureOr<TValue> data = tensorInput(n, node, 0, b);
  FailureOr<TValue> indices = tensorInput(n, node, 1, b);
  if (failed(data) || failed(indices))
    return failure();
  if (data->rank() != indices->rank() || data->rank() == 0)
    return failNode(n, "data and indices must have the same rank, at least 1");
  if (!isa<IntegerType>(indices->elt()))
    return failNode(n, "indices must be integers");
  FailureOr<int64_t> axis = axisOf(*this, n, intAttr(node, "axis", 0), data->rank());
  if (failed(axis))
    return failure();
  // out[i...] = data[i... with i_axis = indices[i...]]
  TensorBuilder tb(b);
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : indices->shape)
    sizes.push_back(g.symSize(b, *indices, d));
  Value init = tb.empty(sizes, data->elt());
  Value axisSize = tb.sizeValue(data->v, *axis);
  int64_t rank = data->rank();
  auto id = AffineMap::getMultiDimIdentityMap(unsigned(rank), b.getContext());
  SmallVector<utils::IteratorType> par(rank, utils::IteratorType::parallel);
  Value r = linalg::GenericOp::create(
                b, TypeRange{init.getType()}, ValueRange{indices->v}, ValueRange{init},
                ArrayRef<AffineMap>{id, id}, par,
                [&](OpBuilder &nb, Location loc, ValueRange args) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  SmallVector<Value> coords;
                  for (int64_t d = 0; d < rank; ++d)
                    coords.push_back(d == *axis ? clamped(ib, args[0], axisSize)
                                                : Value(linalg::IndexOp::create(ib, d)));
                  linalg::YieldOp::create(ib, Value(tensor::ExtractOp::create(ib, data->v, coords)));
                })
                .getResult(0);
  bind(node, 0, TValue{r, indices->shape});
  return success();
}

LogicalResult OnnxImporter::translateScatterElements(OnnxNodeView &n, const onnx::NodeProto &node,
                                                     ImplicitLocOpBuilder &b) {
  FailureOr<ScatterOperands> ops = scatterOperands(*this, n, node, b);
  if (failed(ops))
    return failure();
  TValue *data = &ops->data, *indices = &ops->indices, *updates = &ops->updates;
  if (data->rank() != indices->rank() || indices->rank() != updates->rank() || data->rank() == 0)
    return failNode(n, "data, indices and updates must have the same rank, at least 1");
  FailureOr<int64_t> axis = axisOf(*this, n, intAttr(node, "axis", 0), data->rank());
  FailureOr<Reduction> red = reductionOf(*this, n, node);
  if (failed(axis) || failed(red))
    return failure();
  // out[p] = data[p] combined, for j in order along the axis, with
  // updates[q] wherever indices[q] = p_axis (q = p with q_axis = j, within
  // the indices' shape).
  TensorBuilder tb(b);
  Value axisSize = tb.sizeValue(data->v, *axis);
  SmallVector<Value> idxSizes = dimValues(tb, indices->v);
  int64_t rank = data->rank();
  MLIRContext *c = b.getContext();
  auto outMap = AffineMap::getMultiDimIdentityMap(unsigned(rank + 1), c).getMajorSubMap(rank);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  // The reduction runs over the indices' axis; an operand of that extent
  // (never read) sizes it. Indices and updates are read at q, clamped into
  // the indices' shape (p_d may run past it; those reads are masked). An
  // indices tensor with a zero-size dim scatters nothing: the extent is 0.
  Value zero = arith::ConstantIndexOp::create(b, 0);
  Value extentSize = idxSizes[*axis];
  for (int64_t d = 0; d < rank; ++d)
    if (d != *axis)
      extentSize = arith::SelectOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::eq, idxSizes[d], zero), zero,
          extentSize);
  Value extent = tb.empty({OpFoldResult(extentSize)}, b.getI1Type());
  auto extentMap = AffineMap::get(unsigned(rank + 1), 0, {getAffineDimExpr(rank, c)}, c);
  Value r = linalg::GenericOp::create(
                b, TypeRange{data->v.getType()}, ValueRange{extent}, ValueRange{data->v},
                ArrayRef<AffineMap>{extentMap, outMap}, iters,
                [&](OpBuilder &nb, Location loc, ValueRange args) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value acc = args[1];
                  Value one = arith::ConstantIndexOp::create(ib, 1);
                  SmallVector<Value> q;
                  Value hit = arith::ConstantIntOp::create(ib, 1, 1);
                  for (int64_t d = 0; d < rank; ++d) {
                    Value at = linalg::IndexOp::create(ib, d == *axis ? rank : d);
                    if (d != *axis) {
                      hit = arith::AndIOp::create(
                          ib, hit, arith::CmpIOp::create(ib, arith::CmpIPredicate::ult, at, idxSizes[d]));
                      at = arith::MinUIOp::create(ib, at, arith::SubIOp::create(ib, idxSizes[d], one));
                    }
                    q.push_back(at);
                  }
                  Value raw = tensor::ExtractOp::create(ib, indices->v, q);
                  auto [idx, in] = normalize(ib, raw, axisSize);
                  Value p = linalg::IndexOp::create(ib, *axis);
                  hit = arith::AndIOp::create(
                      ib, hit,
                      arith::AndIOp::create(ib, in,
                                            arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, idx, p)));
                  Value upd = tensor::ExtractOp::create(ib, updates->v, q);
                  linalg::YieldOp::create(
                      ib, Value(arith::SelectOp::create(ib, hit, combine(ib, *red, acc, upd), acc)));
                })
                .getResult(0);
  bind(node, 0, TValue{r, data->shape});
  return success();
}

/// The static last dim of GatherND/ScatterND indices (the index depth), or
/// failure naming the node.
static FailureOr<int64_t> indexDepth(OnnxImporter &im, OnnxNodeView &n, const TValue &data,
                                     const TValue &indices) {
  if (indices.rank() < 1 || !indices.shape.back().isStatic()) {
    (void)im.failNode(n, "the last dim of indices must be static");
    return failure();
  }
  int64_t m = indices.shape.back().size;
  if (m < 1 || m > data.rank()) {
    (void)im.failNode(n, "indices address " + std::to_string(m) + " dims of a rank-" +
                             std::to_string(data.rank()) + " tensor");
    return failure();
  }
  return m;
}

LogicalResult OnnxImporter::translateGatherND(OnnxNodeView &n, const onnx::NodeProto &node,
                                              ImplicitLocOpBuilder &b) {
  if (intAttr(node, "batch_dims", 0) != 0)
    return failNode(n, "GatherND with batch_dims other than 0 is not supported");
  FailureOr<TValue> data = tensorInput(n, node, 0, b);
  FailureOr<TValue> indices = tensorInput(n, node, 1, b);
  if (failed(data) || failed(indices))
    return failure();
  if (!isa<IntegerType>(indices->elt()))
    return failNode(n, "indices must be integers");
  FailureOr<int64_t> depth = indexDepth(*this, n, *data, *indices);
  if (failed(depth))
    return failure();
  // out[i..., j...] = data[indices[i..., 0], ..., indices[i..., m-1], j...]
  int64_t m = *depth, q = indices->rank();
  Shape shape(indices->shape.begin(), indices->shape.end() - 1);
  shape.append(data->shape.begin() + m, data->shape.end());
  TensorBuilder tb(b);
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < q - 1; ++d)
    sizes.push_back(g.symSize(b, *indices, indices->shape[d]));
  for (int64_t d = m; d < data->rank(); ++d)
    sizes.push_back(g.symSize(b, *data, data->shape[d]));
  Value init = tb.empty(sizes, data->elt());
  SmallVector<Value> dataSizes = dimValues(tb, data->v);
  int64_t rank = int64_t(shape.size());
  auto id = AffineMap::getMultiDimIdentityMap(unsigned(rank), b.getContext());
  SmallVector<utils::IteratorType> par(rank, utils::IteratorType::parallel);
  Value r = linalg::GenericOp::create(
                b, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
                ArrayRef<AffineMap>{id}, par,
                [&](OpBuilder &nb, Location loc, ValueRange) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  SmallVector<Value> at;
                  for (int64_t d = 0; d < q - 1; ++d)
                    at.push_back(linalg::IndexOp::create(ib, d));
                  SmallVector<Value> coords;
                  for (int64_t j = 0; j < m; ++j) {
                    SmallVector<Value> pos = at;
                    pos.push_back(arith::ConstantIndexOp::create(ib, j));
                    Value raw = tensor::ExtractOp::create(ib, indices->v, pos);
                    coords.push_back(clamped(ib, raw, dataSizes[j]));
                  }
                  for (int64_t d = q - 1; d < rank; ++d)
                    coords.push_back(linalg::IndexOp::create(ib, d));
                  linalg::YieldOp::create(ib, Value(tensor::ExtractOp::create(ib, data->v, coords)));
                })
                .getResult(0);
  bind(node, 0, TValue{r, shape});
  return success();
}

LogicalResult OnnxImporter::translateScatterND(OnnxNodeView &n, const onnx::NodeProto &node,
                                               ImplicitLocOpBuilder &b) {
  FailureOr<ScatterOperands> ops = scatterOperands(*this, n, node, b);
  if (failed(ops))
    return failure();
  TValue *data = &ops->data, *indices = &ops->indices, *updates = &ops->updates;
  FailureOr<int64_t> depth = indexDepth(*this, n, *data, *indices);
  FailureOr<Reduction> red = reductionOf(*this, n, node);
  if (failed(depth) || failed(red))
    return failure();
  int64_t m = *depth, q = indices->rank();
  if (updates->rank() != q - 1 + data->rank() - m)
    return failNode(n, "updates must have rank " + std::to_string(q - 1 + data->rank() - m) +
                           " (indices.shape[:-1] + data.shape[" + std::to_string(m) + ":])");
  // out[p] = data[p] combined, for each index tuple i in order, with
  // updates[i, p_m...] wherever indices[i] = p[:m].
  TensorBuilder tb(b);
  SmallVector<Value> dataSizes = dimValues(tb, data->v);
  int64_t rank = data->rank(), nIdx = q - 1;
  MLIRContext *c = b.getContext();
  unsigned loops = unsigned(rank + nIdx);
  auto outMap = AffineMap::getMultiDimIdentityMap(loops, c).getMajorSubMap(rank);
  SmallVector<AffineExpr> updExprs;
  for (int64_t k = 0; k < nIdx; ++k)
    updExprs.push_back(getAffineDimExpr(unsigned(rank + k), c));
  for (int64_t d = m; d < rank; ++d)
    updExprs.push_back(getAffineDimExpr(unsigned(d), c));
  auto updMap = AffineMap::get(loops, 0, updExprs, c);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.append(nIdx, utils::IteratorType::reduction);
  Value r = linalg::GenericOp::create(
                b, TypeRange{data->v.getType()}, ValueRange{updates->v}, ValueRange{data->v},
                ArrayRef<AffineMap>{updMap, outMap}, iters,
                [&](OpBuilder &nb, Location loc, ValueRange args) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value hit = arith::ConstantIntOp::create(ib, 1, 1);
                  SmallVector<Value> at;
                  for (int64_t k = 0; k < nIdx; ++k)
                    at.push_back(linalg::IndexOp::create(ib, rank + k));
                  for (int64_t j = 0; j < m; ++j) {
                    SmallVector<Value> pos = at;
                    pos.push_back(arith::ConstantIndexOp::create(ib, j));
                    auto [idx, in] = normalize(ib, tensor::ExtractOp::create(ib, indices->v, pos),
                                               dataSizes[j]);
                    Value eq = arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, idx,
                                                     linalg::IndexOp::create(ib, j));
                    hit = arith::AndIOp::create(ib, hit, arith::AndIOp::create(ib, in, eq));
                  }
                  Value acc = args[1];
                  linalg::YieldOp::create(
                      ib, Value(arith::SelectOp::create(ib, hit, combine(ib, *red, acc, args[0]), acc)));
                })
                .getResult(0);
  bind(node, 0, TValue{r, data->shape});
  return success();
}

LogicalResult OnnxImporter::translateTile(OnnxNodeView &n, const onnx::NodeProto &node,
                                          ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  FailureOr<SmallVector<Dim>> repeats = intsInput(n, node, 1, "repeats");
  if (failed(x) || failed(repeats))
    return failure();
  if (int64_t(repeats->size()) != x->rank())
    return failNode(n, "repeats has " + std::to_string(repeats->size()) +
                           " entries for a rank-" + std::to_string(x->rank()) + " input");
  Shape shape;
  for (auto [d, rep] : llvm::zip(x->shape, *repeats)) {
    if (!rep.isStatic() || rep.size < 0)
      return failNode(n, "repeats must be constants, not negative");
    shape.push_back(mulDims(d, rep));
  }
  // out[i...] = x[i_0 mod size_0, ...]
  TensorBuilder tb(b);
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : shape)
    sizes.push_back(g.symSize(b, *x, d));
  Value init = tb.empty(sizes, x->elt());
  SmallVector<Value> xSizes = dimValues(tb, x->v);
  int64_t rank = x->rank();
  auto id = AffineMap::getMultiDimIdentityMap(unsigned(rank), b.getContext());
  SmallVector<utils::IteratorType> par(rank, utils::IteratorType::parallel);
  Value r = linalg::GenericOp::create(
                b, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
                ArrayRef<AffineMap>{id}, par,
                [&](OpBuilder &nb, Location loc, ValueRange) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  SmallVector<Value> coords;
                  for (int64_t d = 0; d < rank; ++d)
                    coords.push_back(
                        arith::RemUIOp::create(ib, linalg::IndexOp::create(ib, d), xSizes[d]));
                  linalg::YieldOp::create(ib, Value(tensor::ExtractOp::create(ib, x->v, coords)));
                })
                .getResult(0);
  bind(node, 0, TValue{r, shape});
  return success();
}

LogicalResult OnnxImporter::translateCumSum(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  FailureOr<SmallVector<Dim>> axisIn = intsInput(n, node, 1, "axis");
  if (failed(x) || failed(axisIn))
    return failure();
  if (axisIn->size() != 1 || !axisIn->front().isStatic())
    return failNode(n, "axis must be a constant scalar");
  if (x->rank() == 0)
    return failNode(n, "CumSum needs at least one dim");
  FailureOr<int64_t> axis = axisOf(*this, n, axisIn->front().size, x->rank());
  if (failed(axis))
    return failure();
  bool exclusive = intAttr(node, "exclusive", 0) != 0;
  bool reverse = intAttr(node, "reverse", 0) != 0;
  // out[p] = the sum of x[p with p_axis = j] over the j up to p_axis
  // (before it if exclusive; from the end if reverse).
  TensorBuilder tb(b);
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : x->shape)
    sizes.push_back(g.symSize(b, *x, d));
  Value init = tb.filled(sizes, x->elt(), b.getZeroAttr(x->elt()));
  int64_t rank = x->rank();
  MLIRContext *c = b.getContext();
  unsigned loops = unsigned(rank + 1);
  auto outMap = AffineMap::getMultiDimIdentityMap(loops, c).getMajorSubMap(rank);
  SmallVector<AffineExpr> inExprs;
  for (int64_t d = 0; d < rank; ++d)
    inExprs.push_back(getAffineDimExpr(d == *axis ? unsigned(rank) : unsigned(d), c));
  auto inMap = AffineMap::get(loops, 0, inExprs, c);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters.push_back(utils::IteratorType::reduction);
  arith::CmpIPredicate pred = reverse ? (exclusive ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::uge)
                                      : (exclusive ? arith::CmpIPredicate::ult : arith::CmpIPredicate::ule);
  bool isFloat = isa<FloatType>(x->elt());
  Value r = linalg::GenericOp::create(
                b, TypeRange{init.getType()}, ValueRange{x->v}, ValueRange{init},
                ArrayRef<AffineMap>{inMap, outMap}, iters,
                [&](OpBuilder &nb, Location loc, ValueRange args) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value j = linalg::IndexOp::create(ib, rank);
                  Value p = linalg::IndexOp::create(ib, *axis);
                  Value take = arith::CmpIOp::create(ib, pred, j, p);
                  Value sum = isFloat ? Value(arith::AddFOp::create(ib, args[1], args[0]))
                                      : Value(arith::AddIOp::create(ib, args[1], args[0]));
                  linalg::YieldOp::create(ib, Value(arith::SelectOp::create(ib, take, sum, args[1])));
                })
                .getResult(0);
  bind(node, 0, TValue{r, x->shape});
  return success();
}

} // namespace dync::import
