// RUN: dync-opt %s -dyn-outline-gemms | FileCheck %s

// x @ Wᵀ (b is [n, k]) and x @ W (b is [k, n]) become calls with the flag
// saying which; the operands are cast to one strided type.
// CHECK-LABEL: func.func @linear
// CHECK:       %[[A:.*]] = memref.cast %arg0 : memref<?x64xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:       %[[B:.*]] = memref.cast %arg1 : memref<32x64xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:       %[[C:.*]] = memref.cast %arg2 : memref<?x32xf32> to memref<?x?xf32, strided<[?, 1], offset: ?>>
// CHECK:       %[[F:.*]] = arith.constant 0 : i32
// CHECK:       call @dync_gemm(%[[A]], %[[B]], %[[C]], %[[F]])
// CHECK-NOT:   linalg.generic
// CHECK-LABEL: func.func @outer
// CHECK:       %[[T:.*]] = arith.constant 1 : i32
// CHECK:       call @dync_gemm({{.*}}, {{.*}}, {{.*}}, %[[T]])
// Half-precision weights and batched matmuls stay generics.
// CHECK-LABEL: func.func @half
// CHECK-NOT:   call @dync_gemm
// CHECK:       linalg.generic
// CHECK-LABEL: func.func @batched
// CHECK-NOT:   call @dync_gemm
// CHECK:       linalg.generic
// CHECK:       func.func private @dync_gemm(memref<?x?xf32, strided<[?, 1], offset: ?>>, memref<?x?xf32, strided<[?, 1], offset: ?>>, memref<?x?xf32, strided<[?, 1], offset: ?>>, i32) attributes {llvm.emit_c_interface}
#mk = affine_map<(m, n, k) -> (m, k)>
#nk = affine_map<(m, n, k) -> (n, k)>
#kn = affine_map<(m, n, k) -> (k, n)>
#mn = affine_map<(m, n, k) -> (m, n)>
func.func @linear(%a: memref<?x64xf32>, %b: memref<32x64xf32>, %c: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x64xf32>, memref<32x64xf32>) outs(%c : memref<?x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @outer(%a: memref<?x64xf32>, %b: memref<64x32xf32>, %c: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x64xf32>, memref<64x32xf32>) outs(%c : memref<?x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @half(%a: memref<?x64xf32>, %b: memref<32x64xf16>, %c: memref<?x32xf32>) {
  linalg.generic {indexing_maps = [#mk, #nk, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<?x64xf32>, memref<32x64xf16>) outs(%c : memref<?x32xf32>) {
  ^bb0(%x: f32, %y: f16, %acc: f32):
    %e = arith.extf %y : f16 to f32
    %p = arith.mulf %x, %e : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @batched(%a: memref<4x?x64xf32>, %b: memref<4x32x64xf32>, %c: memref<4x?x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(e, m, n, k) -> (e, m, k)>, affine_map<(e, m, n, k) -> (e, n, k)>, affine_map<(e, m, n, k) -> (e, m, n)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<4x?x64xf32>, memref<4x32x64xf32>) outs(%c : memref<4x?x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
