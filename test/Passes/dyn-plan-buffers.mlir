// RUN: dync-opt %s -dyn-plan-buffers -split-input-file | FileCheck %s
// RUN: dync-opt %s -dyn-plan-buffers=share-leaf-slots -split-input-file | FileCheck %s --check-prefix=SHARE

// Three temporaries: %a is last used before %c is allocated, so %c takes
// %a's slot; %b, live meanwhile, gets its own. Each alloc becomes a view of
// its slot's workspace (bytes: element size times the sizes), and the
// deallocs go.
// CHECK-LABEL: func.func @reuse(
// CHECK-SAME:    %[[N:.+]]: index
// CHECK-SAME:    attributes {dyn.workspace_slots = 2 : i64}
// CHECK:         %[[BYTES:.+]] = arith.muli %{{.+}}, %[[N]]
// CHECK:         %[[S0:.+]] = arith.constant 0 : index
// CHECK:         %[[W0:.+]] = call @dync_workspace(%[[S0]], %[[BYTES]]) : (index, index) -> memref<?xi8>
// CHECK:         %[[A:.+]] = memref.view %[[W0]][%{{.+}}][%[[N]]] : memref<?xi8> to memref<?xf32>
// CHECK:         %[[S1:.+]] = arith.constant 1 : index
// CHECK:         call @dync_workspace(%[[S1]], %{{.+}})
// CHECK:         memref.view {{.+}} to memref<16xf32>
// CHECK:         %[[S0B:.+]] = arith.constant 0 : index
// CHECK:         call @dync_workspace(%[[S0B]], %{{.+}})
// CHECK:         memref.view {{.+}} to memref<8xi32>
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     memref.dealloc
// CHECK:       func.func private @dync_workspace(index, index) -> memref<?xi8> attributes {llvm.emit_c_interface}
func.func @reuse(%n: index, %x: f32, %i: i32) {
  %c0 = arith.constant 0 : index
  %a = memref.alloc(%n) : memref<?xf32>
  memref.store %x, %a[%c0] : memref<?xf32>
  %b = memref.alloc() : memref<16xf32>
  %v = memref.load %a[%c0] : memref<?xf32>
  memref.store %v, %b[%c0] : memref<16xf32>
  %c = memref.alloc() : memref<8xi32>
  memref.store %i, %c[%c0] : memref<8xi32>
  %w = memref.load %b[%c0] : memref<16xf32>
  memref.dealloc %c : memref<8xi32>
  memref.dealloc %b : memref<16xf32>
  memref.dealloc %a : memref<?xf32>
  return
}

// -----

// A view keeps its buffer alive: %a is read through a subview after %b is
// allocated, so they do not share a slot.
// CHECK-LABEL: func.func @alias(
// CHECK-SAME:    attributes {dyn.workspace_slots = 2 : i64}
func.func @alias(%x: f32) {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<8xf32>
  %s = memref.subview %a[2] [4] [1] : memref<8xf32> to memref<4xf32, strided<[1], offset: 2>>
  %b = memref.alloc() : memref<8xf32>
  memref.store %x, %b[%c0] : memref<8xf32>
  memref.store %x, %s[%c0] : memref<4xf32, strided<[1], offset: 2>>
  memref.dealloc %b : memref<8xf32>
  memref.dealloc %a : memref<8xf32>
  return
}

// -----

// Uses in nested regions count at their op: %a is used inside the loop,
// after %b's allocation.
// CHECK-LABEL: func.func @nested_use(
// CHECK-SAME:    attributes {dyn.workspace_slots = 2 : i64}
func.func @nested_use(%x: f32, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.alloc() : memref<8xf32>
  %b = memref.alloc() : memref<8xf32>
  scf.for %i = %c0 to %n step %c1 {
    memref.store %x, %a[%c0] : memref<8xf32>
    memref.store %x, %b[%c0] : memref<8xf32>
  }
  memref.dealloc %b : memref<8xf32>
  memref.dealloc %a : memref<8xf32>
  return
}

// -----

// Left to malloc: a returned buffer and one freed conditionally (the one
// a loop's body allocates and frees gets a slot: see @loop_body).
// CHECK-LABEL: func.func @escapes(
// CHECK-COUNT-2: memref.alloc
// CHECK-NOT:     memref.alloc
func.func @escapes(%cond: i1, %n: index) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = memref.alloc() : memref<4xf32>
  %t = memref.alloc() : memref<4xf32>
  scf.if %cond {
    memref.dealloc %t : memref<4xf32>
  }
  scf.for %i = %c0 to %n step %c1 {
    %l = memref.alloc() : memref<4xf32>
    memref.dealloc %l : memref<4xf32>
  }
  return %r : memref<4xf32>
}

// -----

// A buffer whose address is taken lives until its dealloc: %b does not
// reuse %a's slot although %a's last direct use comes first.
// CHECK-LABEL: func.func @address_taken(
// CHECK-SAME:    attributes {dyn.workspace_slots = 2 : i64}
func.func @address_taken(%x: f32) -> index {
  %c0 = arith.constant 0 : index
  %a = memref.alloc() : memref<8xf32>
  %p = memref.extract_aligned_pointer_as_index %a : memref<8xf32> -> index
  %b = memref.alloc() : memref<8xf32>
  memref.store %x, %b[%c0] : memref<8xf32>
  memref.dealloc %b : memref<8xf32>
  memref.dealloc %a : memref<8xf32>
  return %p : index
}

// -----

// A loop's body (a MoE layer's loop over experts) gets slots of its own for
// the buffers each iteration allocates and frees: they do not share with
// %outer, live across the loop, and the two in the body share one as they
// would at the top. A parallel loop's body is left alone: its iterations
// run on the pool's threads, which a call into the runtime would keep from
// happening.
// CHECK-LABEL: func.func @loop_body(
// CHECK-SAME:    attributes {dyn.workspace_slots = 2 : i64}
// CHECK:         %[[S0:c0_[0-9]+]] = arith.constant 0 : index
// CHECK-NEXT:    call @dync_workspace(%[[S0]], %{{.+}})
// CHECK:         scf.for
// CHECK:           %[[S1:c1_[0-9]+]] = arith.constant 1 : index
// CHECK-NEXT:      func.call @dync_workspace(%[[S1]], %{{.+}})
// CHECK:           %[[S1B:c1_[0-9]+]] = arith.constant 1 : index
// CHECK-NEXT:      func.call @dync_workspace(%[[S1B]], %{{.+}})
// CHECK:         scf.parallel
// CHECK:           memref.alloc(
// CHECK:           memref.dealloc
// CHECK-NOT:     dync_workspace
// CHECK:         return
func.func @loop_body(%n: index, %x: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %outer = memref.alloc() : memref<16xf32>
  scf.for %e = %c0 to %c4 step %c1 {
    %a = memref.alloc(%n) : memref<?xf32>
    memref.store %x, %a[%c0] : memref<?xf32>
    %v = memref.load %a[%c0] : memref<?xf32>
    memref.dealloc %a : memref<?xf32>
    %b = memref.alloc(%n) : memref<?xf32>
    memref.store %v, %b[%c0] : memref<?xf32>
    memref.store %v, %outer[%e] : memref<16xf32>
    memref.dealloc %b : memref<?xf32>
  }
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    %t = memref.alloc(%n) : memref<?xf32>
    memref.store %x, %t[%c0] : memref<?xf32>
    memref.dealloc %t : memref<?xf32>
  }
  memref.dealloc %outer : memref<16xf32>
  return
}

// -----

// Slots across functions. By default every function has a range of its
// own. With share-leaf-slots, the two subgraphs (which call no function
// with slots) share one range, after the host's: the host's buffer lives
// across both calls, the subgraphs' buffers only while each runs.
// CHECK-LABEL: func.func @host(
// CHECK:         %[[H:c0_[0-9]+]] = arith.constant 0 : index
// CHECK-NEXT:    call @dync_workspace(%[[H]],
// CHECK-LABEL: func.func private @sg0(
// CHECK:         %[[A:c1(_[0-9]+)?]] = arith.constant 1 : index
// CHECK-NEXT:    call @dync_workspace(%[[A]],
// CHECK-LABEL: func.func private @sg1(
// CHECK:         %[[B:c2(_[0-9]+)?]] = arith.constant 2 : index
// CHECK-NEXT:    call @dync_workspace(%[[B]],
// SHARE-LABEL: func.func @host(
// SHARE:         %[[H:c0_[0-9]+]] = arith.constant 0 : index
// SHARE-NEXT:    call @dync_workspace(%[[H]],
// SHARE-LABEL: func.func private @sg0(
// SHARE:         %[[A:c1(_[0-9]+)?]] = arith.constant 1 : index
// SHARE-NEXT:    call @dync_workspace(%[[A]],
// SHARE-LABEL: func.func private @sg1(
// SHARE:         %[[B:c1(_[0-9]+)?]] = arith.constant 1 : index
// SHARE-NEXT:    call @dync_workspace(%[[B]],
func.func @host(%x: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %h = memref.alloc() : memref<4xf32>
  memref.store %x, %h[%c0] : memref<4xf32>
  %a = call @sg0(%x) : (f32) -> f32
  %b = call @sg1(%a) : (f32) -> f32
  %v = memref.load %h[%c0] : memref<4xf32>
  memref.dealloc %h : memref<4xf32>
  %r = arith.addf %v, %b : f32
  return %r : f32
}
func.func private @sg0(%x: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %t = memref.alloc() : memref<8xf32>
  memref.store %x, %t[%c0] : memref<8xf32>
  %v = memref.load %t[%c0] : memref<8xf32>
  memref.dealloc %t : memref<8xf32>
  return %v : f32
}
func.func private @sg1(%x: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %t = memref.alloc() : memref<16xf32>
  memref.store %x, %t[%c0] : memref<16xf32>
  %v = memref.load %t[%c0] : memref<16xf32>
  memref.dealloc %t : memref<16xf32>
  return %v : f32
}

// -----

// In a parallel loop's body (no slots there), a buffer that each iteration
// of a sequential loop allocates and frees, in the loop or in a branch of
// it, is allocated once before the loop and freed after it: %s of a size
// defined outside both loops, from within the scf.if. %d's size is the
// parallel loop's index: defined outside the scf.for, so it moves too. %e's
// size changes with each iteration, %next is carried to the next iteration
// (the body does not free it) and %top, outside a parallel loop, gets a
// slot as before: they stay.
// CHECK-LABEL: func.func @hoist_in_parallel(
// CHECK:         scf.parallel (%[[I:.+]]) =
// CHECK-NEXT:      %[[S:.+]] = memref.alloc() {alignment = 64 : i64} : memref<64x64xf32>
// CHECK-NEXT:      %[[D:.+]] = memref.alloc(%[[I]]) : memref<?xf32>
// CHECK-NEXT:      scf.for %[[J:.+]] =
// CHECK-NOT:         memref.dealloc %[[S]]
// CHECK-NOT:         memref.dealloc %[[D]]
// CHECK:             scf.if
// CHECK-NOT:           memref.alloc()
// CHECK:               memref.store %{{.+}}, %[[S]]
// CHECK:             memref.alloc(%[[J]])
// CHECK:             memref.dealloc
// CHECK:           }
// CHECK-NEXT:      memref.dealloc %[[D]]
// CHECK-NEXT:      memref.dealloc %[[S]]
// CHECK:           memref.alloc() : memref<4xf32>
// CHECK:           scf.for
// CHECK-NEXT:        memref.alloc() : memref<4xf32>
// CHECK:         scf.for
// CHECK-NOT:       memref.alloc
// CHECK:           func.call @dync_workspace
func.func @hoist_in_parallel(%n: index, %x: f32, %p: i1) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
    scf.for %j = %c0 to %n step %c1 {
      scf.if %p {
        %s = memref.alloc() {alignment = 64 : i64} : memref<64x64xf32>
        memref.store %x, %s[%c0, %c0] : memref<64x64xf32>
        memref.dealloc %s : memref<64x64xf32>
      }
      %d = memref.alloc(%i) : memref<?xf32>
      memref.store %x, %d[%c0] : memref<?xf32>
      memref.dealloc %d : memref<?xf32>
      %e = memref.alloc(%j) : memref<?xf32>
      memref.store %x, %e[%c0] : memref<?xf32>
      memref.dealloc %e : memref<?xf32>
    }
    %k0 = memref.alloc() : memref<4xf32>
    %k = scf.for %j = %c0 to %n step %c1 iter_args(%cur = %k0) -> (memref<4xf32>) {
      %next = memref.alloc() : memref<4xf32>
      %v = memref.load %cur[%c0] : memref<4xf32>
      memref.store %v, %next[%c0] : memref<4xf32>
      scf.yield %next : memref<4xf32>
    }
    %v = memref.load %k[%c0] : memref<4xf32>
    scf.reduce
  }
  scf.for %j = %c0 to %n step %c1 {
    %top = memref.alloc() : memref<4xf32>
    memref.store %x, %top[%c0] : memref<4xf32>
    memref.dealloc %top : memref<4xf32>
  }
  return
}
