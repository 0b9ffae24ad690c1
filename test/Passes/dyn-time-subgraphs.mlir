// RUN: dync-opt %s -dyn-time-subgraphs | FileCheck %s

// Each host call of a subgraph is bracketed by two clock reads, and the
// elapsed time is added to time_ns.<subgraph>; calls inside subgraphs and
// calls of host functions are not timed.
// CHECK-LABEL: func.func @forward
// CHECK:       %[[T0:.*]] = call @dync_clock_ns() : () -> i64
// CHECK-NEXT:  %[[R:.*]] = call @sg(%{{.*}})
// CHECK-NEXT:  %[[T1:.*]] = call @dync_clock_ns() : () -> i64
// CHECK-NEXT:  %[[D:.*]] = arith.subi %[[T1]], %[[T0]] : i64
// CHECK-NEXT:  %[[N:.*]] = arith.index_cast %[[D]] : i64 to index
// CHECK-NEXT:  dyn.rt.count %[[N]] {name = "time_ns.sg"} : index
// CHECK:       call @host(
// CHECK-NOT:   dync_clock_ns
// CHECK:       func.func private @dync_clock_ns() -> i64
func.func @forward(%x: tensor<4xf32>) -> tensor<4xf32> {
  %a = call @sg(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %b = call @host(%a) : (tensor<4xf32>) -> tensor<4xf32>
  return %b : tensor<4xf32>
}
func.func private @host(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dyn.region = "dyn.gate"} {
  return %x : tensor<4xf32>
}
func.func private @sg(%x: tensor<4xf32>) -> tensor<4xf32> attributes {dyn.subgraph} {
  %e = math.exp %x : tensor<4xf32>
  return %e : tensor<4xf32>
}
