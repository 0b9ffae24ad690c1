// RUN: dync-opt %s -dyn-emit-manifest | FileCheck %s

// A name that is not UTF-8 (an .mlir may hold any bytes) is written with the
// replacement character instead of aborting (found by the mlir_pipeline fuzzer).
// CHECK: dyn.manifest = "{{.*}}\22model\22:\22m\EF\BF\BD\22
module attributes {dyn.model = "m\FF"} {
  func.func @forward(%x: tensor<4xf32> {dyn.name = "x\FE"}) -> (tensor<4xf32> {dyn.name = "y"}) {
    return %x : tensor<4xf32>
  }
}
