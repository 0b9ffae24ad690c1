//===- AttentionByRows.cpp - attention, a GPU thread per query row --------===//
//
// Attention as one loop nest over (batch, head, query row): the form a GPU
// runs as one kernel, a thread per query row, with an online softmax over
// the keys in registers and no S x S scores. Block-sparse attention reads
// its layout inside it, so that the host reads none of it back (the form by
// blocks keeps its loop over query blocks on the host, which reads the
// layout to decide each block's launches).
//
//===----------------------------------------------------------------------===//

#include "DynToLinalgPatterns.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace dync;
using namespace dync::dyn_to_linalg;

namespace {

/// A thread keeps its accumulator in registers: a chunk of at most
/// `kValueChunk` value columns (a row of dv > 64 is split over threads,
/// each recomputing the row's scores; 128 columns in one thread spilled
/// under ptxas -v). The query row (d values) stays in registers too when d
/// + chunk is at most `kQueryInRegisters`, else it is re-read for each key.
/// Measured with ptxas -v for sm_80 and sm_90, block-sparse, blocks of 64:
/// d = dv = 64 (S = 2048), 167-168 registers; d = dv = 96 and 128 (S =
/// 512), 254-255; no spill in any.
constexpr int64_t kValueChunk = 64;
constexpr int64_t kQueryInRegisters = 160;

/// The value columns a thread accumulates: the largest divisor of dv up to
/// `kValueChunk`, or 0 if that is so small (below 16) that the scores would
/// be recomputed for too many chunks.
int64_t valueChunk(int64_t dv) {
  for (int64_t w = std::min(dv, kValueChunk); w >= 16 || w == dv; --w)
    if (dv % w == 0)
      return w;
  return 0;
}

/// The online softmax's state for one query row: the running max `m`, sum
/// `l` and accumulator `acc` (dv scalars), updated key by key. Every value
/// is a scalar, so that nothing is allocated in the thread (the loops over d
/// and dv are unrolled as they are built).
struct RowState {
  Value m, l;
  SmallVector<Value> acc;
};

} // namespace

bool dync::dyn_to_linalg::fitsAttentionByRows(RankedTensorType q, RankedTensorType v) {
  int64_t d = q.getDimSize(3), dv = v.getDimSize(3);
  return q.getElementType().isF32() && v.getElementType().isF32() && !ShapedType::isDynamic(d) &&
         !ShapedType::isDynamic(dv) && valueChunk(dv) != 0;
}

Value dync::dyn_to_linalg::attentionByRows(
    ImplicitLocOpBuilder &b, Value q, Value k, Value v, Value layout, int64_t bs, double scale,
    bool causal, function_ref<void(ImplicitLocOpBuilder &, Value)> entered) {
  auto qt = rankedType(q);
  int64_t d = qt.getDimSize(3), dv = rankedType(v).getDimSize(3);
  int64_t width = valueChunk(dv), chunks = dv / width;
  Type f32 = b.getF32Type();
  MLIRContext *ctx = b.getContext();
  // Products and sums that may contract into FMAs (LLVM emits mul.rn and
  // add.rn otherwise, which ptxas keeps apart; math.fma would become a
  // libdevice call).
  auto contract = arith::FastMathFlagsAttr::get(ctx, arith::FastMathFlags::contract);
  auto mulAdd = [&](ImplicitLocOpBuilder &ib, Value x, Value y, Value acc) {
    Value xy = arith::MulFOp::create(ib, x, y, contract);
    return Value(arith::AddFOp::create(ib, acc, xy, contract));
  };
  auto cst = [&](ImplicitLocOpBuilder &ib, double x) {
    return Value(arith::ConstantOp::create(ib, ib.getFloatAttr(f32, x)));
  };
  double ninf = -std::numeric_limits<double>::infinity();

  TensorBuilder tb(b);
  Value nb = tensor::DimOp::create(b, q, 0), nh = tensor::DimOp::create(b, q, 1);
  Value out0 = tb.empty({tb.size(q, 0), tb.size(q, 1), tb.size(q, 2), b.getIndexAttr(dv)}, f32);
  // One thread per (batch, head, chunk of value columns, query row), the
  // row innermost (neighbouring threads, neighbouring rows): the mapping
  // marks this loop as a kernel's threads (the loops of the form by blocks
  // stay host loops).
  auto dim = [&](gpu::MappingId id) { return gpu::GPUThreadMappingAttr::get(ctx, id); };
  ArrayAttr mapping = b.getArrayAttr({dim(gpu::MappingId::LinearDim3), dim(gpu::MappingId::DimZ),
                                      dim(gpu::MappingId::DimY), dim(gpu::MappingId::DimX)});
  auto forall = scf::ForallOp::create(
      b, SmallVector<OpFoldResult>{nb, nh, b.getIndexAttr(chunks), tb.size(q, 2)}, ValueRange{out0},
      mapping);
  OpBuilder::InsertionGuard guard(b);
  Block *body = forall.getBody();
  Value bi = body->getArgument(0), hi = body->getArgument(1), chunk = body->getArgument(2),
        row = body->getArgument(3);
  b.setInsertionPoint(forall.getTerminator());
  Value col0 = arith::MulIOp::create(b, chunk, constIndex(b, width));
  auto column = [&](ImplicitLocOpBuilder &ib, int64_t c) {
    return Value(arith::AddIOp::create(ib, col0, constIndex(ib, c)));
  };
  // The query row, in registers when it fits beside the accumulator.
  bool queryInRegisters = d + width <= kQueryInRegisters;
  SmallVector<Value> qRow;
  auto qAt = [&](ImplicitLocOpBuilder &ib, int64_t c) {
    if (queryInRegisters)
      return qRow[c];
    return Value(tensor::ExtractOp::create(ib, q, ValueRange{bi, hi, row, constIndex(ib, c)}));
  };
  if (queryInRegisters)
    for (int64_t c = 0; c < d; ++c)
      qRow.push_back(tensor::ExtractOp::create(b, q, ValueRange{bi, hi, row, constIndex(b, c)}));

  SmallVector<Value> init{cst(b, ninf), cst(b, 0.0)};
  for (int64_t c = 0; c < width; ++c)
    init.push_back(cst(b, 0.0));
  auto unpack = [&](ValueRange st) {
    RowState r{st[0], st[1], SmallVector<Value>(st.drop_front(2))};
    return r;
  };
  auto pack = [](const RowState &r) {
    SmallVector<Value> st{r.m, r.l};
    llvm::append_range(st, r.acc);
    return st;
  };

  // One key: s = q·k·scale, then the online softmax's update.
  auto attendKey = [&](ImplicitLocOpBuilder &ib, Value t, RowState r) {
    Value dot = cst(ib, 0.0);
    for (int64_t c = 0; c < d; ++c) {
      Value kc = tensor::ExtractOp::create(ib, k, ValueRange{bi, hi, t, constIndex(ib, c)});
      dot = mulAdd(ib, qAt(ib, c), kc, dot);
    }
    Value sc = arith::MulFOp::create(ib, dot, cst(ib, scale));
    Value mNew = arith::MaximumFOp::create(ib, r.m, sc);
    // The first key: nothing to rescale (exp of -inf is not left to the
    // kernels' polynomial exp).
    Value none = arith::CmpFOp::create(ib, arith::CmpFPredicate::OEQ, r.m, cst(ib, ninf));
    Value alpha = arith::SelectOp::create(
        ib, none, cst(ib, 0.0), math::ExpOp::create(ib, arith::SubFOp::create(ib, r.m, mNew)));
    Value p = math::ExpOp::create(ib, arith::SubFOp::create(ib, sc, mNew));
    RowState next{mNew, mulAdd(ib, r.l, alpha, p), {}};
    for (int64_t c = 0; c < width; ++c) {
      Value vc = tensor::ExtractOp::create(ib, v, ValueRange{bi, hi, t, column(ib, c)});
      Value scaled = arith::MulFOp::create(ib, r.acc[c], alpha, contract);
      next.acc.push_back(mulAdd(ib, p, vc, scaled));
    }
    return next;
  };

  // Causal: keys after this row are masked, so not visited.
  auto causalEnd = [&](ImplicitLocOpBuilder &ib, Value end) {
    if (!causal)
      return end;
    return Value(
        arith::MinUIOp::create(ib, end, arith::AddIOp::create(ib, row, constIndex(ib, 1))));
  };
  auto overKeys = [&](ImplicitLocOpBuilder &ib, Value from, Value to, ValueRange st) {
    return scf::ForOp::create(ib, from, to, constIndex(ib, 1), st,
                              [&](OpBuilder &b3, Location l3, Value t, ValueRange st3) {
                                ImplicitLocOpBuilder i3(l3, b3);
                                scf::YieldOp::create(i3, pack(attendKey(i3, t, unpack(st3))));
                              })
        .getResults();
  };
  SmallVector<Value> finalState;
  if (!layout) {
    // Dense: every key (up to the row, if causal).
    finalState = overKeys(b, constIndex(b, 0), causalEnd(b, tensor::DimOp::create(b, k, 2)), init);
  } else {
    int64_t nk = rankedType(layout).getDimSize(3);
    Value bsV = constIndex(b, bs);
    Value qBlock = arith::DivUIOp::create(b, row, bsV);
    // A kept block is counted by one thread: its first query row's first chunk.
    Value firstOfBlock = arith::AndIOp::create(
        b,
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, arith::RemUIOp::create(b, row, bsV),
                              constIndex(b, 0)),
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, chunk, constIndex(b, 0)));
    auto overBlocks = scf::ForOp::create(
        b, constIndex(b, 0), constIndex(b, nk), constIndex(b, 1), init,
        [&](OpBuilder &b1, Location l1, Value kj, ValueRange st) {
          ImplicitLocOpBuilder i1(l1, b1);
          Value keep = tensor::ExtractOp::create(i1, layout, ValueRange{bi, hi, qBlock, kj});
          auto ifKept = scf::IfOp::create(
              i1, keep,
              [&](OpBuilder &b2, Location l2) {
                ImplicitLocOpBuilder i2(l2, b2);
                Value kStart = arith::MulIOp::create(i2, kj, constIndex(i2, bs));
                Value kEnd = causalEnd(i2, arith::AddIOp::create(i2, kStart, constIndex(i2, bs)));
                // The block is counted once, by the thread of its first
                // query row, when that thread visits its keys.
                Value visits = arith::CmpIOp::create(i2, arith::CmpIPredicate::ult, kStart, kEnd);
                scf::IfOp::create(i2, arith::AndIOp::create(i2, firstOfBlock, visits),
                                  [&](OpBuilder &b3, Location l3) {
                                    ImplicitLocOpBuilder i3(l3, b3);
                                    entered(i3, hi);
                                    scf::YieldOp::create(i3);
                                  });
                scf::YieldOp::create(i2, overKeys(i2, kStart, kEnd, st));
              },
              [&](OpBuilder &b2, Location l2) { scf::YieldOp::create(b2, l2, st); });
          scf::YieldOp::create(i1, ifKept.getResults());
        });
    finalState = overBlocks.getResults();
  }

  // The row's chunk written in place into the output (a slice of the loop's
  // shared output, so that bufferization stores into it directly).
  RowState fin = unpack(finalState);
  Value out = forall.getRegionIterArgs()[0];
  SmallVector<OpFoldResult> off{bi, hi, row, col0};
  SmallVector<OpFoldResult> size{b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1),
                                 b.getIndexAttr(width)};
  SmallVector<OpFoldResult> str(4, b.getIndexAttr(1));
  auto rowType = RankedTensorType::get({width}, f32);
  Value slice = tensor::ExtractSliceOp::create(b, rowType, out, off, size, str);
  for (int64_t c = 0; c < width; ++c)
    slice = tensor::InsertOp::create(b, arith::DivFOp::create(b, fin.acc[c], fin.l), slice,
                                     ValueRange{constIndex(b, c)});
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, slice, out, off, size, str);
  return forall.getResult(0);
}
