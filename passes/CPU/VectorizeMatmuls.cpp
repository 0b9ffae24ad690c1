//===- VectorizeMatmuls.cpp - register-blocked matmul micro-kernels -------===//
//
// A linalg.generic on buffers that computes out[.., m, n] += a[.., m, k] *
// b[.., n, k] (a Linear layer, x @ Wᵀ; the experts of a MoE layer) or
// a[.., m, k] * b[.., k, n] (x @ W, attention's p @ v) becomes a loop nest
// around a vector micro-kernel: dot products for the first, outer products
// for the second. See the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "MatmulFusion.h"

#include "dync/Passes/CPU/Passes.h"
#include "dync/Passes/Codegen/MatmulMatch.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace dync {
#define GEN_PASS_DEF_DYNVECTORIZEMATMULS
#include "dync/Passes/CPU/Passes.h.inc"
} // namespace dync

using namespace mlir;
using dync::Matmul;
using dync::MatmulFusion;
using dync::matchMatmul;

namespace {

/// The kernel's shape (pass options): f32 lanes per vector, and the register
/// tile, rows x cols outputs accumulating in rows * cols vectors (with AVX's
/// 16 registers, 3 x 4: 12 accumulators, 3 rows of `a`, 1 row of `b`).
struct KernelShape {
  int64_t lanes, rows, cols;
  /// The outer-product kernel's tile: outerRows x outerVectors vectors.
  int64_t outerRows, outerVectors;
};
/// Columns of `b` per cache block: a block of b (kBlockCols rows of length K)
/// stays in L2 while every row of `a` passes by; blocks are what threads
/// share out.
constexpr int64_t kBlockCols = 64;
/// How many k ahead the outer-product kernel prefetches b's rows.
constexpr int64_t kPrefetchAhead = 16;

/// Emits the loop nest that replaces one matched op.
class Emitter {
public:
  Emitter(Matmul mm, MatmulFusion fusion, KernelShape shape, ImplicitLocOpBuilder &b)
      : mm(mm), fusion(fusion), shape(shape), b(b), maps(mm.op.getIndexingMapsArray()) {
    a = mm.op.getDpsInputs()[0];
    w = mm.op.getDpsInputs()[1];
    out = mm.op.getDpsInits()[0];
  }

  void emit() {
    SmallVector<Range> ranges =
        cast<linalg::LinalgOp>(mm.op.getOperation()).createLoopRanges(b, b.getLoc());
    for (Range &r : ranges)
      sizes.push_back(getValueOrCreateConstantIndexOp(b, b.getLoc(), r.size));
    Value zero = idx(0), one = idx(1), block = idx(kBlockCols);
    Value n = sizes[mm.n];
    Value blocks = arith::CeilDivSIOp::create(b, n, block);
    // Computed before the loop so that its work estimate sees them.
    // Rows in tiles of tileRows(), then of half as many while they fit, down
    // to single rows: the rows left over (8 of 128 with 12-row tiles) would
    // otherwise run one at a time, each a chain of dependent multiply-adds.
    Value from = zero;
    for (int64_t rows = tileRows(); rows >= 1; rows /= 2) {
      rowTiles.push_back({from, fullEnd(from, sizes[mm.m], rows), rows});
      from = rowTiles.back().end;
    }
    if (!mm.outer)
      kFull = fullEnd(zero, sizes[mm.k], shape.lanes);
    // The outer parallel loop: column blocks first when there are enough of
    // them for the threads, else the batch dims.
    SmallVector<Value> lbs, ubs, steps;
    auto addLoop = [&](Value ub) {
      lbs.push_back(zero);
      ubs.push_back(ub);
      steps.push_back(one);
    };
    bool blocksFirst = mm.batch.empty() || ShapedType::isDynamic(staticSize(mm.n)) ||
                       staticSize(mm.n) >= 2 * kBlockCols;
    if (blocksFirst)
      addLoop(blocks);
    for (unsigned d : mm.batch)
      addLoop(sizes[d]);
    if (!blocksFirst)
      addLoop(blocks);
    scf::ParallelOp::create(
        b, lbs, ubs, steps, [&](OpBuilder &nested, Location loc, ValueRange ivs) {
          ImplicitLocOpBuilder nb(loc, nested);
          Emitter inner(*this, nb);
          inner.iv.assign(mm.op.getNumLoops(), Value());
          size_t at = 0;
          Value blockIv = blocksFirst ? ivs[at++] : ivs.back();
          for (unsigned d : mm.batch)
            inner.iv[d] = ivs[at++];
          Value lo = arith::MulIOp::create(nb, blockIv, inner.idx(kBlockCols));
          // Every block is whole when n is a static multiple of its width: the
          // column loops then have constant trip counts, which the thread
          // pool's work estimate (dyn-outline-parallel-loops) reads.
          int64_t n = staticSize(mm.n);
          Value width = inner.idx(kBlockCols);
          if (ShapedType::isDynamic(n) || n % kBlockCols != 0) {
            Value hi = arith::MinSIOp::create(
                nb, arith::AddIOp::create(nb, lo, inner.idx(kBlockCols)), sizes[mm.n]);
            width = arith::SubIOp::create(nb, hi, lo);
          }
          inner.emitBlock(lo, width);
        });
  }

private:
  Emitter(const Emitter &parent, ImplicitLocOpBuilder &b)
      : mm(parent.mm), fusion(parent.fusion), shape(parent.shape), b(b), maps(parent.maps),
        a(parent.a), w(parent.w),
        out(parent.out), sizes(parent.sizes), rowTiles(parent.rowTiles), kFull(parent.kFull) {}

  /// Rows per tile. The outer-product kernel broadcasts one element of each
  /// of its rows of `a` per k: rows a multiple of 4 KiB apart (k = 1024,
  /// 2048 in f32) all fall in one set of the L1 cache, and past 8 of them
  /// that set no longer holds them and the rows of `b` passing by (AVX-512's
  /// 12-row tile: about a quarter of the kernel's samples stalled on its
  /// first broadcast). Then the tile takes 8 rows. Measured on O4 (sixteen
  /// 1024 x 1024 Linear layers, AVX-512, dync-run --bench 100, six
  /// interleaved pairs): 9.70 -> 9.41 ms; O1 (experts' k = 512 and 2048,
  /// --bench 40, five pairs) 17.65 -> 17.28 ms; O5 unchanged.
  int64_t tileRows() const {
    if (!mm.outer)
      return shape.rows;
    SmallVector<int64_t> strides;
    int64_t offset;
    auto type = cast<MemRefType>(a.getType());
    std::optional<unsigned> at = maps[0].getResultPosition(b.getAffineDimExpr(mm.m));
    if (at && succeeded(type.getStridesAndOffset(strides, offset)) &&
        !ShapedType::isDynamic(strides[*at]) && strides[*at] > 0 &&
        strides[*at] * type.getElementTypeBitWidth() / 8 % 4096 == 0)
      return std::min<int64_t>(shape.outerRows, 8);
    return shape.outerRows;
  }

  /// Vectors per outer-product tile. A weight in panels is read within one
  /// panel per vector load: a tile (which starts at a multiple of its width
  /// from a block's start, a multiple of 64) must not straddle two, so its
  /// width divides the panel's.
  int64_t outerVectors() const {
    int64_t v = shape.outerVectors;
    while (mm.panel && (mm.panel / shape.lanes) % v != 0)
      --v;
    return v;
  }

  int64_t staticSize(unsigned d) {
    std::optional<int64_t> c = getConstantIntValue(sizes[d]);
    return c ? *c : ShapedType::kDynamic;
  }

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }

  /// Indices of `map`'s operand at the current loop values `iv`: loop dims,
  /// the constant 0 (a broadcast), or an expression of loop dims (a weight
  /// in panels: n floordiv P, n mod P).
  SmallVector<Value> indices(AffineMap map) {
    SmallVector<Value> result;
    for (AffineExpr e : map.getResults()) {
      if (auto d = dyn_cast<AffineDimExpr>(e)) {
        result.push_back(iv[d.getPosition()]);
      } else if (isa<AffineConstantExpr>(e)) {
        result.push_back(idx(0));
      } else {
        SmallVector<Value> dims;
        for (unsigned d = 0; d < map.getNumDims(); ++d)
          dims.push_back(e.isFunctionOfDim(d) ? iv[d] : idx(0));
        result.push_back(affine::AffineApplyOp::create(
            b, AffineMap::get(map.getNumDims(), 0, e), dims));
      }
    }
    return result;
  }

  /// `lanes` elements of `mem` at `at`, as f32.
  Value loadVector(Value mem, ValueRange at) {
    Type elt = cast<MemRefType>(mem.getType()).getElementType();
    Value v = vector::LoadOp::create(b, VectorType::get({shape.lanes}, elt), mem, at);
    if (!elt.isF32())
      v = arith::ExtFOp::create(b, VectorType::get({shape.lanes}, b.getF32Type()), v);
    return v;
  }

  /// One element of `mem` at `at`, as f32.
  Value loadScalar(Value mem, ValueRange at) {
    Value v = memref::LoadOp::create(b, mem, at);
    if (!v.getType().isF32())
      v = arith::ExtFOp::create(b, b.getF32Type(), v);
    return v;
  }

  /// Indices of `map`'s operand with loop `dim` at `r` and k at `kk`.
  SmallVector<Value> rowIndices(Value r, Value kk, AffineMap map, unsigned dim) {
    iv[dim] = r;
    iv[mm.k] = kk;
    return indices(map);
  }

  /// `body(i)` for i in [lo, hi) step `step`.
  void loop(Value lo, Value hi, int64_t step, function_ref<void(Value)> body) {
    scf::ForOp::create(b, lo, hi, idx(step), ValueRange{},
                       [&](OpBuilder &nested, Location loc, Value i, ValueRange) {
                         OpBuilder::InsertionGuard guard(b);
                         b.setInsertionPoint(nested.getInsertionBlock(),
                                             nested.getInsertionPoint());
                         body(i);
                         scf::YieldOp::create(b);
                       });
  }

  /// The end of the largest multiple of `step` from lo not beyond hi.
  Value fullEnd(Value lo, Value hi, int64_t step) {
    Value span = b.createOrFold<arith::SubIOp>(hi, lo);
    return b.createOrFold<arith::SubIOp>(hi, b.createOrFold<arith::RemSIOp>(span, idx(step)));
  }

  /// A loop over k in [from, to) step `step` carrying `init`; `body` gets an
  /// emitter inside the loop (with the current loop values), k and the
  /// carried values, and returns the next ones.
  scf::ForOp kLoop(Value from, Value to, int64_t step, ValueRange init,
                   function_ref<SmallVector<Value>(Emitter &, Value, ValueRange)> body) {
    return scf::ForOp::create(
        b, from, to, idx(step), init,
        [&](OpBuilder &nested, Location loc, Value kk, ValueRange acc) {
          ImplicitLocOpBuilder lb(loc, nested);
          Emitter e(*this, lb);
          e.iv = iv;
          scf::YieldOp::create(lb, body(e, kk, acc));
        });
  }

  /// acc + x * y, which LLVM may contract to a multiply-add.
  Value multiplyAdd(Value acc, Value x, Value y) {
    auto fast = arith::FastMathFlags::contract;
    return arith::AddFOp::create(b, acc, arith::MulFOp::create(b, x, y, fast), fast);
  }

  /// Every row of a, against the `width` columns of b from `lo` (the loops
  /// run over offsets from lo).
  void emitBlock(Value lo, Value width) {
    Value zero = idx(0);
    auto columns = [&](Value from, Value to, int64_t step, function_ref<void(Value)> body) {
      loop(from, to, step, [&](Value c) { body(arith::AddIOp::create(b, lo, c)); });
    };
    for (auto [from, to, rows] : rowTiles) {
      loop(from, to, rows, [&, rows = rows](Value row) {
        if (!mm.outer) {
          Value nFull = fullEnd(zero, width, shape.cols);
          columns(zero, nFull, shape.cols,
                  [&](Value col) { emitTile(row, rows, col, shape.cols); });
          columns(nFull, width, 1, [&](Value col) { emitTile(row, rows, col, 1); });
          return;
        }
        // Tiles of outerVectors vectors, then of one vector, then columns.
        int64_t wide = outerVectors() * shape.lanes;
        Value tilesEnd = fullEnd(zero, width, wide);
        Value vectorsEnd = fullEnd(tilesEnd, width, shape.lanes);
        columns(zero, tilesEnd, wide,
                [&](Value col) { emitOuterTile(row, rows, col, outerVectors()); });
        columns(tilesEnd, vectorsEnd, shape.lanes,
                [&](Value col) { emitOuterTile(row, rows, col, 1); });
        columns(vectorsEnd, width, 1, [&](Value col) { emitColumn(row, rows, col); });
      });
    }
  }

  /// out[row .. row+rows, col .. col + vectors*lanes] += a[rows, k] * b[k,
  /// cols], one k at a time: each row's a[row, k] broadcast times the
  /// vectors of b's row k. The accumulators start from out, and k runs in
  /// order, so each output sums in the same order as the loops it replaces.
  /// Prefetches the cache lines of b's row k + kPrefetchAhead (the last
  /// row past the end) that a tile of `vectors` vectors from `col` reads.
  void prefetchRow(Value col, Value kk, int64_t vectors) {
    Value last = arith::SubIOp::create(b, sizes[mm.k], idx(1));
    Value ahead =
        arith::MinSIOp::create(b, arith::AddIOp::create(b, kk, idx(kPrefetchAhead)), last);
    constexpr int64_t lineFloats = 16; // 64-byte lines
    for (int64_t c = 0; c < vectors * shape.lanes; c += lineFloats) {
      Value at = arith::AddIOp::create(b, col, idx(c));
      memref::PrefetchOp::create(b, w, rowIndices(at, ahead, maps[1], mm.n), /*isWrite=*/false,
                                 /*localityHint=*/3, /*isDataCache=*/true);
    }
  }

  void emitOuterTile(Value row, int64_t rows, Value col, int64_t vectors) {
    auto vecType = VectorType::get({shape.lanes}, b.getF32Type());
    // Rows of b a few k ahead are prefetched into L1: a block of b (64
    // columns of every k) stays in L2, not L1, and the hardware's prefetch
    // left the loop waiting on b's loads at every tile's start (a quarter
    // of the samples on the first load and broadcast). Measured with 16
    // ahead (dync-run --bench, three interleaved pairs each): O4 9.56 ->
    // 8.33 ms, W1 17.5 -> 16.4 ms, O5 3.18 -> 3.06 ms; block-sparse
    // attention (k = 64, b in L1) unchanged. Short loops go without.
    int64_t k = staticSize(mm.k);
    bool prefetchB = ShapedType::isDynamic(k) || k > kPrefetchAhead;
    auto outAt = [&](int64_t i, int64_t c) {
      iv[mm.m] = arith::AddIOp::create(b, row, idx(i));
      iv[mm.n] = arith::AddIOp::create(b, col, idx(c * shape.lanes));
      return indices(maps[2]);
    };
    SmallVector<Value> init;
    Value filled;
    if (fusion.fill)
      filled = vector::BroadcastOp::create(b, vecType, fusion.fillValue);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < vectors; ++c)
        init.push_back(filled ? filled : vector::LoadOp::create(b, vecType, out, outAt(i, c)));
    scf::ForOp loop = kLoop(idx(0), sizes[mm.k], 1, init, [&](Emitter &e, Value kk, ValueRange acc) {
      SmallVector<Value> bs;
      for (int64_t c = 0; c < vectors; ++c) {
        Value at = arith::AddIOp::create(e.b, col, e.idx(c * shape.lanes));
        bs.push_back(e.loadVector(w, e.rowIndices(at, kk, maps[1], mm.n)));
      }
      if (prefetchB)
        e.prefetchRow(col, kk, vectors);
      SmallVector<Value> next(acc.begin(), acc.end());
      for (int64_t i = 0; i < rows; ++i) {
        Value r = arith::AddIOp::create(e.b, row, e.idx(i));
        Value x = e.loadScalar(a, e.rowIndices(r, kk, maps[0], mm.m));
        Value xs = vector::BroadcastOp::create(e.b, vecType, x);
        for (int64_t c = 0; c < vectors; ++c)
          next[i * vectors + c] = e.multiplyAdd(next[i * vectors + c], xs, bs[c]);
      }
      return next;
    });
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t c = 0; c < vectors; ++c)
        store(loop.getResult(i * vectors + c), outAt(i, c));
  }

  /// Stores `v` (a vector or a scalar of sums) to out at `at`, or through
  /// the fused epilogue to its output.
  void store(Value v, ValueRange at) {
    Value to = out;
    if (fusion.epilogue) {
      v = dync::applyEpilogue(b, fusion, v, at);
      to = fusion.target;
    }
    if (isa<VectorType>(v.getType()))
      vector::StoreOp::create(b, v, to, at);
    else
      memref::StoreOp::create(b, v, to, at);
  }

  /// One column of out (n % lanes leftovers), in scalars.
  void emitColumn(Value row, int64_t rows, Value col) {
    auto outAt = [&](int64_t i) {
      iv[mm.m] = arith::AddIOp::create(b, row, idx(i));
      iv[mm.n] = col;
      return indices(maps[2]);
    };
    SmallVector<Value> init;
    for (int64_t i = 0; i < rows; ++i)
      init.push_back(fusion.fill ? fusion.fillValue : Value(memref::LoadOp::create(b, out, outAt(i))));
    scf::ForOp loop = kLoop(idx(0), sizes[mm.k], 1, init, [&](Emitter &e, Value kk, ValueRange acc) {
      Value y = e.loadScalar(w, e.rowIndices(col, kk, maps[1], mm.n));
      SmallVector<Value> next;
      for (int64_t i = 0; i < rows; ++i) {
        Value r = arith::AddIOp::create(e.b, row, e.idx(i));
        next.push_back(e.multiplyAdd(acc[i], e.loadScalar(a, e.rowIndices(r, kk, maps[0], mm.m)), y));
      }
      return next;
    });
    for (int64_t i = 0; i < rows; ++i)
      store(loop.getResult(i), outAt(i));
  }

  /// out[row .. row+rows, col .. col+cols] += a[rows] . b[cols] over k.
  void emitTile(Value row, int64_t rows, Value col, int64_t cols) {
    auto vecType = VectorType::get({shape.lanes}, b.getF32Type());
    Value k = sizes[mm.k];
    SmallVector<Value> init(rows * cols,
                            arith::ConstantOp::create(b, vecType, DenseElementsAttr::get(
                                                                      vecType, 0.0f)));
    scf::ForOp vecLoop =
        kLoop(idx(0), kFull, shape.lanes, init, [&](Emitter &e, Value kk, ValueRange acc) {
          SmallVector<Value> xs;
          for (int64_t i = 0; i < rows; ++i) {
            Value r = arith::AddIOp::create(e.b, row, e.idx(i));
            xs.push_back(e.loadVector(a, e.rowIndices(r, kk, maps[0], mm.m)));
          }
          SmallVector<Value> next(acc.begin(), acc.end());
          for (int64_t j = 0; j < cols; ++j) {
            Value c = arith::AddIOp::create(e.b, col, e.idx(j));
            Value wv = e.loadVector(w, e.rowIndices(c, kk, maps[1], mm.n));
            for (int64_t i = 0; i < rows; ++i)
              next[i * cols + j] = e.multiplyAdd(next[i * cols + j], xs[i], wv);
          }
          return next;
        });
    if (cols == 4 && shape.lanes % 4 == 0 && staticSize(mm.k) % shape.lanes == 0 &&
        outContiguousAlongN()) {
      // No k tail: each row's 4 sums come out of a shuffle tree as one vector,
      // added to out with one load and store, not 4 reductions and scalars.
      for (int64_t i = 0; i < rows; ++i) {
        iv[mm.m] = arith::AddIOp::create(b, row, idx(i));
        iv[mm.n] = col;
        SmallVector<Value> at = indices(maps[2]);
        auto sumType = VectorType::get({4}, b.getF32Type());
        Value sums = sumFourRows(vecLoop.getResults().slice(i * cols, cols));
        Value old = fusion.fill ? Value(vector::BroadcastOp::create(b, sumType, fusion.fillValue))
                                : Value(vector::LoadOp::create(b, sumType, out, at));
        vector::StoreOp::create(b, arith::AddFOp::create(b, old, sums), out, at);
      }
      return;
    }
    // Lanes summed (in any order), then the k % lanes tail in scalars.
    SmallVector<Value> sums;
    for (Value v : vecLoop.getResults())
      sums.push_back(vector::ReductionOp::create(
          b, vector::CombiningKind::ADD, v,
          arith::FastMathFlags::reassoc | arith::FastMathFlags::contract));
    scf::ForOp tail = kLoop(kFull, k, 1, sums, [&](Emitter &e, Value kk, ValueRange acc) {
      SmallVector<Value> next(acc.begin(), acc.end());
      for (int64_t i = 0; i < rows; ++i) {
        Value r = arith::AddIOp::create(e.b, row, e.idx(i));
        Value x = e.loadScalar(a, e.rowIndices(r, kk, maps[0], mm.m));
        for (int64_t j = 0; j < cols; ++j) {
          Value c = arith::AddIOp::create(e.b, col, e.idx(j));
          Value y = e.loadScalar(w, e.rowIndices(c, kk, maps[1], mm.n));
          next[i * cols + j] = e.multiplyAdd(next[i * cols + j], x, y);
        }
      }
      return next;
    });
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) {
        iv[mm.m] = arith::AddIOp::create(b, row, idx(i));
        iv[mm.n] = arith::AddIOp::create(b, col, idx(j));
        SmallVector<Value> at = indices(maps[2]);
        Value old = fusion.fill ? fusion.fillValue : Value(memref::LoadOp::create(b, out, at));
        Value sum = arith::AddFOp::create(b, old, tail.getResult(i * cols + j));
        memref::StoreOp::create(b, sum, out, at);
      }
  }

  /// Whether out's n dimension is its innermost, with unit stride (so that
  /// consecutive columns of a row are one vector).
  bool outContiguousAlongN() {
    auto type = cast<MemRefType>(out.getType());
    AffineMap map = maps[2];
    if (map.getNumResults() == 0 || map.getResults().back() != b.getAffineDimExpr(mm.n))
      return false;
    SmallVector<int64_t> strides;
    int64_t offset;
    return succeeded(type.getStridesAndOffset(strides, offset)) && strides.back() == 1;
  }

  /// The sums of the lanes of 4 vectors v0..v3, as [sum v0, .., sum v3]:
  /// two rounds of shuffles within each group of 4 lanes (x86's 128-bit
  /// lanes: unpack instructions) leave group g holding v0..v3's sums over
  /// that group, then the groups are added in halves. 9 to 13 operations in
  /// place of 4 full reductions and 4 scalar updates.
  Value sumFourRows(ValueRange v) {
    int64_t lanes = shape.lanes;
    auto round = [&](Value x, Value y, std::array<int64_t, 4> first,
                     std::array<int64_t, 4> second) {
      SmallVector<int64_t> ma, mb;
      for (int64_t q = 0; q < lanes; q += 4)
        for (int64_t t = 0; t < 4; ++t) {
          // Indices below 4 pick from x, from 4 up from y.
          ma.push_back(first[t] < 4 ? q + first[t] : lanes + q + first[t] - 4);
          mb.push_back(second[t] < 4 ? q + second[t] : lanes + q + second[t] - 4);
        }
      return arith::AddFOp::create(b, vector::ShuffleOp::create(b, x, y, ma),
                                   vector::ShuffleOp::create(b, x, y, mb))
          .getResult();
    };
    // Group lane t of z01: v0 and v1 interleaved, partial over 2 lanes.
    Value z01 = round(v[0], v[1], {0, 4, 1, 5}, {2, 6, 3, 7});
    Value z23 = round(v[2], v[3], {0, 4, 1, 5}, {2, 6, 3, 7});
    // Each group now holds [v0, v1, v2, v3] summed over the group.
    Value r = round(z01, z23, {0, 1, 4, 5}, {2, 3, 6, 7});
    for (int64_t len = lanes; len > 4; len /= 2) {
      SmallVector<int64_t> lo, hi;
      for (int64_t t = 0; t < len / 2; ++t) {
        lo.push_back(t);
        hi.push_back(len / 2 + t);
      }
      r = arith::AddFOp::create(b, vector::ShuffleOp::create(b, r, r, lo),
                                vector::ShuffleOp::create(b, r, r, hi));
    }
    return r;
  }

  Matmul mm;
  MatmulFusion fusion;
  KernelShape shape;
  ImplicitLocOpBuilder &b;
  SmallVector<AffineMap> maps;
  Value a, w, out;
  SmallVector<Value> sizes;
  /// Rows [begin, end) in tiles of `rows`, the sizes halving, the last 1.
  struct RowTiles {
    Value begin, end;
    int64_t rows;
  };
  SmallVector<RowTiles> rowTiles;
  /// The end of k in full vectors.
  Value kFull;
  /// The current value of each loop (set as the nest is emitted).
  SmallVector<Value> iv;
};

struct VectorizeMatmulsPass
    : dync::impl::DynVectorizeMatmulsBase<VectorizeMatmulsPass> {
  using Base::Base;
  void runOnOperation() override {
    if (lanes < 1 || rows < 1 || cols < 1 || outerRows < 1 || outerVectors < 1) {
      getOperation().emitError("dyn-vectorize-matmuls: lanes, rows, cols, outer-rows and outer-vectors must be positive");
      return signalPassFailure();
    }
    SmallVector<Matmul> matches;
    getOperation().walk([&](linalg::GenericOp op) {
      if (!op.hasPureBufferSemantics())
        return;
      // A weight in panels: vector loads stay in a panel and column blocks
      // start at a panel's start (else the generic's loops run it).
      if (std::optional<Matmul> m = matchMatmul(op);
          m && (!m->panel || (m->panel % lanes == 0 && kBlockCols % m->panel == 0)))
        matches.push_back(*m);
    });
    // The fill before a matmul and the elementwise op after it, matched
    // before any is rewritten.
    SmallVector<MatmulFusion> fusions;
    for (Matmul &m : matches)
      fusions.push_back(dync::matchMatmulFusion(m));
    for (auto [m, fusion] : llvm::zip(matches, fusions)) {
      // With an epilogue, the kernel takes the epilogue's place: only ops
      // without memory effects stand between the two, and the epilogue's
      // operands are all defined there.
      Operation *at = fusion.epilogue ? fusion.epilogue.getOperation() : m.op.getOperation();
      ImplicitLocOpBuilder b(m.op.getLoc(), at);
      Emitter(m, fusion, KernelShape{lanes, rows, cols, outerRows, outerVectors}, b).emit();
      if (fusion.epilogue)
        fusion.epilogue.erase();
      if (fusion.fill)
        fusion.fill.erase();
      m.op.erase();
    }
  }
};

} // namespace
