// A small dynamic network in the dyn dialect, used by `./dev demo`:
// an MoE feed-forward layer whose capacity can never be reached, a
// per-sample gate steered by a runtime parameter, and a two-stage early exit
// whose threshold is also a runtime parameter. Canonicalization removes what
// the constants make moot (the unreachable capacity, the always-taken cond)
// and keeps every decision that depends on the data.

dyn.param.def @gate_threshold = 0.0 : f32
dyn.param.def @exit_threshold = 0.9 : f32

func.func @forward(%x: tensor<?x64xf32>) -> (tensor<?x10xf32>, tensor<?xi32>, tensor<8xi32>) {
  %router = dyn.weight "moe.router" : tensor<8x64xf32>
  %w1 = dyn.weight "moe.w1" : tensor<8x128x64xf32>
  %w2 = dyn.weight "moe.w2" : tensor<8x64x128xf32>
  %h, %counts = dyn.moe %x router(%router) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<gelu>, capacity_factor = 4.0 : f64}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>)
      -> (tensor<?x64xf32>, tensor<8xi32>)

  // Gate score: the first feature of each sample.
  %c0 = arith.constant 0 : index
  %b = tensor.dim %h, %c0 : tensor<?x64xf32>
  %s2 = tensor.extract_slice %h[0, 0] [%b, 1] [1, 1] : tensor<?x64xf32> to tensor<?x1xf32>
  %score = tensor.collapse_shape %s2 [[0, 1]] : tensor<?x1xf32> into tensor<?xf32>
  %gt = dyn.param.read @gate_threshold : f32
  %g = dyn.gate %h score(%score : tensor<?xf32>) threshold(%gt) : tensor<?x64xf32> {
  ^bb0(%live: tensor<?x64xf32>):
    %t = math.tanh %live : tensor<?x64xf32>
    dyn.yield %t : tensor<?x64xf32>
  }

  // A cond on a constant: canonicalization keeps only the taken branch.
  %true = arith.constant true
  %r = dyn.cond %true (%g) : i1, (tensor<?x64xf32>) -> tensor<?x64xf32> then {
  ^bb0(%a: tensor<?x64xf32>):
    dyn.yield %a : tensor<?x64xf32>
  } else {
  ^bb0(%a: tensor<?x64xf32>):
    %n = arith.negf %a : tensor<?x64xf32>
    dyn.yield %n : tensor<?x64xf32>
  }

  %et = dyn.param.read @exit_threshold : f32
  %logits, %exit = dyn.early_exit %r threshold(%et) {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  ^bb0(%s: tensor<?x64xf32>):
    %c0_ = arith.constant 0 : index
    %n = tensor.dim %s, %c0_ : tensor<?x64xf32>
    %head = tensor.extract_slice %s[0, 0] [%n, 10] [1, 1] : tensor<?x64xf32> to tensor<?x10xf32>
    dyn.yield %s, %head : tensor<?x64xf32>, tensor<?x10xf32>
  }, {
  ^bb0(%s: tensor<?x64xf32>):
    %c0_ = arith.constant 0 : index
    %e = math.exp %s : tensor<?x64xf32>
    %n = tensor.dim %e, %c0_ : tensor<?x64xf32>
    %head = tensor.extract_slice %e[0, 10] [%n, 10] [1, 1] : tensor<?x64xf32> to tensor<?x10xf32>
    dyn.yield %e, %head : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return %logits, %exit, %counts : tensor<?x10xf32>, tensor<?xi32>, tensor<8xi32>
}
