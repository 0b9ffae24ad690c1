// RUN: dync-opt %s -canonicalize -split-input-file | FileCheck %s

// c·k >= E: no expert can ever be over capacity.
// CHECK-LABEL: func.func @moe_unreachable_capacity
// CHECK: dyn.moe
// CHECK-NOT: capacity_factor
// CHECK-SAME: top_k = 2
func.func @moe_unreachable_capacity(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) -> tensor<?x64xf32> {
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>, capacity_factor = 4.0 : f64}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// top_k = num_experts: every expert sees every token once, so a capacity of
// at least T (c >= 1) never drops anything.
// CHECK-LABEL: func.func @moe_top_k_all_experts
// CHECK: dyn.moe
// CHECK-NOT: capacity_factor
func.func @moe_top_k_all_experts(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>,
    %w1: tensor<4x256x64xf32>, %w2: tensor<4x64x256xf32>) -> tensor<?x64xf32> {
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 4 : i64, activation = #dyn.activation<relu>, capacity_factor = 1.0 : f64}
      : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x256xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @negative_moe_reachable_capacity
// CHECK: dyn.moe {{.*}}capacity_factor = 1.250000e+00
func.func @negative_moe_reachable_capacity(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) -> tensor<?x64xf32> {
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>, capacity_factor = 1.25 : f64}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// CHECK-LABEL: func.func @dispatch_unreachable_capacity
// CHECK: dyn.moe.dispatch %{{.*}}, %{{.*}} {num_experts = 4 : i64}
func.func @dispatch_unreachable_capacity(%x: tensor<?x64xf32>, %i: tensor<?x2xi32>)
    -> tensor<?x2xi32> {
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64, capacity_factor = 2.0 : f64}
      : tensor<?x64xf32>, tensor<?x2xi32> -> tensor<?x64xf32>, tensor<5xi32>, tensor<?x2xi32>
  return %s : tensor<?x2xi32>
}

// -----

// No score exceeds +inf: the block never runs; the mask is `score > t`.
// CHECK-LABEL: func.func @gate_never_runs
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>, %[[S:.*]]: tensor<8xf32>)
// CHECK: %[[SPLAT:.*]] = arith.constant dense<0x7F800000> : tensor<8xf32>
// CHECK: %[[M:.*]] = arith.cmpf ogt, %[[S]], %[[SPLAT]] : tensor<8xf32>
// CHECK-NOT: dyn.gate
// CHECK: return %[[X]], %[[M]]
func.func @gate_never_runs(%x: tensor<8x64xf32>, %s: tensor<8xf32>)
    -> (tensor<8x64xf32>, tensor<8xi1>) {
  %t = arith.constant 0x7F800000 : f32
  %y, %m = dyn.gate %x score(%s : tensor<8xf32>) threshold(%t)
      : tensor<8x64xf32> -> tensor<8xi1> {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.tanh %h : tensor<?x64xf32>
    dyn.yield %n : tensor<?x64xf32>
  }
  return %y, %m : tensor<8x64xf32>, tensor<8xi1>
}

// -----

// A NaN threshold: no comparison with it is true.
// CHECK-LABEL: func.func @gate_nan_threshold_never_runs
// CHECK-SAME: (%[[X:.*]]: tensor<?x16x64xf32>
// CHECK-NOT: dyn.gate
// CHECK: return %[[X]]
func.func @gate_nan_threshold_never_runs(%x: tensor<?x16x64xf32>, %s: tensor<?x16xf32>)
    -> tensor<?x16x64xf32> {
  %t = arith.constant 0x7FC00000 : f32
  %y = dyn.gate %x score(%s : tensor<?x16xf32>) threshold(%t) : tensor<?x16x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.tanh %h : tensor<?x64xf32>
    dyn.yield %n : tensor<?x64xf32>
  }
  return %y : tensor<?x16x64xf32>
}

// -----

// Every constant score passes: the body runs on the whole batch.
// CHECK-LABEL: func.func @gate_always_runs
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>)
// CHECK: %[[C:.*]] = tensor.cast %[[X]] : tensor<4x64xf32> to tensor<?x64xf32>
// CHECK: %[[N:.*]] = math.tanh %[[C]] : tensor<?x64xf32>
// CHECK: %[[R:.*]] = tensor.cast %[[N]] : tensor<?x64xf32> to tensor<4x64xf32>
// CHECK-NOT: dyn.gate
// CHECK: return %[[R]]
func.func @gate_always_runs(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %s = arith.constant dense<[0.6, 0.7, 0.9, 0.51]> : tensor<4xf32>
  %t = arith.constant 0.5 : f32
  %y = dyn.gate %x score(%s : tensor<4xf32>) threshold(%t) : tensor<4x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.tanh %h : tensor<?x64xf32>
    dyn.yield %n : tensor<?x64xf32>
  }
  return %y : tensor<4x64xf32>
}

// -----

// Some constant scores pass and some do not: still a decision per sample.
// CHECK-LABEL: func.func @negative_gate_mixed_scores
// CHECK: dyn.gate
func.func @negative_gate_mixed_scores(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %s = arith.constant dense<[0.6, 0.2, 0.9, 0.5]> : tensor<4xf32>
  %t = arith.constant 0.5 : f32
  %y = dyn.gate %x score(%s : tensor<4xf32>) threshold(%t) : tensor<4x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.tanh %h : tensor<?x64xf32>
    dyn.yield %n : tensor<?x64xf32>
  }
  return %y : tensor<4x64xf32>
}

// -----

// -inf lets every finite score through, but not NaN: not folded.
// CHECK-LABEL: func.func @negative_gate_minus_inf
// CHECK: dyn.gate
func.func @negative_gate_minus_inf(%x: tensor<4x64xf32>, %s: tensor<4xf32>) -> tensor<4x64xf32> {
  %t = arith.constant 0xFF800000 : f32
  %y = dyn.gate %x score(%s : tensor<4xf32>) threshold(%t) : tensor<4x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.tanh %h : tensor<?x64xf32>
    dyn.yield %n : tensor<?x64xf32>
  }
  return %y : tensor<4x64xf32>
}

// -----

// CHECK-LABEL: func.func @cond_scalar_true
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK: %[[E:.*]] = math.exp %[[X]]
// CHECK-NOT: dyn.cond
// CHECK: return %[[E]]
func.func @cond_scalar_true(%x: tensor<4xf32>) -> tensor<4xf32> {
  %p = arith.constant true
  %r = dyn.cond %p (%x) : i1, (tensor<4xf32>) -> tensor<4xf32> then {
  ^bb0(%a: tensor<4xf32>):
    %e = math.exp %a : tensor<4xf32>
    dyn.yield %e : tensor<4xf32>
  } else {
  ^bb0(%a: tensor<4xf32>):
    %n = arith.negf %a : tensor<4xf32>
    dyn.yield %n : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// Every sample takes 'else'.
// CHECK-LABEL: func.func @cond_per_sample_all_false
// CHECK-SAME: (%[[X:.*]]: tensor<4x3xf32>)
// CHECK: %[[C:.*]] = tensor.cast %[[X]] : tensor<4x3xf32> to tensor<?x3xf32>
// CHECK: %[[N:.*]] = arith.negf %[[C]]
// CHECK: %[[R:.*]] = tensor.cast %[[N]] : tensor<?x3xf32> to tensor<4x3xf32>
// CHECK-NOT: dyn.cond
// CHECK: return %[[R]]
func.func @cond_per_sample_all_false(%x: tensor<4x3xf32>) -> tensor<4x3xf32> {
  %p = arith.constant dense<false> : tensor<4xi1>
  %r = dyn.cond %p (%x) : tensor<4xi1>, (tensor<4x3xf32>) -> tensor<4x3xf32> then {
  ^bb0(%a: tensor<?x3xf32>):
    %e = math.exp %a : tensor<?x3xf32>
    dyn.yield %e : tensor<?x3xf32>
  } else {
  ^bb0(%a: tensor<?x3xf32>):
    %n = arith.negf %a : tensor<?x3xf32>
    dyn.yield %n : tensor<?x3xf32>
  }
  return %r : tensor<4x3xf32>
}

// -----

// CHECK-LABEL: func.func @negative_cond_mixed_samples
// CHECK: dyn.cond
func.func @negative_cond_mixed_samples(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %p = arith.constant dense<[true, false]> : tensor<2xi1>
  %r = dyn.cond %p (%x) : tensor<2xi1>, (tensor<2x3xf32>) -> tensor<2x3xf32> then {
  ^bb0(%a: tensor<?x3xf32>):
    dyn.yield %a : tensor<?x3xf32>
  } else {
  ^bb0(%a: tensor<?x3xf32>):
    %n = arith.negf %a : tensor<?x3xf32>
    dyn.yield %n : tensor<?x3xf32>
  }
  return %r : tensor<2x3xf32>
}

// -----

// One stage: every sample exits there.
// CHECK-LABEL: func.func @early_exit_one_stage
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>, %[[T:.*]]: f32)
// CHECK-DAG: %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK-DAG: %[[C0:.*]] = arith.constant 0 : index
// CHECK: %[[S:.*]] = tensor.extract_slice %[[X]]
// CHECK: %[[L:.*]] = tensor.cast %[[S]]
// CHECK: %[[B:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK: %[[I:.*]] = tensor.splat %[[ZERO]][%[[B]]] : tensor<?xi32>
// CHECK-NOT: dyn.early_exit
// CHECK: return %[[L]], %[[I]]
func.func @early_exit_one_stage(%x: tensor<?x64xf32>, %t: f32)
    -> (tensor<?x10xf32>, tensor<?xi32>) {
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %c = arith.constant 4 : index
    %s = tensor.extract_slice %h[0, 0] [%c, 10] [1, 1] : tensor<?x64xf32> to tensor<?x10xf32>
    dyn.yield %h, %s : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return %l, %i : tensor<?x10xf32>, tensor<?xi32>
}

// -----

// No softmax probability exceeds 1: everything runs to the last stage.
// CHECK-LABEL: func.func @early_exit_threshold_above_one
// CHECK-SAME: (%[[X:.*]]: tensor<8x64xf32>)
// CHECK: %[[I:.*]] = arith.constant dense<1> : tensor<8xi32>
// CHECK: %[[C:.*]] = tensor.cast %[[X]] : tensor<8x64xf32> to tensor<?x64xf32>
// CHECK: %[[H1:.*]] = math.tanh %[[C]]
// CHECK: %[[H2:.*]] = math.exp %[[H1]]
// CHECK: %[[L:.*]] = tensor.extract_slice %[[H2]]
// CHECK-NOT: dyn.early_exit
// CHECK: return %[[L]], %[[I]]
func.func @early_exit_threshold_above_one(%x: tensor<8x64xf32>)
    -> (tensor<8x10xf32>, tensor<8xi32>) {
  %t = arith.constant 1.5 : f32
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<8x64xf32> -> tensor<8x10xf32>, tensor<8xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.tanh %h : tensor<?x64xf32>
    %s = tensor.extract_slice %n[0, 0] [8, 10] [1, 1] : tensor<?x64xf32> to tensor<8x10xf32>
    %sc = tensor.cast %s : tensor<8x10xf32> to tensor<?x10xf32>
    dyn.yield %n, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }, {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.exp %h : tensor<?x64xf32>
    %s = tensor.extract_slice %n[0, 0] [8, 10] [1, 1] : tensor<?x64xf32> to tensor<8x10xf32>
    %sc = tensor.cast %s : tensor<8x10xf32> to tensor<?x10xf32>
    dyn.yield %n, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return %l, %i : tensor<8x10xf32>, tensor<8xi32>
}

// -----

// Minus an entropy is at most 0: a positive threshold is never reached, and
// the exit index is the last stage (1).
// CHECK-LABEL: func.func @early_exit_entropy_positive_threshold
// CHECK: arith.constant dense<1> : tensor<8xi32>
// CHECK-NOT: dyn.early_exit
func.func @early_exit_entropy_positive_threshold(%x: tensor<8x64xf32>)
    -> (tensor<8x10xf32>, tensor<8xi32>) {
  %t = arith.constant 0.25 : f32
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<entropy>}
      : tensor<8x64xf32> -> tensor<8x10xf32>, tensor<8xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [8, 10] [1, 1] : tensor<?x64xf32> to tensor<8x10xf32>
    %sc = tensor.cast %s : tensor<8x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }, {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [8, 10] [1, 1] : tensor<?x64xf32> to tensor<8x10xf32>
    %sc = tensor.cast %s : tensor<8x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return %l, %i : tensor<8x10xf32>, tensor<8xi32>
}

// -----

// CHECK-LABEL: func.func @negative_early_exit_reachable_threshold
// CHECK: dyn.early_exit
func.func @negative_early_exit_reachable_threshold(%x: tensor<8x64xf32>)
    -> (tensor<8x10xf32>, tensor<8xi32>) {
  %t = arith.constant 1.0 : f32
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<8x64xf32> -> tensor<8x10xf32>, tensor<8xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [8, 10] [1, 1] : tensor<?x64xf32> to tensor<8x10xf32>
    %sc = tensor.cast %s : tensor<8x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }, {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [8, 10] [1, 1] : tensor<?x64xf32> to tensor<8x10xf32>
    %sc = tensor.cast %s : tensor<8x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return %l, %i : tensor<8x10xf32>, tensor<8xi32>
}

// -----

// A window that covers every pair of blocks is dense attention.
// CHECK-LABEL: func.func @bsa_static_dense_layout
// CHECK-NOT: dyn.bsa
// CHECK: dyn.attention %{{.*}}, %{{.*}}, %{{.*}} {scale = 1.250000e-01 : f64}
func.func @bsa_static_dense_layout(%q: tensor<1x2x256x64xf32>) -> tensor<1x2x256x64xf32> {
  %l = dyn.bsa.select %q, %q {selection = #dyn.selection<static_local>, block_size = 64 : i64, window = 3 : i64}
      : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x2x4x4xi1>
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 64 : i64, scale = 0.125 : f64}
      : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x4x4xi1> -> tensor<1x2x256x64xf32>
  return %o : tensor<1x2x256x64xf32>
}

// -----

// A top-k budget of at least the number of key blocks keeps every causal
// candidate: causal dense attention.
// CHECK-LABEL: func.func @bsa_topk_budget_covers_all
// CHECK-NOT: dyn.bsa
// CHECK: dyn.attention %{{.*}}, %{{.*}}, %{{.*}} {causal}
func.func @bsa_topk_budget_covers_all(%q: tensor<?x2x256x64xf32>) -> tensor<?x2x256x64xf32> {
  %k = arith.constant 4 : i32
  %l = dyn.bsa.select %q, %q budget(%k : i32) {selection = #dyn.selection<topk>, block_size = 64 : i64, causal}
      : tensor<?x2x256x64xf32>, tensor<?x2x256x64xf32> -> tensor<?x2x4x4xi1>
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 64 : i64, causal}
      : tensor<?x2x256x64xf32>, tensor<?x2x256x64xf32>, tensor<?x2x256x64xf32>, tensor<?x2x4x4xi1> -> tensor<?x2x256x64xf32>
  return %o : tensor<?x2x256x64xf32>
}

// -----

// CHECK-LABEL: func.func @negative_bsa_topk_sparse
// CHECK: dyn.bsa.attention
func.func @negative_bsa_topk_sparse(%q: tensor<1x2x256x64xf32>) -> tensor<1x2x256x64xf32> {
  %k = arith.constant 2 : i32
  %l = dyn.bsa.select %q, %q budget(%k : i32) {selection = #dyn.selection<topk>, block_size = 64 : i64}
      : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x2x4x4xi1>
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 64 : i64}
      : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x4x4xi1> -> tensor<1x2x256x64xf32>
  return %o : tensor<1x2x256x64xf32>
}

// -----

// A causal layout is not dense for non-causal attention.
// CHECK-LABEL: func.func @negative_bsa_causal_layout_noncausal_attention
// CHECK: dyn.bsa.attention
func.func @negative_bsa_causal_layout_noncausal_attention(%q: tensor<1x2x256x64xf32>) -> tensor<1x2x256x64xf32> {
  %l = dyn.bsa.select %q, %q {selection = #dyn.selection<static_local>, block_size = 64 : i64, window = 8 : i64, causal}
      : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x2x4x4xi1>
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 64 : i64}
      : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x4x4xi1> -> tensor<1x2x256x64xf32>
  return %o : tensor<1x2x256x64xf32>
}

// -----

// Even a threshold of 0 drops blocks whose scores are NaN.
// CHECK-LABEL: func.func @negative_bsa_threshold_zero
// CHECK: dyn.bsa.attention
func.func @negative_bsa_threshold_zero(%q: tensor<1x2x256x64xf32>) -> tensor<1x2x256x64xf32> {
  %t = arith.constant 0.0 : f32
  %l = dyn.bsa.select %q, %q threshold(%t) {selection = #dyn.selection<threshold>, block_size = 64 : i64}
      : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32> -> tensor<1x2x4x4xi1>
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 64 : i64}
      : tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x256x64xf32>, tensor<1x2x4x4xi1> -> tensor<1x2x256x64xf32>
  return %o : tensor<1x2x256x64xf32>
}

// -----

// top_k = E without capacity: every expert computes every token, so each
// count is T = 4 * 16.
// CHECK-LABEL: func.func @moe_all_experts_counts
// CHECK: %[[C:.*]] = arith.constant dense<64> : tensor<4xi32>
// CHECK: %[[Y:.*]] = dyn.moe
// CHECK-SAME: -> tensor<4x16x64xf32>
// CHECK: return %[[Y]], %[[C]]
func.func @moe_all_experts_counts(%x: tensor<4x16x64xf32>, %r: tensor<4x64xf32>,
    %w1: tensor<4x256x64xf32>, %w2: tensor<4x64x256xf32>)
    -> (tensor<4x16x64xf32>, tensor<4xi32>) {
  %y, %c = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 4 : i64, activation = #dyn.activation<relu>}
      : (tensor<4x16x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x256xf32>)
      -> (tensor<4x16x64xf32>, tensor<4xi32>)
  return %y, %c : tensor<4x16x64xf32>, tensor<4xi32>
}

// -----

// With a dynamic token count the counts are computed from the input's shape.
// CHECK-LABEL: func.func @moe_all_experts_counts_dynamic
// CHECK-SAME: (%[[X:.*]]: tensor<?x64xf32>
// CHECK: %[[T:.*]] = tensor.dim %[[X]]
// CHECK: %[[T32:.*]] = arith.index_cast %[[T]] : index to i32
// CHECK: %[[S:.*]] = tensor.splat %[[T32]] : tensor<4xi32>
// CHECK: return %{{.*}}, %[[S]]
func.func @moe_all_experts_counts_dynamic(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>,
    %w1: tensor<4x256x64xf32>, %w2: tensor<4x64x256xf32>)
    -> (tensor<?x64xf32>, tensor<4xi32>) {
  %y, %c = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 4 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x256xf32>)
      -> (tensor<?x64xf32>, tensor<4xi32>)
  return %y, %c : tensor<?x64xf32>, tensor<4xi32>
}

// -----

// With a capacity, drops make the counts data-dependent.
// CHECK-LABEL: func.func @negative_moe_counts_with_capacity
// CHECK: %{{.*}}, %[[C:.*]] = dyn.moe
// CHECK: return %{{.*}}, %[[C]]
func.func @negative_moe_counts_with_capacity(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>,
    %w1: tensor<4x256x64xf32>, %w2: tensor<4x64x256xf32>)
    -> (tensor<?x64xf32>, tensor<4xi32>) {
  %y, %c = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 4 : i64, activation = #dyn.activation<relu>, capacity_factor = 0.5 : f64}
      : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x256xf32>)
      -> (tensor<?x64xf32>, tensor<4xi32>)
  return %y, %c : tensor<?x64xf32>, tensor<4xi32>
}

// -----

// A fixed capacity drops assignments too: the counts stay data-dependent.
// CHECK-LABEL: func.func @negative_moe_counts_with_fixed_capacity
// CHECK: %{{.*}}, %[[C:.*]] = dyn.moe {{.*}}capacity = 1 : i64
// CHECK: return %{{.*}}, %[[C]]
func.func @negative_moe_counts_with_fixed_capacity(%x: tensor<?x64xf32>, %r: tensor<4x64xf32>,
    %w1: tensor<4x256x64xf32>, %w2: tensor<4x64x256xf32>)
    -> (tensor<?x64xf32>, tensor<4xi32>) {
  %y, %c = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 4 : i64, activation = #dyn.activation<relu>, capacity = 1 : i64}
      : (tensor<?x64xf32>, tensor<4x64xf32>, tensor<4x256x64xf32>, tensor<4x64x256xf32>)
      -> (tensor<?x64xf32>, tensor<4xi32>)
  return %y, %c : tensor<?x64xf32>, tensor<4xi32>
}

// -----

// Nobody reads the counts: the op stops producing them.
// CHECK-LABEL: func.func @moe_unused_counts
// CHECK: dyn.moe
// CHECK-SAME: -> tensor<?x64xf32>
func.func @moe_unused_counts(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) -> tensor<?x64xf32> {
  %y, %c = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>)
      -> (tensor<?x64xf32>, tensor<8xi32>)
  return %y : tensor<?x64xf32>
}
