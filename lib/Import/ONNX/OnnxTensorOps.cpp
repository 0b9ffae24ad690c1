//===- OnnxTensorOps.cpp - ONNX ops that make tensors and pick from them ---===//
//
// Range, TopK, Expand, ConstantOfShape, Trilu, OneHot and NonZero: tensors built
// from sizes known at compile time (possibly symbolic) or picked from an
// input.
//
//===----------------------------------------------------------------------===//

#include "OnnxImporter.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace mlir;

namespace dync::import {

LogicalResult OnnxImporter::translateRange(OnnxNodeView &n, const onnx::NodeProto &node,
                                           ImplicitLocOpBuilder &b) {
  FailureOr<SmallVector<Dim>> start = intsInput(n, node, 0, "start");
  FailureOr<SmallVector<Dim>> limit = intsInput(n, node, 1, "limit");
  FailureOr<SmallVector<Dim>> delta = intsInput(n, node, 2, "delta");
  if (failed(start) || failed(limit) || failed(delta))
    return failure();
  if (start->size() != 1 || limit->size() != 1 || delta->size() != 1)
    return failNode(n, "start, limit and delta must be scalars");
  const Dim &s0 = start->front(), &l = limit->front(), &d = delta->front();
  if (!s0.isStatic() || !d.isStatic() || d.size == 0)
    return failNode(n, "start and delta must be constants (delta not 0)");
  Dim len = Dim::of(0);
  if (l.isStatic()) {
    int64_t span = l.size - s0.size;
    len = Dim::of(std::max<int64_t>(0, (span + d.size - (d.size > 0 ? 1 : -1)) / d.size));
  } else if (s0.size == 0 && d.size == 1) {
    len = l;
  } else {
    return failNode(n, "a range up to the size " + l.sym + " must start at 0 with step 1");
  }
  // positions start + i·delta, as i64 (what exporters give Range here).
  Shape shape{len};
  TensorBuilder tb(b);
  Value init = tb.empty({g.symSize(b, anyTensor, len)}, b.getI64Type());
  MLIRContext *c = b.getContext();
  Value r = linalg::GenericOp::create(
                b, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
                ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(1, c)},
                ArrayRef<utils::IteratorType>{utils::IteratorType::parallel},
                [&](OpBuilder &nb, Location loc, ValueRange) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value i = arith::IndexCastOp::create(ib, ib.getI64Type(), linalg::IndexOp::create(ib, 0));
                  Value v = arith::AddIOp::create(
                      ib, arith::ConstantOp::create(ib, ib.getI64IntegerAttr(s0.size)),
                      arith::MulIOp::create(ib, i, arith::ConstantOp::create(ib, ib.getI64IntegerAttr(d.size))));
                  linalg::YieldOp::create(ib, v);
                })
                .getResult(0);
  bind(node, 0, TValue{r, shape});
  return success();
}

LogicalResult OnnxImporter::translateTopK(OnnxNodeView &n, const onnx::NodeProto &node,
                                          ImplicitLocOpBuilder &b) {
  FailureOr<SmallVector<Dim>> k = intsInput(n, node, 1, "K");
  if (failed(k))
    return failure();
  if (k->size() != 1 || !k->front().isStatic())
    return failNode(n, "K must be a constant");
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  bool largest = intAttr(node, "largest", 1) != 0;
  if (!largest && !isa<FloatType>(x->elt()))
    return failNode(n, "TopK of the smallest values (largest=0) is supported on floats only");
  // The k smallest are the k largest of -x, in the same order (ascending
  // values; ties to the lower index, as ONNX Runtime orders them).
  TensorBuilder tb(b);
  auto negate = [&](Value v) {
    return tb.map({v}, cast<RankedTensorType>(v.getType()),
                  [](ImplicitLocOpBuilder &ib, ValueRange e) -> Value {
                    return arith::NegFOp::create(ib, e[0]);
                  });
  };
  if (!largest)
    x->v = negate(x->v);
  // Sorted, ties to the lower index (ONNX's order; sorted=0 leaves the
  // order free, so sorted is right too).
  n.op = "topk";
  n.attrs["k"] = k->front().size;
  n.attrs["axis"] = intAttr(node, "axis", -1);
  n.inputs = {*x};
  FailureOr<SmallVector<TValue>> results = g.emit(n, b);
  if (failed(results))
    return failure();
  if (!largest && !results->empty())
    (*results)[0].v = negate((*results)[0].v);
  return bindResults(n, node, *results);
}

LogicalResult OnnxImporter::translateExpand(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  FailureOr<SmallVector<Dim>> target = intsInput(n, node, 1, "shape");
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(target) || failed(x))
    return failure();
  Shape want(target->begin(), target->end());
  FailureOr<Shape> shape = g.broadcast(n, {&x->shape, &want});
  if (failed(shape))
    return failure();
  // x broadcast over a tensor of the result's shape.
  TensorBuilder tb(b);
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : *shape)
    sizes.push_back(g.symSize(b, *x, d));
  Value like = tb.filled(sizes, x->elt(), b.getZeroAttr(x->elt()));
  Value r = tb.map({x->v, like}, typeOf(*shape, x->elt()),
                   [](ImplicitLocOpBuilder &, ValueRange v) { return v[0]; });
  bind(node, 0, TValue{r, *shape});
  return success();
}

LogicalResult OnnxImporter::translateConstantOfShape(OnnxNodeView &n, const onnx::NodeProto &node,
                                                     ImplicitLocOpBuilder &b) {
  FailureOr<SmallVector<Dim>> target = intsInput(n, node, 0, "shape");
  if (failed(target))
    return failure();
  Type elt = b.getF32Type();
  double value = 0;
  if (const onnx::AttributeProto *a = attr(node, "value")) {
    std::optional<Type> t = elementType(a->t().data_type(), ctx);
    if (!t)
      return failNode(n, "the value has an unsupported type");
    elt = *t;
    const onnx::TensorProto &v = a->t();
    if (v.has_raw_data() && !v.raw_data().empty()) {
      const std::string &raw = v.raw_data();
      if (elt.isF32() && raw.size() >= 4) {
        float f;
        std::memcpy(&f, raw.data(), 4);
        value = f;
      } else if (elt.isInteger(64) && raw.size() >= 8) {
        int64_t i;
        std::memcpy(&i, raw.data(), 8);
        value = double(i);
      } else if (elt.isInteger(32) && raw.size() >= 4) {
        int32_t i;
        std::memcpy(&i, raw.data(), 4);
        value = i;
      } else if (elt.isInteger(1) && !raw.empty()) {
        value = raw[0] != 0;
      } else {
        return failNode(n, "the value's type is not supported here");
      }
    } else if (v.float_data_size()) {
      value = v.float_data(0);
    } else if (v.int64_data_size()) {
      value = double(v.int64_data(0));
    } else if (v.int32_data_size()) {
      value = v.int32_data(0);
    }
  }
  Shape shape(target->begin(), target->end());
  // A short vector of integers is known, as shapes are (exporters build
  // Expand's shape from one).
  if (shape.size() == 1 && shape[0].isStatic() && shape[0].size <= 8 &&
      (elt.isInteger(64) || elt.isInteger(32))) {
    OnnxValue out;
    out.ints = SmallVector<Dim>(size_t(shape[0].size), Dim::of(int64_t(value)));
    out.intsBits = elt.getIntOrFloatBitWidth();
    bind(node, 0, std::move(out));
    return success();
  }
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : shape)
    sizes.push_back(g.symSize(b, anyTensor, d));
  TensorBuilder tb(b);
  TypedAttr fill = isa<FloatType>(elt) ? TypedAttr(b.getFloatAttr(elt, value))
                                       : TypedAttr(b.getIntegerAttr(elt, int64_t(value)));
  bind(node, 0, TValue{tb.filled(sizes, elt, fill), shape});
  return success();
}

LogicalResult OnnxImporter::translateTrilu(OnnxNodeView &n, const onnx::NodeProto &node,
                                           ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  if (x->rank() < 2)
    return failNode(n, "Trilu needs at least two dims");
  int64_t k = 0;
  if (hasInput(node, 1)) {
    FailureOr<SmallVector<Dim>> kv = intsInput(n, node, 1, "k");
    if (failed(kv))
      return failure();
    if (kv->size() != 1 || !kv->front().isStatic())
      return failNode(n, "k must be a constant");
    k = kv->front().size;
  }
  bool upper = intAttr(node, "upper", 1) != 0;
  // Keeps x[..., i, j] where j - i >= k (upper) or j - i <= k (lower).
  TensorBuilder tb(b);
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : x->shape)
    sizes.push_back(g.symSize(b, *x, d));
  Value init = tb.empty(sizes, x->elt());
  int64_t rank = x->rank();
  MLIRContext *c = b.getContext();
  auto id = AffineMap::getMultiDimIdentityMap(unsigned(rank), c);
  SmallVector<utils::IteratorType> par(rank, utils::IteratorType::parallel);
  Value r = linalg::GenericOp::create(
                b, TypeRange{init.getType()}, ValueRange{x->v}, ValueRange{init},
                ArrayRef<AffineMap>{id, id}, par,
                [&](OpBuilder &nb, Location loc, ValueRange args) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value i = linalg::IndexOp::create(ib, uint64_t(rank - 2));
                  Value j = linalg::IndexOp::create(ib, uint64_t(rank - 1));
                  Value diff = arith::SubIOp::create(ib, j, i);
                  Value kk = arith::ConstantIndexOp::create(ib, k);
                  Value keep = arith::CmpIOp::create(
                      ib, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle, diff, kk);
                  Value zero = arith::ConstantOp::create(ib, ib.getZeroAttr(args[0].getType()));
                  linalg::YieldOp::create(ib, Value(arith::SelectOp::create(ib, keep, args[0], zero)));
                })
                .getResult(0);
  bind(node, 0, TValue{r, x->shape});
  return success();
}

LogicalResult OnnxImporter::translateOneHot(OnnxNodeView &n, const onnx::NodeProto &node,
                                            ImplicitLocOpBuilder &b) {
  FailureOr<TValue> indices = tensorInput(n, node, 0, b);
  FailureOr<SmallVector<Dim>> depthV = intsInput(n, node, 1, "depth");
  FailureOr<TValue> values = tensorInput(n, node, 2, b);
  if (failed(indices) || failed(depthV) || failed(values))
    return failure();
  if (depthV->size() != 1 || !depthV->front().isStatic() || depthV->front().size < 1)
    return failNode(n, "depth must be a positive constant");
  if (!isa<IntegerType>(indices->elt()))
    return failNode(n, "indices must be integers");
  if (values->rank() != 1 || !values->shape[0].isStatic() || values->shape[0].size != 2)
    return failNode(n, "values must be [off_value, on_value]");
  int64_t depth = depthV->front().size;
  int64_t rank = indices->rank() + 1;
  int64_t axis = intAttr(node, "axis", -1);
  if (axis < -rank || axis >= rank)
    return failNode(n, llvm::formatv("axis {0} is out of range for a result of rank {1}", axis, rank));
  if (axis < 0)
    axis += rank;
  // out[..., i (at axis), ...] = on if indices[...] (+ depth if negative)
  // is i, else off: an index outside [-depth, depth) gives a row of off.
  TensorBuilder tb(b);
  Shape shape = indices->shape;
  shape.insert(shape.begin() + axis, Dim::of(depth));
  SmallVector<OpFoldResult> sizes;
  for (const Dim &d : shape)
    sizes.push_back(g.symSize(b, *indices, d));
  Type elt = values->elt();
  Value off = tensor::ExtractOp::create(b, values->v, ValueRange{arith::ConstantIndexOp::create(b, 0).getResult()});
  Value on = tensor::ExtractOp::create(b, values->v, ValueRange{arith::ConstantIndexOp::create(b, 1).getResult()});
  Value init = tb.empty(sizes, elt);
  MLIRContext *c = b.getContext();
  SmallVector<AffineExpr> inDims;
  for (int64_t i = 0; i < rank; ++i)
    if (i != axis)
      inDims.push_back(getAffineDimExpr(unsigned(i), c));
  AffineMap inMap = AffineMap::get(unsigned(rank), 0, inDims, c);
  AffineMap outMap = AffineMap::getMultiDimIdentityMap(unsigned(rank), c);
  SmallVector<utils::IteratorType> par(rank, utils::IteratorType::parallel);
  Type idxType = indices->elt();
  Value r = linalg::GenericOp::create(
                b, TypeRange{init.getType()}, ValueRange{indices->v}, ValueRange{init},
                ArrayRef<AffineMap>{inMap, outMap}, par,
                [&](OpBuilder &nb, Location loc, ValueRange args) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value i = arith::IndexCastOp::create(
                      ib, idxType, linalg::IndexOp::create(ib, uint64_t(axis)));
                  Value zero = arith::ConstantOp::create(ib, ib.getIntegerAttr(idxType, 0));
                  Value d = arith::ConstantOp::create(ib, ib.getIntegerAttr(idxType, depth));
                  Value neg = arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, args[0], zero);
                  Value wrapped = arith::SelectOp::create(
                      ib, neg, arith::AddIOp::create(ib, args[0], d), args[0]);
                  Value hit = arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, wrapped, i);
                  linalg::YieldOp::create(ib, Value(arith::SelectOp::create(ib, hit, on, off)));
                })
                .getResult(0);
  bind(node, 0, TValue{r, shape});
  return success();
}

LogicalResult OnnxImporter::translateNonZero(OnnxNodeView &n, const onnx::NodeProto &node,
                                             ImplicitLocOpBuilder &b) {
  FailureOr<TValue> x = tensorInput(n, node, 0, b);
  if (failed(x))
    return failure();
  if (x->rank() == 0)
    return failNode(n, "NonZero of a scalar is not supported");
  // The positions of the set entries of x, flattened (dyn.rt.select: the
  // host program counts them), then unraveled into x's coordinates:
  // out[d, j] = (pos[j] / stride_d) % size_d.
  TensorBuilder tb(b);
  int64_t rank = x->rank();
  Dim numel = productOf(x->shape);
  Value flat = tb.reshape(x->v, {g.symSize(b, *x, numel)}, typeOf({numel}, x->elt()));
  Type elt = x->elt();
  Value mask = tb.map({flat}, typeOf({numel}, b.getI1Type()),
                      [&](ImplicitLocOpBuilder &ib, ValueRange v) -> Value {
                        Value zero = arith::ConstantOp::create(ib, ib.getZeroAttr(elt));
                        if (isa<FloatType>(elt))
                          return arith::CmpFOp::create(ib, arith::CmpFPredicate::UNE, v[0], zero);
                        return arith::CmpIOp::create(ib, arith::CmpIPredicate::ne, v[0], zero);
                      });
  Value pos = dyn::RtSelectOp::create(
      b, RankedTensorType::get({ShapedType::kDynamic}, b.getI32Type()), mask);
  // The count is a size only the run knows: a dim of its own, at most the
  // number of elements.
  std::string sym = "nonzero(" + n.name + ")";
  g.dims[sym] = {0, g.sizeBounds(numel).second};
  g.dimValues[sym] = tensor::DimOp::create(b, pos, 0);
  Dim count = Dim::named(sym);
  SmallVector<Value> sizes, strides(rank);
  for (int64_t d = 0; d < rank; ++d)
    sizes.push_back(tb.sizeValue(x->v, d));
  Value stride = arith::ConstantIndexOp::create(b, 1);
  for (int64_t d = rank - 1; d >= 0; --d) {
    strides[d] = stride;
    stride = arith::MulIOp::create(b, stride, sizes[d]);
  }
  Shape shape{Dim::of(rank), count};
  Value init = tb.empty({b.getIndexAttr(rank), g.symSize(b, anyTensor, count)}, b.getI64Type());
  MLIRContext *c = b.getContext();
  auto posMap = AffineMap::get(2, 0, {getAffineDimExpr(1, c)}, c);
  Value r = linalg::GenericOp::create(
                b, TypeRange{init.getType()}, ValueRange{pos}, ValueRange{init},
                ArrayRef<AffineMap>{posMap, AffineMap::getMultiDimIdentityMap(2, c)},
                ArrayRef<utils::IteratorType>{utils::IteratorType::parallel,
                                              utils::IteratorType::parallel},
                [&](OpBuilder &nb, Location loc, ValueRange args) {
                  ImplicitLocOpBuilder ib(loc, nb);
                  Value d = linalg::IndexOp::create(ib, 0);
                  Value st = strides[rank - 1], sz = sizes[rank - 1];
                  for (int64_t k = rank - 2; k >= 0; --k) {
                    Value isK = arith::CmpIOp::create(ib, arith::CmpIPredicate::eq, d,
                                                      arith::ConstantIndexOp::create(ib, k));
                    st = arith::SelectOp::create(ib, isK, strides[k], st);
                    sz = arith::SelectOp::create(ib, isK, sizes[k], sz);
                  }
                  Value p = arith::IndexCastOp::create(ib, ib.getIndexType(), args[0]);
                  Value coord = arith::RemUIOp::create(ib, arith::DivUIOp::create(ib, p, st), sz);
                  linalg::YieldOp::create(
                      ib, Value(arith::IndexCastOp::create(ib, ib.getI64Type(), coord)));
                })
                .getResult(0);
  bind(node, 0, TValue{r, shape});
  return success();
}

} // namespace dync::import
