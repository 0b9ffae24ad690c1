//===- PackWeights.cpp - weights in the layout the matmul kernel streams --===//
//
// A Linear layer's weight is stored [N, K] (PyTorch's [out, in]), which the
// dot-product kernel reads row by row, reducing across vector lanes at the
// end of every tile. Packed in panels of 32 rows, [N / 32, K, 32], the
// outer-product kernel streams one contiguous panel per tile instead, with
// no reduction; the runtime packs each such weight once, when it loads the
// model. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Passes/CPU/Passes.h"
#include "dync/Passes/Codegen/MatmulMatch.h"

#include "llvm/ADT/SetVector.h"

namespace dync {
#define GEN_PASS_DEF_DYNPACKWEIGHTS
#include "dync/Passes/CPU/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

/// The weight that `mm` reads as b, if it is one the kernel can stream in
/// panels of `panel` rows: a stored f32 [N, K] matrix (a dot-product match of
/// a rank-2 b reads it at (n, k)), N a multiple of the panel.
dyn::WeightOp packableWeight(dync::Matmul mm, int64_t panel) {
  if (mm.outer || mm.panel)
    return {};
  auto weight = mm.op.getDpsInputs()[1].getDefiningOp<dyn::WeightOp>();
  if (!weight || weight.getPanel())
    return {};
  auto type = cast<RankedTensorType>(weight.getType());
  if (type.getRank() != 2 || !type.getElementType().isF32() || type.getDimSize(0) % panel != 0)
    return {};
  return weight;
}

/// The packed read of `stored` ([.., N, K] as [.., N / panel, K, panel]),
/// one per stored read.
Value packedRead(dyn::WeightOp stored, int64_t panel, DenseMap<Operation *, Value> &packedOf) {
  Value &packed = packedOf[stored];
  if (!packed) {
    auto type = cast<RankedTensorType>(stored.getType());
    SmallVector<int64_t> shape(type.getShape());
    int64_t k = shape.pop_back_val(), n = shape.pop_back_val();
    shape.append({n / panel, k, panel});
    OpBuilder b(stored);
    packed = dyn::WeightOp::create(b, stored.getLoc(),
                                   RankedTensorType::get(shape, type.getElementType()),
                                   stored.getNameAttr(), b.getI64IntegerAttr(panel));
  }
  return packed;
}

/// A MoE layer's expert weight the host loop over experts can read in
/// panels: a stored f32 [E, N, K], N a multiple of the panel.
dyn::WeightOp packableExpertWeight(Value w, int64_t panel) {
  auto weight = w ? w.getDefiningOp<dyn::WeightOp>() : dyn::WeightOp();
  if (!weight || weight.getPanel())
    return {};
  auto type = cast<RankedTensorType>(weight.getType());
  if (type.getRank() != 3 || !type.getElementType().isF32() || type.getDimSize(1) % panel != 0)
    return {};
  return weight;
}

struct PackWeightsPass : dync::impl::DynPackWeightsBase<PackWeightsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (panel < 1) {
      getOperation().emitError("dyn-pack-weights: panel must be positive");
      return signalPassFailure();
    }
    SmallVector<std::pair<dync::Matmul, dyn::WeightOp>> packable;
    getOperation().walk([&](linalg::GenericOp op) {
      if (!op.hasPureTensorSemantics())
        return;
      if (std::optional<dync::Matmul> mm = dync::matchMatmul(op))
        if (dyn::WeightOp w = packableWeight(*mm, panel))
          packable.push_back({*mm, w});
    });
    // One packed read per (function, weight), next to the stored one's.
    DenseMap<Operation *, Value> packedOf;
    llvm::SetVector<Operation *> replaced;
    for (auto &[mm, stored] : packable) {
      Value packed = packedRead(stored, panel, packedOf);
      replaced.insert(stored);
      MLIRContext *ctx = mm.op.getContext();
      AffineExpr n = getAffineDimExpr(mm.n, ctx), k = getAffineDimExpr(mm.k, ctx);
      SmallVector<AffineMap> maps = mm.op.getIndexingMapsArray();
      maps[1] = AffineMap::get(maps[1].getNumDims(), 0, {n.floorDiv(panel), k, n % panel}, ctx);
      mm.op.setIndexingMapsAttr(Builder(ctx).getAffineMapArrayAttr(maps));
      mm.op->setOperand(1, packed);
    }
    // The experts of a MoE layer: all of w1, w2 and w3 in panels, or none.
    getOperation().walk([&](dyn::MoeExpertsOp op) {
      if (op.getPanel())
        return;
      SmallVector<OpOperand *> weights{&op.getW1Mutable(), &op.getW2Mutable()};
      if (!op.getW3Mutable().empty())
        weights.push_back(&op.getW3Mutable()[0]);
      if (!llvm::all_of(weights,
                        [&](OpOperand *w) { return packableExpertWeight(w->get(), panel); }))
        return;
      for (OpOperand *w : weights) {
        auto stored = w->get().getDefiningOp<dyn::WeightOp>();
        w->set(packedRead(stored, panel, packedOf));
        replaced.insert(stored);
      }
      op.setPanel(panel);
    });
    for (Operation *stored : replaced)
      if (stored->use_empty())
        stored->erase();
  }
};

} // namespace
