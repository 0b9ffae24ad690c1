// RUN: dync-opt %s -dyn-outline-subgraphs -split-input-file | FileCheck %s

// Static runs between host operations become subgraphs; constants and
// weights are rematerialized inside, not passed in; scalar glue a host op
// needs stays in the host.
// CHECK-LABEL: func.func @runs
// CHECK-SAME:  (%[[X:.*]]: tensor<?x4xf32>, %[[M:.*]]: tensor<?xi1>)
// CHECK:       %[[A:.*]] = call @runs.sg0(%[[X]]) : (tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK:       %[[SEL:.*]] = dyn.rt.select %[[M]]
// CHECK:       %[[G:.*]] = dyn.rt.gather_rows %[[A]][%[[SEL]]]
// CHECK:       %[[N:.*]] = tensor.dim %[[G]]
// CHECK:       %[[B:.*]] = call @runs.sg1(%[[N]], %[[G]]) : (index, tensor<?x4xf32>) -> tensor<?x4xf32>
// CHECK:       return %[[B]]
// CHECK:       func.func private @runs.sg1(%{{.*}}: index, %{{.*}}: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph}
// CHECK:       dyn.weight "w"
// CHECK:       arith.addf
// CHECK:       func.func private @runs.sg0(%{{.*}}: tensor<?x4xf32>) -> tensor<?x4xf32> attributes {dyn.subgraph}
// CHECK:       arith.constant dense<2.000000e+00>
// CHECK:       math.exp
// CHECK:       arith.mulf
func.func @runs(%x: tensor<?x4xf32>, %m: tensor<?xi1>) -> tensor<?x4xf32> {
  %two = arith.constant dense<2.0> : tensor<4xf32>
  %w = dyn.weight "w" : tensor<4xf32>
  %e = math.exp %x : tensor<?x4xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %e, %c0 : tensor<?x4xf32>
  %s = tensor.empty(%n) : tensor<?x4xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%e, %two : tensor<?x4xf32>, tensor<4xf32>) outs(%s : tensor<?x4xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %r = arith.mulf %p, %q : f32
    linalg.yield %r : f32
  } -> tensor<?x4xf32>
  %sel = dyn.rt.select %m : tensor<?xi1> -> tensor<?xi32>
  %g = dyn.rt.gather_rows %a[%sel] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %n2 = tensor.dim %g, %c0 : tensor<?x4xf32>
  %s2 = tensor.empty(%n2) : tensor<?x4xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%g, %w : tensor<?x4xf32>, tensor<4xf32>) outs(%s2 : tensor<?x4xf32>) {
  ^bb0(%p: f32, %q: f32, %o: f32):
    %r = arith.addf %p, %q : f32
    linalg.yield %r : f32
  } -> tensor<?x4xf32>
  return %b : tensor<?x4xf32>
}

// -----

// Static code inside scf.if branches of a host function is outlined too; a
// private region function with no host operation is a subgraph as it is.
// CHECK-LABEL: func.func @branches
// CHECK:       scf.if
// CHECK:         func.call @branches.sg0
// CHECK:         func.call @body
// CHECK:       func.func private @branches.sg0({{.*}}) -> tensor<4xf32> attributes {dyn.subgraph}
// CHECK:       math.tanh
// CHECK:       func.func private @body({{.*}}) -> tensor<4xf32> attributes {dyn.region = "dyn.gate", dyn.subgraph}
func.func @branches(%c: i1, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r = scf.if %c -> (tensor<4xf32>) {
    %t = math.tanh %x : tensor<4xf32>
    %b = func.call @body(%t) : (tensor<4xf32>) -> tensor<4xf32>
    scf.yield %b : tensor<4xf32>
  } else {
    scf.yield %x : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
func.func private @body(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dyn.region = "dyn.gate"} {
  %e = math.exp %x : tensor<4xf32>
  return %e : tensor<4xf32>
}

// -----

// negative: a host function with nothing static to outline is left alone.
// CHECK-LABEL: func.func @negative_nothing_static
// CHECK-NEXT:  dyn.rt.select
// CHECK-NEXT:  return
// CHECK-NOT:   dyn.subgraph
func.func @negative_nothing_static(%m: tensor<?xi1>) -> tensor<?xi32> {
  %s = dyn.rt.select %m : tensor<?xi1> -> tensor<?xi32>
  return %s : tensor<?xi32>
}

// -----

// A subgraph never returns an empty tensor: the caller's bufferization would
// take it for a buffer of its own, while inside the subgraph it may share the
// buffer of a value computed into it. The host makes its own accumulator.
// CHECK-LABEL: func.func @empty_not_returned
// CHECK:       %[[H:.*]] = call @empty_not_returned.sg0(%{{.*}}) : (tensor<6x8xf32>) -> tensor<6x8xf32>
// CHECK:       %[[ACC:.*]] = tensor.empty() : tensor<6x8xf32>
// CHECK:       dyn.rt.scatter_rows %{{.*}} into %[[ACC]]
// CHECK:       return %[[H]]
// CHECK:       func.func private @empty_not_returned.sg0(
// CHECK:       %[[E:.*]] = tensor.empty() : tensor<6x8xf32>
// CHECK:       %[[R:.*]] = linalg.generic {{.*}} outs(%[[E]] : tensor<6x8xf32>)
// CHECK:       return %[[R]] : tensor<6x8xf32>
func.func @empty_not_returned(%x: tensor<6x8xf32>, %rows: tensor<?x8xf32>, %i: tensor<?xi32>)
    -> (tensor<6x8xf32>, tensor<6x8xf32>) {
  %e = tensor.empty() : tensor<6x8xf32>
  %h = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d0, d1)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<6x8xf32>) outs(%e : tensor<6x8xf32>) {
  ^bb0(%p: f32, %o: f32):
    %r = math.exp %p : f32
    linalg.yield %r : f32
  } -> tensor<6x8xf32>
  %y = dyn.rt.scatter_rows %rows into %e[%i] : tensor<?x8xf32>, tensor<?xi32> -> tensor<6x8xf32>
  return %h, %y : tensor<6x8xf32>, tensor<6x8xf32>
}

// -----

// Nor a view of another value it returns: the reshape is redone in the host,
// where bufferization sees that it aliases `%h` (and copies before the merge
// writes into it). Its dynamic size comes back from the subgraph.
// CHECK-LABEL: func.func @view_not_returned
// CHECK:       %[[R:.*]]:2 = call @view_not_returned.sg0(%{{.*}}) : (tensor<?x8xf32>) -> (tensor<?x8xf32>, index)
// CHECK:       %[[V:.*]] = tensor.expand_shape %[[R]]#0 {{\[}}[0], [1, 2]] output_shape [%[[R]]#1, 2, 4]
// CHECK:       dyn.rt.scatter_rows %{{.*}} into %[[V]]
// CHECK:       return %[[R]]#0
// CHECK:       func.func private @view_not_returned.sg0({{.*}}) -> (tensor<?x8xf32>, index)
// CHECK-NOT:   tensor.expand_shape
// CHECK:       return
func.func @view_not_returned(%x: tensor<?x8xf32>, %rows: tensor<?x2x4xf32>, %i: tensor<?xi32>)
    -> (tensor<?x8xf32>, tensor<?x2x4xf32>) {
  %h = math.exp %x : tensor<?x8xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %h, %c0 : tensor<?x8xf32>
  %v = tensor.expand_shape %h [[0], [1, 2]] output_shape [%n, 2, 4] : tensor<?x8xf32> into tensor<?x2x4xf32>
  %y = dyn.rt.scatter_rows %rows into %v[%i] : tensor<?x2x4xf32>, tensor<?xi32> -> tensor<?x2x4xf32>
  return %h, %y : tensor<?x8xf32>, tensor<?x2x4xf32>
}
