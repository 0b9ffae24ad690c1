// RUN: dync-opt %s -dyn-async-launches -split-input-file -verify-diagnostics | FileCheck %s

// Launches chain on one stream; index math, views, allocations and the
// runtime's workspace calls run while they are in flight; the host waits
// before a copy (host memory access), and before the return.
// CHECK-LABEL: func.func @subgraph
// CHECK:       %[[S:.*]] = gpu.wait async
// CHECK:       %[[A:.*]] = gpu.launch_func async [%[[S]]] @k::@a
// CHECK-NOT:   gpu.wait [
// CHECK:       call @dync_workspace
// CHECK:       memref.alloc
// CHECK:       %[[B:.*]] = gpu.launch_func async [%[[A]]] @k::@b
// CHECK-NEXT:  gpu.wait [%[[B]]]
// CHECK-NEXT:  memref.copy
// CHECK:       %[[S2:.*]] = gpu.wait async
// CHECK:       %[[C:.*]] = gpu.launch_func async [%[[S2]]] @k::@a
// CHECK-NEXT:  gpu.wait [%[[C]]]
// CHECK-NEXT:  return
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @a(%m: memref<?xf32>) kernel { gpu.return }
    gpu.func @b(%m: memref<?xf32>) kernel { gpu.return }
  }
  func.func private @dync_workspace(index, index) -> memref<?xi8>
  func.func @subgraph(%x: memref<?xf32>, %n: index) -> memref<?xf32> {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    gpu.launch_func @k::@a blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?xf32>)
    %bytes = arith.muli %n, %c1 : index
    %ws = call @dync_workspace(%c0, %bytes) : (index, index) -> memref<?xi8>
    %v = memref.view %ws[%c0][%n] : memref<?xi8> to memref<?xf32>
    %out = memref.alloc(%n) : memref<?xf32>
    gpu.launch_func @k::@b blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%v : memref<?xf32>)
    memref.copy %v, %out : memref<?xf32> to memref<?xf32>
    gpu.launch_func @k::@a blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%out : memref<?xf32>)
    return %out : memref<?xf32>
  }
}

// -----

// Inside a loop body: the launch waits before the body's terminator.
// CHECK-LABEL: func.func @loop
// CHECK:       scf.for
// CHECK:         %[[T:.*]] = gpu.launch_func async
// CHECK-NEXT:    gpu.wait [%[[T]]]
// CHECK-NEXT:  }
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @a(%m: memref<?xf32>) kernel { gpu.return }
  }
  func.func @loop(%x: memref<?xf32>, %n: index) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    scf.for %i = %c0 to %n step %c1 {
      gpu.launch_func @k::@a blocks in (%n, %c1, %c1) threads in (%c1, %c1, %c1) args(%x : memref<?xf32>)
    }
    return
  }
}

// -----

// Host memory is refused as a kernel's operand.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @a(%m: memref<4xf32>) kernel { gpu.return }
  }
  func.func @stack() {
    %c1 = arith.constant 1 : index
    %a = memref.alloca() : memref<4xf32>
    // expected-error @below {{a kernel is given host memory (memref.alloca), which a GPU cannot address}}
    gpu.launch_func @k::@a blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) args(%a : memref<4xf32>)
    return
  }
}
