//===- DynUtils.cpp - small helpers every layer of dync uses --------------===//

#include "dync/Dialect/Dyn/DynUtils.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

RankedTensorType dyn::rankedType(Value v) { return cast<RankedTensorType>(v.getType()); }

Value dyn::castTo(OpBuilder &b, Location loc, Value v, Type type) {
  if (v.getType() == type)
    return v;
  return tensor::CastOp::create(b, loc, type, v);
}

Value dyn::splatLike(OpBuilder &b, Location loc, Value value, Value like) {
  auto type = rankedType(like).clone(value.getType());
  SmallVector<Value> sizes;
  for (int64_t i = 0; i < type.getRank(); ++i)
    if (type.isDynamicDim(i))
      sizes.push_back(tensor::DimOp::create(b, loc, like, i));
  return tensor::SplatOp::create(b, loc, type, value, sizes);
}

SmallVector<int64_t> dyn::liveShape(ArrayRef<int64_t> shape, unsigned n) {
  SmallVector<int64_t> result{ShapedType::kDynamic};
  llvm::append_range(result, shape.drop_front(n));
  return result;
}

RankedTensorType dyn::liveType(RankedTensorType type, unsigned n) {
  return type.clone(liveShape(type.getShape(), n));
}

std::string dyn::formatShape(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << '[';
  llvm::interleaveComma(shape, os, [&](int64_t d) {
    if (ShapedType::isDynamic(d))
      os << '?';
    else
      os << d;
  });
  os << ']';
  return s;
}
