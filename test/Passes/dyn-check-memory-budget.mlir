// The plan below needs 4096 bytes for the buffer (B ≤ 16 rows of 64 f32)
// plus a workspace of 250 bytes: slot 0 at its largest use (200) and slot 1
// (50). A budget of exactly that passes; one byte less is refused.
// RUN: dync-opt %s -split-input-file -verify-diagnostics -dyn-check-memory-budget=max-bytes=4346 | FileCheck %s
// RUN: not dync-opt %s -split-input-file -dyn-check-memory-budget=max-bytes=4345 2>&1 | FileCheck %s --check-prefix=OVER
// No budget (0) checks nothing, not even bounds.
// RUN: dync-opt %s -split-input-file -dyn-check-memory-budget | FileCheck %s --check-prefix=NONE

// CHECK-LABEL: func.func @forward
// OVER: error: the model's memory plan needs up to 4346 bytes (4.2 KiB) at the largest sizes of its dims (a workspace of 250 bytes in 2 slots, plus 4096 bytes (4.0 KiB) in 1 other buffers), over the budget of 4345 bytes (4.2 KiB) (--memory-budget)
func.func private @dync_workspace(index, index) -> memref<?xi8>
func.func @forward(%x: memref<?x64xf32> {dyn.shape = ["B", 64]}) -> memref<?x64xf32>
    attributes {dyn.dims = {B = array<i64: 1, 16>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c50 = arith.constant 50 : index
  %c100 = arith.constant 100 : index
  %c200 = arith.constant 200 : index
  %w0 = call @dync_workspace(%c0, %c100) : (index, index) -> memref<?xi8>
  %w1 = call @dync_workspace(%c0, %c200) : (index, index) -> memref<?xi8>
  %w2 = call @dync_workspace(%c1, %c50) : (index, index) -> memref<?xi8>
  %b = memref.dim %x, %c0 : memref<?x64xf32>
  %y = memref.alloc(%b) : memref<?x64xf32>
  return %y : memref<?x64xf32>
}

// -----

// A size that went through a shape buffer (a bufferized tensor.reshape),
// the reshaped buffer's dim, and a count clamped to the mask it counts are
// bounded.
// CHECK-LABEL: func.func @through_shape_buffer
// OVER-NOT: through_shape_buffer
func.func @through_shape_buffer(%x: memref<?x1xf32> {dyn.shape = ["B", 1]}, %m: memref<?xi1> {dyn.shape = ["B"]}, %n: index) -> (memref<?xf32>, memref<?xi8>)
    attributes {dyn.dims = {B = array<i64: 1, 16>}} {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?x1xf32>
  %shape = memref.alloca() : memref<1xindex>
  memref.store %b, %shape[%c0] : memref<1xindex>
  %flat = memref.reshape %x(%shape) : (memref<?x1xf32>, memref<1xindex>) -> memref<?xf32>
  %size = memref.load %shape[%c0] : memref<1xindex>
  %y = memref.alloc(%size) : memref<?xf32>
  %len = memref.dim %m, %c0 : memref<?xi1>
  %count = arith.minsi %n, %len : index
  %z = memref.alloc(%count) : memref<?xi8>
  // The reshaped buffer's own dim, read back from the shape buffer too.
  %flatDim = memref.dim %flat, %c0 : memref<?xf32>
  %w = memref.alloc(%flatDim) : memref<?xf32>
  memref.dealloc %w : memref<?xf32>
  return %y, %z : memref<?xf32>, memref<?xi8>
}

// -----

// A size read from data has no bound: refused, pointing at the buffer.
// NONE-LABEL: func.func @unbounded
// OVER: error: cannot bound the size of this buffer to check the model's memory against the budget (--memory-budget)
func.func @unbounded(%sizes: memref<4xindex>) -> memref<?xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.load %sizes[%c0] : memref<4xindex>
  // expected-error @+1 {{cannot bound the size of this buffer}}
  %y = memref.alloc(%n) : memref<?xf32>
  return %y : memref<?xf32>
}

// -----

// A shape buffer passed to a function that only reshapes with it keeps its
// bound; one passed to a function that may write it does not.
func.func private @reads_shape(%x: memref<?xf32>, %s: memref<1xindex>) -> memref<?xf32> {
  %r = memref.reshape %x(%s) : (memref<?xf32>, memref<1xindex>) -> memref<?xf32>
  return %r : memref<?xf32>
}
func.func private @writes_shape(%s: memref<1xindex>) {
  %c0 = arith.constant 0 : index
  %big = arith.constant 1000000 : index
  memref.store %big, %s[%c0] : memref<1xindex>
  return
}
func.func @through_calls(%x: memref<?xf32> {dyn.shape = ["B"]}) -> memref<?xf32>
    attributes {dyn.dims = {B = array<i64: 1, 16>}} {
  %c0 = arith.constant 0 : index
  %b = memref.dim %x, %c0 : memref<?xf32>
  %shape = memref.alloca() : memref<1xindex>
  memref.store %b, %shape[%c0] : memref<1xindex>
  %r = call @reads_shape(%x, %shape) : (memref<?xf32>, memref<1xindex>) -> memref<?xf32>
  %n = memref.load %shape[%c0] : memref<1xindex>
  %y = memref.alloc(%n) : memref<?xf32>
  memref.dealloc %y : memref<?xf32>
  %shape2 = memref.alloca() : memref<1xindex>
  memref.store %b, %shape2[%c0] : memref<1xindex>
  call @writes_shape(%shape2) : (memref<1xindex>) -> ()
  %m = memref.load %shape2[%c0] : memref<1xindex>
  // expected-error @+1 {{cannot bound the size of this buffer}}
  %z = memref.alloc(%m) : memref<?xf32>
  memref.dealloc %z : memref<?xf32>
  return %r : memref<?xf32>
}
