//===- DynOps.cpp - dyn dialect verifiers ---------------------------------===//
//
// Verifiers say what is wrong in the user's terms: which operand, which
// dimension, what was expected and why. Dimensions that are dynamic on either
// side are accepted; they are checked again at run time.
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Dialect/Dyn/DynUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::dyn;

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

static constexpr int64_t kDyn = ShapedType::kDynamic;

static bool dimsAgree(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static std::optional<double> toDouble(std::optional<APFloat> value) {
  if (!value)
    return std::nullopt;
  return value->convertToDouble();
}

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<ShapedType>(v.getType()).getShape();
}

static int64_t dimOf(Value v, unsigned i) {
  return cast<ShapedType>(v.getType()).getDimSize(i);
}

/// Checks that `actual` has the rank of `expected` and agrees with it on every
/// dimension known on both sides. `legend` names the dimensions for the user,
/// e.g. "[E, h, d]".
static LogicalResult checkShape(Operation *op, StringRef what,
                                ArrayRef<int64_t> actual,
                                ArrayRef<int64_t> expected, StringRef legend) {
  bool ok = actual.size() == expected.size() &&
            llvm::all_of(llvm::zip_equal(actual, expected), [](auto p) {
              return dimsAgree(std::get<0>(p), std::get<1>(p));
            });
  if (ok)
    return success();
  return op->emitOpError() << what << " has shape " << formatShape(actual)
                           << ", expected " << formatShape(expected) << " "
                           << legend;
}

static LogicalResult checkShape(Operation *op, StringRef what, Value v,
                                ArrayRef<int64_t> expected, StringRef legend) {
  if (!v)
    return success();
  return checkShape(op, what, shapeOf(v), expected, legend);
}

//===----------------------------------------------------------------------===//
// WeightOp, ParamDefOp, ParamReadOp
//===----------------------------------------------------------------------===//

LogicalResult WeightOp::verify() {
  if (getName().empty())
    return emitOpError("weight name must not be empty");
  if (std::optional<int64_t> panel = getPanel()) {
    auto type = cast<RankedTensorType>(getType());
    if (*panel < 1 || type.getRank() < 3 || type.getRank() > 4 ||
        type.getShape().back() != *panel)
      return emitOpError() << "a weight in panels of " << *panel
                           << " is [N / panel, K, panel] or [E, N / panel, K, panel], got "
                           << type;
  }
  return success();
}

LogicalResult ParamDefOp::verify() {
  Type type = getType();
  if (!type.isF32() && !type.isSignlessInteger(32))
    return emitOpError() << "runtime parameter '" << getSymName()
                         << "' must be f32 or i32, got " << type;
  return success();
}

LogicalResult
ParamReadOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto def =
      symbolTable.lookupNearestSymbolFrom<ParamDefOp>(*this, getParamAttr());
  if (!def)
    return emitOpError() << "'" << getParamAttr()
                         << "' does not name a runtime parameter "
                            "(no dyn.param.def with that name)";
  if (def.getType() != getType())
    return emitOpError() << "reads runtime parameter '" << getParamAttr()
                         << "' of type " << def.getType() << " as "
                         << getType();
  return success();
}

//===----------------------------------------------------------------------===//
// MoE ops
//===----------------------------------------------------------------------===//

static LogicalResult verifyTopK(Operation *op, int64_t topK,
                                int64_t numExperts) {
  if (!ShapedType::isDynamic(numExperts) && topK > numExperts)
    return op->emitOpError() << "top_k = " << topK
                             << " exceeds the number of experts ("
                             << numExperts << ")";
  return success();
}

static LogicalResult verifyCapacity(Operation *op,
                                    std::optional<double> capacity,
                                    std::optional<uint64_t> fixed) {
  if (capacity && !(*capacity > 0.0))
    return op->emitOpError() << "capacity_factor must be positive, got "
                             << *capacity;
  if (capacity && fixed)
    return op->emitOpError("takes 'capacity_factor' or 'capacity', not both");
  return success();
}

/// Checks the expert weights shared by `dyn.moe` and `dyn.moe.experts`.
static LogicalResult verifyExpertWeights(Operation *op, int64_t e, int64_t d,
                                         Value w1, Value w2, Value w3, Value b1,
                                         Value b2) {
  int64_t h = dimOf(w1, 1);
  if (failed(checkShape(op, "'w1'", w1, {e, h, d}, "[E, h, d]")) ||
      failed(checkShape(op, "'w2'", w2, {e, d, h}, "[E, d, h]")) ||
      failed(checkShape(op, "'w3'", w3, {e, h, d}, "[E, h, d]")) ||
      failed(checkShape(op, "'b1'", b1, {e, h}, "[E, h]")) ||
      failed(checkShape(op, "'b2'", b2, {e, d}, "[E, d]")))
    return failure();
  return success();
}

LogicalResult MoeOp::verify() {
  auto inputType = getInput().getType();
  if (inputType.getRank() < 1)
    return emitOpError("input must have at least one dimension (the model "
                       "dimension d)");
  int64_t d = inputType.getShape().back();
  int64_t e = getNumExperts();
  if (failed(checkShape(*this, "'router'", getRouter(), {e, d}, "[E, d]")) ||
      failed(checkShape(*this, "'router_bias'", getRouterBias(), {e}, "[E]")) ||
      failed(verifyExpertWeights(*this, e, d, getW1(), getW2(), getW3(),
                                 getB1(), getB2())) ||
      failed(verifyTopK(*this, getTopK(), e)) ||
      failed(verifyCapacity(*this, toDouble(getCapacityFactor()), getCapacity())))
    return failure();

  // Shared expert: both projections or neither, and gated like the experts.
  bool shared = getSharedW1() || getSharedW2();
  if (shared && !(getSharedW1() && getSharedW2()))
    return emitOpError("'shared_w1' and 'shared_w2' must be given together");
  if (!shared && (getSharedW3() || getSharedB1() || getSharedB2()))
    return emitOpError("shared expert weights given without 'shared_w1' and "
                       "'shared_w2'");
  if (shared && isGated() && !getSharedW3())
    return emitOpError("the experts are gated ('w3' given) but the shared "
                       "expert has no 'shared_w3'");
  if (getSharedW3() && !isGated())
    return emitOpError("'shared_w3' given but the experts are not gated (no "
                       "'w3')");
  if (shared) {
    int64_t hs = dimOf(getSharedW1(), 0);
    if (failed(checkShape(*this, "'shared_w1'", getSharedW1(), {hs, d},
                          "[hs, d]")) ||
        failed(checkShape(*this, "'shared_w2'", getSharedW2(), {d, hs},
                          "[d, hs]")) ||
        failed(checkShape(*this, "'shared_w3'", getSharedW3(), {hs, d},
                          "[hs, d]")) ||
        failed(checkShape(*this, "'shared_b1'", getSharedB1(), {hs}, "[hs]")) ||
        failed(checkShape(*this, "'shared_b2'", getSharedB2(), {d}, "[d]")))
      return failure();
  }

  if (getResult().getType() != inputType)
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal the input type " << inputType;
  if (failed(checkShape(*this, "'expert_counts'", getExpertCounts(), {e},
                        "[E]")))
    return failure();
  return success();
}

LogicalResult MoeRouteOp::verify() {
  int64_t t = dimOf(getLogits(), 0);
  int64_t e = dimOf(getLogits(), 1);
  int64_t k = getTopK();
  if (failed(verifyTopK(*this, k, e)) ||
      failed(checkShape(*this, "'weights'", getWeights(), {t, k}, "[T, k]")) ||
      failed(checkShape(*this, "'indices'", getIndices(), {t, k}, "[T, k]")))
    return failure();
  return success();
}

LogicalResult MoeDispatchOp::verify() {
  int64_t t = dimOf(getInput(), 0);
  int64_t d = dimOf(getInput(), 1);
  int64_t k = dimOf(getIndices(), 1);
  int64_t e = getNumExperts();
  int64_t rows = ShapedType::isDynamic(t) || ShapedType::isDynamic(k)
                     ? kDyn
                     : t * k;
  if (failed(checkShape(*this, "'indices'", getIndices(), {t, k}, "[T, k]")) ||
      failed(verifyTopK(*this, k, e)) ||
      failed(verifyCapacity(*this, toDouble(getCapacityFactor()), getCapacity())) ||
      failed(checkShape(*this, "'rows'", getRows(), {rows, d}, "[T*k, d]")) ||
      failed(checkShape(*this, "'offsets'", getOffsets(), {e + 1}, "[E+1]")) ||
      failed(checkShape(*this, "'slots'", getSlots(), {t, k}, "[T, k]")))
    return failure();
  if (getRows().getType().getElementType() !=
      getInput().getType().getElementType())
    return emitOpError("'rows' must have the element type of the input");
  return success();
}

LogicalResult MoeExpertsOp::verify() {
  int64_t e = dimOf(getW1(), 0);
  int64_t d = dimOf(getRows(), 1);
  if (failed(checkShape(*this, "'offsets'", getOffsets(),
                        {ShapedType::isDynamic(e) ? kDyn : e + 1}, "[E+1]")))
    return failure();
  if (std::optional<int64_t> panel = getPanel()) {
    // Weights in panels of P rows (dyn-pack-weights).
    int64_t p = *panel, hp = dimOf(getW1(), 1);
    if (p < 1 || (!ShapedType::isDynamic(d) && d % p != 0))
      return emitOpError() << "panel " << p << " must be positive and divide d = " << d;
    int64_t h = ShapedType::isDynamic(hp) ? kDyn : hp * p;
    int64_t dp = ShapedType::isDynamic(d) ? kDyn : d / p;
    if (failed(checkShape(*this, "'w1'", getW1(), {e, hp, d, p}, "[E, h / panel, d, panel]")) ||
        failed(checkShape(*this, "'w2'", getW2(), {e, dp, h, p}, "[E, d / panel, h, panel]")) ||
        failed(checkShape(*this, "'w3'", getW3(), {e, hp, d, p}, "[E, h / panel, d, panel]")) ||
        failed(checkShape(*this, "'b1'", getB1(), {e, h}, "[E, h]")) ||
        failed(checkShape(*this, "'b2'", getB2(), {e, d}, "[E, d]")))
      return failure();
  } else if (failed(verifyExpertWeights(*this, e, d, getW1(), getW2(), getW3(), getB1(),
                                        getB2()))) {
    return failure();
  }
  if (getResult().getType() != getRows().getType())
    return emitOpError() << "result type " << getResult().getType()
                         << " must equal the type of 'rows' "
                         << getRows().getType();
  return success();
}

LogicalResult MoeCombineOp::verify() {
  int64_t t = dimOf(getSlots(), 0);
  int64_t k = dimOf(getSlots(), 1);
  int64_t d = dimOf(getExpertRows(), 1);
  if (failed(checkShape(*this, "'weights'", getWeights(), {t, k}, "[T, k]")) ||
      failed(checkShape(*this, "result", getResult(), {t, d}, "[T, d]")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// Region ops
//===----------------------------------------------------------------------===//

static std::string formatTypes(TypeRange types) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << '(';
  llvm::interleaveComma(types, os, [&](Type t) { os << '\'' << t << '\''; });
  os << ')';
  return s;
}

/// Checks that `region` takes exactly `args` and yields exactly `yields`.
static LogicalResult checkRegionSignature(Operation *op, Region &region,
                                          StringRef name, TypeRange args,
                                          TypeRange yields) {
  if (region.empty())
    return op->emitOpError() << name << " must have a block";
  Block &block = region.front();
  if (block.getArgumentTypes() != args)
    return op->emitOpError()
           << name << " must take " << formatTypes(args) << ", but takes "
           << formatTypes(block.getArgumentTypes());
  auto yield = block.empty() ? YieldOp() : dyn_cast<YieldOp>(block.back());
  if (!yield)
    return op->emitOpError() << name << " must end with dyn.yield";
  if (yield.getValues().getTypes() != yields)
    return op->emitOpError()
           << name << " must yield " << formatTypes(yields) << ", but yields "
           << formatTypes(yield.getValues().getTypes());
  return success();
}

RankedTensorType GateOp::getLiveType() {
  auto inputType = cast<RankedTensorType>(getInput().getType());
  unsigned gated = isPerToken() ? 2 : 1;
  return RankedTensorType::get(liveShape(inputType.getShape(), gated),
                               inputType.getElementType());
}

LogicalResult GateOp::verifyRegions() {
  auto inputType = cast<RankedTensorType>(getInput().getType());
  auto scoreType = cast<RankedTensorType>(getScore().getType());
  int64_t rank = scoreType.getRank();
  if (rank != 1 && rank != 2)
    return emitOpError() << "score must have shape [B] (per sample) or "
                            "[B, S] (per token), got rank "
                         << rank;
  if (inputType.getRank() < rank)
    return emitOpError() << "input of rank " << inputType.getRank()
                         << " cannot be gated by a score of rank " << rank;
  if (failed(checkShape(*this, "score", scoreType.getShape(),
                        inputType.getShape().take_front(rank),
                        rank == 1 ? "[B] (the input's batch)"
                                  : "[B, S] (the input's leading dims)")))
    return failure();
  if (Value mask = getMask())
    if (failed(checkShape(*this, "mask", mask, scoreType.getShape(),
                          "(the score's shape)")))
      return failure();
  RankedTensorType live = getLiveType();
  return checkRegionSignature(*this, getBody(), "body", live, live);
}

LogicalResult CondOp::verify() {
  TypeRange inputs = getInputs().getTypes();
  if (!isPerSample()) {
    if (failed(checkRegionSignature(*this, getThenRegion(), "'then' region",
                                    inputs, getResultTypes())) ||
        failed(checkRegionSignature(*this, getElseRegion(), "'else' region",
                                    inputs, getResultTypes())))
      return failure();
    return success();
  }

  // Per sample: every operand and result is batched along its first dim, and
  // the regions see (and return) only the samples that take them.
  int64_t batch = dimOf(getPredicate(), 0);
  SmallVector<Type> liveInputs, liveResults;
  for (auto [i, type] : llvm::enumerate(inputs)) {
    auto ranked = dyn_cast<RankedTensorType>(type);
    if (!ranked || ranked.getRank() == 0 ||
        !dimsAgree(ranked.getDimSize(0), batch))
      return emitOpError() << "with a per-sample predicate of shape "
                           << formatShape({batch}) << ", operand #" << i
                           << " must be a tensor with leading dimension "
                           << formatShape({batch}) << ", got " << type;
    liveInputs.push_back(RankedTensorType::get(liveShape(ranked.getShape(), 1),
                                               ranked.getElementType()));
  }
  for (auto [i, type] : llvm::enumerate(getResultTypes())) {
    auto ranked = dyn_cast<RankedTensorType>(type);
    if (!ranked || ranked.getRank() == 0 ||
        !dimsAgree(ranked.getDimSize(0), batch))
      return emitOpError() << "with a per-sample predicate of shape "
                           << formatShape({batch}) << ", result #" << i
                           << " must be a tensor with leading dimension "
                           << formatShape({batch}) << ", got " << type;
    liveResults.push_back(RankedTensorType::get(
        liveShape(ranked.getShape(), 1), ranked.getElementType()));
  }
  if (failed(checkRegionSignature(*this, getThenRegion(), "'then' region",
                                  liveInputs, liveResults)) ||
      failed(checkRegionSignature(*this, getElseRegion(), "'else' region",
                                  liveInputs, liveResults)))
    return failure();
  return success();
}

LogicalResult EarlyExitOp::verifyRegions() {
  auto inputType = cast<RankedTensorType>(getInput().getType());
  if (inputType.getRank() < 1)
    return emitOpError("input must have a leading batch dimension");
  if (getStages().empty())
    return emitOpError("needs at least one stage");
  int64_t batch = inputType.getDimSize(0);
  auto logitsType = getLogits().getType();
  if (failed(checkShape(*this, "'logits'", getLogits(),
                        {batch, logitsType.getDimSize(1)}, "[B, C]")) ||
      failed(checkShape(*this, "'exit_index'", getExitIndex(), {batch},
                        "[B]")))
    return failure();

  // Stage 0 takes the live rows of the input; each later stage takes the
  // hidden state the previous one yields, which may have another shape (CNN
  // stages that downsample). Only the leading dim, the live batch, is shared.
  Type h = RankedTensorType::get(liveShape(inputType.getShape(), 1),
                                 inputType.getElementType());
  auto liveLogits =
      RankedTensorType::get({kDyn, logitsType.getDimSize(1)},
                            logitsType.getElementType());
  for (auto [i, stage] : llvm::enumerate(getStages())) {
    std::string name = "stage " + std::to_string(i);
    auto yield = dyn_cast<YieldOp>(stage.front().getTerminator());
    Type next = yield && !yield.getValues().empty() ? yield.getValues()[0].getType() : h;
    auto nextTensor = dyn_cast<RankedTensorType>(next);
    if (!nextTensor || nextTensor.getRank() < 1 || !nextTensor.isDynamicDim(0))
      return emitOpError() << name
                           << " must yield a hidden state with the live batch "
                              "(a dynamic leading dim) first, got "
                           << next;
    SmallVector<Type> yields{next, liveLogits};
    if (getCriterion() == ExitCriterion::gate)
      yields.push_back(RankedTensorType::get({kDyn}, Float32Type::get(getContext())));
    if (failed(checkRegionSignature(*this, stage, name, h, yields)))
      return failure();
    h = next;
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Attention ops
//===----------------------------------------------------------------------===//

/// Checks q `[B, H, Sq, D]`, k `[B, H, Sk, D]` and, when given, v
/// `[B, H, Sk, Dv]` and the result `[B, H, Sq, Dv]`.
static LogicalResult verifyQKV(Operation *op, Value q, Value k, Value v,
                               Value result) {
  ArrayRef<int64_t> qs = shapeOf(q);
  int64_t b = qs[0], h = qs[1], sq = qs[2], d = qs[3];
  int64_t sk = dimOf(k, 2);
  if (failed(checkShape(op, "'key'", k, {b, h, sk, d}, "[B, H, S, D]")))
    return failure();
  if (v) {
    int64_t dv = dimOf(v, 3);
    if (failed(checkShape(op, "'value'", v, {b, h, sk, dv}, "[B, H, S, D]")) ||
        failed(checkShape(op, "result", result, {b, h, sq, dv},
                          "[B, H, S, D]")))
      return failure();
  }
  return success();
}

static LogicalResult verifyScale(Operation *op, std::optional<double> scale) {
  if (scale && !std::isfinite(*scale))
    return op->emitOpError() << "scale must be finite, got " << *scale;
  return success();
}

/// Checks that `blockSize` divides both sequence lengths and, for causal
/// attention, that queries and keys have the same length.
static LogicalResult verifyBlocking(Operation *op, Value q, Value k,
                                    int64_t blockSize, bool causal) {
  int64_t sq = dimOf(q, 2), sk = dimOf(k, 2);
  if (!ShapedType::isDynamic(sq) && sq % blockSize != 0)
    return op->emitOpError() << "block_size " << blockSize
                             << " does not divide the query length " << sq;
  if (!ShapedType::isDynamic(sk) && sk % blockSize != 0)
    return op->emitOpError() << "block_size " << blockSize
                             << " does not divide the key length " << sk;
  if (causal && !dimsAgree(sq, sk))
    return op->emitOpError() << "causal attention needs equal query and key "
                                "lengths, got "
                             << sq << " and " << sk;
  return success();
}

static SmallVector<int64_t> layoutShape(Value q, Value k, int64_t blockSize) {
  auto blocks = [&](int64_t s) {
    return ShapedType::isDynamic(s) ? kDyn : s / blockSize;
  };
  return {dimOf(q, 0), dimOf(q, 1), blocks(dimOf(q, 2)), blocks(dimOf(k, 2))};
}

LogicalResult AttentionOp::verify() {
  if (failed(verifyQKV(*this, getQuery(), getKey(), getValue(), getResult())) ||
      failed(verifyScale(*this, toDouble(getScale()))))
    return failure();
  if (getCausal() && !dimsAgree(dimOf(getQuery(), 2), dimOf(getKey(), 2)))
    return emitOpError("causal attention needs equal query and key lengths");
  return success();
}

LogicalResult BsaSelectOp::verify() {
  if (failed(verifyQKV(*this, getQuery(), getKey(), {}, {})) ||
      failed(verifyScale(*this, toDouble(getScale()))) ||
      failed(verifyBlocking(*this, getQuery(), getKey(), getBlockSize(),
                            getCausal())) ||
      failed(checkShape(*this, "layout", getLayout(),
                        layoutShape(getQuery(), getKey(), getBlockSize()),
                        "[B, H, Sq/block_size, Sk/block_size]")))
    return failure();

  BlockSelection kind = getSelection();
  StringRef kindName = stringifyBlockSelection(kind);
  auto requireIff = [&](bool present, bool wanted,
                        StringRef what) -> LogicalResult {
    if (present == wanted)
      return success();
    if (wanted)
      return emitOpError() << "selection '" << kindName << "' needs " << what;
    return emitOpError() << what << " is not used by selection '" << kindName
                         << "'";
  };
  if (failed(requireIff(static_cast<bool>(getBudget()),
                        kind == BlockSelection::topk, "a 'budget' operand")) ||
      failed(requireIff(static_cast<bool>(getThreshold()),
                        kind == BlockSelection::threshold,
                        "a 'threshold' operand")) ||
      failed(requireIff(getWindow().has_value(),
                        kind == BlockSelection::static_local,
                        "a 'window' attribute")))
    return failure();
  if (getGlobal() && kind != BlockSelection::static_local)
    return emitOpError() << "'global' is not used by selection '" << kindName
                         << "'";
  return success();
}

bool BsaSelectOp::keepsAllCandidates() {
  int64_t nq = getLayout().getType().getDimSize(2);
  int64_t nk = getLayout().getType().getDimSize(3);
  if (ShapedType::isDynamic(nq) || ShapedType::isDynamic(nk))
    return false;
  switch (getSelection()) {
  case BlockSelection::static_local:
    // |i - j| <= window for every pair, or every key block is global.
    return static_cast<int64_t>(*getWindow()) >= std::max(nq, nk) - 1 ||
           static_cast<int64_t>(getGlobal().value_or(0)) >= nk;
  case BlockSelection::topk: {
    APInt budget;
    return matchPattern(getBudget(), m_ConstantInt(&budget)) &&
           budget.getSExtValue() >= nk;
  }
  case BlockSelection::threshold:
    // Even a threshold of 0 can drop blocks whose scores are NaN.
    return false;
  }
  llvm_unreachable("unknown block selection");
}

LogicalResult BsaAttentionOp::verify() {
  if (failed(verifyQKV(*this, getQuery(), getKey(), getValue(), getResult())) ||
      failed(verifyScale(*this, toDouble(getScale()))) ||
      failed(verifyBlocking(*this, getQuery(), getKey(), getBlockSize(),
                            getCausal())) ||
      failed(checkShape(*this, "'layout'", getLayout(),
                        layoutShape(getQuery(), getKey(), getBlockSize()),
                        "[B, H, Sq/block_size, Sk/block_size]")))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// TopKOp, ScatterAddOp
//===----------------------------------------------------------------------===//

LogicalResult TopKOp::verify() {
  auto inputType = getInput().getType();
  int64_t rank = inputType.getRank();
  int64_t axis = getAxis();
  if (axis >= rank)
    return emitOpError() << "axis " << axis << " is out of range for rank "
                         << rank;
  int64_t k = getK();
  int64_t size = inputType.getDimSize(axis);
  if (!ShapedType::isDynamic(size) && k > size)
    return emitOpError() << "k = " << k << " exceeds the size " << size
                         << " of axis " << axis;
  SmallVector<int64_t> expected(inputType.getShape());
  expected[axis] = k;
  if (failed(checkShape(*this, "'values'", getValues(), expected,
                        "(the input with k along the axis)")) ||
      failed(checkShape(*this, "'indices'", getIndices(), expected,
                        "(the input with k along the axis)")))
    return failure();
  if (getValues().getType().getElementType() != inputType.getElementType())
    return emitOpError("'values' must have the element type of the input");
  return success();
}

LogicalResult ScatterAddOp::verify() {
  auto dataType = getData().getType();
  int64_t rank = dataType.getRank();
  int64_t axis = getAxis();
  if (axis >= rank)
    return emitOpError() << "axis " << axis << " is out of range for rank "
                         << rank;
  SmallVector<int64_t> expected(dataType.getShape());
  expected[axis] = dimOf(getIndices(), 0);
  if (failed(checkShape(*this, "'updates'", getUpdates(), expected,
                        "(the data with len(indices) along the axis)")))
    return failure();
  if (getUpdates().getType().getElementType() != dataType.getElementType())
    return emitOpError("'updates' must have the element type of the data");
  return success();
}

//===----------------------------------------------------------------------===//
// Runtime entry points
//===----------------------------------------------------------------------===//

LogicalResult RtIotaOp::verify() {
  auto like = getLike().getType();
  if (like.getRank() < 1)
    return emitOpError("needs a batched operand (rank >= 1)");
  return checkShape(*this, "result", getResult(), {like.getDimSize(0)},
                    "(the batch of the operand)");
}

LogicalResult RtSelectOp::verify() {
  int64_t n = dimOf(getMask(), 0), r = dimOf(getResult(), 0);
  if (!ShapedType::isDynamic(n) && !ShapedType::isDynamic(r) && r > n)
    return emitOpError() << "result of size " << r
                         << " cannot hold more positions than the mask has ("
                         << n << ")";
  return success();
}

/// Rows ops: same element type and the same dims after the batch dim.
static LogicalResult checkRows(Operation *op, StringRef what, Value rows,
                               Value batch) {
  auto r = cast<RankedTensorType>(rows.getType());
  auto b = cast<RankedTensorType>(batch.getType());
  if (r.getRank() < 1 || r.getRank() != b.getRank() ||
      r.getElementType() != b.getElementType())
    return op->emitOpError() << what << " " << r
                             << " must have the rank and element type of " << b;
  SmallVector<int64_t> expected(b.getShape());
  expected[0] = r.getDimSize(0);
  return checkShape(op, what, r.getShape(), expected,
                    "(rows of the batch)");
}

LogicalResult RtGatherRowsOp::verify() {
  if (failed(checkRows(*this, "result", getResult(), getSource())))
    return failure();
  if (!dimsAgree(dimOf(getResult(), 0), dimOf(getIndices(), 0)))
    return emitOpError("result must have one row per index");
  return success();
}

LogicalResult RtScatterRowsOp::verify() {
  if (failed(checkRows(*this, "'rows'", getRows(), getDest())))
    return failure();
  if (!dimsAgree(dimOf(getRows(), 0), dimOf(getIndices(), 0)))
    return emitOpError("'rows' must have one row per index");
  return success();
}

LogicalResult RtCountOp::verify() {
  if (getName().empty())
    return emitOpError("statistic name must not be empty");
  auto t = dyn_cast<RankedTensorType>(getValue().getType());
  if (t && t.isDynamicDim(0))
    return emitOpError("a tensor of counts needs a static size (one statistic per entry)");
  if (static_cast<bool>(getSlot()) != getSlots().has_value())
    return emitOpError("'at' and 'slots' go together: a slot chosen at run time "
                       "needs the size of its family");
  if (getSlot() && t)
    return emitOpError("'at' counts an index value, not a tensor of counts");
  return success();
}

#define GET_OP_CLASSES
#include "dync/Dialect/Dyn/DynOps.cpp.inc"
