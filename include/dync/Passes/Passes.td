//===- Passes.td - dync passes ----------------------------*- tablegen -*-===//

#ifndef DYNC_PASSES_PASSES_TD
#define DYNC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def DynLowerControl : Pass<"dyn-lower-control", "::mlir::ModuleOp"> {
  let summary = "Turns dyn control ops into a host program";
  let description = [{
    Rewrites every data-dependent construct into host code made of `scf`
    control, calls, and runtime entry points (`dyn.rt.*`, the ragged MoE ops,
    block-sparse attention):

    - `dyn.gate`: the mask `score > threshold`, the positions of the samples
      that run (`dyn.rt.select`), compaction (`dyn.rt.gather_rows`), a call of
      the body on the live samples only if there are any, and the merge back
      (`dyn.rt.scatter_rows`). Per-token gates do the same on the tokens.
    - `dyn.cond`: `scf.if` for a scalar predicate; for a per-sample predicate,
      each branch runs on its own compacted samples and the results are merged.
    - `dyn.early_exit`: one call per stage on the live batch, the confidence
      of its head, the exited samples' logits and stage index written to the
      outputs at their original positions, the rest compacted, and the next
      stage run only if a sample is left.
    - `dyn.moe`: router projection, `dyn.moe.route`, `dyn.moe.dispatch`,
      `dyn.moe.experts` (grouped, ragged), `dyn.moe.combine`, and the shared
      expert as ordinary dense code.

    Regions become functions (`dyn.region`): they are isolated from above, so
    outlining is a move. A region that itself holds dynamic constructs is
    lowered the same way.

    ```mlir
    // dync-opt --dyn-lower-control
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect",
    "::mlir::dyn::DynDialect"
  ];
}

def DynOutlineSubgraphs : Pass<"dyn-outline-subgraphs", "::mlir::ModuleOp"> {
  let summary = "Outlines maximal static regions of host code into subgraph functions";
  let description = [{
    In every host function, each maximal run of static tensor computation
    between two host operations (calls, `scf` control, runtime entry points)
    becomes a `func.func private` marked `dyn.subgraph`, called in its place.
    Constants, weights and runtime parameter reads are rematerialized inside
    the subgraph rather than passed in. Subgraphs hold no data-dependent
    control: they can be fused, tiled and vectorized like any static graph.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def DynInferBounds : Pass<"dyn-infer-bounds", "::mlir::ModuleOp"> {
  let summary = "Gives every dynamic dimension of a subgraph an upper bound";
  let description = [{
    Derives, for each dynamic dimension of each subgraph argument and result,
    an upper bound from the model's dims (`dyn.dims` and `dyn.shape` on
    `@forward`), the ops that produce it (a compacted live batch is at most
    the batch it came from; MoE rows at most `T·k`) and every call site. The
    bounds are attached as `dyn.bounds` (one per dimension; static dims give
    their size). A dimension without a bound is an error: code generation
    plans every buffer statically from these bounds.
  }];
}

def DynCheckSubgraphs : Pass<"dyn-check-subgraphs", "::mlir::ModuleOp"> {
  let summary = "Proves that no subgraph contains data-dependent control";
  let description = [{
    Every function marked `dyn.subgraph` may hold only static tensor
    computation: ops of `linalg`, `tensor`, `arith`, `math`, and the static
    `dyn` kernels (`dyn.weight`, `dyn.param.read`, `dyn.moe.route`,
    `dyn.topk`, `dyn.scatter_add`, `dyn.attention`, `dyn.bsa.select`). Any
    branch, loop, call, runtime entry point or dyn region op is reported, as is
    a dynamic dimension of its signature without a `dyn.bounds` entry.
  }];
}

def DynThreadExternals : Pass<"dyn-thread-externals", "::mlir::ModuleOp"> {
  let summary = "Turns weight and runtime-parameter reads into entry arguments";
  let description = [{
    Every `dyn.weight` and `dyn.param.read` becomes an argument: of the
    function that reads it, then, through every call site, of its callers, up
    to the public entry function, whose new arguments carry `dyn.weight =
    "name"` or `dyn.param = @name`. Compiled code then receives the weights
    (mapped from the safetensors file, no copy) and the parameter values from
    the runtime with the inputs, and never calls back into the runtime. A
    weight or parameter read in several places becomes one argument.
  }];
  let dependentDialects = ["::mlir::func::FuncDialect"];
}

def ConvertDynToLinalg : Pass<"convert-dyn-to-linalg", "::mlir::ModuleOp"> {
  let summary = "Lowers runtime entry points and dense dyn kernels to upstream ops";
  let description = [{
    Spells the host's runtime entry points and the static `dyn` kernels with
    `linalg`, `tensor`, `scf` and `arith` on tensors, so that one bufferization
    and LLVM lowering handles host and subgraphs alike:

    - `dyn.rt.iota`: a generic writing each row's index;
    - `dyn.rt.select`: a counting loop, then a loop inserting the positions of
      the set entries (the result has exactly that many);
    - `dyn.rt.gather_rows`: a generic reading `source[indices[i], ...]`;
    - `dyn.rt.scatter_rows`: a loop inserting each row at its position;
    - `dyn.attention`: `softmax(q·kᵀ·scale [+ causal mask])·v` with generics.

    The MoE kernels (route, dispatch with capacity, grouped experts, combine)
    and block-sparse attention (layout selection, online softmax over kept
    blocks) are lowered too. `dyn.rt.count` becomes increments of a
    thread-local array `dync_stats` whose slot names are recorded on the
    module as `dyn.stats`. Ops not covered (`dyn.topk`, `dyn.scatter_add`)
    are left alone; the CPU backend reports them.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

def DynTimeSubgraphs : Pass<"dyn-time-subgraphs", "::mlir::ModuleOp"> {
  let summary = "Times every subgraph call of the host program";
  let description = [{
    Wraps each call of a `dyn.subgraph` function in host code with two reads
    of the runtime's monotonic clock (`dync_clock_ns`, provided by libdyncrt)
    and adds the elapsed nanoseconds to the run statistic
    `time_ns.<subgraph>`. A subgraph that no sample reaches is not called, so
    its time stays 0.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::dyn::DynDialect"];
}

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

    Loops whose body reads a thread-local (the run statistics) or calls a
    function stay in place: they run on the calling thread.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::scf::SCFDialect"];
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
      left over get 1-row and 1-column tiles.

    Each output is the sum of `lanes` interleaved partial sums
    (reassociated, as in any BLAS), added to the output's initial value.

    When `b` is `[.., k, n]` instead (`x @ W`, attention's `p @ v`) and `b`
    and `out` are contiguous along `n`, the same blocks hold outer-product
    tiles of `outer-rows` rows x `outer-vectors` vectors of columns: the
    accumulators start from `out`, and for each `k` in order every row's
    `a[row, k]`, broadcast, multiplies the vectors of `b`'s row `k` — so
    each output sums in the same order as the loops it replaces. Leftover
    columns get 1-vector tiles, then single columns; leftover rows, 1-row
    tiles.

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
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"];
}

def DynFuseElementwise : Pass<"dyn-fuse-elementwise", "::mlir::func::FuncOp"> {
  let summary = "Fuses elementwise producers into users that each read every element once";
  let description = [{
    Upstream's elementwise fusion on tensors (`linalg.generic` producers with
    parallel loops only are inlined into the `linalg.generic`s that use
    them), restricted to fusions that store nothing and recompute little: a
    producer is fused when every one of its users reads each of its elements
    once (the user's indexing map for it is a permutation of the user's
    loops: a chain of elementwise ops, a square feeding a sum, a softmax's
    exponentials feeding both its sum and its quotient). Fused into all its
    users, the producer's tensor is never stored; each element is computed
    once per user. A producer that some user reads several times (the input
    of a matmul, read once per output column) is stored and fused into
    none — unless all it does is widen floats (`arith.extf` of
    half-precision weights) for its one user, which costs less redone than
    stored.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect"];
}

def DynPlanBuffers : Pass<"dyn-plan-buffers", "::mlir::ModuleOp"> {
  let summary = "A static memory plan per function: buffers share workspace slots";
  let description = [{
    After bufferization and buffer deallocation, every `memref.alloc` in a
    function's body block (identity layout) that the same block frees with
    one unconditional `memref.dealloc` — a temporary of a subgraph, of a
    branch, of the host program — gets a slot: buffers whose lifetimes
    (alloc to dealloc, in the block's order) do not overlap share one. The
    plan is made at compile time, per function; its slots are numbered
    across the module.

    Each alloc becomes `dync_workspace(slot, bytes)` (libdyncrt: the calling
    thread's buffer for that slot, grown when a run needs more, kept for the
    next run) and a `memref.view` of it; the dealloc goes. A warm run then
    allocates nothing for these buffers, and a branch's temporaries reuse
    the same memory. Buffers that escape (results, buffers freed
    conditionally or elsewhere) keep their `malloc`. The function records
    its slot count in `dyn.workspace_slots`.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def DynApproximateMath : Pass<"dyn-approximate-math", "::mlir::func::FuncOp"> {
  let summary = "Transcendental math ops as vectorizable polynomial approximations";
  let description = [{
    `math.exp`, `expm1`, `log`, `log1p`, `log2`, `tanh`, `erf`, `atan`,
    `sin`, `cos` and their kin on f32 (f16 and bf16 through f32) become
    MLIR's polynomial approximations, built from `arith` ops (accurate to a
    few ulp of f32). A loop of them — a softmax's exponentials, GELU's erf,
    a sigmoid — then vectorizes like any arithmetic, instead of calling libm
    once per element.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // DYNC_PASSES_PASSES_TD
