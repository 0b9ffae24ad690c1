// RUN: dync-opt %s -dyn-prepare-entry | FileCheck %s

// The parameter definitions go (code reads parameters as arguments); the
// entry gets a C interface and its tensor arguments are read-only, scalars
// untouched; other functions are left alone.
// CHECK-NOT:   dyn.param.def
// CHECK-LABEL: func.func @forward
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32> {bufferization.writable = false, dyn.name = "x"}, %{{.*}}: f32 {dyn.param = @t})
// CHECK-SAME:  attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func private @helper
// CHECK-SAME:  (%{{.*}}: tensor<?x4xf32>)
// CHECK-NOT:   emit_c_interface
dyn.param.def @t = 5.000000e-01 : f32
func.func @forward(%x: tensor<?x4xf32> {dyn.name = "x"}, %t: f32 {dyn.param = @t}) -> tensor<?x4xf32> {
  %y = call @helper(%x) : (tensor<?x4xf32>) -> tensor<?x4xf32>
  return %y : tensor<?x4xf32>
}
func.func private @helper(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  return %x : tensor<?x4xf32>
}
