// RUN: dync-opt %s -dyn-thread-externals -split-input-file -verify-diagnostics | FileCheck %s

// Weights and params read in a subgraph become its arguments, then the
// caller's, up to the entry; a weight read in two places is one argument.
// CHECK-LABEL: func.func @forward
// CHECK-SAME:  (%[[X:.*]]: tensor<4xf32>, %[[W:.*]]: tensor<4xf32> {dyn.weight = "w"}, %[[T:.*]]: f32 {dyn.param = @t})
// CHECK-NOT:   dyn.weight
// CHECK:       call @host(%[[X]], %[[W]], %[[T]])
// CHECK:       func.func private @host(%{{.*}}: tensor<4xf32>, %[[HW:.*]]: tensor<4xf32>, %[[HT:.*]]: f32)
// CHECK:       call @sg(%{{.*}}, %[[HW]], %[[HT]])
// CHECK:       arith.addf %{{.*}}, %[[HW]]
// CHECK:       func.func private @sg(%{{.*}}: tensor<4xf32>, %[[SW:.*]]: tensor<4xf32>, %[[ST:.*]]: f32)
// CHECK-NOT:   dyn.param.read
// CHECK:       tensor.splat %[[ST]]
dyn.param.def @t = 1.0 : f32
func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %r = call @host(%x) : (tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func private @host(%x: tensor<4xf32>) -> tensor<4xf32> {
  %s = call @sg(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %w = dyn.weight "w" : tensor<4xf32>
  %r = arith.addf %s, %w : tensor<4xf32>
  return %r : tensor<4xf32>
}
func.func private @sg(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dyn.subgraph} {
  %w = dyn.weight "w" : tensor<4xf32>
  %t = dyn.param.read @t : f32
  %ts = tensor.splat %t : tensor<4xf32>
  %a = arith.mulf %x, %w : tensor<4xf32>
  %b = arith.addf %a, %ts : tensor<4xf32>
  return %b : tensor<4xf32>
}

// -----

// A weight read as stored and in panels (dyn-pack-weights) is two
// arguments, the packed one with its panel width; the packed read of two
// subgraphs is one.
// CHECK-LABEL: func.func @forward
// CHECK-SAME:  %{{.*}}: tensor<64x8xf32> {dyn.weight = "w"}
// CHECK-SAME:  %{{.*}}: tensor<2x8x32xf32> {dyn.weight = "w", dyn.weight_panel = 32 : i64}
// CHECK-NOT:   dyn.weight_panel
// CHECK:       return
func.func @forward(%x: tensor<4xf32>) -> (tensor<64x8xf32>, tensor<2x8x32xf32>, tensor<2x8x32xf32>) {
  %w = dyn.weight "w" : tensor<64x8xf32>
  %a = call @sg1() : () -> tensor<2x8x32xf32>
  %b = call @sg2() : () -> tensor<2x8x32xf32>
  return %w, %a, %b : tensor<64x8xf32>, tensor<2x8x32xf32>, tensor<2x8x32xf32>
}
func.func private @sg1() -> tensor<2x8x32xf32> attributes {dyn.subgraph} {
  %p = dyn.weight "w" {panel = 32 : i64} : tensor<2x8x32xf32>
  return %p : tensor<2x8x32xf32>
}
func.func private @sg2() -> tensor<2x8x32xf32> attributes {dyn.subgraph} {
  %p = dyn.weight "w" {panel = 32 : i64} : tensor<2x8x32xf32>
  return %p : tensor<2x8x32xf32>
}

// -----

// expected-error @+1 {{dyn-thread-externals needs exactly one public entry function, found 2}}
module {
  func.func @a() { return }
  func.func @b() { return }
}
