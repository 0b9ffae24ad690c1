//===- Passes.td - CPU passes ---------------------------------------------*- tablegen -*-===//
//
// CPU-specific code generation: micro-kernels, vectorization, threads.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CPU_PASSES_TD
#define DYNC_PASSES_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def DynPrepareVectorization : Pass<"dyn-prepare-vectorization", "::mlir::func::FuncOp"> {
  let summary = "Puts linalg reductions in a form LLVM's loop vectorizer takes";
  let description = [{
    Subgraphs lower to loops (`convert-linalg-to-loops`) that LLVM optimizes.
    A `linalg.generic` whose innermost loop is a reduction (a matmul written
    `(m, n, k)`) becomes a serial floating-point accumulation, which LLVM
    does not vectorize without permission to reassociate. For each such op:

    - When the last result of the output's indexing map is a parallel loop
      `p` that also walks the last, contiguous dimension of some input one
      element per step (`n` for a matmul's right operand `[k, n]`; `ow` for
      a stride-1 convolution's input, indexed `ow + kw`), `p` moves
      innermost and the other
      loops keep their order: `(m, k, n)`. Each output element accumulates in
      the same order as before, so results are bitwise unchanged, and the
      inner loop is a stride-1 update.
    - Otherwise (`x @ Wᵀ` with `W` as `[n, k]`, a row sum) the reduction
      stays innermost and the `arith.addf` that accumulates into the output
      gets `fastmath<reassoc, contract>`, so LLVM may split the sum into
      vector lanes and use FMA. The summation order then differs from a
      sequential sum, as it does in any BLAS; results stay within rounding
      of the exact sum. On buffers, its two innermost parallel loops are
      also tiled 16 x 16 (the reduction is not; the tile loops are
      `scf.parallel`), so a block of the second operand is reused from cache
      by 16 rows of the first.

    Other generics (innermost loop parallel, or no `addf` accumulation) are
    left alone.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect", "::mlir::arith::ArithDialect"];
}

def DynVectorizeMatmuls : Pass<"dyn-vectorize-matmuls", "::mlir::func::FuncOp"> {
  let summary = "Register-blocked vector micro-kernel for dot-product matmuls";
  let description = [{
    A `linalg.generic` on buffers computing `out[.., m, n] += a[.., m, k] *
    b[.., n, k]` — a Linear layer `x @ Wᵀ` with `W` as `[out, in]`, the
    experts of a MoE layer — with an f32 output, f32 inputs (or f16/bf16
    ones the body extends to f32: half-precision weights), and `a` and `b`
    contiguous along `k`, becomes:

    - an `scf.parallel` over blocks of 64 columns of `b` and the batch dims
      (column blocks first when there are at least two of them, so that the
      thread pool has something to share; a block of `b` stays in L2 while
      every row of `a` passes by);
    - in a block, register tiles of `rows` x `cols` outputs (3 x 4 by
      default): one `vector<lanes x f32>` accumulator per output, one
      multiply-add per (row, column) for each `lanes` values of `k` (3 + 4
      vector loads per 12 multiply-adds), then a sum of lanes, a scalar tail
      for `k % lanes`, and one update of each output; the rows and columns
      left over get 1-row and 1-column tiles. When `k` is a multiple of
      `lanes`, tiles are 4 columns wide and the output is contiguous along
      `n`, a row's 4 sums come out of one shuffle tree as a vector that
      updates the output with one load and store (measured: 8% off a
      128 x 512 x 2048 matmul on AVX2, whose 4 full reductions per row took
      a sixth of the time).

    Each output is the sum of `lanes` interleaved partial sums
    (reassociated, as in any BLAS), added to the output's initial value.

    When `b` is `[.., k, n]` instead (`x @ W`, attention's `p @ v`) and `b`
    and `out` are contiguous along `n`, the same blocks hold outer-product
    tiles of `outer-rows` rows x `outer-vectors` vectors of columns: the
    accumulators start from `out`, and for each `k` in order every row's
    `a[row, k]`, broadcast, multiplies the vectors of `b`'s row `k` — so
    each output sums in the same order as the loops it replaces. This
    kernel reads `a` one element at a time, so `a` may also be `[.., k, m]`
    (blocked attention's `pᵀ·v`). Its loop over k prefetches the cache lines
    of `b`'s row 16 ahead into L1 (unless k is 16 or less); its tile takes
    at most 8 rows when `a`'s rows are a multiple of 4 KiB apart (they
    would share one L1 set). Leftover
    columns get 1-vector tiles, then single columns; leftover rows, 1-row
    tiles. A weight in panels (`dyn-pack-weights`: `b` is `[n / P, k, P]`,
    read at `(n floordiv P, k, n mod P)`) gets the same outer-product tiles,
    as wide as divides the panel, each within one panel.

    The kernel also absorbs the ops next to the matmul in its block (past
    ops without memory effects) when that changes no result:

    - a `linalg.fill` of the output just before it: the accumulators start
      from the fill's value instead of loading the output;
    - with the outer-product kernel, an all-parallel `linalg.generic` just
      after it (past the workspace call of its own output's slot, too) that
      reads the output at the same element, on f32 buffers, with a body of
      elementwise arith and math ops (bias, activation, residual, scale): the
      body runs on each vector of sums (its other inputs loaded as vectors
      along n, or one element broadcast when they have no n) before the
      tile's one store, to the generic's output. The output is the matmul's
      (updated in place), or a buffer that cannot alias what the kernel
      still reads: another allocation or workspace slot than `a` and `b`,
      than any input it reads at other elements; then the matmul's output
      must be a buffer of its own that nothing reads afterwards. Buffers
      given to the function (arguments) may alias each other: not fused.

    The CPU backend picks the shapes from the target's features: 16 lanes,
    6 x 4 dot tiles and 12 x 2 outer tiles with AVX-512 (32 vector
    registers); 8 lanes, 3 x 4 and 6 x 2 with AVX; 4 lanes otherwise. Other
    generics are left alone.
  }];
  let options = [
    Option<"lanes", "lanes", "int64_t", "8", "f32 lanes per vector (16 with AVX-512, 8 with AVX)">,
    Option<"rows", "rows", "int64_t", "3", "rows of the register tile">,
    Option<"cols", "cols", "int64_t", "4", "columns of the register tile">,
    Option<"outerRows", "outer-rows", "int64_t", "6", "rows of the outer-product tile">,
    Option<"outerVectors", "outer-vectors", "int64_t", "2",
           "vectors of columns of the outer-product tile">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect", "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def DynCollapseParallelLoops : Pass<"dyn-collapse-parallel-loops", "::mlir::func::FuncOp"> {
  let summary = "Collapses the leading dimensions of outermost parallel loops";
  let description = [{
    The thread pool splits an outermost `scf.parallel` along its first
    dimension only (see `dyn-outline-parallel-loops`), and that dimension is
    often a batch of 1 (`[B, S, d]` activations, `[B, H, S, S]` attention
    scores): such a loop used to run on one thread whatever its size. This
    pass combines dimensions with upstream `collapseParallelLoops`
    (normalized to 0..n step 1, the indices recovered by division) so that
    the first dimension holds them all:

    - when the body holds a loop (a micro-kernel's tile loops, a reduction),
      every dimension is combined: the division is paid once per iteration
      of real work;
    - otherwise (an elementwise body) every dimension but the innermost is
      combined: the innermost stays a loop that LLVM vectorizes, and the
      division is paid once per row.

    Loops of one dimension, loops with results and loops nested in another
    `scf.parallel` are left alone, and so is a loop whose combined
    dimensions would be only the first.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"];
}

def DynOutlineParallelLoops : Pass<"dyn-outline-parallel-loops", "::mlir::ModuleOp"> {
  let summary = "Outlines outermost parallel loops for the runtime's thread pool";
  let description = [{
    Each outermost `scf.parallel` (no results, on buffers) becomes a call of
    a launch function, `__dync_launch.<func>.<k>(n, work, captures...)`, and
    its body an outlined function `__dync_par.<func>.<k>(lo, hi,
    captures...)` that runs iterations `[lo, hi)` of the loop's first
    dimension (counted from 0; the other dimensions stay inside). Constants
    the body uses are cloned into it (their values stay known to LLVM); other
    values defined above are passed as arguments.

    `n` is the first dimension's trip count and `work` an estimate of the
    loop's operations (`n` times the other dimensions' trip counts times a
    static count of the body's operations, inner loops multiplied out). The
    CPU backend defines each launch in LLVM IR: it calls the body directly,
    or packs the captures and hands the body to the runtime's thread pool
    (`dync_parallel_hook`), which decides from `work` how many threads the
    loop is worth.

    Loops whose body reads a thread-local global or calls a function that
    is declared only (the runtime's workspace, its clock) stay in place:
    they run on the calling thread. Calls of functions the module defines
    (bufferization's `dealloc_helper`) are fine if those functions are.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect"];
}

def DynExpandBF16 : Pass<"dyn-expand-bf16", "::mlir::func::FuncOp"> {
  let summary = "bf16 conversions as integer arithmetic";
  let description = [{
    `arith.truncf` to bf16 and `arith.extf` from bf16 become bit operations
    on i16/i32 (round to nearest even, NaN kept quiet), with MLIR's
    `populateExpandBFloat16Patterns`. Without it LLVM calls
    `__truncsfbf2`, which x86 CPUs without AVX-512 BF16 need from a runtime
    library that a compiled model is not linked with (libgcc 12 lacks it), so
    a model with a bf16 value failed to load. Only the bf16 patterns run:
    arith-expand's other rewrites (maximumf as compare and select...) would
    hide reductions from LLVM's vectorizer.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def DynPackWeights : Pass<"dyn-pack-weights", "::mlir::func::FuncOp"> {
  let summary = "Reads the weights of Linear layers in panels the matmul kernel streams";
  let description = [{
    A `linalg.generic` on tensors computing `out[.., m, n] += a[.., m, k] *
    W[n, k]` — a Linear layer `x @ Wᵀ` — whose `W` is a stored f32 weight
    (`dyn.weight`, `[N, K]`, `N` a multiple of `panel`) reads `W` in panels
    instead: `dyn.weight "W" {panel = 32}` of type `[N / 32, K, 32]`,
    indexed `(n floordiv 32, k, n mod 32)`. The values are the same; the
    runtime makes the packed copy once, when it loads the model (reported
    by `dync-run --stats`), and `dyn-vectorize-matmuls` gives such a matmul
    its outer-product kernel, which streams one contiguous panel per tile
    (measured on W5's 128 x 512 x 2048 layers with AVX-512: see
    docs/Performance.md). A weight other ops also read is read both ways;
    other weights (f16, 3-D MoE experts, `N` not a multiple of the panel)
    are left alone.

    ```mlir
    %w = dyn.weight "fc.weight" : tensor<64x16xf32>
    %y = linalg.generic {indexing_maps = [(m, n, k) -> (m, k), (m, n, k) -> (n, k),
                                          (m, n, k) -> (m, n)], ...}
           ins(%x, %w : ...) outs(...)
    // becomes
    %p = dyn.weight "fc.weight" {panel = 32 : i64} : tensor<2x16x32xf32>
    %y = linalg.generic {indexing_maps = [(m, n, k) -> (m, k),
                                          (m, n, k) -> (n floordiv 32, k, n mod 32),
                                          (m, n, k) -> (m, n)], ...}
           ins(%x, %p : ...) outs(...)
    ```
  }];
  let options = [
    Option<"panel", "panel", "int64_t", "32", "rows of W per panel">,
  ];
  let dependentDialects = ["::mlir::dyn::DynDialect", "::mlir::linalg::LinalgDialect"];
}

def DynCheckCpuSupport : Pass<"dyn-check-cpu-support", "::mlir::ModuleOp"> {
  let summary = "Refuses what CPU code generation cannot lower";
  let description = [{
    After convert-dyn-to-linalg every `dyn` op but the parameter definitions
    has been spelled with upstream ops. A `dyn` op left over is one the CPU
    backend cannot lower (today: `dyn.topk` on integers); the pass reports it
    with its location (the model's node) instead of letting a later pass fail
    on it.
  }];
}

#endif // DYNC_PASSES_CPU_PASSES_TD
