// RUN: dync-opt %s -dyn-gather-kernels | FileCheck %s

// Two outlined modules become one, @dync_kernels; the kernels take their
// launching function's name with '.' as '_' and a number; launches follow.
// CHECK:     module attributes {gpu.container_module}
// CHECK-NOT: gpu.module @forward
// CHECK:     gpu.module @dync_kernels
// CHECK:       gpu.func @forward_sg0_k0() kernel
// CHECK:       gpu.func @forward_sg0_k1() kernel
// CHECK-NOT: gpu.module
// CHECK:     func.func @forward.sg0
// CHECK:       gpu.launch_func  @dync_kernels::@forward_sg0_k0
// CHECK:       gpu.launch_func  @dync_kernels::@forward_sg0_k1
module attributes {gpu.container_module} {
  gpu.module @forward.sg0_kernel {
    gpu.func @forward.sg0_kernel() kernel {
      gpu.return
    }
  }
  gpu.module @forward.sg0_kernel_0 {
    gpu.func @forward.sg0_kernel() kernel {
      gpu.return
    }
  }
  func.func @forward.sg0() {
    %c1 = arith.constant 1 : index
    gpu.launch_func @forward.sg0_kernel::@forward.sg0_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    gpu.launch_func @forward.sg0_kernel_0::@forward.sg0_kernel blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1)
    return
  }
}
