// RUN: dync-opt %s -dyn-check-subgraphs -split-input-file -verify-diagnostics | FileCheck %s

// A subgraph of static kernels passes.
// CHECK-LABEL: func.func private @ok_sg
func.func private @ok_sg(%a: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}, %l: tensor<?x8xf32> {dyn.bounds = array<i64: 8, 8>})
    -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}, tensor<?x2xf32> {dyn.bounds = array<i64: 8, 2>}, tensor<?x2xi32> {dyn.bounds = array<i64: 8, 2>})
    attributes {dyn.subgraph} {
  %e = math.exp %a : tensor<?x4xf32>
  %w, %i = dyn.moe.route %l {top_k = 2 : i64} : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  return %e, %w, %i : tensor<?x4xf32>, tensor<?x2xf32>, tensor<?x2xi32>
}

// -----

func.func private @branch_sg(%c: i1, %a: tensor<4xf32>) -> tensor<4xf32> attributes {dyn.subgraph} {
  // expected-error @+1 {{subgraph '@branch_sg' must be free of data-dependent control, but contains 'scf.if'}}
  %r = scf.if %c -> (tensor<4xf32>) {
    scf.yield %a : tensor<4xf32>
  } else {
    scf.yield %a : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

func.func private @select_sg(%m: tensor<8xi1>) -> (tensor<?xi32> {dyn.bounds = array<i64: 8>}) attributes {dyn.subgraph} {
  // expected-error @+1 {{subgraph '@select_sg' must be free of data-dependent control, but contains 'dyn.rt.select'}}
  %s = dyn.rt.select %m : tensor<8xi1> -> tensor<?xi32>
  return %s : tensor<?xi32>
}

// -----

func.func private @callee(%a: tensor<4xf32>) -> tensor<4xf32>
func.func private @call_sg(%a: tensor<4xf32>) -> tensor<4xf32> attributes {dyn.subgraph} {
  // expected-error @+1 {{subgraph '@call_sg' must be free of data-dependent control, but contains 'func.call'}}
  %r = func.call @callee(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

// expected-error @+1 {{subgraph '@unbounded_sg': argument #0 ('tensor<?x4xf32>') has a dynamic dimension without a bound}}
func.func private @unbounded_sg(%a: tensor<?x4xf32>) -> tensor<4xf32> attributes {dyn.subgraph} {
  %c = arith.constant dense<1.0> : tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

// expected-error @+1 {{subgraph '@unbounded_result_sg': result #0 ('tensor<?xf32>') has a dynamic dimension without a bound}}
func.func private @unbounded_result_sg(%a: tensor<?xf32> {dyn.bounds = array<i64: 4>}) -> tensor<?xf32> attributes {dyn.subgraph} {
  return %a : tensor<?xf32>
}

// -----

func.func private @region_sg(%x: tensor<?x4xf32> {dyn.bounds = array<i64: 4, 4>}, %s: tensor<?xf32> {dyn.bounds = array<i64: 4>}, %t: f32)
    -> (tensor<?x4xf32> {dyn.bounds = array<i64: 4, 4>}) attributes {dyn.subgraph} {
  // expected-error @+1 {{subgraph '@region_sg' must be free of data-dependent control, but contains 'dyn.gate'}}
  %y = dyn.gate %x score(%s : tensor<?xf32>) threshold(%t) : tensor<?x4xf32> {
  ^bb0(%h: tensor<?x4xf32>):
    dyn.yield %h : tensor<?x4xf32>
  }
  return %y : tensor<?x4xf32>
}
