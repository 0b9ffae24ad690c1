//===- Passes.td - CUDA passes --------------------------------------------*- tablegen -*-===//
//
// CUDA-specific code generation: parallel loops mapped to the GPU's grid, and
// the kernels gathered into the one module that becomes the model's fatbin.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CUDA_PASSES_TD
#define DYNC_PASSES_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def DynMapParallelLoopsToGpu : Pass<"dyn-map-parallel-loops-to-gpu", "::mlir::func::FuncOp"> {
  let summary = "Tiles outermost parallel loops into blocks of threads and maps them to the grid";
  let description = [{
    Every outermost `scf.parallel` without reductions (what
    `convert-linalg-to-parallel-loops` makes of a linalg op on buffers) is
    tiled with upstream `tileParallelLoop` into a loop over tiles and a loop
    inside a tile, and both get the `mapping` attribute that
    `convert-parallel-loops-to-gpu` turns into a `gpu.launch`:

    - a tile is `threads` threads: the innermost (contiguous) dimension gets
      32 of them (`threads` when the loop has one dimension) and the next
      `threads / 32`, so that neighbouring threads touch neighbouring
      elements; a static dimension smaller than its share gets its extent;
    - inside a tile the innermost dimension goes to `threadIdx.x`, the next
      to `threadIdx.y`, the others (tile 1) run sequentially;
    - over tiles the innermost dimension goes to `blockIdx.x`, the next two
      to `blockIdx.y` and `blockIdx.z`, any further ones run sequentially in
      each thread.

    Tiles have constant sizes (`no-min-max-bounds`): threads past the end of
    a dimension skip the body. Loops with reductions (`scf.reduce` with
    operands) and loops nested in another parallel loop are left alone (they
    run where their parent does). Bodies stay as they are: a reduction
    dimension of a linalg op is a sequential loop in each thread.
  }];
  let options = [
    Option<"threads", "threads", "unsigned", /*default=*/"256",
           "Threads per block (a multiple of 32)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect", "::mlir::scf::SCFDialect"];
}

def DynLowerForalls : Pass<"dyn-lower-foralls", "::mlir::func::FuncOp"> {
  let summary = "scf.forall mapped to GPU threads as a kernel's parallel loop, any other as host loops";
  let description = [{
    On buffers, after bufferization. An `scf.forall` whose mapping is GPU
    threads (`#gpu.thread<...>`, as `convert-dyn-to-linalg` builds
    block-sparse attention by rows) becomes an `scf.parallel` with upstream
    `forallToParallelLoop`: one kernel, tiled into blocks of threads by
    `dyn-map-parallel-loops-to-gpu`, its body (loops, branches, loads) run by
    each thread. Every other `scf.forall` (block-sparse attention by blocks)
    becomes nested `scf.for` loops (`forallToForLoop`): host loops around the
    kernels of their bodies, as `scf-forall-to-for` makes them.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect"];
}

def DynGatherKernels : Pass<"dyn-gather-kernels", "::mlir::ModuleOp"> {
  let summary = "Moves every outlined kernel into one GPU module with PTX-valid names";
  let description = [{
    `gpu-kernel-outlining` makes a `gpu.module` per kernel; each would become
    its own binary, loaded by its own constructor. This pass moves every
    `gpu.func` into one module, `@dync_kernels`, so that the model carries one
    fatbin, and renames each kernel `<function>_k<N>` with the characters PTX
    does not accept in an identifier (the `.` of `forward.sg0`) replaced by
    `_`. Every `gpu.launch_func` follows its kernel.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def DynOutlineGemms : Pass<"dyn-outline-gemms", "::mlir::ModuleOp"> {
  let summary = "Plain f32 matmuls as calls to the runtime's GEMM (cuBLAS on a GPU)";
  let description = [{
    With `dync --target=cuda --cuda-gemm=cublas`, every two-dimensional
    matmul on buffers that `dyn-vectorize-matmuls` would recognize, with f32
    operands that are row-major with unit inner strides, becomes a call:

        func.call @dync_gemm(%a, %b, %c, %b_is_k_by_n)

    computing c[m, n] += sum_k a[m, k] * b(n, k). Here b is [n, k] (x @ Wᵀ),
    or [k, n] when the flag is 1. The operands are cast to
    `memref<?x?xf32, strided<[?, 1], offset: ?>>`, and the declaration has a
    C interface (`_mlir_ciface_dync_gemm`). libdyncrt runs it with cuBLAS
    (`cublasSgemm`) in a CUDA run, and with a plain loop nest otherwise. The
    CPU emulation of the CUDA target (`--target=cuda-emulated`) takes the
    loop nest, which checks the call's operands against the reference.

    Batched matmuls, half-precision operands and strided rows are left to the
    generated kernels.
  }];
}

def DynAsyncLaunches : Pass<"dyn-async-launches", "::mlir::ModuleOp"> {
  let summary = "Chains kernel launches on a stream and waits only where the host touches memory";
  let description = [{
    Every `gpu.launch_func` of the host program becomes asynchronous. In each
    block, the launches are chained on one stream (a `gpu.wait async` starts
    it), and a blocking `gpu.wait` is inserted before the first host op that
    may touch memory the kernels use: a load, a store, a copy, a call, an op
    with regions, or the block's terminator. Host ops that touch no buffer
    do not wait: ops free of memory effects (index math, views, `memref.dim`),
    allocations, and the runtime's `@dync_workspace` and `@dync_clock_ns`
    calls. So a subgraph's kernels run back to back with one synchronization
    before it returns, instead of one per kernel. Kernels of one stream run
    in order, so a kernel still sees what the previous one wrote.

    It also checks what the kernels are given. A buffer from `memref.alloca`
    or `memref.get_global` is host memory that a GPU cannot address, so a
    launch that takes one is refused.
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect"];
}

def DynEmulateGpuLaunches : Pass<"dyn-emulate-gpu-launches", "::mlir::func::FuncOp"> {
  let summary = "Runs each gpu.launch's body as a parallel loop on the CPU (a test of the kernels)";
  let description = [{
    The kernels of the CUDA target are what `convert-parallel-loops-to-gpu`
    makes of the tiled and mapped loops: a `gpu.launch` whose body reads its
    block and thread ids. Without a GPU they can still be executed: this pass
    replaces every `gpu.launch` by one `scf.parallel` over (block z, y, x,
    thread z, y, x), with the body's ids and sizes replaced by the loop's
    induction variables and the launch's operands. The body is unchanged, so
    the tiling, the mapping and the bounds guards run exactly as on a GPU;
    only the lowering to NVVM is not exercised. The kernels use neither
    shared memory nor barriers (a body that does is refused), so the threads
    of a block are independent and the loop is a faithful schedule.

    `dync --target=cuda-emulated` compiles a CPU model this way, and the
    end-to-end tests compare it with the numpy reference.
  }];
  let dependentDialects = ["::mlir::scf::SCFDialect", "::mlir::arith::ArithDialect"];
}

#endif // DYNC_PASSES_CUDA_PASSES_TD
