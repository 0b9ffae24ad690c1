// RUN: dync-opt %s -dyn-lower-statistics -split-input-file | FileCheck %s

// Statistics: one thread-local array, a slot per counter (per entry for a
// tensor of counts), named on the module.
// CHECK:       module attributes {dyn.stats = ["g.samples", "moe.tokens[0]", "moe.tokens[1]"]}
// CHECK:       llvm.mlir.global external thread_local @dync_stats(dense<0> : tensor<3xi64>)
// CHECK-LABEL: func.func @counts
// CHECK:       llvm.mlir.addressof @dync_stats
// CHECK:       llvm.getelementptr {{.*}}[0, 0]
// CHECK:       llvm.store
// CHECK:       llvm.getelementptr {{.*}}[0, 1]
// CHECK:       llvm.getelementptr {{.*}}[0, 2]
// CHECK-NOT:   dyn.rt.count
func.func @counts(%n: index, %c: tensor<2xi32>) {
  dyn.rt.count %n {name = "g.samples"} : index
  dyn.rt.count %c {name = "moe.tokens"} : tensor<2xi32>
  return
}


// -----

// A count at a run-time index addresses its family's slots, which are
// consecutive and in index order; an index outside the family counts 0 at
// slot 0 of it, so nothing is written past the array.
// CHECK:       module attributes {dyn.stats = ["moe.expert_tokens[0]", "moe.expert_tokens[1]", "moe.expert_tokens[2]", "moe.tokens"]}
// CHECK-LABEL: func.func @indexed
// CHECK-SAME:  (%[[N:.*]]: index, %[[E:.*]]: index)
// CHECK:       %[[GE:.*]] = arith.cmpi sge, %[[E]], %c0
// CHECK:       %[[LT:.*]] = arith.cmpi slt, %[[E]], %c3
// CHECK:       %[[IN:.*]] = arith.andi %[[GE]], %[[LT]]
// CHECK:       %[[V:.*]] = arith.select %[[IN]], %{{.*}}, %c0_i64
// CHECK:       %[[S:.*]] = arith.select %[[IN]], %[[E]], %c0
// CHECK:       %[[AT:.*]] = arith.addi %[[S]], %c0
// CHECK:       %[[AT64:.*]] = arith.index_cast %[[AT]] : index to i64
// CHECK:       llvm.getelementptr %{{.*}}[0, %[[AT64]]]
func.func @indexed(%n: index, %e: index) {
  dyn.rt.count %n at(%e) {name = "moe.expert_tokens", slots = 3 : i64} : index
  dyn.rt.count %n {name = "moe.tokens"} : index
  return
}
