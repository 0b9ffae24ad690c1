// RUN: dync-opt %s --pass-pipeline="builtin.module(func.func(dyn-map-parallel-loops-to-gpu{threads=48}))" -verify-diagnostics

// expected-error @below {{dyn-map-parallel-loops-to-gpu: threads must be a multiple of 32 from 32 to 1024, got 48}}
func.func @f() {
  return
}
