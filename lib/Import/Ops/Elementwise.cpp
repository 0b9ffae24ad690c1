//===- Elementwise.cpp - elementwise ops, comparisons, where, cast ----------===//

#include "Builder/GraphBuilder.h"

#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>

using namespace mlir;

namespace dync::import {

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

FailureOr<SmallVector<TValue>> GraphBuilder::emitElementwise(NodeView &n,
                                                         ImplicitLocOpBuilder &b) {
  TensorBuilder tb(b);
  StringRef op = n.op;
  const TValue &x = n.inputs[0];

  if (op == "cast") {
    FailureOr<Type> to = n.dtypeAttr("dtype");
    if (failed(to))
      return failure();
    return SmallVector<TValue>{TValue{tb.convert(x.v, *to), x.shape}};
  }

  if (op == "logical_not") {
    if (!x.elt().isInteger(1))
      return failNode(n, "input must be bool, got " + dtypeName(x.elt()));
    Value r = tb.map(x.v, x.type(), [](ImplicitLocOpBuilder &ib, ValueRange a) {
      Value t = arith::ConstantOp::create(ib, ib.getBoolAttr(true));
      return Value(arith::XOrIOp::create(ib, a[0], t));
    });
    return SmallVector<TValue>{TValue{r, x.shape}};
  }

  if (n.inputs.size() == 1) {
    if (failed(expectFloat(n, x, "input")))
      return failure();
    bool tanhApprox = false;
    if (op == "gelu") {
      FailureOr<std::string> approx =
          stringAttr(n, "approximate", {"none", "tanh"}, StringRef("none"));
      if (failed(approx))
        return failure();
      tanhApprox = *approx == "tanh";
    }
    std::string act = op == "gelu" && tanhApprox ? "gelu_tanh" : op.str();
    Value r = tb.map(x.v, x.type(), [&](ImplicitLocOpBuilder &ib, ValueRange a) {
      return buildActivation(ib, act, a[0]);
    });
    return SmallVector<TValue>{TValue{r, x.shape}};
  }

  SmallVector<const Shape *> shapes;
  for (const TValue &in : n.inputs)
    shapes.push_back(&in.shape);
  FailureOr<Shape> shape = broadcast(n, shapes);
  if (failed(shape))
    return failure();

  if (op == "where") {
    const TValue &c = n.inputs[0], &a = n.inputs[1], &e = n.inputs[2];
    if (!c.elt().isInteger(1))
      return failNode(n, "the condition (input 0) must be bool, got " + dtypeName(c.elt()));
    Type elt = promote(a.elt(), e.elt());
    Value av = tb.convert(a.v, elt), ev = tb.convert(e.v, elt);
    Value r = tb.map({c.v, av, ev}, typeOf(*shape, elt),
                     [](ImplicitLocOpBuilder &ib, ValueRange s) {
                       return Value(arith::SelectOp::create(ib, s[0], s[1], s[2]));
                     });
    return SmallVector<TValue>{TValue{r, *shape}};
  }

  const TValue &y = n.inputs[1];
  Type elt = promote(x.elt(), y.elt());
  // PyTorch's true division: integers divide as floats; so does pow here.
  if ((op == "div" || op == "pow") && !isa<FloatType>(elt))
    elt = b.getF32Type();
  if ((op == "add" || op == "sub" || op == "mul") && elt.isInteger(1))
    return failNode(n, "arithmetic on bool tensors is not supported; cast first");
  Value xv = tb.convert(x.v, elt), yv = tb.convert(y.v, elt);
  bool isFloat = isa<FloatType>(elt);
  bool compare = op == "greater" || op == "less" || op == "equal";
  Type outElt = compare ? b.getI1Type() : elt;
  Value r = tb.map({xv, yv}, typeOf(*shape, outElt),
                   [&](ImplicitLocOpBuilder &ib, ValueRange s) -> Value {
                     Value l = s[0], rr = s[1];
                     if (op == "add")
                       return isFloat ? Value(arith::AddFOp::create(ib, l, rr))
                                      : Value(arith::AddIOp::create(ib, l, rr));
                     if (op == "sub")
                       return isFloat ? Value(arith::SubFOp::create(ib, l, rr))
                                      : Value(arith::SubIOp::create(ib, l, rr));
                     if (op == "mul")
                       return isFloat ? Value(arith::MulFOp::create(ib, l, rr))
                                      : Value(arith::MulIOp::create(ib, l, rr));
                     if (op == "div")
                       return arith::DivFOp::create(ib, l, rr);
                     if (op == "pow")
                       return math::PowFOp::create(ib, l, rr);
                     if (isFloat) {
                       auto pred = op == "greater" ? arith::CmpFPredicate::OGT
                                   : op == "less"  ? arith::CmpFPredicate::OLT
                                                   : arith::CmpFPredicate::OEQ;
                       return arith::CmpFOp::create(ib, pred, l, rr);
                     }
                     auto pred = op == "greater" ? arith::CmpIPredicate::sgt
                                 : op == "less"  ? arith::CmpIPredicate::slt
                                                 : arith::CmpIPredicate::eq;
                     return arith::CmpIOp::create(ib, pred, l, rr);
                   });
  return SmallVector<TValue>{TValue{r, *shape}};
}

} // namespace dync::import
