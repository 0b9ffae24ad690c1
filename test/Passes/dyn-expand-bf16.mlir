// RUN: dync-opt %s -dyn-expand-bf16 | FileCheck %s

// f32 -> bf16 rounds on the bits (add 0x7fff plus the kept low bit, shift);
// no truncf to bf16 is left for LLVM to call __truncsfbf2 for.
// CHECK-LABEL: func.func @down
// CHECK:         arith.bitcast %{{.*}} : f32 to i32
// CHECK:         arith.shrui
// CHECK:         arith.trunci %{{.*}} : i32 to i16
// CHECK:         arith.bitcast %{{.*}} : i16 to bf16
// CHECK-NOT:     arith.truncf
func.func @down(%x: f32) -> bf16 {
  %y = arith.truncf %x : f32 to bf16
  return %y : bf16
}

// bf16 -> f32 is a shift of the bits, on vectors too.
// CHECK-LABEL: func.func @up
// CHECK:         arith.bitcast %{{.*}} : vector<8xbf16> to vector<8xi16>
// CHECK:         arith.extui
// CHECK:         arith.shli
// CHECK:         arith.bitcast %{{.*}} : vector<8xi32> to vector<8xf32>
// CHECK-NOT:     arith.extf
func.func @up(%x: vector<8xbf16>) -> vector<8xf32> {
  %y = arith.extf %x : vector<8xbf16> to vector<8xf32>
  return %y : vector<8xf32>
}

// Other conversions are left alone.
// CHECK-LABEL: func.func @half
// CHECK:         arith.truncf %{{.*}} : f32 to f16
func.func @half(%x: f32) -> f16 {
  %y = arith.truncf %x : f32 to f16
  return %y : f16
}
