//===- MatmulMatch.cpp - recognizing matmuls ------------------------------===//
//
// See MatmulMatch.h.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/Codegen/MatmulMatch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace {

/// Whether `map`'s results are loop dims or the constant 0 (a broadcast).
bool dimsOrZero(AffineMap map) {
  return llvm::all_of(map.getResults(), [](AffineExpr e) {
    if (isa<AffineDimExpr>(e))
      return true;
    auto c = dyn_cast<AffineConstantExpr>(e);
    return c && c.getValue() == 0;
  });
}

std::optional<unsigned> dimAt(AffineMap map, int64_t fromEnd) {
  int64_t i = static_cast<int64_t>(map.getNumResults()) - fromEnd;
  if (i < 0)
    return std::nullopt;
  if (auto d = dyn_cast<AffineDimExpr>(map.getResult(i)))
    return d.getPosition();
  return std::nullopt;
}

} // namespace

/// Whether the innermost dimension of `type` has stride 1.
bool dync::unitInnerStride(MemRefType type) {
  SmallVector<int64_t> strides;
  int64_t offset;
  if (type.getRank() == 0 || failed(type.getStridesAndOffset(strides, offset)))
    return false;
  return strides.back() == 1;
}

/// b's map when b is a weight in panels of P rows (`dyn.weight` with
/// `panel`): (.., n, .., k) -> (n floordiv P, k, n mod P). Returns P, the
/// dims n and k, or nothing.
static std::optional<std::tuple<int64_t, unsigned, unsigned>> panelMap(AffineMap map) {
  if (map.getNumResults() != 3)
    return std::nullopt;
  auto quotient = dyn_cast<AffineBinaryOpExpr>(map.getResult(0));
  auto remainder = dyn_cast<AffineBinaryOpExpr>(map.getResult(2));
  auto k = dyn_cast<AffineDimExpr>(map.getResult(1));
  if (!quotient || !remainder || !k || quotient.getKind() != AffineExprKind::FloorDiv ||
      remainder.getKind() != AffineExprKind::Mod)
    return std::nullopt;
  auto n = dyn_cast<AffineDimExpr>(quotient.getLHS());
  auto p = dyn_cast<AffineConstantExpr>(quotient.getRHS());
  if (!n || !p || p.getValue() < 1 || remainder.getLHS() != n || remainder.getRHS() != p)
    return std::nullopt;
  return std::tuple{p.getValue(), n.getPosition(), k.getPosition()};
}

/// Recognizes out[.., m, n] += a[.., m, k] * b[.., n, k] (or b[.., k, n], or
/// b in panels) with an f32 output, on buffers or on tensors.
std::optional<dync::Matmul> dync::matchMatmul(linalg::GenericOp op) {
  if (!(op.hasPureBufferSemantics() || op.hasPureTensorSemantics()) ||
      op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return std::nullopt;
  // f32 output; f32 inputs, or f16/bf16 ones that the body extends to f32
  // (weights stored in half precision).
  for (Value v : op->getOperands())
    if (!isa<MemRefType, RankedTensorType>(v.getType()))
      return std::nullopt;
  auto elementType = [](Value v) { return cast<ShapedType>(v.getType()).getElementType(); };
  if (!elementType(op.getDpsInits()[0]).isF32())
    return std::nullopt;
  // Body: yield acc + x * y (either order), x and y the inputs' elements,
  // each possibly extended to f32 first.
  Block *body = op.getBody();
  Value acc = body->getArgument(2);
  auto yield = cast<linalg::YieldOp>(body->getTerminator());
  if (yield.getNumOperands() != 1)
    return std::nullopt;
  auto add = yield.getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != body)
    return std::nullopt;
  Value product = add.getLhs() == acc ? add.getRhs() : add.getRhs() == acc ? add.getLhs() : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul || mul->getBlock() != body)
    return std::nullopt;
  // Which input each factor reads, through at most one extf.
  auto inputOf = [&](Value v) -> int {
    if (auto ext = v.getDefiningOp<arith::ExtFOp>())
      v = ext.getIn();
    auto arg = dyn_cast<BlockArgument>(v);
    if (!arg || arg.getOwner() != body || arg.getArgNumber() > 1)
      return -1;
    Type t = arg.getType();
    if (!(t.isF32() || t.isF16() || t.isBF16()))
      return -1;
    return static_cast<int>(arg.getArgNumber());
  };
  int lhs = inputOf(mul.getLhs()), rhs = inputOf(mul.getRhs());
  if (lhs < 0 || rhs < 0 || lhs == rhs || !mul.getType().isF32())
    return std::nullopt;
  // Nothing else in the body: add, mul and at most one extf per input.
  for (Operation &o : body->without_terminator())
    if (&o != add && &o != mul &&
        !(isa<arith::ExtFOp>(o) && o.hasOneUse() && *o.getUsers().begin() == mul))
      return std::nullopt;

  AffineMap aMap = op.getIndexingMapsArray()[0], bMap = op.getIndexingMapsArray()[1],
            oMap = op.getIndexingMapsArray()[2];
  auto panels = panelMap(bMap);
  if (!dimsOrZero(aMap) || !(panels || dimsOrZero(bMap)) || !oMap.isProjectedPermutation())
    return std::nullopt;
  std::optional<unsigned> k = dimAt(aMap, 1), m = dimAt(aMap, 2), oM = dimAt(oMap, 2),
                          oN = dimAt(oMap, 1);
  SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
  // a as [.., k, m]: the outer-product kernel reads a one element at a
  // time, so a's layout is free (blocked attention's pᵀ·v, the
  // probabilities kept with the queries along the vectors).
  bool transposedA = k && iters[*k] != utils::IteratorType::reduction;
  if (transposedA)
    std::swap(k, m);
  // A weight in panels is read as the outer-product kernel reads b[k, n]: the
  // columns n of one k are contiguous (within a panel).
  bool outer = panels || (k && dimAt(bMap, 2) == k);
  std::optional<unsigned> n = panels ? std::get<1>(*panels) : outer ? dimAt(bMap, 1) : dimAt(bMap, 2);
  if (panels && std::get<2>(*panels) != k)
    return std::nullopt;
  if (!k || !m || !n || (!outer && dimAt(bMap, 1) != k) || (transposedA && !outer) || oM != m ||
      oN != n || *m == *n)
    return std::nullopt;
  // The operands read as vectors are contiguous along the vector: a and b
  // along k (dot products); b and out along n (outer products).
  Value vecA = outer ? op.getDpsInits()[0] : op.getDpsInputs()[0];
  for (Value v : {vecA, op.getDpsInputs()[1]})
    if (auto memref = dyn_cast<MemRefType>(v.getType()); memref && !unitInnerStride(memref))
      return std::nullopt;
  Matmul match{op, *m, *n, *k, {}, outer, panels ? std::get<0>(*panels) : 0};
  for (unsigned d = 0; d < op.getNumLoops(); ++d) {
    bool isReduction = iters[d] == utils::IteratorType::reduction;
    if (d == *k ? !isReduction : isReduction)
      return std::nullopt;
    // Batch dims index the output; m and k must not index b, nor n a.
    if (d != *m && d != *n && d != *k) {
      if (!oMap.isFunctionOfDim(d))
        return std::nullopt;
      match.batch.push_back(d);
    }
  }
  auto uses = [](AffineMap map, unsigned d, int64_t count) {
    return llvm::count_if(map.getResults(), [&](AffineExpr e) {
             return e.isFunctionOfDim(d);
           }) == count;
  };
  if (!uses(aMap, *m, 1) || !uses(aMap, *k, 1) || !uses(aMap, *n, 0) ||
      !uses(bMap, *n, panels ? 2 : 1) || !uses(bMap, *k, 1) || !uses(bMap, *m, 0))
    return std::nullopt;
  return match;
}
