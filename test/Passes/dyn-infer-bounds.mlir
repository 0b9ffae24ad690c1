// RUN: dync-opt %s -dyn-infer-bounds -split-input-file -verify-diagnostics | FileCheck %s

// Model dims bound the arguments; a compacted live batch is bounded by the
// batch it came from; MoE rows by T*k; results by what the body returns.
// CHECK-LABEL: func.func private @live_sg
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 32, 4>}) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 32, 4>})
// CHECK-LABEL: func.func private @rows_sg
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 64, 4>})
// CHECK-LABEL: func.func private @token_sg
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 512, 4>})
func.func @forward(%x: tensor<?x4xf32> {dyn.shape = ["B", 4]}, %m: tensor<?xi1> {dyn.shape = ["B"]},
                   %t: tensor<?x16x4xf32> {dyn.shape = ["B", 16, 4]}, %i: tensor<?x2xi32>)
    attributes {dyn.dims = {B = array<i64: 1, 32>}} {
  %sel = dyn.rt.select %m : tensor<?xi1> -> tensor<?xi32>
  %live = dyn.rt.gather_rows %x[%sel] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %o = func.call @live_sg(%live) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %rows, %off, %slots = dyn.moe.dispatch %x, %i {num_experts = 4 : i64}
      : tensor<?x4xf32>, tensor<?x2xi32> -> tensor<?x4xf32>, tensor<5xi32>, tensor<?x2xi32>
  %r = func.call @rows_sg(%rows) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %flat = tensor.collapse_shape %t [[0, 1], [2]] : tensor<?x16x4xf32> into tensor<?x4xf32>
  %f = func.call @token_sg(%flat) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return
}
func.func private @live_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  %e = math.exp %a : tensor<?x4xf32>
  return %e : tensor<?x4xf32>
}
func.func private @rows_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  return %a : tensor<?x4xf32>
}
func.func private @token_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  return %a : tensor<?x4xf32>
}

// -----

// A subgraph called from two places takes the larger bound.
// CHECK-LABEL: func.func private @shared_sg
// CHECK-SAME:  dyn.bounds = array<i64: 16, 4>
func.func @forward(%x: tensor<?x4xf32> {dyn.shape = ["B", 4]}, %y: tensor<?x4xf32> {dyn.shape = ["S", 4]})
    attributes {dyn.dims = {B = array<i64: 1, 8>, S = array<i64: 1, 16>}} {
  %a = func.call @shared_sg(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  %b = func.call @shared_sg(%y) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return
}
func.func private @shared_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  return %a : tensor<?x4xf32>
}

// -----

// negative: a dynamic argument of the entry point without a model dim.
func.func @forward(%x: tensor<?x4xf32>) {
  %a = func.call @unbounded_sg(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return
}
// expected-error @+2 {{cannot bound dimension 0 of argument #0 ('tensor<?x4xf32>') of subgraph '@unbounded_sg': it does not derive from a model dim with a declared maximum}}
// expected-error @+1 {{cannot bound dimension 0 of result #0 ('tensor<?x4xf32>') of subgraph '@unbounded_sg'}}
func.func private @unbounded_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  return %a : tensor<?x4xf32>
}

// -----

// Bounds through what the dyn ops say of their dims (ValueBoundsOpInterface):
// experts' rows are the dispatched rows (at most T*k), combine's are the
// tokens, top-k's keep the other dims, scattered rows the destination's.
// CHECK-LABEL: func.func private @experts_sg
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 16, 4>}, %{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}, %{{.*}}: tensor<?x2xf32> {dyn.bounds = array<i64: 8, 2>}, %{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>})
func.func @forward(%x: tensor<?x4xf32> {dyn.shape = ["B", 4]}, %i: tensor<?x2xi32> {dyn.shape = ["B", 2]},
                   %w: tensor<?x2xf32> {dyn.shape = ["B", 2]}, %w1: tensor<2x3x4xf32>, %w2: tensor<2x4x3xf32>,
                   %sel: tensor<?xi32> {dyn.shape = ["B"]})
    attributes {dyn.dims = {B = array<i64: 1, 8>}} {
  %rows, %off, %slots = dyn.moe.dispatch %x, %i {num_experts = 2 : i64}
      : tensor<?x4xf32>, tensor<?x2xi32> -> tensor<?x4xf32>, tensor<3xi32>, tensor<?x2xi32>
  %out = dyn.moe.experts %rows, %off w1(%w1) w2(%w2) {activation = #dyn.activation<relu>}
      : (tensor<?x4xf32>, tensor<3xi32>, tensor<2x3x4xf32>, tensor<2x4x3xf32>) -> tensor<?x4xf32>
  %y = dyn.moe.combine %out, %slots, %w : tensor<?x4xf32>, tensor<?x2xi32>, tensor<?x2xf32> -> tensor<?x4xf32>
  %v, %k = dyn.topk %x {k = 2 : i64, axis = 1 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi64>
  %g = dyn.rt.gather_rows %x[%sel] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %s = dyn.rt.scatter_rows %g into %x[%sel] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  func.call @experts_sg(%out, %y, %v, %s) : (tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x2xf32>, tensor<?x4xf32>) -> ()
  return
}
func.func private @experts_sg(%a: tensor<?x4xf32>, %b: tensor<?x4xf32>, %c: tensor<?x2xf32>, %d: tensor<?x4xf32>)
    attributes {dyn.subgraph} {
  return
}

// -----

// A subgraph that reshapes with a shape tensor its caller built: the result
// is bounded through the caller's sizes (found by the differential tester:
// a per-token gate around a per-sample gate, then MoE, was refused).
// CHECK-LABEL: func.func private @reshape_sg
// CHECK-SAME:  -> (tensor<?x4xf32> {dyn.bounds = array<i64: 40, 4>})
func.func @forward(%x: tensor<?x4xf32> {dyn.shape = ["T", 4]}, %b: index, %s: index)
    attributes {dyn.dims = {T = array<i64: 1, 40>}} {
  %c0 = arith.constant 0 : index
  %t = tensor.dim %x, %c0 : tensor<?x4xf32>
  %c4 = arith.constant 4 : index
  %c1 = arith.constant 1 : index
  %shape = tensor.from_elements %c1, %t, %c4 : tensor<3xindex>
  %y = func.call @reshape_sg(%x, %shape) : (tensor<?x4xf32>, tensor<3xindex>) -> tensor<?x4xf32>
  return
}
func.func private @reshape_sg(%a: tensor<?x4xf32>, %shape: tensor<3xindex>) -> tensor<?x4xf32>
    attributes {dyn.subgraph} {
  %r = tensor.reshape %a(%shape) : (tensor<?x4xf32>, tensor<3xindex>) -> tensor<?x?x4xf32>
  %c = tensor.collapse_shape %r [[0, 1], [2]] : tensor<?x?x4xf32> into tensor<?x4xf32>
  return %c : tensor<?x4xf32>
}

// -----

// Loop-carried values (an ONNX Loop in the host program): a value that keeps
// its init's size in every iteration is bounded by the init, in scf.for and
// in scf.while (before and after regions), and so is what the loop returns.
// CHECK-LABEL: func.func private @for_sg
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>})
// CHECK-LABEL: func.func private @while_sg
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>})
// CHECK-LABEL: func.func private @after_sg
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>})
func.func @forward(%x: tensor<?x4xf32> {dyn.shape = ["B", 4]}, %n: index, %go: i1)
    attributes {dyn.dims = {B = array<i64: 1, 8>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = scf.for %i = %c0 to %n step %c1 iter_args(%h = %x) -> (tensor<?x4xf32>) {
    %h2 = func.call @for_sg(%h) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    scf.yield %h2 : tensor<?x4xf32>
  }
  %w = scf.while (%h = %f) : (tensor<?x4xf32>) -> tensor<?x4xf32> {
    scf.condition(%go) %h : tensor<?x4xf32>
  } do {
  ^bb0(%h: tensor<?x4xf32>):
    %h2 = func.call @while_sg(%h) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    scf.yield %h2 : tensor<?x4xf32>
  }
  %r = func.call @after_sg(%w) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return
}
func.func private @for_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  %e = math.exp %a : tensor<?x4xf32>
  return %e : tensor<?x4xf32>
}
func.func private @while_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  %e = math.tanh %a : tensor<?x4xf32>
  return %e : tensor<?x4xf32>
}
func.func private @after_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  return %a : tensor<?x4xf32>
}

// -----

// A loop-carried value that grows each iteration has no bound.
func.func @forward(%x: tensor<?x4xf32> {dyn.shape = ["B", 4]}, %n: index)
    attributes {dyn.dims = {B = array<i64: 1, 8>}} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = scf.for %i = %c0 to %n step %c1 iter_args(%h = %x) -> (tensor<?x4xf32>) {
    %h2 = func.call @grow_sg(%h) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    scf.yield %h2 : tensor<?x4xf32>
  }
  return
}
// expected-error @+2 {{cannot bound dimension 0 of argument #0 ('tensor<?x4xf32>') of subgraph '@grow_sg'}}
// expected-error @+1 {{cannot bound dimension 0 of result #0 ('tensor<?x4xf32>') of subgraph '@grow_sg'}}
func.func private @grow_sg(%a: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph} {
  %c = tensor.concat dim(0) %a, %a : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x4xf32>
  return %c : tensor<?x4xf32>
}
