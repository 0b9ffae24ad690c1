// RUN: dync-opt %s -dyn-emit-manifest | FileCheck %s

// The entry's arguments in order (an input with its symbolic shape, a
// weight, the same weight in panels the runtime packs, a parameter with its default, the statistics array), its results,
// the model dims and the run statistics' names, as JSON on the module.
// CHECK: dyn.manifest = "{\22abi_version\22:2,
// CHECK-SAME: \22args\22:[{\22dtype\22:\22f32\22,\22kind\22:\22input\22,\22name\22:\22x\22,\22shape\22:[\22B\22,4]},
// CHECK-SAME: {\22dtype\22:\22f32\22,\22kind\22:\22weight\22,\22name\22:\22w\22,\22shape\22:[3,4]},
// CHECK-SAME: {\22dtype\22:\22f32\22,\22kind\22:\22weight\22,\22name\22:\22w\22,\22panel\22:32,\22shape\22:[2,4,32]},
// CHECK-SAME: {\22default\22:0.5,\22dtype\22:\22f32\22,\22kind\22:\22param\22,\22name\22:\22t\22,\22shape\22:[]},
// CHECK-SAME: {\22kind\22:\22stats\22}],
// CHECK-SAME: \22dims\22:{\22B\22:{\22max\22:8,\22min\22:1}},
// CHECK-SAME: \22model\22:\22m\22,
// CHECK-SAME: \22results\22:[{\22dtype\22:\22f32\22,\22name\22:\22y\22,\22rank\22:2}],
// CHECK-SAME: \22stats\22:[\22g.samples\22],
// CHECK-SAME: \22weights_file\22:\22/models/m.safetensors\22}"
module attributes {dyn.model = "m", dyn.weights_path = "/models/m.safetensors", dyn.stats = ["g.samples"]} {
  dyn.param.def @t = 5.000000e-01 : f32
  func.func @forward(%x: tensor<?x4xf32> {dyn.name = "x", dyn.shape = ["B", 4]},
                     %w: tensor<3x4xf32> {dyn.weight = "w"},
                     %p: tensor<2x4x32xf32> {dyn.weight = "w", dyn.weight_panel = 32 : i64},
                     %t: f32 {dyn.param = @t},
                     %s: memref<1xi64> {dyn.stats_array})
      -> (tensor<?x3xf32> {dyn.name = "y"}) attributes {dyn.dims = {B = array<i64: 1, 8>}} {
    %c0 = arith.constant 0 : index
    %n = tensor.dim %x, %c0 : tensor<?x4xf32>
    %e = tensor.empty(%n) : tensor<?x3xf32>
    return %e : tensor<?x3xf32>
  }
}
