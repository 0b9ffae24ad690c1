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
