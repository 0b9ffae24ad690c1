// RUN: dync-opt %s -dyn-lower-statistics -split-input-file | FileCheck %s

// Statistics: a slot per counter (per entry for a tensor of counts), named on
// the module in slot order; the array is an argument of the function that
// counts (the entry: marked dyn.stats_array), and each count an atomic add.
// CHECK:       module attributes {dyn.stats = ["g.samples", "moe.tokens[0]", "moe.tokens[1]"]}
// CHECK-LABEL: func.func @counts
// CHECK-SAME:  %[[S:[^:]*]]: memref<3xi64> {dyn.stats_array})
// CHECK:       memref.atomic_rmw addi %{{.*}}, %[[S]][%c0]
// CHECK:       memref.atomic_rmw addi %{{.*}}, %[[S]][%c1]
// CHECK:       memref.atomic_rmw addi %{{.*}}, %[[S]][%c2]
// CHECK-NOT:   dyn.rt.count
func.func @counts(%n: index, %c: tensor<2xi32>) {
  dyn.rt.count %n {name = "g.samples"} : index
  dyn.rt.count %c {name = "moe.tokens"} : tensor<2xi32>
  return
}

// -----

// A count at a run-time index addresses its family's slots, which are
// consecutive and in index order; an index outside the family adds 0 to the
// family's first slot, so nothing is written past the array.
// CHECK:       module attributes {dyn.stats = ["moe.expert_tokens[0]", "moe.expert_tokens[1]", "moe.expert_tokens[2]", "moe.tokens"]}
// CHECK-LABEL: func.func @indexed
// CHECK-SAME:  (%[[N:.*]]: index, %[[E:.*]]: index, %[[S:.*]]: memref<4xi64> {dyn.stats_array})
// CHECK:       %[[GE:.*]] = arith.cmpi sge, %[[E]], %c0
// CHECK:       %[[LT:.*]] = arith.cmpi slt, %[[E]], %c3
// CHECK:       %[[IN:.*]] = arith.andi %[[GE]], %[[LT]]
// CHECK:       %[[V:.*]] = arith.select %[[IN]], %{{.*}}, %c0_i64
// CHECK:       %[[SEL:.*]] = arith.select %[[IN]], %[[E]], %c0
// CHECK:       %[[AT:.*]] = arith.addi %[[SEL]], %c0
// CHECK:       memref.atomic_rmw addi %[[V]], %[[S]][%[[AT]]]
func.func @indexed(%n: index, %e: index) {
  dyn.rt.count %n at(%e) {name = "moe.expert_tokens", slots = 3 : i64} : index
  dyn.rt.count %n {name = "moe.tokens"} : index
  return
}

// -----

// The array reaches a function that counts through every caller: each gets
// the argument and passes it on (only the entry's is marked).
// CHECK-LABEL: func.func @entry
// CHECK-SAME:  (%{{.*}}: index, %[[S:.*]]: memref<1xi64> {dyn.stats_array})
// CHECK:       call @middle(%{{.*}}, %[[S]])
// CHECK-LABEL: func.func private @middle
// CHECK-SAME:  (%{{.*}}: index, %[[M:.*]]: memref<1xi64>)
// CHECK:       call @leaf(%{{.*}}, %[[M]])
// CHECK-LABEL: func.func private @leaf
// CHECK-SAME:  (%{{.*}}: index, %[[L:.*]]: memref<1xi64>)
// CHECK:       memref.atomic_rmw addi %{{.*}}, %[[L]]
// CHECK-LABEL: func.func private @quiet
// CHECK-SAME:  (%{{.*}}: index)
func.func @entry(%n: index) {
  call @middle(%n) : (index) -> ()
  call @quiet(%n) : (index) -> ()
  return
}
func.func private @middle(%n: index) {
  call @leaf(%n) : (index) -> ()
  return
}
func.func private @leaf(%n: index) {
  dyn.rt.count %n {name = "leaf.rows"} : index
  return
}
func.func private @quiet(%n: index) {
  return
}
