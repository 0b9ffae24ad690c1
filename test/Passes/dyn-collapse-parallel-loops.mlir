// RUN: dync-opt %s -dyn-collapse-parallel-loops -split-input-file | FileCheck %s

// An elementwise loop over [B, 128, 64]: B and the rows become one
// dimension of B * 128 iterations (what the thread pool splits), the
// innermost stays a dimension of its own; the indices come back by division.
// CHECK-LABEL: func.func @elementwise(
// CHECK:         %[[B:.+]] = memref.dim
// CHECK:         %[[BR:.+]] = arith.muli %{{.+}}, %[[B]]
// CHECK:         %[[ROWS:.+]] = arith.muli %[[BR]], %[[C128:.+]] : index
// CHECK:         scf.parallel (%[[I:.+]], %[[K:.+]]) = (%{{.+}}, %{{.+}}) to (%[[ROWS]], %{{.+}})
// CHECK-DAG:       %[[R:.+]] = arith.remsi %[[I]], %[[C128]]
// CHECK-DAG:       %[[Q:.+]] = arith.divsi %[[I]], %[[C128]]
// CHECK:           memref.load %{{.+}}[%[[Q]], %[[R]], %[[K]]]
// CHECK-NOT:     scf.parallel
func.func @elementwise(%x: memref<?x128x64xf32>, %y: memref<?x128x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %c128 = arith.constant 128 : index
  %n = memref.dim %x, %c0 : memref<?x128x64xf32>
  scf.parallel (%i, %j, %k) = (%c0, %c0, %c0) to (%n, %c128, %c64) step (%c1, %c1, %c1) {
    %v = memref.load %x[%i, %j, %k] : memref<?x128x64xf32>
    memref.store %v, %y[%i, %j, %k] : memref<?x128x64xf32>
  }
  return
}

// -----

// A body that holds a loop (a row's reduction; a matmul's tiles): every
// dimension is combined, the innermost too, with its step normalized.
// CHECK-LABEL: func.func @reduction_rows(
// CHECK:         scf.parallel (%[[I:.+]]) = (%{{.+}}) to (%{{.+}}) step (%{{.+}}) {
// CHECK:           arith.remsi %[[I]]
// CHECK:           arith.divsi %[[I]]
// CHECK:           scf.for
// CHECK-NOT:     scf.parallel
func.func @reduction_rows(%x: memref<?x8x64xf32>, %y: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c8 = arith.constant 8 : index
  %c64 = arith.constant 64 : index
  %n = memref.dim %x, %c0 : memref<?x8x64xf32>
  scf.parallel (%i, %h) = (%c0, %c0) to (%n, %c8) step (%c1, %c2) {
    %init = memref.load %y[%i, %h] : memref<?x8xf32>
    %s = scf.for %k = %c0 to %c64 step %c1 iter_args(%acc = %init) -> (f32) {
      %v = memref.load %x[%i, %h, %k] : memref<?x8x64xf32>
      %a = arith.addf %acc, %v : f32
      scf.yield %a : f32
    }
    memref.store %s, %y[%i, %h] : memref<?x8xf32>
  }
  return
}

// -----

// Left alone: a 2-d elementwise loop (combining would leave the first
// dimension alone), a 1-d loop, a loop with results, and a loop nested in
// another parallel loop (the outer one, whose body holds it, is combined).
// CHECK-LABEL: func.func @left_alone(
// CHECK:         scf.parallel (%{{.+}}, %{{.+}}) = (%{{.+}}, %{{.+}}) to (%{{.+}}, %{{.+}})
// CHECK:         scf.parallel (%{{.+}}) = (%{{.+}}) to (%{{.+}})
// CHECK:         scf.parallel (%{{.+}}, %{{.+}}) = {{.+}} init
// CHECK:         scf.parallel (%{{[^,]+}}) = (%{{[^,]+}}) to (%{{[^,]+}}) step (%{{[^,]+}}) {
// CHECK:           scf.parallel (%{{.+}}, %{{.+}}) = (%{{.+}}, %{{.+}}) to
func.func @left_alone(%x: memref<?x64xf32>, %z: memref<?x4x8x16xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c1, %c1) {
    memref.store %zero, %x[%i, %j] : memref<?x64xf32>
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %zero, %x[%i, %c0] : memref<?x64xf32>
  }
  %sum = scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c1, %c1) init (%zero) -> f32 {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    scf.reduce(%v : f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }
  }
  scf.parallel (%i, %h) = (%c0, %c0) to (%n, %c4) step (%c1, %c1) {
    scf.parallel (%a, %b) = (%c0, %c0) to (%c8, %c16) step (%c1, %c1) {
      memref.store %zero, %z[%i, %h, %a, %b] : memref<?x4x8x16xf32>
    }
  }
  return %sum : f32
}
