//===- ElementLoops.cpp - parallel generics that loop per element ---------===//
//
// The helpers of the forms that decide on the device (MoeOnDevice): a
// parallel generic whose body computes each element with sequential loops
// over captured tensors, so that a GPU gives each element a thread.
//
//===----------------------------------------------------------------------===//

#include "DynToLinalgPatterns.h"

#include "dync/Support/TensorBuilder.h"

using namespace mlir;
using namespace dync;
using namespace dync::dyn_to_linalg;

Value dync::dyn_to_linalg::constI32(ImplicitLocOpBuilder &b, int32_t v) {
  return arith::ConstantOp::create(b, b.getI32IntegerAttr(v));
}

Value dync::dyn_to_linalg::toIndex(ImplicitLocOpBuilder &b, Value v) {
  return arith::IndexCastOp::create(b, b.getIndexType(), v);
}

Value dync::dyn_to_linalg::elementwise(
    ImplicitLocOpBuilder &b, ArrayRef<OpFoldResult> sizes, Type elt,
    function_ref<Value(ImplicitLocOpBuilder &, ArrayRef<Value>)> body) {
  TensorBuilder tb(b);
  Value init = tb.empty(sizes, elt);
  unsigned rank = sizes.size();
  MLIRContext *ctx = b.getContext();
  SmallVector<utils::IteratorType> par(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
             ArrayRef<AffineMap>{AffineMap::getMultiDimIdentityMap(rank, ctx)}, par,
             [&](OpBuilder &nb, Location loc, ValueRange) {
               ImplicitLocOpBuilder ib(loc, nb);
               SmallVector<Value> ivs;
               for (unsigned i = 0; i < rank; ++i)
                 ivs.push_back(linalg::IndexOp::create(ib, i));
               linalg::YieldOp::create(ib, body(ib, ivs));
             })
      .getResult(0);
}

Value dync::dyn_to_linalg::sumOver(ImplicitLocOpBuilder &b, Value lo, Value hi, Value init,
                                   function_ref<Value(ImplicitLocOpBuilder &, Value, Value)> step) {
  auto loop = scf::ForOp::create(b, lo, hi, constIndex(b, 1), ValueRange{init},
                                 [&](OpBuilder &nb, Location loc, Value i, ValueRange acc) {
                                   ImplicitLocOpBuilder ib(loc, nb);
                                   scf::YieldOp::create(ib, step(ib, i, acc[0]));
                                 });
  return loop.getResult(0);
}

Value dync::dyn_to_linalg::addIf(ImplicitLocOpBuilder &b, Value acc, Value cond) {
  return arith::AddIOp::create(b, acc, arith::ExtUIOp::create(b, acc.getType(), cond));
}
