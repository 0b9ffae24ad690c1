// RUN: dync-opt %s -dyn-approximate-math | FileCheck %s

// A softmax's exponential and GELU's erf inside a loop body become
// arithmetic (no libm call per element), which LLVM vectorizes; sqrt, an
// instruction, stays.
// CHECK-LABEL: func.func @body(
// CHECK-NOT:     math.exp
// CHECK-NOT:     math.erf
// CHECK:         arith.mulf
// CHECK:         math.sqrt
// CHECK-NOT:     math.exp
// CHECK-NOT:     math.erf
func.func @body(%x: memref<64xf32>, %y: memref<64xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i) -> (i)>, affine_map<(i) -> (i)>],
                  iterator_types = ["parallel"]}
      ins(%x : memref<64xf32>) outs(%y : memref<64xf32>) {
  ^bb0(%a: f32, %o: f32):
    %e = math.exp %a : f32
    %f = math.erf %e : f32
    %s = math.sqrt %f : f32
    linalg.yield %s : f32
  }
  return
}
