// RUN: dync-opt %s -sccp | FileCheck %s

// The region ops implement RegionBranchOpInterface, so upstream analyses
// follow their control flow. Sparse constant propagation shows what is and
// is not forwarded.

// A scalar cond forwards its operands to its regions and the yielded values
// to its results: the constant flows through either branch to the result,
// which becomes the constant (and the cond, now unused, goes).
// CHECK-LABEL: func.func @scalar_cond_forwards
// CHECK:       %[[C:.*]] = arith.constant 2.000000e+00 : f32
// CHECK-NEXT:  return %[[C]] : f32
func.func @scalar_cond_forwards(%p: i1) -> f32 {
  %c = arith.constant 2.0 : f32
  %r = dyn.cond %p (%c) : i1, (f32) -> f32 then {
  ^bb0(%a: f32):
    dyn.yield %a : f32
  } else {
  ^bb0(%a: f32):
    dyn.yield %a : f32
  }
  return %r : f32
}

// A gate's body sees the live rows of its input, not the input: a constant
// input is not propagated into the body, and the result (rows merged from the
// body and the input) is not taken for the body's value.
// CHECK-LABEL: func.func @gate_does_not_forward
// CHECK:       %[[G:.*]] = dyn.gate
// CHECK:       ^bb0(%[[H:.*]]: tensor<?x4xf32>):
// CHECK-NEXT:    dyn.yield %[[H]]
// CHECK:       return %[[G]]
func.func @gate_does_not_forward(%s: tensor<2xf32>, %t: f32) -> tensor<2x4xf32> {
  %x = arith.constant dense<1.0> : tensor<2x4xf32>
  %y = dyn.gate %x score(%s : tensor<2xf32>) threshold(%t) : tensor<2x4xf32> {
  ^bb0(%h: tensor<?x4xf32>):
    dyn.yield %h : tensor<?x4xf32>
  }
  return %y : tensor<2x4xf32>
}

// Early exit: stages run in order; nothing is forwarded (each stage sees the
// rows still live).
// CHECK-LABEL: func.func @early_exit_does_not_forward
// CHECK:       %[[L:.*]], %{{.*}} = dyn.early_exit
// CHECK:       return %[[L]]
func.func @early_exit_does_not_forward(%t: f32) -> tensor<2x3xf32> {
  %x = arith.constant dense<1.0> : tensor<2x3xf32>
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<2x3xf32> -> tensor<2x3xf32>, tensor<2xi32> {
  ^bb0(%h: tensor<?x3xf32>):
    dyn.yield %h, %h : tensor<?x3xf32>, tensor<?x3xf32>
  }
  return %l : tensor<2x3xf32>
}
