// RUN: dync-opt %s -split-input-file -verify-diagnostics -pass-pipeline='builtin.module(func.func(dyn-lower-foralls))' | FileCheck %s

// A forall mapped to GPU threads becomes a parallel loop (a kernel's
// threads, for dyn-map-parallel-loops-to-gpu); any other forall becomes
// host loops.
// CHECK-LABEL: func.func @kernel_and_host
// CHECK:       scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%arg1, %{{.*}}) step
// CHECK:       memref.store %{{.*}}, %arg0[%[[I]], %[[J]]]
// CHECK:       scf.reduce
// CHECK:       scf.for %[[R:.*]] = %{{.*}} to %arg1 step
// CHECK-NEXT:  scf.for %[[S:.*]] = %{{.*}} to %{{.*}} step
// CHECK:       memref.store %{{.*}}, %arg0[%[[R]], %[[S]]]
// CHECK-NOT:   scf.forall
func.func @kernel_and_host(%m: memref<?x4xf32>, %n: index) {
  %one = arith.constant 1.0 : f32
  scf.forall (%i, %j) in (%n, 4) {
    memref.store %one, %m[%i, %j] : memref<?x4xf32>
  } {mapping = [#gpu.thread<y>, #gpu.thread<x>]}
  scf.forall (%r, %s) in (%n, 4) {
    memref.store %one, %m[%r, %s] : memref<?x4xf32>
  }
  return
}

// -----

// A forall nested in a host loop: lowered where it stands.
// CHECK-LABEL: func.func @nested
// CHECK:       scf.for
// CHECK:       scf.parallel
// CHECK-NOT:   scf.forall
func.func @nested(%m: memref<?x4xf32>, %n: index) {
  %one = arith.constant 1.0 : f32
  scf.forall (%r) in (%n) {
    scf.forall (%s) in (4) {
      memref.store %one, %m[%r, %s] : memref<?x4xf32>
    } {mapping = [#gpu.thread<x>]}
  }
  return
}

// -----

// On tensors (before bufferization) a forall has results: refused.
func.func @on_tensors(%t: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error @+1 {{dyn-lower-foralls: a forall with results (on tensors) cannot be lowered; run after bufferization}}
  %r = scf.forall (%i) in (4) shared_outs(%o = %t) -> (tensor<4xf32>) {
    %s = tensor.extract_slice %o[%i] [1] [1] : tensor<4xf32> to tensor<1xf32>
    scf.forall.in_parallel {
      tensor.parallel_insert_slice %s into %o[%i] [1] [1] : tensor<1xf32> into tensor<4xf32>
    }
  } {mapping = [#gpu.thread<x>]}
  return %r : tensor<4xf32>
}
