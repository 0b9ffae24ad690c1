// RUN: dync-opt %s -dyn-emulate-gpu-launches -split-input-file -verify-diagnostics | FileCheck %s

// A launch becomes one parallel loop over (block z, y, x, thread z, y, x);
// the body reads the loop's induction variables where it read its ids, and
// the launch's operands where it read its sizes.
// CHECK-LABEL: func.func @launch
// CHECK-NOT:   gpu.launch
// CHECK:       scf.parallel (%[[BZ:.*]], %[[BY:.*]], %[[BX:.*]], %[[TZ:.*]], %[[TY:.*]], %[[TX:.*]]) = (%{{.*}}) to (%c1{{.*}}, %c1{{.*}}, %arg1, %c1{{.*}}, %c1{{.*}}, %c32)
// CHECK:         %[[ROW:.*]] = arith.muli %[[BX]], %c32
// CHECK:         %[[I:.*]] = arith.addi %[[ROW]], %[[TX]]
// CHECK:         scf.if
// CHECK:           memref.store %{{.*}}, %arg0[%[[I]]]
// CHECK-NOT:   gpu.terminator
func.func @launch(%out: memref<?xf32>, %blocks: index, %n: index) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %cst = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %blocks, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    %row = arith.muli %bx, %sx : index
    %i = arith.addi %row, %tx : index
    %in = arith.cmpi ult, %i, %n : index
    scf.if %in {
      memref.store %cst, %out[%i] : memref<?xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// Threads that synchronize are not independent: refused.
func.func @barrier() {
  %c1 = arith.constant 1 : index
  // expected-error @below {{dyn-emulate-gpu-launches: a kernel with barriers cannot be emulated}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    gpu.barrier
    gpu.terminator
  }
  return
}

// -----

func.func @shared(%n: i32) {
  %c1 = arith.constant 1 : index
  // expected-error @below {{dyn-emulate-gpu-launches: only synchronous launches of one-block bodies without shared memory or clusters can be emulated}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) dynamic_shared_memory_size %n {
    gpu.terminator
  }
  return
}

// -----

func.func @ids() {
  %c1 = arith.constant 1 : index
  // expected-error @below {{dyn-emulate-gpu-launches: a kernel reads its ids through gpu ops}}
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    %t = gpu.thread_id x
    gpu.terminator
  }
  return
}
