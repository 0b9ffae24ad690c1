// RUN: dync-opt %s -dyn-gather-kernels -verify-diagnostics

// An outlined module with something besides kernels (a global) is refused
// rather than losing it.
module attributes {gpu.container_module} {
  // expected-error @below {{dyn-gather-kernels: a GPU module holds more than kernels}}
  gpu.module @forward_kernel {
    llvm.mlir.global internal @table(0 : i32) : i32
    gpu.func @forward_kernel() kernel {
      gpu.return
    }
  }
}
