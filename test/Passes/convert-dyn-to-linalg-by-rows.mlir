// RUN: dync-opt %s -convert-dyn-to-linalg=bsa-by-rows=true -split-input-file | FileCheck %s
// RUN: dync-opt %s -convert-dyn-to-linalg='attention-by-blocks=false attention-by-rows=true' -split-input-file | FileCheck %s --check-prefix=DENSE

// Block-sparse attention by rows (the CUDA target's form): one forall over
// (batch, head, value chunk, query row) mapped to GPU threads. Each row
// loops over the key blocks, reads the layout itself, and visits the keys
// of the kept ones with an online softmax in scalars. Causal: the keys after
// the row are not visited (the key loop ends at row + 1). A kept block is
// counted inside the branch that computes it, by its first row's thread,
// and only if that thread visits a key.
// CHECK-LABEL: func.func @causal
// CHECK:       %[[OUT:.*]] = scf.forall (%[[B:.*]], %[[H:.*]], %[[C:.*]], %[[ROW:.*]]) in (%{{.*}}, %{{.*}}, 1, 32) shared_outs(%[[ACC:.*]] = %{{.*}}) -> (tensor<?x2x32x8xf32>)
// CHECK:       %[[QB:.*]] = arith.divui %[[ROW]], %[[BS:.*]] : index
// CHECK:       %[[BLOCKS:.*]]:10 = scf.for %[[KJ:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:       %[[KEPT:.*]] = tensor.extract %{{.*}}[%[[B]], %[[H]], %[[QB]], %[[KJ]]] : tensor<?x2x4x4xi1>
// CHECK:       scf.if %[[KEPT]] -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:       %[[START:.*]] = arith.muli %[[KJ]]
// CHECK:       %[[NEXT:.*]] = arith.addi %[[ROW]], %{{.*}}
// CHECK:       %[[END:.*]] = arith.minui %{{.*}}, %[[NEXT]] : index
// CHECK:       %[[VISITS:.*]] = arith.cmpi ult, %[[START]], %[[END]] : index
// CHECK:       %[[COUNTS:.*]] = arith.andi %{{.*}}, %[[VISITS]] : i1
// CHECK:       scf.if %[[COUNTS]] {
// CHECK-NEXT:  %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:  dyn.rt.count %[[ONE]] {name = "bsa.blocks_computed"} : index
// CHECK:       dyn.rt.count %{{.*}} at(%[[H]]) {name = "bsa.head_blocks_computed", slots = 2 : i64} : index
// CHECK:       scf.for %{{.*}} = %[[START]] to %[[END]] step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// CHECK:       arith.mulf %{{.*}}, %{{.*}} fastmath<contract> : f32
// CHECK:       math.exp
// CHECK:       math.exp
// CHECK:       } else {
// The row's values, divided by its sum, stored into the output's row.
// CHECK:       %[[SLICE:.*]] = tensor.extract_slice %[[ACC]][%[[B]], %[[H]], %[[ROW]], %{{.*}}] [1, 1, 1, 8] [1, 1, 1, 1] : tensor<?x2x32x8xf32> to tensor<8xf32>
// CHECK:       arith.divf %[[BLOCKS]]#2, %[[BLOCKS]]#1 : f32
// CHECK-COUNT-8: tensor.insert
// CHECK:       scf.forall.in_parallel
// CHECK-NEXT:  tensor.parallel_insert_slice %{{.*}} into %[[ACC]][%[[B]], %[[H]], %[[ROW]], %{{.*}}] [1, 1, 1, 8]
// CHECK:       mapping = [#gpu.thread<linear_dim_3>, #gpu.thread<z>, #gpu.thread<y>, #gpu.thread<x>]
// CHECK:       dyn.rt.count %{{.*}} {name = "bsa.blocks"} : index
// CHECK-NOT:   dyn.bsa.attention
func.func @causal(%q: tensor<?x2x32x8xf32>, %l: tensor<?x2x4x4xi1>) -> tensor<?x2x32x8xf32> {
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 8 : i64, causal}
      : tensor<?x2x32x8xf32>, tensor<?x2x32x8xf32>, tensor<?x2x32x8xf32>, tensor<?x2x4x4xi1> -> tensor<?x2x32x8xf32> loc("bsa")
  return %o : tensor<?x2x32x8xf32>
}

// -----

// Not causal: every key of a kept block is visited. 128 value columns are
// two chunks of 64 (a thread's accumulator stays in registers), each
// written at its columns; only chunk 0 counts.
// CHECK-LABEL: func.func @wide
// CHECK:       scf.forall (%[[B:.*]], %[[H:.*]], %[[C:.*]], %[[ROW:.*]]) in (%{{.*}}, %{{.*}}, 2, 32)
// CHECK:       %[[COL0:.*]] = arith.muli %[[C]], %{{.*}} : index
// CHECK:       %[[FIRSTROW:.*]] = arith.cmpi eq, %{{.*}}, %{{.*}} : index
// CHECK:       %[[CHUNK0:.*]] = arith.cmpi eq, %[[C]], %{{.*}} : index
// CHECK:       %[[FIRST:.*]] = arith.andi %[[FIRSTROW]], %[[CHUNK0]] : i1
// CHECK:       scf.for
// CHECK-NOT:   arith.minui
// CHECK:       arith.andi %[[FIRST]], %{{.*}} : i1
// CHECK:       tensor.extract_slice %{{.*}}[%[[B]], %[[H]], %[[ROW]], %[[COL0]]] [1, 1, 1, 64]
// CHECK:       tensor.parallel_insert_slice %{{.*}}[%[[B]], %[[H]], %[[ROW]], %[[COL0]]] [1, 1, 1, 64]
func.func @wide(%q: tensor<?x2x32x8xf32>, %v: tensor<?x2x32x128xf32>, %l: tensor<?x2x4x4xi1>) -> tensor<?x2x32x128xf32> {
  %o = dyn.bsa.attention %q, %q, %v, %l {block_size = 8 : i64}
      : tensor<?x2x32x8xf32>, tensor<?x2x32x8xf32>, tensor<?x2x32x128xf32>, tensor<?x2x4x4xi1> -> tensor<?x2x32x128xf32> loc("wide")
  return %o : tensor<?x2x32x128xf32>
}

// -----

// By blocks where rows do not fit: 67 value columns have no divisor from 16
// to 64 to split them by, and f16 is not computed by rows.
// CHECK-LABEL: func.func @prime
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}}, %{{.*}}, 4)
// CHECK-NOT:   mapping
// CHECK-LABEL: func.func @half
// CHECK:       scf.forall (%{{.*}}, %{{.*}}, %{{.*}}) in (%{{.*}}, %{{.*}}, 4)
// CHECK-NOT:   mapping
func.func @prime(%q: tensor<1x2x32x8xf32>, %v: tensor<1x2x32x67xf32>, %l: tensor<1x2x4x4xi1>) -> tensor<1x2x32x67xf32> {
  %o = dyn.bsa.attention %q, %q, %v, %l {block_size = 8 : i64}
      : tensor<1x2x32x8xf32>, tensor<1x2x32x8xf32>, tensor<1x2x32x67xf32>, tensor<1x2x4x4xi1> -> tensor<1x2x32x67xf32> loc("prime")
  return %o : tensor<1x2x32x67xf32>
}
func.func @half(%q: tensor<1x2x32x8xf16>, %l: tensor<1x2x4x4xi1>) -> tensor<1x2x32x8xf16> {
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 8 : i64}
      : tensor<1x2x32x8xf16>, tensor<1x2x32x8xf16>, tensor<1x2x32x8xf16>, tensor<1x2x4x4xi1> -> tensor<1x2x32x8xf16> loc("half")
  return %o : tensor<1x2x32x8xf16>
}

// -----

// Dense attention by rows (attention-by-rows, the CUDA target's choice):
// the same loop over query rows, of any length, over every key up to the
// row when causal: no layout, no block loop, nothing counted. Without the
// option, the whole-sequence form (a matmul over all scores).
// DENSE-LABEL: func.func @dense
// DENSE:       scf.forall (%[[B:.*]], %[[H:.*]], %[[C:.*]], %[[ROW:.*]]) in (%{{.*}}, %{{.*}}, 1, %{{.*}}) shared_outs
// DENSE:       %[[SK:.*]] = tensor.dim %arg1, %{{.*}} : tensor<?x2x?x8xf32>
// DENSE:       %[[NEXT:.*]] = arith.addi %[[ROW]], %{{.*}} : index
// DENSE:       %[[END:.*]] = arith.minui %[[SK]], %[[NEXT]] : index
// DENSE:       scf.for %[[T:.*]] = %{{.*}} to %[[END]] step %{{.*}} iter_args({{.*}}) -> (f32, f32, f32, f32, f32, f32, f32, f32, f32, f32)
// DENSE:       tensor.extract %arg1[%[[B]], %[[H]], %[[T]], %{{.*}}] : tensor<?x2x?x8xf32>
// DENSE-NOT:   dyn.rt.count
// DENSE:       mapping = [#gpu.thread<linear_dim_3>, #gpu.thread<z>, #gpu.thread<y>, #gpu.thread<x>]
// DENSE-NOT:   dyn.attention
// CHECK-LABEL: func.func @dense
// CHECK-NOT:   scf.forall
// CHECK:       linalg.generic
func.func @dense(%q: tensor<?x2x?x8xf32>, %k: tensor<?x2x?x8xf32>) -> tensor<?x2x?x8xf32> {
  %o = dyn.attention %q, %k, %k {causal} : tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32>, tensor<?x2x?x8xf32> -> tensor<?x2x?x8xf32>
  return %o : tensor<?x2x?x8xf32>
}
