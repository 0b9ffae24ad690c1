// RUN: dync-opt %s -dyn-map-parallel-loops-to-gpu -split-input-file -verify-diagnostics | FileCheck %s
// RUN: dync-opt %s -dyn-map-parallel-loops-to-gpu -convert-parallel-loops-to-gpu -canonicalize -split-input-file | FileCheck %s --check-prefix=LAUNCH

// A 2-D loop with a dynamic row count: 8 x 32 threads per block, the
// contiguous dimension on x for both grid and block; threads past the end
// skip the body.
// CHECK-LABEL: func.func @rows_cols
// CHECK-DAG:   %[[C8:.*]] = arith.constant 8 : index
// CHECK-DAG:   %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG:   %[[R:.*]] = arith.muli %c1, %[[C8]]
// CHECK-DAG:   %[[C:.*]] = arith.muli %c1, %[[C32]]
// CHECK:       scf.parallel ({{.*}}) = (%c0, %c0) to (%arg1, %c64) step (%[[R]], %[[C]])
// CHECK:         scf.parallel ({{.*}}) = ({{.*}}) to (%[[R]], %[[C]]) step (%c1, %c1)
// CHECK:           scf.if
// CHECK:             memref.store
// CHECK:         } {mapping = [#gpu.loop_dim_map<processor = thread_y, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = thread_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// CHECK:       } {mapping = [#gpu.loop_dim_map<processor = block_y, map = (d0) -> (d0), bound = (d0) -> (d0)>, #gpu.loop_dim_map<processor = block_x, map = (d0) -> (d0), bound = (d0) -> (d0)>]}
// LAUNCH-LABEL: func.func @rows_cols
// LAUNCH:       gpu.launch blocks({{.*}}) in ({{.*}} = %c2, {{.*}} = %{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c32, {{.*}} = %c8, {{.*}} = %c1{{.*}})
func.func @rows_cols(%out: memref<?x64xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c1, %c1) {
    memref.store %cst, %out[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  return
}

// -----

// One dimension: all 256 threads on x; a static extent smaller than that
// gets its extent; the loop nested in the body stays a loop in the kernel.
// LAUNCH-LABEL: func.func @one_dim
// LAUNCH:       gpu.launch blocks({{.*}}) in ({{.*}}) threads({{.*}}) in ({{.*}} = %c256, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}})
// LAUNCH:       gpu.launch blocks({{.*}}) in ({{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}}) threads({{.*}}) in ({{.*}} = %c10, {{.*}} = %c1{{.*}}, {{.*}} = %c1{{.*}})
// LAUNCH-NOT:     scf.parallel
// LAUNCH:         scf.for
func.func @one_dim(%out: memref<?xf32>, %small: memref<10xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c10 = arith.constant 10 : index
  %cst = arith.constant 1.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %cst, %out[%i] : memref<?xf32>
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%c10) step (%c1) {
    scf.for %k = %c0 to %c10 step %c1 {
      memref.store %cst, %small[%i] : memref<10xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A loop with a reduction stays as it is (it runs on the host).
// CHECK-LABEL: func.func @reduction
// CHECK:       scf.parallel
// CHECK-NOT:   mapping
func.func @reduction(%in: memref<?xf32>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %sum = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero) -> f32 {
    %v = memref.load %in[%i] : memref<?xf32>
    scf.reduce(%v : f32) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}
