// RUN: dync-opt %s -dyn-merge-subgraphs | FileCheck %s
// RUN: dync-opt %s -dyn-time-subgraphs -dyn-merge-subgraphs | FileCheck %s --check-prefix=TIME

// Subgraphs that differ only in their locations and in the weights their
// callers pass are one function; every call goes to the one called first
// (@sg0, although it is defined last). A different constant, different
// bounds on an argument, another function attribute, or a host function with
// the same body: each stays its own.
// CHECK-LABEL: func.func @forward
// CHECK:       %[[A:.*]] = call @sg0(%arg0, %arg1)
// CHECK-NEXT:  %[[B:.*]] = call @sg0(%[[A]], %arg2)
// CHECK-NEXT:  %[[C:.*]] = call @sg0(%[[B]], %arg1)
// CHECK-NEXT:  %[[D:.*]] = call @other_constant(%[[C]], %arg2)
// CHECK-NEXT:  %[[E:.*]] = call @other_bounds(%[[D]], %arg2)
// CHECK-NEXT:  %[[F:.*]] = call @other_attrs(%[[E]], %arg2)
// CHECK-NEXT:  %[[G:.*]] = call @host(%[[F]], %arg2)
// CHECK-NEXT:  return %[[G]]
// CHECK-NOT:   func.func private @sg{{[12]}}(
// CHECK:       func.func private @other_constant(
// CHECK:       func.func private @other_bounds(
// CHECK:       func.func private @other_attrs(
// CHECK:       func.func private @host(
// CHECK-NOT:   func.func private @sg{{[12]}}(
// CHECK:       func.func private @sg0(
// CHECK-NOT:   func.func private @sg{{[12]}}(

// Each call's time keeps the name of the subgraph it called before.
// TIME-LABEL: func.func @forward
// TIME:       call @sg0(
// TIME:       dyn.rt.count %{{.*}} {name = "time_ns.sg0"}
// TIME:       call @sg0(
// TIME:       dyn.rt.count %{{.*}} {name = "time_ns.sg1"}
// TIME:       call @sg0(
// TIME:       dyn.rt.count %{{.*}} {name = "time_ns.sg2"}
func.func @forward(%x: tensor<?x4xf32>, %w0: tensor<4x4xf32> {dyn.weight = "l0.w"},
                   %w1: tensor<4x4xf32> {dyn.weight = "l1.w"}) -> tensor<?x4xf32> {
  %a = call @sg0(%x, %w0) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %b = call @sg1(%a, %w1) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %c = call @sg2(%b, %w0) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %d = call @other_constant(%c, %w1) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %e = call @other_bounds(%d, %w1) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %f = call @other_attrs(%e, %w1) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  %g = call @host(%f, %w1) : (tensor<?x4xf32>, tensor<4x4xf32>) -> tensor<?x4xf32>
  return %g : tensor<?x4xf32>
}
func.func private @sg1(%x: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}, %w: tensor<4x4xf32>) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}) attributes {dyn.subgraph} {
  %c0 = arith.constant 0 : index loc("l1.matmul")
  %cst = arith.constant 0.5 : f32 loc("l1.matmul")
  %n = tensor.dim %x, %c0 : tensor<?x4xf32> loc("l1.matmul")
  %e = tensor.empty(%n) : tensor<?x4xf32> loc("l1.matmul")
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32> loc("l1.matmul")
  %m = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32> loc("l1.matmul")
  return %m : tensor<?x4xf32>
}
func.func private @sg2(%x: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}, %w: tensor<4x4xf32>) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}) attributes {dyn.subgraph} {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.5 : f32
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %m : tensor<?x4xf32>
}
func.func private @other_constant(%x: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}, %w: tensor<4x4xf32>) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}) attributes {dyn.subgraph} {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.25 : f32
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %m : tensor<?x4xf32>
}
func.func private @other_bounds(%x: tensor<?x4xf32> {dyn.bounds = array<i64: 16, 4>}, %w: tensor<4x4xf32>) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}) attributes {dyn.subgraph} {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.5 : f32
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %m : tensor<?x4xf32>
}
func.func private @other_attrs(%x: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}, %w: tensor<4x4xf32>) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}) attributes {dyn.subgraph, dyn.region = "dyn.gate"} {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.5 : f32
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %m : tensor<?x4xf32>
}
func.func private @host(%x: tensor<?x4xf32>, %w: tensor<4x4xf32>) -> tensor<?x4xf32> {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.5 : f32
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %m : tensor<?x4xf32>
}
func.func private @sg0(%x: tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}, %w: tensor<4x4xf32>) -> (tensor<?x4xf32> {dyn.bounds = array<i64: 8, 4>}) attributes {dyn.subgraph} {
  %c0 = arith.constant 0 : index
  %cst = arith.constant 0.5 : f32
  %n = tensor.dim %x, %c0 : tensor<?x4xf32>
  %e = tensor.empty(%n) : tensor<?x4xf32>
  %z = linalg.fill ins(%cst : f32) outs(%e : tensor<?x4xf32>) -> tensor<?x4xf32>
  %m = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x4xf32>) outs(%z : tensor<?x4xf32>) -> tensor<?x4xf32>
  return %m : tensor<?x4xf32>
}
