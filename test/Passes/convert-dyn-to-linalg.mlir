// RUN: dync-opt %s -convert-dyn-to-linalg -split-input-file | FileCheck %s

// The runtime entry points become loops and generics on tensors.
// CHECK-LABEL: func.func @entry_points
// CHECK-NOT:   dyn.rt.
// iota: a generic writing the row index
// CHECK:       linalg.generic
// CHECK:       linalg.index 0
// select: a counting loop, then a loop inserting the positions
// CHECK:       scf.for
// CHECK:       scf.for
// CHECK:       tensor.insert
// gather_rows: a generic reading source[indices[i], j]
// CHECK:       linalg.generic
// CHECK:       tensor.extract
// scatter_rows: a loop inserting each row at its position
// CHECK:       scf.for
// CHECK:       tensor.insert_slice
func.func @entry_points(%x: tensor<?x4xf32>, %m: tensor<?xi1>) -> (tensor<?xi32>, tensor<?x4xf32>) {
  %all = dyn.rt.iota %x : tensor<?x4xf32> -> tensor<?xi32>
  %sel = dyn.rt.select %m : tensor<?xi1> -> tensor<?xi32>
  %g = dyn.rt.gather_rows %x[%sel] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %y = dyn.rt.scatter_rows %g into %x[%sel] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  return %all, %y : tensor<?xi32>, tensor<?x4xf32>
}

// -----

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

// Dense attention: q·kᵀ (k read along the head dim, no transpose), scale
// and causal mask, softmax, ·v.
// CHECK-DAG:   #[[Q:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
// CHECK-DAG:   #[[K:.+]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
// CHECK-LABEL: func.func @attention
// CHECK-NOT:   linalg.transpose
// CHECK:       linalg.generic {indexing_maps = [#[[Q]], #[[K]], #{{.+}}]
// CHECK:       arith.mulf
// CHECK:       arith.cmpi ugt
// CHECK:       arith.select
// CHECK:       math.exp
// CHECK-NOT:   dyn.attention
func.func @attention(%q: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
  %o = dyn.attention %q, %q, %q {causal} : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32> -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// MoE: experts run in a loop over experts, each on its own rows only; the
// rows expert e computes are counted in the branch that computes them, into
// statistic e of the family (slot e + 0, e in range).
// CHECK:       module attributes {dyn.stats = ["moe.expert_tokens[0]", "moe.expert_tokens[1]"]}
// CHECK-LABEL: func.func @experts
// CHECK:       scf.for %[[E:.*]] = %c0
// CHECK:       %[[N:.*]] = arith.subi
// CHECK:       %[[ANY:.*]] = arith.cmpi sgt, %[[N]]
// CHECK:       scf.if %[[ANY]]
// CHECK:       %[[XS:.*]] = tensor.extract_slice %{{.*}}[%{{.*}}, 0] [%[[N]], 8]
// CHECK:       %[[ROWS:.*]] = tensor.dim %[[XS]], %c0
// CHECK:       %[[SLOT:.*]] = arith.select %{{.*}}, %[[E]], %c0
// CHECK:       %[[AT:.*]] = arith.addi %[[SLOT]], %c0
// CHECK:       %[[AT64:.*]] = arith.index_cast %[[AT]] : index to i64
// CHECK:       llvm.getelementptr %{{.*}}[0, %[[AT64]]]
// CHECK-NOT:   dyn.moe.experts
func.func @experts(%rows: tensor<?x8xf32>, %off: tensor<3xi32>, %w1: tensor<2x4x8xf32>, %w2: tensor<2x8x4xf32>) -> tensor<?x8xf32> {
  %y = dyn.moe.experts %rows, %off w1(%w1) w2(%w2) {activation = #dyn.activation<relu>}
      : (tensor<?x8xf32>, tensor<3xi32>, tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<?x8xf32> loc("moe")
  return %y : tensor<?x8xf32>
}

// -----

// Block-sparse attention visits only the kept blocks, and counts each one
// it enters, inside the branch that computes it.
// CHECK:       module attributes {dyn.stats = ["bsa.blocks", "bsa.blocks_computed"]}
// CHECK-LABEL: func.func @bsa
// CHECK:       scf.for
// CHECK:       scf.for
// CHECK:       scf.for
// CHECK:       scf.for
// CHECK:       %[[KEPT:.*]] = tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : tensor<1x2x4x4xi1>
// CHECK:       scf.if %[[KEPT]]
// CHECK:       llvm.mlir.addressof @dync_stats
// CHECK:       llvm.getelementptr {{.*}}[0, 1]
// CHECK-NOT:   dyn.bsa.attention
func.func @bsa(%q: tensor<1x2x32x8xf32>, %l: tensor<1x2x4x4xi1>) -> tensor<1x2x32x8xf32> {
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 8 : i64}
      : tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x4x4xi1> -> tensor<1x2x32x8xf32> loc("bsa")
  return %o : tensor<1x2x32x8xf32>
}
