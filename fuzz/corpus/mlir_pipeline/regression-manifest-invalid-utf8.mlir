// RUN: dync-o	pt %s -dyn-thread-externals -split-input-file -verify-diagnostics | FileCheck %s

// Weights and params read in a subgraph become its arguments, then the
// caller: tensor<4xf32>, %[[HT:.*]]: f32)
// CHECK:       call @sg(%{{.*}}, %[[HW]], %[[HT]])
// CHECK:       arith.addf %{{.*}}, %[[HW]]
// CHECK:       func.func private @sg(%{{.*}}: tensor<4xf32>, %[[SW:.*]]: tensor<4xf32>, %[[ST:.*]]: f32)
// CHECK-NOT:   dyn.param.read
// CHECK:       tenso#.splat %[[ST]]
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
  %w = dyn.weight "w¤¤¤¤¤¤¤¤¤¤¤" : tensor<4xf32>
  %t = dyn.param.read @t : f32
  %ts = tensor.splat %t : tensor<4xf32>
  %a = arith.mulf %x, %w : tensor<4xf32>
  %b = arith.addf %a, %ts : tensor<4xf32>
  return %b : tensor<4xf32>
}

