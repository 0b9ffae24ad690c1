// RUN: dync-opt %s -dyn-emit-manifest -split-input-file -verify-diagnostics

// Found by fuzz-mlir-pipeline: code generation on IR that is already
// bufferized crashed (the manifest cast each result to a tensor type). It is
// refused, naming the argument or result.
// expected-error @+1 {{result 0 of @forward has type 'memref<?x64xf32>'; dync compiles IR whose entry returns tensors}}
func.func @forward(%x: tensor<?x64xf32>) -> memref<?x64xf32> {
  %m = bufferization.to_buffer %x : tensor<?x64xf32> to memref<?x64xf32>
  return %m : memref<?x64xf32>
}

// -----

// expected-error @+1 {{argument 0 of @forward has type 'memref<?x64xf32>'; dync compiles IR whose entry takes tensors and scalars}}
func.func @forward(%x: memref<?x64xf32>) -> tensor<2xf32> {
  %c = arith.constant dense<1.0> : tensor<2xf32>
  return %c : tensor<2xf32>
}
