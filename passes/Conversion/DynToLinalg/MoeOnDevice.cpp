//===- MoeOnDevice.cpp - MoE dispatch and experts with no host decision ---===//
//
// The CUDA target's forms of dyn.moe.dispatch and dyn.moe.experts: every
// decision (which slot an assignment gets, which rows an expert owns) is
// computed element by element in parallel loops, so that a GPU runs them as
// kernels and the host reads nothing back. The CPU's forms (MoeToLinalg)
// decide on the host: a sequential grant loop, then a loop over experts
// that launches each one's matmuls on its rows.
//
// Each output element is computed by one thread: the assignments are cut
// into chunks of kAssignmentChunk in grant order, each (chunk, expert)
// counts its assignments, and a rank is the count of the chunks before plus
// a count within its chunk, so no thread loops over more than a chunk and
// the chunks (O(64 + T·k/64) per thread). The experts' matmuls read each
// row's expert and skip the rows no expert owns, so their work is the kept
// rows'.
//
//===----------------------------------------------------------------------===//

#include "DynToLinalgPatterns.h"

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Support/TensorBuilder.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

using namespace mlir;
using namespace dync;
using namespace dync::dyn_to_linalg;

namespace {

/// The assignments a rank counts through at most (plus one per chunk).
constexpr int64_t kAssignmentChunk = 64;

/// The expert that owns row `r32` (i32) of a dispatch with `offsets` [E+1]:
/// #{i in 1..E-1 : offsets[i] <= r}, or -1 at or past offsets[E].
Value expertOfRow(ImplicitLocOpBuilder &b, Value offsets, int64_t e, Value r32) {
  Value ex =
      sumOver(b, constIndex(b, 1), constIndex(b, e), constI32(b, 0),
              [&](ImplicitLocOpBuilder &q, Value i, Value acc) {
                Value o = tensor::ExtractOp::create(q, offsets, ValueRange{i});
                return addIf(q, acc, arith::CmpIOp::create(q, arith::CmpIPredicate::sle, o, r32));
              });
  Value total = tensor::ExtractOp::create(b, offsets, ValueRange{constIndex(b, e)});
  Value owned = arith::CmpIOp::create(b, arith::CmpIPredicate::slt, r32, total);
  return arith::SelectOp::create(b, owned, ex, constI32(b, -1));
}

/// For row `r` of an expert's matmul: `body(ex)` at the row's expert `ex`
/// (an index), or `zero` for a row no expert owns (rowExpert[r] = -1),
/// which is then not computed.
Value ifOwned(ImplicitLocOpBuilder &b, Value rowExpert, Value r, Value zero,
              function_ref<Value(ImplicitLocOpBuilder &, Value)> body) {
  Value ex32 = tensor::ExtractOp::create(b, rowExpert, ValueRange{r});
  Value owned = arith::CmpIOp::create(b, arith::CmpIPredicate::sge, ex32, constI32(b, 0));
  auto branch = scf::IfOp::create(
      b, owned,
      [&](OpBuilder &nb, Location loc) {
        ImplicitLocOpBuilder q(loc, nb);
        scf::YieldOp::create(q, body(q, toIndex(q, ex32)));
      },
      [&](OpBuilder &nb, Location loc) { scf::YieldOp::create(nb, loc, zero); });
  return branch.getResult(0);
}

} // namespace

bool dync::dyn_to_linalg::fitsMoeOnDevice(dyn::MoeExpertsOp op) {
  auto f32 = [](Value v) { return !v || rankedType(v).getElementType().isF32(); };
  auto w1 = rankedType(op.getW1());
  // Weights in panels are the CPU's layout: the host loop over experts reads them.
  return !op.getPanel() && f32(op.getRows()) && f32(op.getW1()) && f32(op.getW2()) && f32(op.getW3()) &&
         f32(op.getB1()) && f32(op.getB2()) && w1.hasStaticShape() &&
         rankedType(op.getW2()).hasStaticShape();
}

SmallVector<Value> dync::dyn_to_linalg::dispatchOnDevice(ImplicitLocOpBuilder &b, Value x,
                                                         Value idx, int64_t e, Value cap) {
  TensorBuilder tb(b);
  Type i32 = b.getI32Type();
  int64_t k = rankedType(idx).getDimSize(1), d = rankedType(x).getDimSize(1);
  Value t = tensor::DimOp::create(b, x, 0);
  Value kv = constIndex(b, k);
  Value n = arith::MulIOp::create(b, t, kv);
  Value zero = constIndex(b, 0);
  Value cap32 = arith::IndexCastOp::create(b, i32, cap);
  // The expert of (token, choice), as i32 whatever the indices' type.
  auto expertOf = [&](ImplicitLocOpBuilder &ib, Value tok, Value j) {
    return TensorBuilder(ib).convertScalar(
        tensor::ExtractOp::create(ib, idx, ValueRange{tok, j}), i32);
  };
  // Assignment p is (token p mod T, choice p / T): the grant order, all
  // first choices in token order, then all second choices...
  auto expertAt = [&](ImplicitLocOpBuilder &ib, Value p) {
    Value tok = arith::RemUIOp::create(ib, p, t), j = arith::DivUIOp::create(ib, p, t);
    return expertOf(ib, tok, j);
  };
  // Per chunk of kAssignmentChunk assignments (in grant order) and expert,
  // the assignments to the expert in the chunks before it: a rank then
  // counts only within its own chunk.
  Value chunk = constIndex(b, kAssignmentChunk);
  Value nChunks = arith::DivUIOp::create(
      b, arith::AddIOp::create(b, n, constIndex(b, kAssignmentChunk - 1)), chunk);
  OpFoldResult experts = b.getIndexAttr(e);
  // Σ_{p in [lo, hi)} [expert of p == ex].
  auto countIn = [&](ImplicitLocOpBuilder &ib, Value lo, Value hi, Value ex) {
    return sumOver(ib, lo, hi, constI32(ib, 0), [&](ImplicitLocOpBuilder &q, Value p, Value c) {
      return addIf(q, c, arith::CmpIOp::create(q, arith::CmpIPredicate::eq, expertAt(q, p), ex));
    });
  };
  auto chunkStart = [&](ImplicitLocOpBuilder &ib, Value c) {
    return Value(arith::MulIOp::create(ib, c, chunk));
  };
  auto chunkEnd = [&](ImplicitLocOpBuilder &ib, Value c) {
    Value next = arith::AddIOp::create(ib, c, constIndex(ib, 1));
    return Value(arith::MinUIOp::create(ib, chunkStart(ib, next), n));
  };
  Value inChunk =
      elementwise(b, {nChunks, experts}, i32, [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        return countIn(ib, chunkStart(ib, iv[0]), chunkEnd(ib, iv[0]),
                       arith::IndexCastOp::create(ib, i32, iv[1]));
      });
  Value chunksPlus = arith::AddIOp::create(b, nChunks, constIndex(b, 1));
  Value before =
      elementwise(b, {chunksPlus, experts}, i32, [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        return sumOver(ib, zero, iv[0], constI32(ib, 0),
                       [&](ImplicitLocOpBuilder &q, Value c, Value acc) {
                         return Value(arith::AddIOp::create(
                             q, acc, tensor::ExtractOp::create(q, inChunk, ValueRange{c, iv[1]})));
                       });
      });
  // The rank of an assignment among its expert's, in grant order: its place
  // in the expert's queue. It is kept if that place is within the capacity
  // (an expert fills up in grant order, so the dropped ones come last).
  Value local = elementwise(
      b, {tb.size(idx, 0), b.getIndexAttr(k)}, i32,
      [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        Value ex = expertOf(ib, iv[0], iv[1]);
        Value mine = arith::AddIOp::create(ib, arith::MulIOp::create(ib, iv[1], t), iv[0]);
        Value c = arith::DivUIOp::create(ib, mine, chunk);
        Value base = tensor::ExtractOp::create(ib, before, ValueRange{c, toIndex(ib, ex)});
        Value rank = arith::AddIOp::create(ib, base, countIn(ib, chunkStart(ib, c), mine, ex));
        Value kept = arith::CmpIOp::create(ib, arith::CmpIPredicate::slt, rank, cap32);
        return Value(arith::SelectOp::create(ib, kept, rank, constI32(ib, -1)));
      });
  // Each expert's kept assignments, min(assignments to it, capacity), then
  // offsets[i] = Σ_{e < i} of those.
  Value counts =
      elementwise(b, {b.getIndexAttr(e)}, i32, [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        Value all = tensor::ExtractOp::create(ib, before, ValueRange{nChunks, iv[0]});
        return Value(arith::MinSIOp::create(ib, all, cap32));
      });
  Value offsets = elementwise(
      b, {b.getIndexAttr(e + 1)}, i32, [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        return sumOver(ib, zero, iv[0], constI32(ib, 0),
                       [&](ImplicitLocOpBuilder &q, Value ei, Value acc) {
                         return Value(arith::AddIOp::create(
                             q, acc, tensor::ExtractOp::create(q, counts, ValueRange{ei})));
                       });
      });
  Value slots = elementwise(
      b, {tb.size(idx, 0), b.getIndexAttr(k)}, i32,
      [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        Value l = tensor::ExtractOp::create(ib, local, iv);
        Value ex = toIndex(ib, expertOf(ib, iv[0], iv[1]));
        Value slot =
            arith::AddIOp::create(ib, tensor::ExtractOp::create(ib, offsets, ValueRange{ex}), l);
        Value kept = arith::CmpIOp::create(ib, arith::CmpIPredicate::sge, l, constI32(ib, 0));
        return Value(arith::SelectOp::create(ib, kept, slot, constI32(ib, -1)));
      });
  // The token of each row: row r is the (r - offsets[e])-th kept assignment
  // of its expert e, found by counting in grant order. Rows past offsets[E]
  // have none (-1).
  Value rowToken = elementwise(b, {n}, i32, [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
    Value r32 = arith::IndexCastOp::create(ib, i32, iv[0]);
    Value ex = expertOfRow(ib, offsets, e, r32);
    Value owned = arith::CmpIOp::create(ib, arith::CmpIPredicate::sge, ex, constI32(ib, 0));
    auto ifOwned = scf::IfOp::create(
        ib, owned,
        [&](OpBuilder &nb, Location loc) {
          ImplicitLocOpBuilder q(loc, nb);
          Value want = arith::SubIOp::create(
              q, r32, tensor::ExtractOp::create(q, offsets, ValueRange{toIndex(q, ex)}));
          // Its chunk: the last one with fewer of ex's assignments before
          // it than `want` + 1; then the assignment of that rank in it.
          Value exI = toIndex(q, ex);
          Value c = toIndex(
              q,
              sumOver(q, constIndex(q, 1), nChunks, constI32(q, 0),
                      [&](ImplicitLocOpBuilder &s, Value ci, Value acc) {
                        Value bc = tensor::ExtractOp::create(s, before, ValueRange{ci, exI});
                        return addIf(s, acc,
                                     arith::CmpIOp::create(s, arith::CmpIPredicate::sle, bc, want));
                      }));
          Value wantIn = arith::SubIOp::create(
              q, want, tensor::ExtractOp::create(q, before, ValueRange{c, exI}));
          auto search = scf::ForOp::create(
              q, chunkStart(q, c), chunkEnd(q, c), constIndex(q, 1),
              ValueRange{constI32(q, 0), constI32(q, -1)},
              [&](OpBuilder &nb2, Location l2, Value p, ValueRange st) {
                ImplicitLocOpBuilder s(l2, nb2);
                Value same = arith::CmpIOp::create(s, arith::CmpIPredicate::eq, expertAt(s, p), ex);
                Value hit = arith::AndIOp::create(
                    s, same, arith::CmpIOp::create(s, arith::CmpIPredicate::eq, st[0], wantIn));
                Value tok = arith::IndexCastOp::create(s, i32, arith::RemUIOp::create(s, p, t));
                Value found = arith::SelectOp::create(s, hit, tok, st[1]);
                scf::YieldOp::create(s, ValueRange{addIf(s, st[0], same), found});
              });
          scf::YieldOp::create(q, search.getResult(1));
        },
        [&](OpBuilder &nb, Location loc) {
          ImplicitLocOpBuilder q(loc, nb);
          scf::YieldOp::create(q, constI32(q, -1));
        });
    return ifOwned.getResult(0);
  });
  Type elt = rankedType(x).getElementType();
  Value rows = elementwise(
      b, {n, b.getIndexAttr(d)}, elt, [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        Value tok = tensor::ExtractOp::create(ib, rowToken, ValueRange{iv[0]});
        Value owned = arith::CmpIOp::create(ib, arith::CmpIPredicate::sge, tok, constI32(ib, 0));
        Value safe = toIndex(ib, arith::MaxSIOp::create(ib, tok, constI32(ib, 0)));
        Value v = tensor::ExtractOp::create(ib, x, ValueRange{safe, iv[1]});
        return Value(arith::SelectOp::create(
            ib, owned, v, arith::ConstantOp::create(ib, cast<TypedAttr>(ib.getZeroAttr(elt)))));
      });
  return {rows, offsets, slots};
}

Value dync::dyn_to_linalg::expertsOnDevice(ImplicitLocOpBuilder &b, dyn::MoeExpertsOp op,
                                           Value rows, Value offsets, Value w1, Value w2, Value w3,
                                           Value b1, Value b2, StringRef counter) {
  TensorBuilder tb(b);
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type(), i32 = b.getI32Type();
  int64_t e = rankedType(w1).getDimSize(0), h = rankedType(w1).getDimSize(1);
  int64_t d = rankedType(w2).getDimSize(1), din = rankedType(rows).getDimSize(1);
  Value zero = constIndex(b, 0);
  auto contract = arith::FastMathFlagsAttr::get(ctx, arith::FastMathFlags::contract);
  auto dot = [&](ImplicitLocOpBuilder &ib, Value len, Value init,
                 function_ref<std::pair<Value, Value>(ImplicitLocOpBuilder &, Value)> operands) {
    return sumOver(ib, zero, len, init, [&](ImplicitLocOpBuilder &q, Value i, Value acc) {
      auto [x, y] = operands(q, i);
      return Value(
          arith::AddFOp::create(q, acc, arith::MulFOp::create(q, x, y, contract), contract));
    });
  };
  // The expert of each row (-1 past offsets[E]).
  Value rowExpert =
      elementwise(b, {tb.size(rows, 0)}, i32, [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        return expertOfRow(ib, offsets, e, arith::IndexCastOp::create(ib, i32, iv[0]));
      });
  Value dinV = constIndex(b, din), hV = constIndex(b, h);
  Value fzero = arith::ConstantOp::create(b, b.getFloatAttr(f32, 0.0));

  // The hidden layer, a thread per (row, unit), as a loop mapped to GPU
  // threads: rows no expert owns are skipped, and a row is counted for its
  // expert by its unit-0 thread, in the branch that computes it.
  Value hid0 = tb.empty({tb.size(rows, 0), b.getIndexAttr(h)}, f32);
  auto dim = [&](gpu::MappingId id) { return gpu::GPUThreadMappingAttr::get(ctx, id); };
  auto forall = scf::ForallOp::create(
      b, SmallVector<OpFoldResult>{tb.size(rows, 0), b.getIndexAttr(h)}, ValueRange{hid0},
      b.getArrayAttr({dim(gpu::MappingId::DimY), dim(gpu::MappingId::DimX)}));
  {
    OpBuilder::InsertionGuard guard(b);
    Block *body = forall.getBody();
    Value r = body->getArgument(0), j = body->getArgument(1);
    b.setInsertionPoint(forall.getTerminator());
    Value hj = ifOwned(b, rowExpert, r, fzero, [&](ImplicitLocOpBuilder &q, Value ex) {
      Value first = arith::CmpIOp::create(q, arith::CmpIPredicate::eq, j, constIndex(q, 0));
      scf::IfOp::create(q, first, [&](OpBuilder &nb2, Location l2) {
        ImplicitLocOpBuilder c(l2, nb2);
        dyn::RtCountOp::create(c, constIndex(c, 1), ex, c.getStringAttr(counter),
                               c.getI64IntegerAttr(e));
        scf::YieldOp::create(c);
      });
      auto rowDot = [&](Value w) {
        return dot(q, dinV, fzero, [&](ImplicitLocOpBuilder &s, Value kk) {
          return std::make_pair(Value(tensor::ExtractOp::create(s, rows, ValueRange{r, kk})),
                                Value(tensor::ExtractOp::create(s, w, ValueRange{ex, j, kk})));
        });
      };
      Value a = rowDot(w1);
      if (b1)
        a = arith::AddFOp::create(q, a, tensor::ExtractOp::create(q, b1, ValueRange{ex, j}));
      a = buildActivation(q, dyn::stringifyActivation(op.getActivation()), a);
      if (w3)
        a = arith::MulFOp::create(q, a, rowDot(w3));
      return a;
    });
    Value out = forall.getRegionIterArgs()[0];
    SmallVector<OpFoldResult> off{r, j}, size(2, b.getIndexAttr(1)), str(2, b.getIndexAttr(1));
    auto one = RankedTensorType::get({1}, f32);
    Value slice = tensor::ExtractSliceOp::create(b, one, out, off, size, str);
    slice = tensor::InsertOp::create(b, hj, slice, ValueRange{zero});
    b.setInsertionPointToStart(forall.getTerminator().getBody());
    tensor::ParallelInsertSliceOp::create(b, slice, out, off, size, str);
  }
  Value hidden = forall.getResult(0);

  // The output layer, a thread per (row, column); unowned rows are zeros.
  return elementwise(
      b, {tb.size(rows, 0), b.getIndexAttr(d)}, f32,
      [&](ImplicitLocOpBuilder &ib, ArrayRef<Value> iv) {
        return ifOwned(ib, rowExpert, iv[0], fzero, [&](ImplicitLocOpBuilder &q, Value ex) {
          Value y = dot(q, hV, fzero, [&](ImplicitLocOpBuilder &s, Value jj) {
            return std::make_pair(
                Value(tensor::ExtractOp::create(s, hidden, ValueRange{iv[0], jj})),
                Value(tensor::ExtractOp::create(s, w2, ValueRange{ex, iv[1], jj})));
          });
          if (b2)
            y = arith::AddFOp::create(q, y,
                                      tensor::ExtractOp::create(q, b2, ValueRange{ex, iv[1]}));
          return y;
        });
      });
}
