// RUN: dync-opt %s -dyn-prepare-vectorization -split-input-file | FileCheck %s

// A batched matmul written (b, m, n, k): n, the contiguous dimension of the
// output and of the right operand, moves innermost; k keeps its order
// relative to b and m. The body is unchanged: the order in which each output
// element accumulates is the same, so no reassociation is needed.
// CHECK-DAG:   #[[A:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG:   #[[B:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d2, d3)>
// CHECK-DAG:   #[[C:.+]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-LABEL: func.func @batch_matmul
// CHECK:       linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]],
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "reduction", "parallel"]
// CHECK:         arith.mulf
// CHECK-NOT:     fastmath
// CHECK:         linalg.yield
func.func @batch_matmul(%a: tensor<2x3x5xf32>, %b: tensor<2x5x4xf32>, %c: tensor<2x3x4xf32>) -> tensor<2x3x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(b, m, n, k) -> (b, m, k)>,
                       affine_map<(b, m, n, k) -> (b, k, n)>,
                       affine_map<(b, m, n, k) -> (b, m, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<2x3x5xf32>, tensor<2x5x4xf32>) outs(%c : tensor<2x3x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x3x4xf32>
  return %r : tensor<2x3x4xf32>
}

// -----

// A row sum: the output's last dimension is m, but no input walks m
// contiguously (the input's last dimension is the reduction), so the loops
// stay as they are and the accumulation may be reassociated.
// CHECK-LABEL: func.func @row_sum
// CHECK:       iterator_types = ["parallel", "reduction"]
// CHECK:       arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
func.func @row_sum(%a: tensor<3x5xf32>, %c: tensor<3xf32>) -> tensor<3xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(m, k) -> (m, k)>, affine_map<(m, k) -> (m)>],
      iterator_types = ["parallel", "reduction"]}
      ins(%a : tensor<3x5xf32>) outs(%c : tensor<3xf32>) {
  ^bb0(%x: f32, %acc: f32):
    %s = arith.addf %acc, %x : f32
    linalg.yield %s : f32
  } -> tensor<3xf32>
  return %r : tensor<3xf32>
}

// -----

// x·Wᵀ (Q·Kᵀ, a Linear layer's weight [out, in]): both operands are
// contiguous along the reduction, so the dot product stays innermost and its
// accumulation may be reassociated; the multiply is untouched.
// CHECK-LABEL: func.func @matmul_transposed
// CHECK:       iterator_types = ["parallel", "parallel", "reduction"]
// CHECK:       arith.mulf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT:  arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
func.func @matmul_transposed(%q: tensor<3x5xf32>, %k: tensor<4x5xf32>, %c: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<3x5xf32>, tensor<4x5xf32>) outs(%c : tensor<3x4xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<3x4xf32>
  return %r : tensor<3x4xf32>
}

// -----

// Already parallel innermost (an elementwise map): left alone.
// CHECK-LABEL: func.func @elementwise
// CHECK:       iterator_types = ["parallel", "parallel"]
// CHECK-NOT:   fastmath
func.func @elementwise(%a: tensor<3x4xf32>, %c: tensor<3x4xf32>) -> tensor<3x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(m, n) -> (m, n)>, affine_map<(m, n) -> (m, n)>],
      iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<3x4xf32>) outs(%c : tensor<3x4xf32>) {
  ^bb0(%x: f32, %o: f32):
    %e = math.exp %x : f32
    %s = arith.addf %e, %o : f32
    linalg.yield %s : f32
  } -> tensor<3x4xf32>
  return %r : tensor<3x4xf32>
}

// -----

// On buffers, a dot-product reduction is also tiled 16 x 16 over its two
// innermost parallel loops, so that a block of W is reused by 16 rows of x;
// the reduction is not tiled. The tile loops are parallel.
// CHECK-LABEL: func.func @linear_buffers
// CHECK:       scf.parallel (%[[I:.+]], %[[J:.+]]) = (%{{.+}}, %{{.+}}) to (%{{.+}}, %c100) step (%c16{{[_0-9]*}}, %c16{{[_0-9]*}}) {
// CHECK:           %[[X:.+]] = memref.subview %{{.+}}[%[[I]], 0] [%{{.+}}, 512] [1, 1]
// CHECK:           %[[W:.+]] = memref.subview %{{.+}}[%[[J]], 0] [%{{.+}}, 512] [1, 1]
// CHECK:           linalg.generic
// CHECK-SAME:        ins(%[[X]], %[[W]]
// CHECK:             arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
// CHECK-NOT:   linalg.generic
func.func @linear_buffers(%x: memref<?x512xf32>, %w: memref<100x512xf32>, %y: memref<?x100xf32>) {
  linalg.generic {
      indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
                       affine_map<(m, n, k) -> (m, n)>],
      iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<?x512xf32>, memref<100x512xf32>) outs(%y : memref<?x100xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A stride-1 convolution (loops n, o, oh, ow | c, kh, kw): the input is read
// at ow + kw, one element per step of ow, so ow moves innermost.
// CHECK-LABEL: func.func @conv_stride1
// CHECK:       linalg.generic
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]
// CHECK-NOT:     fastmath
func.func @conv_stride1(%x: tensor<1x2x6x6xf32>, %w: tensor<3x2x3x3xf32>, %y: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, o, oh, ow, c, kh, kw) -> (n, c, oh + kh, ow + kw)>,
                       affine_map<(n, o, oh, ow, c, kh, kw) -> (o, c, kh, kw)>,
                       affine_map<(n, o, oh, ow, c, kh, kw) -> (n, o, oh, ow)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x2x6x6xf32>, tensor<3x2x3x3xf32>) outs(%y : tensor<1x3x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x3x4x4xf32>
  return %r : tensor<1x3x4x4xf32>
}

// -----

// With stride 2 (ow * 2 + kw) ow does not walk the input contiguously: the
// reduction stays innermost and may be reassociated.
// CHECK-LABEL: func.func @conv_stride2
// CHECK:       linalg.generic
// CHECK-SAME:    iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK:         arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
func.func @conv_stride2(%x: tensor<1x2x9x9xf32>, %w: tensor<3x2x3x3xf32>, %y: tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32> {
  %r = linalg.generic {
      indexing_maps = [affine_map<(n, o, oh, ow, c, kh, kw) -> (n, c, oh * 2 + kh, ow * 2 + kw)>,
                       affine_map<(n, o, oh, ow, c, kh, kw) -> (o, c, kh, kw)>,
                       affine_map<(n, o, oh, ow, c, kh, kw) -> (n, o, oh, ow)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x2x9x9xf32>, tensor<3x2x3x3xf32>) outs(%y : tensor<1x3x4x4xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x3x4x4xf32>
  return %r : tensor<1x3x4x4xf32>
}
