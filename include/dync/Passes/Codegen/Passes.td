//===- Passes.td - Codegen passes -----------------------------------------*- tablegen -*-===//
//
// Code generation shared by targets: host ABI, fusion, memory plan, math.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CODEGEN_PASSES_TD
#define DYNC_PASSES_CODEGEN_PASSES_TD

include "mlir/Pass/PassBase.td"

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

def DynMergeSubgraphs : Pass<"dyn-merge-subgraphs", "::mlir::ModuleOp"> {
  let summary = "Compiles identical subgraphs once";
  let description = [{
    Models repeat themselves: the twelve layers of a transformer partition
    into subgraphs that differ only in the weights they read. Once
    `dyn-thread-externals` has made those weights arguments, such subgraphs
    are the same function. This pass keeps one `dyn.subgraph` function of
    each class of equivalent ones (same type, argument and result
    attributes, function attributes, and a body equal op for op, locations
    aside), points every call at it, and erases the others, so that code
    generation, LLVM and the instruction selector see each distinct subgraph
    once. A run computes exactly what it did: each call passes its own
    weights.

    Run it after `dyn-time-subgraphs`, which names each call's time after
    the subgraph it called before merging, so `time_ns.<subgraph>` stays one
    counter per place in the model.
  }];
  let statistics = [
    Statistic<"numMerged", "merged-subgraphs", "Subgraphs replaced by an identical one">,
  ];
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

    First, a `tensor.dim` of a linalg op's result reads the same dim of the
    op's init instead: the size of the next op's init is not a use that
    keeps a producer unfused (and computed for that size alone). A MoE
    expert's bias and activation used to be two loops for that reason.
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
    same holds in the body of every `scf.for`, `scf.if`, `scf.while` and
    `scf.index_switch` not inside a parallel loop (the temporaries each
    expert of a MoE layer's loop allocates and frees), with slots of its
    own. The plan is made at compile time, per function; its slots are
    numbered across the module. With `share-leaf-slots` (the CPU backend's
    choice), the functions that call no function with slots (the
    subgraphs) share one range of slot numbers: such a function's buffers
    live only while it runs, and no other of them runs meanwhile on its
    thread, so the workspace holds the largest subgraph's plan, not the sum
    of all (an encoder of 12 distinct stages: 618 MB peak before, see
    docs/Performance.md). The functions that call them (the host program)
    keep ranges of their own.

    Each alloc becomes `dync_workspace(slot, bytes)` (libdyncrt: the calling
    thread's buffer for that slot, grown when a run needs more, kept for the
    next run) and a `memref.view` of it; the dealloc goes. A warm run then
    allocates nothing for these buffers, and a branch's temporaries reuse
    the same memory. Buffers that escape (results, buffers freed
    conditionally or elsewhere) keep their `malloc`. The function records
    its slot count in `dyn.workspace_slots`.

    A parallel loop's body gets no slots (its iterations run on the pool's
    threads; a call into the runtime would keep them on one). There, first,
    a buffer that each iteration of a sequential `scf.for` allocates and
    frees itself (in the loop's body or in an `scf.if` in it), of a size
    defined outside the loop, is allocated once before the outermost such
    loop and freed after it: an iteration's buffer is dead at its dealloc,
    so the next may have the same memory. Blocked attention's score and
    probability blocks were malloc'd and freed per key block.
  }];
  let options = [
    Option<"shareLeafSlots", "share-leaf-slots", "bool", "false",
           "Functions that call none with slots share one range of slot numbers">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::memref::MemRefDialect"];
}

def DynCheckMemoryBudget : Pass<"dyn-check-memory-budget", "::mlir::ModuleOp"> {
  let summary = "Rejects a model whose memory plan exceeds a budget";
  let description = [{
    After `dyn-plan-buffers`, sums what a run may allocate at the largest
    sizes of the model's dims (from `dyn.shape`/`dyn.dims` and the
    `dyn.bounds` of every subgraph): the workspace, each slot at its largest
    buffer (the `dync_workspace` calls), plus every buffer that keeps its own
    allocation (`memref.alloc`: results, buffers freed elsewhere), each at its
    largest and counted as if all were live at once. Weights (mapped from
    their file) are not part of it. If the sum exceeds `max-bytes`, the pass
    fails with the sum and what makes it up; if a buffer's size has no bound,
    it fails naming that buffer. `max-bytes` 0 checks nothing.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", "0",
           "The budget in bytes (0: no budget)">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect"];
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

def DynEmitManifest : Pass<"dyn-emit-manifest", "::mlir::ModuleOp"> {
  let summary = "Describes the compiled entry point for the runtime";
  let description = [{
    Records on the module, as the string attribute `dyn.manifest`, the JSON
    the runtime reads to call the model: the entry's arguments in order
    (inputs with their symbolic shapes, weights by name, runtime parameters
    with their defaults), its results, the model dims with their bounds, the
    run statistics (`dyn.stats`) and the weights file. It runs on the host
    program after dyn-thread-externals and convert-dyn-to-linalg, and before
    dyn-prepare-entry drops the parameter definitions it reads. The target
    embeds the string as `dync_manifest`. A model for another target than the
    CPU says so (`"target": "cuda"`): the runtime runs it on that device.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "The target the model is compiled for (cpu or cuda)">,
  ];
}

def DynPrepareEntry : Pass<"dyn-prepare-entry", "::mlir::ModuleOp"> {
  let summary = "Readies the entry function for bufferization and a C interface";
  let description = [{
    Drops the `dyn.param.def`s (compiled code reads parameters as entry
    arguments), gives `@forward` a C interface (`llvm.emit_c_interface`), and
    marks its tensor arguments read-only (`bufferization.writable = false`):
    inputs belong to the caller and weights are mapped read-only, so
    bufferization copies instead of updating them in place.
  }];
}

def DynLowerStatistics : Pass<"dyn-lower-statistics", "::mlir::ModuleOp"> {
  let summary = "Gives each run statistic a slot and increments it in place";
  let description = [{
    Each `dyn.rt.count` becomes an atomic add to a slot of one i64 array that
    the runtime passes to the entry, zeroed before a run and read after it.
    The array reaches every function that counts as an argument
    (`memref<Nxi64>`, `dyn.stats_array` on the entry's), added to them and to
    their callers:
    compiled code holds no statistics of its own, so sessions never mix and a
    parallel loop that counts may run on any thread.
    Slots are allocated in name order, each family (`name[0]`, `name[1]`...)
    consecutively, so that a count at a run-time index (`at(%e)`) addresses
    its slot; an index outside the family counts nothing. The names are
    recorded on the module as `dyn.stats`, in slot order.
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

#endif // DYNC_PASSES_CODEGEN_PASSES_TD
