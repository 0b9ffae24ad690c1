// RUN: dync-opt --resolve-ranked-shaped-type-result-dims %s | FileCheck %s

// A gate passes skipped samples through: its result has the dims of its
// input, its mask those of the score (ReifyRankedShapedTypeOpInterface).

// CHECK-LABEL: func.func @gate_dims
// CHECK-SAME: (%[[X:.*]]: tensor<?x?x8xf32>, %[[S:.*]]: tensor<?xf32>
// CHECK-DAG: %[[D:.*]] = tensor.dim %[[X]], %c1
// CHECK-DAG: %[[N:.*]] = tensor.dim %[[S]], %c0
// CHECK: return %[[D]], %[[N]]
func.func @gate_dims(%x: tensor<?x?x8xf32>, %s: tensor<?xf32>, %t: f32) -> (index, index) {
  %c1 = arith.constant 1 : index
  %c0 = arith.constant 0 : index
  %y, %m = dyn.gate %x score(%s : tensor<?xf32>) threshold(%t) : tensor<?x?x8xf32> -> tensor<?xi1> {
  ^bb0(%h: tensor<?x?x8xf32>):
    %r = math.tanh %h : tensor<?x?x8xf32>
    dyn.yield %r : tensor<?x?x8xf32>
  }
  %d = tensor.dim %y, %c1 : tensor<?x?x8xf32>
  %n = tensor.dim %m, %c0 : tensor<?xi1>
  return %d, %n : index, index
}
