// RUN: dync-opt %s -dyn-outline-parallel-loops -split-input-file | FileCheck %s

// An elementwise loop nest over a dynamic batch: the outer scf.parallel
// becomes a launch with its trip count and a work estimate (n * 4 ops * 64
// columns); its body runs iterations [lo, hi) of the first dimension. The
// constants stay constants in the body; the buffers are arguments.
// CHECK-LABEL: func.func @scale(
// CHECK-SAME:    %[[X:.+]]: memref<?x64xf32>, %[[Y:.+]]: memref<?x64xf32>)
// CHECK-DAG:     %[[C0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[N:.+]] = memref.dim %[[X]], %[[C0]]
// CHECK:         %[[COUNT:.+]] = arith.maxsi %[[N]], %{{.+}}
// CHECK:         %[[PER:.+]] = arith.muli %[[COUNT]], %c4
// CHECK:         %[[WORK:.+]] = arith.muli %[[PER]], %c64
// CHECK:         call @__dync_launch.scale.0(%[[COUNT]], %[[WORK]], %[[X]], %[[Y]], %[[N]])
// CHECK-NOT:     scf.parallel
// CHECK:         return
// CHECK:       func.func private @__dync_par.scale.0(%[[LO:.+]]: index, %[[HI:.+]]: index, %[[BX:.+]]: memref<?x64xf32>, %[[BY:.+]]: memref<?x64xf32>, %[[UB:.+]]: index)
// CHECK-DAG:     %[[K0:.+]] = arith.constant 0 : index
// CHECK-DAG:     %[[K1:.+]] = arith.constant 1 : index
// CHECK-DAG:     %[[K64:.+]] = arith.constant 64 : index
// CHECK:         %[[FROM:.+]] = arith.addi %[[K0]], %{{.+}}
// CHECK:         %[[TO:.+]] = arith.minsi %[[UB]],
// CHECK:         scf.parallel (%{{.+}}, %{{.+}}) = (%[[FROM]], %[[K0]]) to (%[[TO]], %[[K64]]) step (%[[K1]], %[[K1]])
// CHECK:           memref.load %[[BX]]
// CHECK:           memref.store %{{.+}}, %[[BY]]
// CHECK:       func.func private @__dync_launch.scale.0(index, index, memref<?x64xf32>, memref<?x64xf32>, index)
func.func @scale(%x: memref<?x64xf32>, %y: memref<?x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %cst = arith.constant 2.0 : f32
  %n = memref.dim %x, %c0 : memref<?x64xf32>
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c64) step (%c1, %c1) {
    %v = memref.load %x[%i, %j] : memref<?x64xf32>
    %s = arith.mulf %v, %cst : f32
    memref.store %s, %y[%i, %j] : memref<?x64xf32>
    scf.reduce
  }
  return
}

// -----

// Only the outermost loop is outlined; the inner parallel loop and the
// reduction loop stay in the body and count in the work estimate: per row,
// 32 * (8 * 5 + 1) + 1 ops (5 in the inner body, 1 per terminator).
// CHECK-LABEL: func.func @matvec(
// CHECK:         %[[PER:.+]] = arith.constant 1313 : index
// CHECK:         arith.muli %{{.+}}, %[[PER]]
// CHECK:         call @__dync_launch.matvec.0(
// CHECK:       func.func private @__dync_par.matvec.0(
// CHECK:         scf.parallel
// CHECK:           scf.for
// CHECK:             scf.parallel
// CHECK-NOT:   func.func private @__dync_par.matvec.1
func.func @matvec(%a: memref<?x32x8xf32>, %b: memref<?x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c32 = arith.constant 32 : index
  %n = memref.dim %a, %c0 : memref<?x32x8xf32>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    scf.for %k = %c0 to %c32 step %c1 {
      scf.parallel (%j) = (%c0) to (%c8) step (%c1) {
        %v = memref.load %a[%i, %k, %j] : memref<?x32x8xf32>
        %acc = memref.load %b[%i, %j] : memref<?x8xf32>
        %s = arith.addf %v, %acc : f32
        memref.store %s, %b[%i, %j] : memref<?x8xf32>
        scf.reduce
      }
    }
    scf.reduce
  }
  return
}

// -----

// Inner trip counts known before the loop (%k, an argument) are computed at
// run time; others (%m, loaded inside) are assumed to be 16: per row,
// 1 + k * (16 * 2 + 1) + 1.
// CHECK-LABEL: func.func @dynamic_inner(
// CHECK-SAME:    %{{.+}}: memref<?xindex>, %[[N:.+]]: index, %[[K:.+]]: index)
// CHECK:         %[[COUNT:.+]] = arith.maxsi %[[N]]
// CHECK:         %[[KTRIPS:.+]] = arith.maxsi %[[K]]
// CHECK:         %[[INNER:.+]] = arith.muli %[[KTRIPS]], %c33
// CHECK:         %[[PLUS:.+]] = arith.addi %[[INNER]], %c1
// CHECK:         %[[BODY:.+]] = arith.addi %[[PLUS]], %c1
// CHECK:         %[[WORK:.+]] = arith.muli %[[COUNT]], %[[BODY]]
// CHECK:         call @__dync_launch.dynamic_inner.0(%[[COUNT]], %[[WORK]],
func.func @dynamic_inner(%x: memref<?xindex>, %n: index, %k: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %m = memref.load %x[%i] : memref<?xindex>
    scf.for %a = %c0 to %k step %c1 {
      scf.for %b = %c0 to %m step %c1 {
        memref.store %m, %x[%b] : memref<?xindex>
      }
    }
    scf.reduce
  }
  return
}

// -----

// A loop that updates the thread-local run statistics, or calls a function,
// runs where it is; one that reads an ordinary global goes to the pool.
// CHECK-LABEL: func.func @stays(
// CHECK:         call @__dync_launch.stays.0(
// CHECK:         scf.parallel
// CHECK:           llvm.mlir.addressof @dync_stats
// CHECK:         scf.parallel
// CHECK:           call @clock
// CHECK:       func.func private @__dync_par.stays.0(
// CHECK:           llvm.mlir.addressof @table
// CHECK-NOT:   __dync_launch.stays.1
llvm.mlir.global external thread_local @dync_stats(0 : i64) : i64
llvm.mlir.global external constant @table(7 : i64) : i64
func.func private @clock() -> i64
func.func @stays(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %p = llvm.mlir.addressof @table : !llvm.ptr
    %v = llvm.load %p : !llvm.ptr -> i64
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %p = llvm.mlir.addressof @dync_stats : !llvm.ptr
    %v = llvm.load %p : !llvm.ptr -> i64
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %t = func.call @clock() : () -> i64
    scf.reduce
  }
  return
}

// -----

// Calls of functions the module defines (bufferization's dealloc_helper)
// go to the pool with the loop, twice over and through a recursive
// function; a defined function that calls a declaration (the runtime's
// workspace) keeps its loop in place.
// CHECK-LABEL: func.func @helpers(
// CHECK:         call @__dync_launch.helpers.0(
// CHECK:         scf.parallel
// CHECK:           call @uses_runtime
// CHECK:       func.func private @__dync_par.helpers.0(
// CHECK:           call @helper
// CHECK:           call @helper
// CHECK:           call @recursive
// CHECK-NOT:   __dync_launch.helpers.1
func.func private @runtime() -> i64
func.func private @helper(%x: index) -> index {
  %c1 = arith.constant 1 : index
  %y = arith.addi %x, %c1 : index
  return %y : index
}
func.func private @recursive(%x: index) -> index {
  %y = call @recursive(%x) : (index) -> index
  %z = call @helper(%y) : (index) -> index
  return %z : index
}
func.func private @uses_runtime() -> i64 {
  %t = call @runtime() : () -> i64
  return %t : i64
}
func.func @helpers(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %a = func.call @helper(%i) : (index) -> index
    %b = func.call @helper(%a) : (index) -> index
    %c = func.call @recursive(%b) : (index) -> index
    scf.reduce
  }
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %t = func.call @uses_runtime() : () -> i64
    scf.reduce
  }
  return
}

// -----

// A parallel loop with a reduction result stays too.
// CHECK-LABEL: func.func @sum(
// CHECK:         scf.parallel
// CHECK-NOT:     __dync_launch
func.func @sum(%x: memref<?xf32>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %r = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero) -> f32 {
    %v = memref.load %x[%i] : memref<?xf32>
    scf.reduce(%v : f32) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %b : f32
      scf.reduce.return %s : f32
    }
  }
  return %r : f32
}
