//===- OutlineGemms.cpp - plain matmuls as runtime GEMM calls -------------===//
//
// Two-dimensional f32 matmuls as calls to @dync_gemm (cuBLAS on a GPU). See
// the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "dync/Passes/CUDA/Passes.h"
#include "dync/Passes/Codegen/MatmulMatch.h"

namespace dync {
#define GEN_PASS_DEF_DYNOUTLINEGEMMS
#include "dync/Passes/CUDA/Passes.h.inc"
} // namespace dync

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kGemm = "dync_gemm";

/// Whether `op`'s operands are plain f32 row-major matrices in the order
/// a[m, k], b[n, k] or b[k, n], out[m, n].
bool isPlainGemm(const dync::Matmul &mm) {
  linalg::GenericOp op = mm.op;
  if (!mm.batch.empty() || op.getNumLoops() != 3)
    return false;
  for (Value v : op->getOperands()) {
    auto t = cast<MemRefType>(v.getType());
    if (t.getRank() != 2 || !t.getElementType().isF32() || !dync::unitInnerStride(t))
      return false;
  }
  MLIRContext *ctx = op.getContext();
  auto map = [&](unsigned i, unsigned j) {
    return AffineMap::get(3, 0, {getAffineDimExpr(i, ctx), getAffineDimExpr(j, ctx)}, ctx);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  return maps[0] == map(mm.m, mm.k) && maps[1] == (mm.outer ? map(mm.k, mm.n) : map(mm.n, mm.k)) &&
         maps[2] == map(mm.m, mm.n);
}

struct DynOutlineGemmsPass : dync::impl::DynOutlineGemmsBase<DynOutlineGemmsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    SmallVector<dync::Matmul> gemms;
    module.walk([&](linalg::GenericOp op) {
      if (!op.hasPureBufferSemantics())
        return;
      if (std::optional<dync::Matmul> mm = dync::matchMatmul(op); mm && isPlainGemm(*mm))
        gemms.push_back(*mm);
    });
    if (gemms.empty())
      return;
    // memref<?x?xf32, strided<[?, 1], offset: ?>>: any of the operands.
    int64_t dyn = ShapedType::kDynamic;
    auto matrix = MemRefType::get({dyn, dyn}, Float32Type::get(ctx),
                                  StridedLayoutAttr::get(ctx, dyn, {dyn, 1}));
    auto flag = IntegerType::get(ctx, 32);
    auto fnType = FunctionType::get(ctx, {matrix, matrix, matrix, flag}, {});
    auto decl = module.lookupSymbol<func::FuncOp>(kGemm);
    if (!decl) {
      OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
      decl = func::FuncOp::create(b, module.getLoc(), kGemm, fnType);
      decl.setPrivate();
      decl->setAttr("llvm.emit_c_interface", UnitAttr::get(ctx));
    }
    for (dync::Matmul &mm : gemms) {
      OpBuilder b(mm.op);
      Location loc = mm.op.getLoc();
      auto cast = [&](Value v) { return memref::CastOp::create(b, loc, matrix, v).getResult(); };
      Value a = cast(mm.op.getDpsInputs()[0]), bm = cast(mm.op.getDpsInputs()[1]),
            c = cast(mm.op.getDpsInits()[0]);
      Value outer = arith::ConstantIntOp::create(b, loc, flag, mm.outer ? 1 : 0);
      func::CallOp::create(b, loc, decl, ValueRange{a, bm, c, outer});
      mm.op.erase();
    }
  }
};

} // namespace
