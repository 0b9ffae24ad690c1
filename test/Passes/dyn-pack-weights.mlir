// RUN: dync-opt %s -dyn-pack-weights -split-input-file | FileCheck %s
// RUN: dync-opt %s -dyn-pack-weights="panel=16" -split-input-file | FileCheck %s --check-prefix=P16
// RUN: not dync-opt %s -dyn-pack-weights="panel=0" -split-input-file 2>&1 | FileCheck %s --check-prefix=BAD

// BAD: dyn-pack-weights: panel must be positive

// A Linear layer y = x @ Wᵀ with W stored [64, 16]: W is read in panels of
// 32 rows, [2, 16, 32], at (n floordiv 32, k, n mod 32); the stored read
// goes away.
// CHECK-DAG: #[[PANELS:.+]] = affine_map<(d0, d1, d2) -> (d1 floordiv 32, d2, d1 mod 32)>
// CHECK-LABEL: func.func @linear(
// CHECK-NOT:     dyn.weight "fc.weight" :
// CHECK:         %[[P:.+]] = dyn.weight "fc.weight" {panel = 32 : i64} : tensor<2x16x32xf32>
// CHECK-NOT:     dyn.weight "fc.weight" :
// CHECK:         linalg.generic {indexing_maps = [#{{.+}}, #[[PANELS]], #{{.+}}]
// CHECK-SAME:      ins(%{{.+}}, %[[P]] : tensor<?x16xf32>, tensor<2x16x32xf32>)
// P16:           dyn.weight "fc.weight" {panel = 16 : i64} : tensor<4x16x16xf32>
func.func @linear(%x: tensor<?x16xf32>, %init: tensor<?x64xf32>) -> tensor<?x64xf32> {
  %w = dyn.weight "fc.weight" : tensor<64x16xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                        affine_map<(m, n, k) -> (n, k)>,
                                        affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x16xf32>, tensor<64x16xf32>) outs(%init : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Batch dims (x is [B, S, K]) as in a transformer; the weight is also read
// by an elementwise op, which keeps the stored read: the two are separate
// arguments in the end (dyn-thread-externals).
// CHECK-LABEL: func.func @batched_and_shared(
// CHECK-DAG:     %[[W:.+]] = dyn.weight "w" : tensor<32x8xf32>
// CHECK-DAG:     %[[P:.+]] = dyn.weight "w" {panel = 32 : i64} : tensor<1x8x32xf32>
// CHECK:         linalg.generic {{.+}} ins(%{{.+}}, %[[P]] : tensor<2x?x8xf32>, tensor<1x8x32xf32>)
// CHECK:         linalg.generic {{.+}} ins(%[[W]] : tensor<32x8xf32>)
func.func @batched_and_shared(%x: tensor<2x?x8xf32>, %init: tensor<2x?x32xf32>,
                              %e: tensor<32x8xf32>) -> (tensor<2x?x32xf32>, tensor<32x8xf32>) {
  %w = dyn.weight "w" : tensor<32x8xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(b, s, n, k) -> (b, s, k)>,
                                        affine_map<(b, s, n, k) -> (n, k)>,
                                        affine_map<(b, s, n, k) -> (b, s, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x?x8xf32>, tensor<32x8xf32>) outs(%init : tensor<2x?x32xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x?x32xf32>
  %n = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%w : tensor<32x8xf32>) outs(%e : tensor<32x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %z = arith.negf %a : f32
    linalg.yield %z : f32
  } -> tensor<32x8xf32>
  return %y, %n : tensor<2x?x32xf32>, tensor<32x8xf32>
}

// -----

// Left as stored: N not a multiple of the panel (10 rows), a weight read as
// [k, n] (x @ W), and an f16 weight.
// CHECK-LABEL: func.func @left_alone(
// CHECK-NOT:     panel
// CHECK:         return
func.func @left_alone(%x: tensor<?x16xf32>, %i10: tensor<?x10xf32>, %i64: tensor<?x64xf32>,
                      %h: tensor<?x16xf16>) -> (tensor<?x10xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %w10 = dyn.weight "head" : tensor<10x16xf32>
  %y10 = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                          affine_map<(m, n, k) -> (n, k)>,
                                          affine_map<(m, n, k) -> (m, n)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w10 : tensor<?x16xf32>, tensor<10x16xf32>) outs(%i10 : tensor<?x10xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x10xf32>
  %wkn = dyn.weight "kn" : tensor<16x64xf32>
  %ykn = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                          affine_map<(m, n, k) -> (k, n)>,
                                          affine_map<(m, n, k) -> (m, n)>],
                         iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wkn : tensor<?x16xf32>, tensor<16x64xf32>) outs(%i64 : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  %wh = dyn.weight "half" : tensor<64x16xf16>
  %yh = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                         affine_map<(m, n, k) -> (n, k)>,
                                         affine_map<(m, n, k) -> (m, n)>],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %wh : tensor<?x16xf32>, tensor<64x16xf16>) outs(%i64 : tensor<?x64xf32>) {
  ^bb0(%a: f32, %b: f16, %acc: f32):
    %bw = arith.extf %b : f16 to f32
    %p = arith.mulf %a, %bw : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<?x64xf32>
  return %y10, %ykn, %yh : tensor<?x10xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// One weight read by two matmuls (a tied projection): one packed read, and
// the stored read goes away once.
// CHECK-LABEL: func.func @tied(
// CHECK-COUNT-1: dyn.weight "tied" {panel = 32 : i64} : tensor<1x8x32xf32>
// CHECK-NOT:     dyn.weight
// CHECK:         return
func.func @tied(%x: tensor<?x8xf32>, %init: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>) {
  %w = dyn.weight "tied" : tensor<32x8xf32>
  %a = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                        affine_map<(m, n, k) -> (n, k)>,
                                        affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x8xf32>, tensor<32x8xf32>) outs(%init : tensor<?x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x32xf32>
  %b = linalg.generic {indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                        affine_map<(m, n, k) -> (n, k)>,
                                        affine_map<(m, n, k) -> (m, n)>],
                       iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<?x8xf32>, tensor<32x8xf32>) outs(%init : tensor<?x32xf32>) {
  ^bb0(%p: f32, %q: f32, %acc: f32):
    %m = arith.mulf %p, %q : f32
    %s = arith.addf %acc, %m : f32
    linalg.yield %s : f32
  } -> tensor<?x32xf32>
  return %a, %b : tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// The experts of a MoE layer: w1 [E, h, d], w2 [E, d, h] and w3 all in
// panels ([E, h / 32, d, 32], [E, d / 32, h, 32]), and the op says so.
// CHECK-LABEL: func.func @experts(
// CHECK-DAG:     %[[W1:.+]] = dyn.weight "w1" {panel = 32 : i64} : tensor<4x2x32x32xf32>
// CHECK-DAG:     %[[W2:.+]] = dyn.weight "w2" {panel = 32 : i64} : tensor<4x1x64x32xf32>
// CHECK-DAG:     %[[W3:.+]] = dyn.weight "w3" {panel = 32 : i64} : tensor<4x2x32x32xf32>
// CHECK:         dyn.moe.experts %{{.+}}, %{{.+}} w1(%[[W1]]) w2(%[[W2]]) w3(%[[W3]]) b1(%{{.+}}) {activation = #dyn.activation<silu>, panel = 32 : i64}
// Experts whose d is not a multiple of 32 (w2 has 16 rows) keep every
// weight as stored.
// CHECK-LABEL: func.func @experts_left_alone(
// CHECK-NOT:     panel
// CHECK:         return
func.func @experts(%rows: tensor<?x32xf32>, %off: tensor<5xi32>) -> tensor<?x32xf32> {
  %w1 = dyn.weight "w1" : tensor<4x64x32xf32>
  %w2 = dyn.weight "w2" : tensor<4x32x64xf32>
  %w3 = dyn.weight "w3" : tensor<4x64x32xf32>
  %b1 = dyn.weight "b1" : tensor<4x64xf32>
  %y = dyn.moe.experts %rows, %off w1(%w1) w2(%w2) w3(%w3) b1(%b1) {activation = #dyn.activation<silu>}
      : (tensor<?x32xf32>, tensor<5xi32>, tensor<4x64x32xf32>, tensor<4x32x64xf32>,
         tensor<4x64x32xf32>, tensor<4x64xf32>) -> tensor<?x32xf32>
  return %y : tensor<?x32xf32>
}
func.func @experts_left_alone(%rows: tensor<?x16xf32>, %off: tensor<5xi32>) -> tensor<?x16xf32> {
  %w1 = dyn.weight "v1" : tensor<4x64x16xf32>
  %w2 = dyn.weight "v2" : tensor<4x16x64xf32>
  %y = dyn.moe.experts %rows, %off w1(%w1) w2(%w2) {activation = #dyn.activation<relu>}
      : (tensor<?x16xf32>, tensor<5xi32>, tensor<4x64x16xf32>, tensor<4x16x64xf32>) -> tensor<?x16xf32>
  return %y : tensor<?x16xf32>
}
