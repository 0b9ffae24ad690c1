//===- DynFolds.cpp - dyn dialect canonicalizations -----------------------===//
//
// Canonicalizations remove dynamism that the constants of a program make
// moot. Every rewrite here gives bit-identical results, NaN inputs included:
// a rule whose proof needs "scores are never NaN" is not a canonicalization
// (for example "a threshold of -inf makes every gate run" is not applied,
// since a NaN score never passes).
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Dialect/Dyn/DynUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace mlir::dyn;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Inlines the single block of `region` before `op`, feeding it `inputs` (cast
/// to the block's argument types where they differ, e.g. a static batch into
/// a region that sees a dynamic live batch). Returns the yielded values cast
/// to `resultTypes`.
static SmallVector<Value> inlineRegion(PatternRewriter &rewriter, Operation *op,
                                       Region &region, ValueRange inputs,
                                       TypeRange resultTypes) {
  Location loc = op->getLoc();
  Block &block = region.front();
  SmallVector<Value> args;
  for (auto [input, arg] : llvm::zip_equal(inputs, block.getArguments())) {
    Value v = input;
    if (v.getType() != arg.getType())
      v = tensor::CastOp::create(rewriter, loc, arg.getType(), v);
    args.push_back(v);
  }
  auto yield = cast<YieldOp>(block.getTerminator());
  rewriter.inlineBlockBefore(&block, op, args);
  // Read the yielded values only now: inlining replaced uses of the block
  // arguments, which a region may yield directly.
  SmallVector<Value> yielded(yield.getValues());
  rewriter.eraseOp(yield);

  SmallVector<Value> results;
  for (auto [v, type] : llvm::zip_equal(yielded, resultTypes)) {
    if (v.getType() != type)
      v = tensor::CastOp::create(rewriter, loc, type, v);
    results.push_back(v);
  }
  return results;
}

/// The constant value of a scalar float, if it is one.
static std::optional<APFloat> constantFloat(Value v) {
  FloatAttr attr;
  if (matchPattern(v, m_Constant(&attr)))
    return attr.getValue();
  return std::nullopt;
}

//===----------------------------------------------------------------------===//
// MoE: a capacity that can never be reached
//===----------------------------------------------------------------------===//

namespace {
/// An expert receives at most T assignments (a token picks distinct experts),
/// and its capacity is ceil(c·(T·k)/E) >= T whenever c·k >= E. Such a capacity
/// never drops anything: the op is dropless.
template <typename OpTy>
struct DropUnreachableCapacity : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;

  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    std::optional<APFloat> capacity = op.getCapacityFactor();
    if (!capacity)
      return failure();
    int64_t k = topK(op), e = numExperts(op);
    if (ShapedType::isDynamic(k) || ShapedType::isDynamic(e))
      return failure();
    if (capacity->convertToDouble() * static_cast<double>(k) <
        static_cast<double>(e))
      return failure();
    rewriter.modifyOpInPlace(op, [&] { op.removeCapacityFactorAttr(); });
    return success();
  }

  static int64_t topK(MoeOp op) { return op.getTopK(); }
  static int64_t topK(MoeDispatchOp op) {
    return op.getIndices().getType().getDimSize(1);
  }
  static int64_t numExperts(MoeOp op) { return op.getNumExperts(); }
  static int64_t numExperts(MoeDispatchOp op) { return op.getNumExperts(); }
};
} // namespace

namespace {
/// With top_k = E and no capacity (neither a factor nor a fixed one), every
/// expert computes every token: the counts are T for each expert, whatever
/// the routing.
struct FoldAllExpertsCounts : OpRewritePattern<MoeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoeOp op,
                                PatternRewriter &rewriter) const override {
    Value counts = op.getExpertCounts();
    if (!counts || counts.use_empty() || op.getCapacityFactor() || op.getCapacity() ||
        static_cast<int64_t>(op.getTopK()) != op.getNumExperts())
      return failure();
    Location loc = op.getLoc();
    // T is the product of all input dims but the model dim.
    auto inputType = op.getInput().getType();
    Value tokens = arith::ConstantIndexOp::create(rewriter, loc, 1);
    for (int64_t i = 0; i + 1 < inputType.getRank(); ++i) {
      Value dim = tensor::DimOp::create(rewriter, loc, op.getInput(), i);
      tokens = arith::MulIOp::create(rewriter, loc, tokens, dim);
    }
    Value tokens32 = arith::IndexCastOp::create(
        rewriter, loc, rewriter.getI32Type(), tokens);
    Value splat = tensor::SplatOp::create(
        rewriter, loc, cast<RankedTensorType>(counts.getType()), tokens32,
        ValueRange{});
    rewriter.replaceAllUsesWith(counts, splat);
    return success();
  }
};

/// Counting assignments per expert is work; do not do it when nobody reads it.
struct DropUnusedCounts : OpRewritePattern<MoeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(MoeOp op,
                                PatternRewriter &rewriter) const override {
    Value counts = op.getExpertCounts();
    if (!counts || !counts.use_empty())
      return failure();
    auto newOp = MoeOp::create(rewriter, op.getLoc(),
                               TypeRange{op.getResult().getType()},
                               op->getOperands(), op->getAttrs());
    rewriter.replaceAllUsesWith(op.getResult(), newOp.getResult());
    rewriter.eraseOp(op);
    return success();
  }
};
} // namespace

void MoeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                        MLIRContext *context) {
  results.add<DropUnreachableCapacity<MoeOp>, FoldAllExpertsCounts,
              DropUnusedCounts>(context);
}

void MoeDispatchOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                MLIRContext *context) {
  results.add<DropUnreachableCapacity<MoeDispatchOp>>(context);
}

//===----------------------------------------------------------------------===//
// Gate: decided at compile time
//===----------------------------------------------------------------------===//

namespace {
/// A gate whose decision is known for every sample: a threshold of +inf or
/// NaN (no score passes), or constant scores that all pass or all fail. The
/// mask, if used, is rebuilt as `score > threshold`, which is its definition.
struct FoldDecidedGate : OpRewritePattern<GateOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(GateOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<APFloat> threshold = constantFloat(op.getThreshold());
    if (!threshold)
      return failure();
    std::optional<bool> runs = decide(op, *threshold);
    if (!runs)
      return failure();
    // Running the body on every token needs the token dims merged and split
    // again; leave that to the general lowering.
    if (*runs && op.isPerToken())
      return failure();

    Location loc = op.getLoc();
    SmallVector<Value> replacements;
    if (*runs)
      replacements = inlineRegion(rewriter, op, op.getBody(), op.getInput(),
                                  op.getResult().getType());
    else
      replacements.push_back(op.getInput());
    if (Value mask = op.getMask()) {
      Value splat = splatLike(rewriter, loc, op.getThreshold(), op.getScore());
      Value cmp = arith::CmpFOp::create(rewriter, loc, arith::CmpFPredicate::OGT,
                                        op.getScore(), splat);
      replacements.push_back(cmp);
    }
    rewriter.replaceOp(op, replacements);
    return success();
  }

  /// True if every sample runs the body, false if none does, nullopt if it
  /// depends on data.
  static std::optional<bool> decide(GateOp op, const APFloat &threshold) {
    if (threshold.isNaN() || (threshold.isInfinity() && !threshold.isNegative()))
      return false;
    DenseFPElementsAttr scores;
    if (!matchPattern(op.getScore(), m_Constant(&scores)) || scores.empty())
      return std::nullopt;
    bool any = false, all = true;
    for (APFloat s : scores.getValues<APFloat>()) {
      bool passes = s.compare(threshold) == APFloat::cmpGreaterThan;
      any |= passes;
      all &= passes;
    }
    if (all)
      return true;
    if (!any)
      return false;
    return std::nullopt;
  }
};
} // namespace

void GateOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<FoldDecidedGate>(context);
}

//===----------------------------------------------------------------------===//
// Cond: constant predicate
//===----------------------------------------------------------------------===//

namespace {
/// A scalar predicate that is constant, or a per-sample predicate that is the
/// same constant for every sample, selects one region for everything.
struct FoldConstantCond : OpRewritePattern<CondOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(CondOp op,
                                PatternRewriter &rewriter) const override {
    Attribute attr;
    if (!matchPattern(op.getPredicate(), m_Constant(&attr)))
      return failure();
    std::optional<bool> taken;
    if (auto b = dyn_cast<BoolAttr>(attr))
      taken = b.getValue();
    else if (auto i = dyn_cast<IntegerAttr>(attr))
      taken = !i.getValue().isZero();
    else if (auto splat = dyn_cast<SplatElementsAttr>(attr))
      taken = splat.getSplatValue<bool>();
    if (!taken)
      return failure();
    Region &region = *taken ? op.getThenRegion() : op.getElseRegion();
    rewriter.replaceOp(op, inlineRegion(rewriter, op, region, op.getInputs(),
                                        op.getResultTypes()));
    return success();
  }
};
} // namespace

void CondOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                         MLIRContext *context) {
  results.add<FoldConstantCond>(context);
}

//===----------------------------------------------------------------------===//
// Early exit: every sample exits at the last stage
//===----------------------------------------------------------------------===//

namespace {
/// With one stage, or a threshold above the largest confidence the criterion
/// can produce (or NaN), every sample runs to the last stage: the op becomes
/// the stages chained one after the other and the last head.
struct FoldFullDepthEarlyExit : OpRewritePattern<EarlyExitOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(EarlyExitOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getStages().size() != 1 && !neverExitsEarly(op))
      return failure();

    Location loc = op.getLoc();
    Value hidden = op.getInput();
    Value logits;
    for (Region &stage : op.getStages()) {
      // Between stages the hidden state keeps the live (dynamic) type that
      // every stage takes; only the op's input needs a cast.
      auto yield = cast<YieldOp>(stage.front().getTerminator());
      SmallVector<Type> types(yield.getValues().getTypes());
      SmallVector<Value> outs = inlineRegion(rewriter, op, stage, hidden, types);
      hidden = outs[0];
      logits = outs[1];
    }
    if (logits.getType() != op.getLogits().getType())
      logits = tensor::CastOp::create(rewriter, loc, op.getLogits().getType(),
                                      logits);

    auto indexType = op.getExitIndex().getType();
    Value last = arith::ConstantOp::create(
        rewriter, loc,
        rewriter.getI32IntegerAttr(static_cast<int32_t>(op.getStages().size()) - 1));
    SmallVector<Value> dynSizes;
    if (indexType.isDynamicDim(0))
      dynSizes.push_back(tensor::DimOp::create(rewriter, loc, op.getInput(), 0));
    Value index = tensor::SplatOp::create(rewriter, loc, indexType, last, dynSizes);
    rewriter.replaceOp(op, {logits, index});
    return success();
  }

  static bool neverExitsEarly(EarlyExitOp op) {
    std::optional<APFloat> threshold = constantFloat(op.getThreshold());
    if (!threshold)
      return false;
    if (threshold->isNaN())
      return true;
    // The largest confidence each criterion can produce: a probability, or
    // minus an entropy.
    double maxConfidence =
        op.getCriterion() == ExitCriterion::entropy ? 0.0 : 1.0;
    return threshold->convertToDouble() > maxConfidence;
  }
};
} // namespace

void EarlyExitOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<FoldFullDepthEarlyExit>(context);
}

//===----------------------------------------------------------------------===//
// Block-sparse attention on a dense layout
//===----------------------------------------------------------------------===//

namespace {
/// A layout that keeps every candidate block is dense (or causal-dense): the
/// attention is ordinary attention. A causal layout is only dense for causal
/// attention.
struct DenseLayoutToAttention : OpRewritePattern<BsaAttentionOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(BsaAttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto select = op.getLayout().getDefiningOp<BsaSelectOp>();
    if (!select || !select.keepsAllCandidates())
      return failure();
    if (select.getCausal() && !op.getCausal())
      return failure();
    rewriter.replaceOpWithNewOp<AttentionOp>(
        op, op.getResult().getType(), op.getQuery(), op.getKey(),
        op.getValue(), op.getCausalAttr(), op.getScaleAttr());
    return success();
  }
};
} // namespace

void BsaAttentionOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                 MLIRContext *context) {
  results.add<DenseLayoutToAttention>(context);
}
