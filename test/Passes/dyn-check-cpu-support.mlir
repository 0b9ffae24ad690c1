// RUN: dync-opt %s -dyn-check-cpu-support -split-input-file -verify-diagnostics | FileCheck %s

// Upstream ops and parameter definitions pass.
// CHECK-LABEL: func.func @supported
dyn.param.def @t = 5.000000e-01 : f32
func.func @supported(%x: tensor<4xf32>) -> tensor<4xf32> {
  %y = math.exp %x : tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// A dyn op convert-dyn-to-linalg left (top-k on integers) is refused where
// it stands.
func.func @negative_integer_topk(%x: tensor<4x8xi32>) -> tensor<4x2xi32> {
  // expected-error @+1 {{CPU code generation does not support 'dyn.topk' yet}}
  %v, %i = dyn.topk %x {k = 2 : i64, axis = 1 : i64} : tensor<4x8xi32> -> tensor<4x2xi32>, tensor<4x2xi64>
  return %v : tensor<4x2xi32>
}
