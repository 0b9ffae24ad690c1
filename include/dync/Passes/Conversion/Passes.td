//===- Passes.td - Conversion passes --------------------------------------*- tablegen -*-===//
//
// Dialect conversions.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CONVERSION_PASSES_TD
#define DYNC_PASSES_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

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
    - `dyn.attention`: `softmax(q·kᵀ·scale [+ causal mask])·v` with generics;
      with `attention-by-blocks` (the CPU's choice) and query and key lengths
      that are static multiples of 64, by blocks of 64 queries x 64 keys with
      an online softmax (each block's scores transposed, keys x queries, so
      that the max and the sum over the keys are vectors of queries; the
      max, sum and accumulator updated in place), every (batch, head, query
      block) in parallel (a GPU
      would launch a kernel per block, so the CUDA target keeps the
      whole-sequence form); with `attention-by-rows` (the CUDA target's
      choice, unless cuBLAS runs the products), the loop over query rows
      of `bsa-by-rows` below over every key (up to the row if causal), for
      any lengths;
    - `dyn.bsa.attention`: by blocks, every (batch, head, query block) in
      parallel, an online softmax over the kept key blocks; with
      `bsa-by-rows` (the CUDA target's choice), one `scf.forall` over
      (batch, head, value chunk, query row) mapped to GPU threads, each
      row's online softmax over the kept blocks' keys held in scalars
      (registers), the layout read inside the loop, so a GPU runs it as one
      kernel with no read-back of the layout. By rows needs f32 and a value
      dimension that splits into chunks of 16 to 64 columns (else by
      blocks); a kept block is counted by the thread of its first query row;
    - `dyn.moe.dispatch` and `dyn.moe.experts`: with `moe-on-device` (the
      CUDA target's choice), parallel generics and one loop mapped to GPU
      threads that decide everything element by element, so that the host
      reads nothing back: an assignment's place in its expert's queue by
      counting the assignments before it in grant order (per chunk of 64
      assignments, then within its chunk), each row's expert
      from the offsets, and the experts' two matmuls with a thread per
      (row, unit) and per (row, column) that skips the rows past
      `offsets[E]`. The experts need f32 operands for it (else the loop over
      experts); a row is counted for its expert by its unit-0 thread.

    The MoE kernels (route, dispatch with capacity, grouped experts, combine)
    and block-sparse attention (layout selection, online softmax over kept
    blocks) are lowered too, as are `dyn.topk` on floats and `dyn.scatter_add`.
    It is a dialect conversion: afterwards no dyn op is left but the run
    statistics (`dyn.rt.count`, for dyn-lower-statistics), parameter
    definitions and weights, and `dyn.topk` on integers (which
    dyn-check-cpu-support reports).
  }];
  let options = [
    Option<"attentionByBlocks", "attention-by-blocks", "bool", "true",
           "Dense attention of static lengths by blocks of queries and keys (online softmax)">,
    Option<"attentionByRows", "attention-by-rows", "bool", "false",
           "Dense attention as one loop over query rows mapped to GPU threads (unless by blocks)">,
    Option<"bsaByRows", "bsa-by-rows", "bool", "false",
           "Block-sparse attention as one loop over query rows mapped to GPU threads">,
    Option<"moeOnDevice", "moe-on-device", "bool", "false",
           "MoE dispatch and experts as parallel loops that decide on the device">,
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::linalg::LinalgDialect", "::mlir::math::MathDialect",
    "::mlir::scf::SCFDialect", "::mlir::tensor::TensorDialect"
  ];
}

#endif // DYNC_PASSES_CONVERSION_PASSES_TD
