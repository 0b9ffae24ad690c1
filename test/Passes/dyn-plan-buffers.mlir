// RUN: dync-opt %s -dyn-plan-buffers -split-input-file | FileCheck %s

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

// Left to malloc: a returned buffer, one freed conditionally, and one
// allocated inside a loop.
// CHECK-LABEL: func.func @escapes(
// CHECK-COUNT-3: memref.alloc
// CHECK-NOT:     dync_workspace
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
