//===- Passes.td - Partition passes ---------------------------------------*- tablegen -*-===//
//
// Partitioning: dyn-level IR to static subgraphs and a host program.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_PARTITION_PASSES_TD
#define DYNC_PASSES_PARTITION_PASSES_TD

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

#endif // DYNC_PASSES_PARTITION_PASSES_TD
