// RUN: dync-opt %s -dyn-vectorize-matmuls -canonicalize -split-input-file | FileCheck %s
// RUN: dync-opt %s -dyn-vectorize-matmuls="lanes=16 rows=6 cols=4" -canonicalize -split-input-file | FileCheck %s --check-prefix=WIDE
// RUN: dync-opt %s -dyn-vectorize-matmuls="lanes=16 outer-rows=12" -canonicalize -split-input-file | FileCheck %s --check-prefix=TALL
// RUN: not dync-opt %s -dyn-vectorize-matmuls="lanes=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: dyn-vectorize-matmuls: lanes, rows, cols, outer-rows and outer-vectors must be positive

// The AVX-512 shape: 16 lanes, 6 x 4 tiles (24 accumulators).
// WIDE-LABEL: func.func @linear(
// WIDE:         scf.for %{{.+}} step %c6 {
// WIDE:           %{{.+}}:24 = scf.for %{{.+}} = %c0 to %c512 step %c16 iter_args({{.+}}) -> (vector<16xf32>,
// WIDE-COUNT-6:     vector.load %{{.+}} : memref<?x512xf32>, vector<16xf32>
// With 16 lanes the tree works in 4 groups of 4, then halves twice.
// WIDE:           vector.shuffle %{{.+}}, %{{.+}} [0, 16, 1, 17, 4, 20, 5, 21, 8, 24, 9, 25, 12, 28, 13, 29]
// WIDE:           vector.shuffle %[[G:.+]], %[[G]] [0, 1, 2, 3, 4, 5, 6, 7] : vector<16xf32>, vector<16xf32>
// WIDE:           vector.shuffle %[[H:.+]], %[[H]] [0, 1, 2, 3] : vector<8xf32>, vector<8xf32>

// A Linear layer y += x @ Wᵀ: blocks of 64 columns of W in parallel; in a
// block, tiles of 3 rows x 4 columns accumulate in 12 vectors of 8 lanes
// (3 loads of x, 4 of W per step of 8 along k), lanes are summed, and each
// output gets its sum added once. Leftover rows and columns get 1-row and
// 1-column tiles.
// CHECK-LABEL: func.func @linear(
// CHECK-SAME:    %[[X:.+]]: memref<?x512xf32>, %[[W:.+]]: memref<200x512xf32>, %[[Y:.+]]: memref<?x200xf32>)
// CHECK-DAG:     %[[M:.+]] = memref.dim %[[X]], %c0
// CHECK:         scf.parallel (%[[BLOCK:.+]]) = (%c0) to (%c4) step (%c1) {
// CHECK:           %[[LO:.+]] = arith.muli %[[BLOCK]], %c64
// CHECK:           scf.for %[[ROW:.+]] = %c0 to %{{.+}} step %c3 {
// CHECK:             scf.for %[[C:.+]] = %c0 to %{{.+}} step %c4 {
// CHECK:               %[[COL:.+]] = arith.addi %[[LO]], %[[C]]
// CHECK:               %[[ACC:.+]]:12 = scf.for %[[K:.+]] = %c0 to %c512 step %c8 iter_args(
// CHECK-COUNT-3:         vector.load %[[X]][%{{.+}}, %[[K]]] : memref<?x512xf32>, vector<8xf32>
// CHECK:                 vector.load %[[W]][%[[COL]], %[[K]]] : memref<200x512xf32>, vector<8xf32>
// CHECK:                 arith.mulf %{{.+}}, %{{.+}} fastmath<contract> : vector<8xf32>
// CHECK:                 arith.addf %{{.+}}, %{{.+}} fastmath<contract> : vector<8xf32>
// CHECK-COUNT-11:        arith.addf %{{.+}}, %{{.+}} fastmath<contract> : vector<8xf32>
// CHECK:                 scf.yield
// k is a multiple of 8 and y contiguous along n: a row's 4 sums come out of
// a shuffle tree as one vector (in-group unpacks, then the halves added),
// which updates y with one vector load and store.
// CHECK:               %[[P0:.+]] = vector.shuffle %[[ACC]]#0, %[[ACC]]#1 [0, 8, 1, 9, 4, 12, 5, 13]
// CHECK:               %[[P1:.+]] = vector.shuffle %[[ACC]]#0, %[[ACC]]#1 [2, 10, 3, 11, 6, 14, 7, 15]
// CHECK:               %[[Z01:.+]] = arith.addf %[[P0]], %[[P1]] : vector<8xf32>
// CHECK:               %[[Z23:.+]] = arith.addf %{{.+}}, %{{.+}} : vector<8xf32>
// CHECK:               %[[Q0:.+]] = vector.shuffle %[[Z01]], %[[Z23]] [0, 1, 8, 9, 4, 5, 12, 13]
// CHECK:               %[[Q1:.+]] = vector.shuffle %[[Z01]], %[[Z23]] [2, 3, 10, 11, 6, 7, 14, 15]
// CHECK:               %[[G:.+]] = arith.addf %[[Q0]], %[[Q1]] : vector<8xf32>
// CHECK:               %[[LO4:.+]] = vector.shuffle %[[G]], %[[G]] [0, 1, 2, 3]
// CHECK:               %[[HI4:.+]] = vector.shuffle %[[G]], %[[G]] [4, 5, 6, 7]
// CHECK:               %[[S:.+]] = arith.addf %[[LO4]], %[[HI4]] : vector<4xf32>
// CHECK:               %[[OLD:.+]] = vector.load %[[Y]][%[[ROW]], %[[COL]]] : memref<?x200xf32>, vector<4xf32>
// CHECK:               %[[NEW:.+]] = arith.addf %[[OLD]], %[[S]] : vector<4xf32>
// CHECK:               vector.store %[[NEW]], %[[Y]][%[[ROW]], %[[COL]]]
// CHECK-COUNT-2:       vector.store %{{.+}}, %[[Y]]
// CHECK-NOT:           vector.reduction
// The 1-column tiles of the leftover columns, then the 1-row tiles.
// CHECK:             scf.for %{{.+}} = %{{.+}} to %{{.+}} step %c1 {
// CHECK:               scf.for %{{.+}} = %c0 to %c512 step %c8 iter_args(%{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}, %{{.+}} = %{{.+}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:           scf.for %{{.+}} = %{{.+}} to %[[M]] step %c1 {
// CHECK:             scf.for %{{.+}} step %c4 {
// CHECK:               scf.for %{{.+}} = %c0 to %c512 step %c8 iter_args({{.+}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-NOT:     linalg.generic
func.func @linear(%x: memref<?x512xf32>, %w: memref<200x512xf32>, %y: memref<?x200xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x512xf32>, memref<200x512xf32>) outs(%y : memref<?x200xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A reduction of 13: one full vector step (its loop folds away), then a
// scalar tail of 5 per output. A batch dim in front of a narrow output (32 columns, one block):
// the batch dim is the outer parallel loop (the one-block dim folds away).
// CHECK-LABEL: func.func @batched_tail(
// CHECK-SAME:    %[[X:.+]]: memref<?x?x13xf32>, %[[W:.+]]: memref<32x13xf32>, %[[Y:.+]]: memref<?x?x32xf32>)
// CHECK-DAG:     %[[B:.+]] = memref.dim %[[X]], %c0
// CHECK:         scf.parallel (%[[BATCH:.+]]) = (%c0) to (%[[B]]) step (%c1) {
// CHECK:               vector.load %[[X]][%[[BATCH]], %{{.+}}, %c0] : memref<?x?x13xf32>, vector<8xf32>
// CHECK:               vector.reduction <add>
// CHECK:               scf.for %{{.+}} = %c8 to %c13 step %c1 iter_args(
// CHECK:                 memref.load %[[X]][%[[BATCH]],
// CHECK:                 memref.load %[[W]][
// CHECK:               memref.store %{{.+}}, %[[Y]][%[[BATCH]],
func.func @batched_tail(%x: memref<?x?x13xf32>, %w: memref<32x13xf32>, %y: memref<?x?x32xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>, affine_map<(b, m, n, k) -> (n, k)>,
                       affine_map<(b, m, n, k) -> (b, m, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x?x13xf32>, memref<32x13xf32>) outs(%y : memref<?x?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %b, %a : f32
    %s = arith.addf %p, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Half-precision weights extended in the body: the kernel loads f16
// vectors (and scalars in the tail) and extends them.
// CHECK-LABEL: func.func @half_weights(
// CHECK:         %[[V:.+]] = vector.load %{{.+}} : memref<32x44xf16>, vector<8xf16>
// CHECK:         arith.extf %[[V]] : vector<8xf16> to vector<8xf32>
// CHECK:         %[[S:.+]] = memref.load %{{.+}} : memref<32x44xf16>
// CHECK:         arith.extf %[[S]] : f16 to f32
// CHECK-NOT:     linalg.generic
func.func @half_weights(%x: memref<?x44xf32>, %w: memref<32x44xf16>, %y: memref<?x32xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x44xf32>, memref<32x44xf16>) outs(%y : memref<?x32xf32>) {
  ^bb0(%a: f32, %b: f16, %acc: f32):
    %e = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// x @ W with W as [k, n] (contiguous along n): the outer-product kernel.
// Tiles of 6 rows x 2 vectors (16 columns) start from the output, add
// a[row, k] (broadcast) times b's row k for each k in order, and store; 61
// columns leave one 1-vector tile (its loop of one iteration folds away) and
// 5 single columns.
// CHECK-LABEL: func.func @outer(
// CHECK-SAME:    %[[A:.+]]: memref<?x8xf32>, %[[B:.+]]: memref<8x61xf32>, %[[Y:.+]]: memref<?x61xf32>)
// CHECK:         scf.for %{{.+}} step %c6 {
// CHECK:           scf.for %[[COL:.+]] = %c0 to %c48 step %c16 {
// CHECK:             %[[INIT:.+]] = vector.load %[[Y]][%{{.+}}, %[[COL]]] : memref<?x61xf32>, vector<8xf32>
// CHECK:             %[[ACC:.+]]:12 = scf.for %[[K:.+]] = %c0 to %c8 step %c1 iter_args(%{{.+}} = %[[INIT]],
// CHECK:               vector.load %[[B]][%[[K]], %[[COL]]] : memref<8x61xf32>, vector<8xf32>
// CHECK:               %[[X:.+]] = memref.load %[[A]][%{{.+}}, %[[K]]]
// CHECK:               vector.broadcast %[[X]] : f32 to vector<8xf32>
// CHECK:             vector.store %[[ACC]]#0, %[[Y]][%{{.+}}, %[[COL]]]
// CHECK:           vector.load %[[Y]][%{{.+}}, %c48] : memref<?x61xf32>, vector<8xf32>
// CHECK:           scf.for {{.+}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK:           scf.for %{{.+}} = %c56 to %c61 step %c1 {
// CHECK:             scf.for {{.+}} -> (f32, f32, f32, f32, f32, f32)
// CHECK-NOT:     linalg.generic
// k = 8: too short a loop to prefetch b's rows ahead.
// CHECK-NOT:     memref.prefetch
func.func @outer(%x: memref<?x8xf32>, %w: memref<8x61xf32>, %y: memref<?x61xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x8xf32>, memref<8x61xf32>) outs(%y : memref<?x61xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// aᵀ @ b with a as [k, m] (blocked attention's pᵀ·v): the outer-product
// kernel reads a one element at a time, at [k, row]. The dot-product kernel
// reads a as vectors along k, so with b as [n, k] it is left alone.
// CHECK-LABEL: func.func @transposed_a(
// CHECK-SAME:    %[[A:.+]]: memref<8x?xf32>, %[[B:.+]]: memref<8x16xf32>, %[[Y:.+]]: memref<?x16xf32>,
// CHECK:         scf.for %[[ROW:.+]] = %c0 to %{{.+}} step %c6 {
// CHECK:           scf.for %[[K:.+]] = %c0 to %c8 step %c1 iter_args(
// CHECK:             vector.load %[[B]][%[[K]], %{{.+}}] : memref<8x16xf32>, vector<8xf32>
// CHECK:             memref.load %[[A]][%[[K]], %[[ROW]]] : memref<8x?xf32>
// CHECK:         linalg.generic
// CHECK-SAME:      ins(%[[A]], %{{.+}} : memref<8x?xf32>, memref<16x8xf32>)
// CHECK-NOT:     linalg.generic
func.func @transposed_a(%x: memref<8x?xf32>, %w: memref<8x16xf32>, %y: memref<?x16xf32>,
                        %wn: memref<16x8xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<8x?xf32>, memref<8x16xf32>) outs(%y : memref<?x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (k, m)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wn : memref<8x?xf32>, memref<16x8xf32>) outs(%y : memref<?x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// AVX-512's outer-product tile of 12 rows takes 8 when the rows of a are a
// multiple of 4 KiB apart (k = 1024: they share one L1 set); 12 with k =
// 512. In each k loop, the two 64-byte lines of b's row 16 ahead (at most
// the last row) are prefetched.
// TALL-LABEL: func.func @rows_4k_apart(
// TALL:         scf.for %{{.+}} step %c8 {
// TALL:           scf.for %[[K:.+]] = %c0 to %c1024 step %c1 iter_args(
// TALL:             %[[NEXT:.+]] = arith.addi %[[K]], %c16
// TALL:             %[[AHEAD:.+]] = arith.minsi %[[NEXT]], %c1023
// TALL:             memref.prefetch %arg1[%[[AHEAD]], %{{.+}}], read, locality<3>, data : memref<1024x32xf32>
// TALL:             memref.prefetch %arg1[%[[AHEAD]], %{{.+}}], read, locality<3>, data : memref<1024x32xf32>
// TALL-NOT:         memref.prefetch
// TALL:           memref.load %arg0
// TALL:         scf.for %{{.+}} step %c12 {
// TALL:           memref.load %arg3
func.func @rows_4k_apart(%x: memref<?x1024xf32>, %w: memref<1024x32xf32>, %y: memref<?x32xf32>,
                         %x2: memref<?x512xf32>, %w2: memref<512x32xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x1024xf32>, memref<1024x32xf32>) outs(%y : memref<?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (k, n)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x2, %w2 : memref<?x512xf32>, memref<512x32xf32>) outs(%y : memref<?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: a body that does more than multiply-add; f16; and an operand
// whose k dimension is strided.
// CHECK-LABEL: func.func @others(
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT:     vector.load
func.func @others(%x: memref<4x8xf32>, %wt: memref<8x16xf32>, %w: memref<16x8xf32>,
                  %y: memref<4x16xf32>, %h: memref<4x8xf16>, %wh: memref<16x8xf16>,
                  %yh: memref<4x16xf16>, %xs: memref<4x8xf32, strided<[16, 2]>>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x8xf32>, memref<16x8xf32>) outs(%y : memref<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %e = math.exp %p : f32
    %s = arith.addf %acc, %e : f32
    linalg.yield %s : f32
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%h, %wh : memref<4x8xf16>, memref<16x8xf16>) outs(%yh : memref<4x16xf16>) {
  ^bb0(%a: f16, %b: f16, %acc: f16):
    %p = arith.mulf %a, %b : f16
    %s = arith.addf %acc, %p : f16
    linalg.yield %s : f16
  }
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%xs, %w : memref<4x8xf32, strided<[16, 2]>>, memref<16x8xf32>) outs(%y : memref<4x16xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A Linear layer whose weight is in panels of 32 rows (dyn-pack-weights):
// outer-product tiles stream one panel, b's row k of the tile's columns
// read at (col floordiv 32, k, col mod 32); tiles as wide as divide the
// panel (2 vectors of 16 or of 8), rows in tiles of 6, then 3, then 1.
// n is a multiple of 64, so the blocks' column loops have constant bounds.
// CHECK-LABEL: func.func @linear_in_panels(
// CHECK-SAME:    %[[X:.+]]: memref<?x16xf32>, %[[W:.+]]: memref<4x16x32xf32>
// CHECK:         scf.for %[[ROW:.+]] = %c0 to %{{.+}} step %c6 {
// CHECK:           scf.for %[[C:.+]] = %c0 to %c64 step %c16 {
// CHECK:             %[[COL:.+]] = arith.addi %{{.+}}, %[[C]]
// CHECK:             scf.for %[[K:.+]] = %c0 to %c16 step %c1 iter_args(
// CHECK:               %[[J:.+]] = affine.apply #{{.+}}(%[[COL]])
// CHECK:               %[[T:.+]] = affine.apply #{{.+}}(%[[COL]])
// CHECK:               vector.load %[[W]][%[[J]], %[[K]], %[[T]]] : memref<4x16x32xf32>, vector<8xf32>
// CHECK:               vector.load %[[W]]{{.+}} : memref<4x16x32xf32>, vector<8xf32>
// CHECK:               memref.load %[[X]][%[[ROW]], %[[K]]] : memref<?x16xf32>
// CHECK:               vector.broadcast
// CHECK:         scf.for %{{.+}} step %c3 {
// CHECK:         scf.for %{{.+}} step %c1 {
// WIDE-LABEL: func.func @linear_in_panels(
// WIDE:           scf.for %{{.+}} step %c32 {
// WIDE:             scf.for %{{.+}} = %c0 to %c16 step %c1 iter_args(
// WIDE-COUNT-2:       vector.load %{{.+}} : memref<4x16x32xf32>, vector<16xf32>
func.func @linear_in_panels(%x: memref<?x16xf32>, %w: memref<4x16x32xf32>, %y: memref<?x128xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n floordiv 32, k, n mod 32)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x16xf32>, memref<4x16x32xf32>) outs(%y : memref<?x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The fill before a Linear layer and the elementwise op after it that
// updates its output in place (bias + relu) go into the kernel: the
// accumulators start from the fill's value instead of loading y, and each
// vector of sums gets the bias (a vector along n) and relu before its one
// store. Neither op is left.
// CHECK-LABEL: func.func @fused_bias_relu(
// CHECK-SAME:    %[[X:.+]]: memref<?x16xf32>, %[[W:.+]]: memref<2x16x32xf32>, %[[B:.+]]: memref<64xf32>)
// CHECK-DAG:     %[[ZERO:.+]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK-DAG:     %[[Y:.+]] = memref.alloc
// CHECK-NOT:     linalg.fill
// CHECK:           scf.for %[[ROW:.+]] = %c0 to %{{.+}} step %c6 {
// CHECK:             scf.for %[[COL:.+]] = %c0 to %c64 step %c16 {
// CHECK-NOT:           vector.load %[[Y]]
// CHECK:               %[[ACC:.+]]:12 = scf.for %{{.+}} iter_args(%{{.+}} = %[[ZERO]],
// CHECK:               %[[BIAS:.+]] = vector.load %[[B]][%[[COL]]] : memref<64xf32>, vector<8xf32>
// CHECK:               %[[SUM:.+]] = arith.addf %[[ACC]]#0, %[[BIAS]] : vector<8xf32>
// CHECK:               %[[RELU:.+]] = arith.maximumf %[[SUM]], %{{.+}} : vector<8xf32>
// CHECK:               vector.store %[[RELU]], %[[Y]][%[[ROW]], %[[COL]]] : memref<?x64xf32>, vector<8xf32>
// CHECK-NOT:     linalg.generic
// CHECK-NOT:     linalg.fill
func.func @fused_bias_relu(%x: memref<?x16xf32>, %w: memref<2x16x32xf32>, %bias: memref<64xf32>) -> memref<?x64xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x16xf32>
  %y = memref.alloc(%n) : memref<?x64xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x64xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n floordiv 32, k, n mod 32)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x16xf32>, memref<2x16x32xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (n)>,
                                   affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : memref<?x64xf32>, memref<64xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %s = arith.addf %v, %c : f32
    %r = arith.maximumf %s, %zero : f32
    linalg.yield %r : f32
  }
  return %y : memref<?x64xf32>
}

// -----

// Not fused: the elementwise op writes another buffer, z (only an update
// of the matmul's output in place is taken: z might be x, which the kernel
// still reads while it stores). The fill still goes.
// CHECK-LABEL: func.func @not_in_place(
// CHECK-NOT:     linalg.fill
// CHECK:         vector.store
// CHECK:         linalg.generic
func.func @not_in_place(%x: memref<?x16xf32>, %w: memref<2x16x32xf32>, %z: memref<?x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x16xf32>
  %y = memref.alloc(%n) : memref<?x64xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x64xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n floordiv 32, k, n mod 32)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x16xf32>, memref<2x16x32xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%y : memref<?x64xf32>) outs(%z : memref<?x64xf32>) {
  ^bb0(%v: f32, %o: f32):
    %r = arith.maximumf %v, %zero : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Not fused: the residual r may be y itself (both are the function's
// arguments), and tiles of y are written before others of r are read.
// CHECK-LABEL: func.func @may_alias(
// CHECK:         vector.store
// CHECK:         linalg.generic
func.func @may_alias(%x: memref<?x16xf32>, %w: memref<2x16x32xf32>, %r: memref<?x64xf32>, %y: memref<?x64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n floordiv 32, k, n mod 32)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x16xf32>, memref<2x16x32xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>,
                                   affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%y, %r : memref<?x64xf32>, memref<?x64xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %s = arith.addf %v, %c : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A residual from another allocation cannot be y: fused, read as vectors
// along n; a per-row scale (no n) is one element broadcast.
// CHECK-LABEL: func.func @residual_and_row_scale(
// CHECK:         %[[R:.+]] = memref.alloc
// CHECK:           vector.load %[[R]][%{{.+}}, %{{.+}}] : memref<?x64xf32>, vector<8xf32>
// CHECK:           %[[S:.+]] = memref.load %{{.+}}[%{{.+}}] : memref<?xf32>
// CHECK:           vector.broadcast %[[S]] : f32 to vector<8xf32>
// CHECK-NOT:     linalg.generic
func.func @residual_and_row_scale(%x: memref<?x16xf32>, %w: memref<2x16x32xf32>, %scale: memref<?xf32>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?x16xf32>
  %r = memref.alloc(%n) : memref<?x64xf32>
  %y = memref.alloc(%n) : memref<?x64xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n floordiv 32, k, n mod 32)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x16xf32>, memref<2x16x32xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>,
                                   affine_map<(m, n) -> (m)>, affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%y, %r, %scale : memref<?x64xf32>, memref<?x64xf32>, memref<?xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%v: f32, %c: f32, %s: f32, %o: f32):
    %t = arith.addf %v, %c : f32
    %u = arith.mulf %t, %s : f32
    linalg.yield %u : f32
  }
  memref.dealloc %r : memref<?x64xf32>
  return %y : memref<?x64xf32>
}

// -----

// With dyn-plan-buffers' workspace slots: the epilogue's output slot is
// handed out between the matmul and the epilogue. Its slot (1) is not a's
// (2): fused, the kernel where the epilogue was, storing to slot 1.
// CHECK-LABEL: func.func @workspace_target(
// CHECK:         %[[S1:.+]] = call @dync_workspace(%c1
// CHECK:         %[[Z:.+]] = memref.view %[[S1]]
// CHECK:           vector.store %{{.+}}, %[[Z]]
// CHECK-NOT:     linalg.generic
func.func private @dync_workspace(index, index) -> memref<?xi8>
func.func @workspace_target(%n: index, %w: memref<2x16x32xf32>, %bias: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %bytes = arith.constant 65536 : index
  %zero = arith.constant 0.0 : f32
  %sa = call @dync_workspace(%c2, %bytes) : (index, index) -> memref<?xi8>
  %x = memref.view %sa[%c0][%n] : memref<?xi8> to memref<?x16xf32>
  %so = call @dync_workspace(%c3, %bytes) : (index, index) -> memref<?xi8>
  %y = memref.view %so[%c0][%n] : memref<?xi8> to memref<?x64xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x64xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n floordiv 32, k, n mod 32)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x16xf32>, memref<2x16x32xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %sz = call @dync_workspace(%c1, %bytes) : (index, index) -> memref<?xi8>
  %z = memref.view %sz[%c0][%n] : memref<?xi8> to memref<?x64xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (n)>,
                                   affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : memref<?x64xf32>, memref<64xf32>) outs(%z : memref<?x64xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %s = arith.addf %v, %c : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not fused: the epilogue's output is a's slot (2), which a ends its life
// in: the kernel would overwrite rows of a that later tiles still read.
// CHECK-LABEL: func.func @workspace_target_is_a(
// CHECK:         vector.store
// CHECK:         linalg.generic
func.func private @dync_workspace(index, index) -> memref<?xi8>
func.func @workspace_target_is_a(%n: index, %w: memref<2x16x32xf32>, %bias: memref<64xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c3 = arith.constant 3 : index
  %bytes = arith.constant 65536 : index
  %zero = arith.constant 0.0 : f32
  %sa = call @dync_workspace(%c2, %bytes) : (index, index) -> memref<?xi8>
  %x = memref.view %sa[%c0][%n] : memref<?xi8> to memref<?x16xf32>
  %so = call @dync_workspace(%c3, %bytes) : (index, index) -> memref<?xi8>
  %y = memref.view %so[%c0][%n] : memref<?xi8> to memref<?x64xf32>
  linalg.fill ins(%zero : f32) outs(%y : memref<?x64xf32>)
  linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                   affine_map<(m, n, k) -> (n floordiv 32, k, n mod 32)>,
                                   affine_map<(m, n, k) -> (m, n)>],
                  iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x16xf32>, memref<2x16x32xf32>) outs(%y : memref<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %sz = call @dync_workspace(%c2, %bytes) : (index, index) -> memref<?xi8>
  %z = memref.view %sz[%c0][%n] : memref<?xi8> to memref<?x64xf32>
  linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (n)>,
                                   affine_map<(m, n) -> (m, n)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%y, %bias : memref<?x64xf32>, memref<64xf32>) outs(%z : memref<?x64xf32>) {
  ^bb0(%v: f32, %c: f32, %o: f32):
    %s = arith.addf %v, %c : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Not fused: the residual is a loop's block argument, which may carry the
// very allocation the epilogue writes (here it does, from the second
// iteration on): an allocation is only known apart from other
// allocations, workspace slots and the function's arguments.
// CHECK-LABEL: func.func @loop_carried(
// CHECK:         scf.for
// CHECK:           vector.store
// CHECK:           linalg.generic
func.func @loop_carried(%x: memref<?x16xf32>, %w: memref<2x16x32xf32>, %r0: memref<?x64xf32>) -> memref<?x64xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %n = memref.dim %x, %c0 : memref<?x16xf32>
  %y = memref.alloc(%n) : memref<?x64xf32>
  %last = scf.for %i = %c0 to %c2 step %c1 iter_args(%r = %r0) -> (memref<?x64xf32>) {
    linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                     affine_map<(m, n, k) -> (n floordiv 32, k, n mod 32)>,
                                     affine_map<(m, n, k) -> (m, n)>],
                    iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<?x16xf32>, memref<2x16x32xf32>) outs(%y : memref<?x64xf32>) {
    ^bb0(%a: f32, %b: f32, %acc: f32):
      %p = arith.mulf %a, %b : f32
      %s = arith.addf %acc, %p : f32
      linalg.yield %s : f32
    }
    // y[m, n] += r[m, 0]: another element of r, which is y itself once
    // the loop has gone round.
    linalg.generic {indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, 0)>,
                                     affine_map<(m, n) -> (m, n)>],
                    iterator_types = ["parallel", "parallel"]}
        ins(%y, %r : memref<?x64xf32>, memref<?x64xf32>) outs(%y : memref<?x64xf32>) {
    ^bb0(%v: f32, %c: f32, %o: f32):
      %s = arith.addf %v, %c : f32
      linalg.yield %s : f32
    }
    scf.yield %y : memref<?x64xf32>
  }
  return %last : memref<?x64xf32>
}
