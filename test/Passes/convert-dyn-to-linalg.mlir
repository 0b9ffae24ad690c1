// RUN: dync-opt %s -convert-dyn-to-linalg -split-input-file -verify-diagnostics | FileCheck %s
// RUN: dync-opt %s -convert-dyn-to-linalg=attention-by-blocks=false -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=NOBLOCKS

// The runtime entry points become loops and generics on tensors.
// CHECK-LABEL: func.func @entry_points
// CHECK-NOT:   dyn.rt.
// iota: a generic writing the row index
// CHECK:       linalg.generic
// CHECK:       linalg.index 0
// select: a counting loop, its count clamped to the mask's length (a bound
// for the memory budget), then a loop inserting the positions
// CHECK:       %[[LEN:.*]] = tensor.dim %arg1
// CHECK:       %[[COUNT:.*]] = scf.for {{.*}} to %[[LEN]]
// CHECK:       %[[SIZE:.*]] = arith.minsi %[[COUNT]], %[[LEN]]
// CHECK:       tensor.empty(%[[SIZE]])
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

// Lengths that are static multiples of 64: by blocks of 64 queries x 64
// keys, every (batch, head, query block) in parallel, a loop over key
// blocks carrying the online softmax's max, sum and accumulator; causal
// attention stops at the query block's diagonal (min(qi + 1, 3)). No S x S
// tensor. The queries are transposed once, before the blocks, block by
// block ([B, H, S/64, D, 64]), so that each block's scores, computed
// transposed (sᵀ = k·qᵀ, [keys, queries]), multiply a [64, D] key block by a
// contiguous [D, 64] block of qᵀ; the max and the sum over the keys then run
// down sᵀ's columns ([1, 64], one per query), and the accumulator takes pᵀ·v
// with sᵀ's probabilities read as they are.
// CHECK-DAG:   #[[PT:.+]] = affine_map<(d0, d1, d2) -> (d2, d0)>
// CHECK-LABEL: func.func @attention_blocks
// CHECK:       %[[QB:.*]] = tensor.expand_shape %arg0 {{\[\[}}0], [1], [2, 3], [4]] output_shape [%{{.*}}, 2, 3, 64, 8] : tensor<?x2x192x8xf32> into tensor<?x2x3x64x8xf32>
// CHECK:       %[[QT:.*]] = linalg.transpose ins(%[[QB]] : tensor<?x2x3x64x8xf32>) outs(%{{.*}} : tensor<?x2x3x8x64xf32>) permutation = [0, 1, 2, 4, 3]
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %[[QI:.*]]) in (%{{.*}}, %{{.*}}, 3) shared_outs(
// CHECK:         %[[QBT:.*]] = tensor.extract_slice %[[QT]][%{{.*}}, %{{.*}}, %[[QI]], 0, 0] [1, 1, 1, 8, 64] [1, 1, 1, 1, 1] : tensor<?x2x3x8x64xf32> to tensor<8x64xf32>
// CHECK:         %[[NEXT:.*]] = arith.addi %[[QI]], %c1
// CHECK:         %[[END:.*]] = arith.minsi %[[NEXT]], %c3
// CHECK:         scf.for %{{.*}} = %c0{{.*}} to %[[END]] step %c1 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}, %{{.*}} = %{{.*}}) -> (tensor<1x64xf32>, tensor<1x64xf32>, tensor<64x8xf32>)
// CHECK:           %[[KB:.*]] = tensor.extract_slice %arg0[{{.*}}] [1, 1, 64, 8] [1, 1, 1, 1] : tensor<?x2x192x8xf32> to tensor<64x8xf32>
// CHECK:           linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[KB]], %[[QBT]] : tensor<64x8xf32>, tensor<8x64xf32>)
// CHECK:           linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]}
// CHECK-NEXT:      ^bb0
// CHECK-NEXT:        arith.maxnumf
// CHECK:           math.exp
// CHECK:           linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]}
// CHECK-NEXT:      ^bb0
// CHECK-NEXT:        arith.addf
// CHECK:           linalg.generic {indexing_maps = [#[[PT]], #{{.+}}, #{{.+}}], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK:         scf.forall.in_parallel
// CHECK-NEXT:      tensor.parallel_insert_slice %{{.*}} [1, 1, 64, 8]
// CHECK-NOT:   tensor<{{.*}}192x192
// The CUDA target's choice (attention-by-blocks=false): the S x S scores.
// NOBLOCKS-LABEL: func.func @attention_blocks
// NOBLOCKS-NOT:   scf.forall
// NOBLOCKS:       tensor<?x2x192x192xf32>
func.func @attention_blocks(%q: tensor<?x2x192x8xf32>) -> tensor<?x2x192x8xf32> {
  %o = dyn.attention %q, %q, %q {causal} : tensor<?x2x192x8xf32>, tensor<?x2x192x8xf32>, tensor<?x2x192x8xf32> -> tensor<?x2x192x8xf32>
  return %o : tensor<?x2x192x8xf32>
}

// -----

// Near misses keep the materialised scores: a dynamic length, and a static
// one that is not a multiple of 64.
// CHECK-LABEL: func.func @attention_not_blocks
// CHECK-NOT:   scf.forall
// CHECK:       tensor<1x2x?x?xf32>
// CHECK:       tensor<1x2x96x96xf32>
func.func @attention_not_blocks(%q: tensor<1x2x?x8xf32>, %r: tensor<1x2x96x8xf32>) -> (tensor<1x2x?x8xf32>, tensor<1x2x96x8xf32>) {
  %o = dyn.attention %q, %q, %q : tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32>, tensor<1x2x?x8xf32> -> tensor<1x2x?x8xf32>
  %p = dyn.attention %r, %r, %r : tensor<1x2x96x8xf32>, tensor<1x2x96x8xf32>, tensor<1x2x96x8xf32> -> tensor<1x2x96x8xf32>
  return %o, %p : tensor<1x2x?x8xf32>, tensor<1x2x96x8xf32>
}

// -----

// MoE: experts run in a loop over experts, each on its own rows only; the
// rows expert e computes are counted in the branch that computes them, into
// statistic e of the family (dyn-lower-statistics gives it slots).
// The loop carries the rows and each expert reads its slice of the carried
// value (not of %arg0), so that bufferization updates the rows in place
// instead of copying them first.
// CHECK-LABEL: func.func @experts
// CHECK:       scf.for %[[E:.*]] = %c0 to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %arg0)
// The row count is clamped to the rows there are (a bound for the memory
// budget).
// CHECK:       %[[D:.*]] = arith.subi
// CHECK:       %[[R:.*]] = tensor.dim %arg0, %c0
// CHECK:       %[[N:.*]] = arith.minsi %[[D]], %[[R]]
// CHECK:       %[[ANY:.*]] = arith.cmpi sgt, %[[N]]
// CHECK:       scf.if %[[ANY]]
// CHECK:       %[[XS:.*]] = tensor.extract_slice %[[ACC]][%{{.*}}, 0] [%[[N]], 8]
// CHECK:       %[[ROWS:.*]] = tensor.dim %[[XS]], %c0
// CHECK:       dyn.rt.count %[[ROWS]] at(%[[E]]) {name = "moe.expert_tokens", slots = 2 : i64} : index
// CHECK-NOT:   dyn.moe.experts
func.func @experts(%rows: tensor<?x8xf32>, %off: tensor<3xi32>, %w1: tensor<2x4x8xf32>, %w2: tensor<2x8x4xf32>) -> tensor<?x8xf32> {
  %y = dyn.moe.experts %rows, %off w1(%w1) w2(%w2) {activation = #dyn.activation<relu>}
      : (tensor<?x8xf32>, tensor<3xi32>, tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<?x8xf32> loc("moe")
  return %y : tensor<?x8xf32>
}

// -----

// Expert weights in panels of 32 rows (dyn-pack-weights): each expert's
// slice of w1 [2, 2, 32, 32] (h = 64, d = 32) and of w2 [2, 1, 64, 32] is
// read at (n floordiv 32, k, n mod 32) by its matmul.
// CHECK-DAG:   #[[PANELS:.+]] = affine_map<(d0, d1, d2) -> (d1 floordiv 32, d2, d1 mod 32)>
// CHECK-LABEL: func.func @experts_in_panels
// CHECK:       scf.for
// CHECK:       tensor.extract_slice %arg2[%{{.*}}, 0, 0, 0] [1, 2, 32, 32] [1, 1, 1, 1] : tensor<2x2x32x32xf32> to tensor<2x32x32xf32>
// CHECK:       linalg.generic {indexing_maps = [#{{.+}}, #[[PANELS]], #{{.+}}]
// CHECK-SAME:    ins(%{{.*}}, %{{.*}} : tensor<?x32xf32>, tensor<2x32x32xf32>) outs(%{{.*}} : tensor<?x64xf32>)
// CHECK:       tensor.extract_slice %arg3[%{{.*}}, 0, 0, 0] [1, 1, 64, 32] [1, 1, 1, 1] : tensor<2x1x64x32xf32> to tensor<1x64x32xf32>
// CHECK:       linalg.generic {indexing_maps = [#{{.+}}, #[[PANELS]], #{{.+}}]
// CHECK-SAME:    ins(%{{.*}}, %{{.*}} : tensor<?x64xf32>, tensor<1x64x32xf32>) outs(%{{.*}} : tensor<?x32xf32>)
func.func @experts_in_panels(%rows: tensor<?x32xf32>, %off: tensor<3xi32>, %w1: tensor<2x2x32x32xf32>,
                             %w2: tensor<2x1x64x32xf32>) -> tensor<?x32xf32> {
  %y = dyn.moe.experts %rows, %off w1(%w1) w2(%w2) {activation = #dyn.activation<relu>, panel = 32 : i64}
      : (tensor<?x32xf32>, tensor<3xi32>, tensor<2x2x32x32xf32>, tensor<2x1x64x32xf32>) -> tensor<?x32xf32> loc("moe")
  return %y : tensor<?x32xf32>
}

// -----

// MoE dispatch with a fixed capacity: each assignment is granted while its
// expert holds fewer than 3, whatever T (no capacity computed from T).
// The rows past offsets[E] are unspecified: the rows buffer is not filled.
// CHECK-LABEL: func.func @dispatch_fixed_capacity
// CHECK:       %[[CAP:.*]] = arith.constant 3 : index
// CHECK-NOT:   math.ceil
// CHECK:       scf.for
// CHECK:       scf.for
// CHECK:       %[[ROOM:.*]] = arith.cmpi slt, %{{.*}}, %[[CAP]] : index
// CHECK:       scf.if %[[ROOM]]
// CHECK:       %[[ROWS:.*]] = tensor.empty(%{{.*}}) : tensor<?x8xf32>
// CHECK-NOT:   linalg.fill {{.*}} outs(%[[ROWS]]
// CHECK:       scf.for %{{.*}} iter_args(%{{.*}} = %[[ROWS]],
func.func @dispatch_fixed_capacity(%x: tensor<?x8xf32>, %i: tensor<?x1xi32>) -> tensor<?x1xi32> {
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64, capacity = 3 : i64}
      : tensor<?x8xf32>, tensor<?x1xi32> -> tensor<?x8xf32>, tensor<5xi32>, tensor<?x1xi32>
  return %s : tensor<?x1xi32>
}

// -----

// Block-sparse attention: every (batch, head, query block) in parallel,
// each writing its own rows of the output; in one, a loop over the key
// blocks visits only the kept ones, and counts each one it enters, inside
// the branch that computes it.
// CHECK-LABEL: func.func @bsa
// CHECK:       %[[OUT:.*]] = scf.forall (%[[B:.*]], %[[H:.*]], %[[QB:.*]]) in (%{{.*}}, %{{.*}}, 4) shared_outs(%[[ACC:.*]] = %{{.*}}) -> (tensor<1x2x32x8xf32>)
// CHECK:       scf.for
// CHECK:       %[[KEPT:.*]] = tensor.extract %{{.*}}[%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] : tensor<1x2x4x4xi1>
// CHECK:       scf.if %[[KEPT]]
// CHECK-NEXT:  %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:  dyn.rt.count %[[ONE]] {name = "bsa.blocks_computed"} : index
// CHECK:       scf.forall.in_parallel
// CHECK-NEXT:  tensor.parallel_insert_slice %{{.*}} into %[[ACC]][%[[B]], %[[H]], %{{.*}}, 0] [1, 1, 8, 8]
// CHECK:       dyn.rt.count %{{.*}} {name = "bsa.blocks"} : index
// CHECK-NOT:   dyn.bsa.attention
func.func @bsa(%q: tensor<1x2x32x8xf32>, %l: tensor<1x2x4x4xi1>) -> tensor<1x2x32x8xf32> {
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 8 : i64}
      : tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x4x4xi1> -> tensor<1x2x32x8xf32> loc("bsa")
  return %o : tensor<1x2x32x8xf32>
}

// -----

// An op no pattern lowers is refused by the conversion, where it stands.
// (dyn.moe is lowered by dyn-lower-control, before this conversion.)
func.func @negative_unlowered(%x: tensor<3x4xf32>, %r: tensor<2x4xf32>, %w1: tensor<2x3x4xf32>,
                              %w2: tensor<2x4x3xf32>) -> tensor<3x4xf32> {
  // expected-error @+1 {{failed to legalize operation 'dyn.moe' that was explicitly marked illegal}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) {top_k = 1 : i64, activation = #dyn.activation<relu>}
      : (tensor<3x4xf32>, tensor<2x4xf32>, tensor<2x3x4xf32>, tensor<2x4x3xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}
