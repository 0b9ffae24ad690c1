// Round trip of every dyn op, in pretty and in generic form.
// RUN: dync-opt %s | dync-opt | FileCheck %s
// RUN: dync-opt %s --mlir-print-op-generic | dync-opt | FileCheck %s

// CHECK: dyn.param.def @exit_threshold = 0.899999976 : f32
dyn.param.def @exit_threshold = 0.9 : f32
// CHECK: dyn.param.def @block_budget = 4 : i32
dyn.param.def @block_budget = 4 : i32

// CHECK-LABEL: func.func @weight_and_param
func.func @weight_and_param() -> (tensor<4x8xf32>, f32, i32) {
  // CHECK: dyn.weight "blk0.ffn.weight" : tensor<4x8xf32>
  %w = dyn.weight "blk0.ffn.weight" : tensor<4x8xf32>
  // CHECK: dyn.param.read @exit_threshold : f32
  %t = dyn.param.read @exit_threshold : f32
  // CHECK: dyn.param.read @block_budget : i32
  %k = dyn.param.read @block_budget : i32
  return %w, %t, %k : tensor<4x8xf32>, f32, i32
}

// CHECK-LABEL: func.func @experts_in_panels
func.func @experts_in_panels(%rows: tensor<?x64xf32>, %offsets: tensor<9xi32>,
                             %w1: tensor<8x8x64x32xf32>, %w2: tensor<8x2x256x32xf32>)
    -> tensor<?x64xf32> {
  // CHECK: dyn.moe.experts %{{.*}}, %{{.*}} w1(%{{.*}}) w2(%{{.*}}) {activation = #dyn.activation<relu>, panel = 32 : i64}
  %out = dyn.moe.experts %rows, %offsets w1(%w1) w2(%w2)
      {activation = #dyn.activation<relu>, panel = 32 : i64}
      : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x8x64x32xf32>, tensor<8x2x256x32xf32>)
      -> tensor<?x64xf32>
  return %out : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @weight_in_panels
func.func @weight_in_panels() -> tensor<2x8x32xf32> {
  // CHECK: dyn.weight "blk0.ffn.weight" {panel = 32 : i64} : tensor<2x8x32xf32>
  %w = dyn.weight "blk0.ffn.weight" {panel = 32 : i64} : tensor<2x8x32xf32>
  return %w : tensor<2x8x32xf32>
}

// CHECK-LABEL: func.func @moe_minimal
func.func @moe_minimal(%x: tensor<?x16x64xf32>, %r: tensor<8x64xf32>,
                       %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>)
    -> tensor<?x16x64xf32> {
  // CHECK: dyn.moe %{{[^ ,)]+}} router(%{{[^ ,)]+}}) w1(%{{[^ ,)]+}}) w2(%{{[^ ,)]+}}) {activation = #dyn.activation<relu>, top_k = 2 : i64}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x16x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>,
         tensor<8x64x256xf32>) -> tensor<?x16x64xf32>
  return %y : tensor<?x16x64xf32>
}

// CHECK-LABEL: func.func @moe_everything
func.func @moe_everything(%x: tensor<32x64xf32>, %r: tensor<8x64xf32>,
    %rb: tensor<8xf32>, %w1: tensor<8x128x64xf32>, %w2: tensor<8x64x128xf32>,
    %w3: tensor<8x128x64xf32>, %b1: tensor<8x128xf32>, %b2: tensor<8x64xf32>,
    %s1: tensor<96x64xf32>, %s2: tensor<64x96xf32>, %s3: tensor<96x64xf32>,
    %sb1: tensor<96xf32>, %sb2: tensor<64xf32>)
    -> (tensor<32x64xf32>, tensor<8xi32>) {
  // CHECK: dyn.moe %{{[^ ,)]+}} router(%{{[^ ,)]+}}) w1(%{{[^ ,)]+}}) w2(%{{[^ ,)]+}}) w3(%{{[^ ,)]+}}) router_bias(%{{[^ ,)]+}}) b1(%{{[^ ,)]+}}) b2(%{{[^ ,)]+}}) shared_w1(%{{[^ ,)]+}}) shared_w2(%{{[^ ,)]+}}) shared_w3(%{{[^ ,)]+}}) shared_b1(%{{[^ ,)]+}}) shared_b2(%{{[^ ,)]+}})
  // CHECK-SAME: activation = #dyn.activation<silu>, capacity_factor = 1.250000e+00 : f64, normalize = false, top_k = 2 : i64
  // CHECK-SAME: -> (tensor<32x64xf32>, tensor<8xi32>)
  %y, %counts = dyn.moe %x router(%r) w1(%w1) w2(%w2) w3(%w3)
      router_bias(%rb) b1(%b1) b2(%b2) shared_w1(%s1) shared_w2(%s2)
      shared_w3(%s3) shared_b1(%sb1) shared_b2(%sb2)
      {top_k = 2 : i64, normalize = false, activation = #dyn.activation<silu>,
       capacity_factor = 1.25 : f64}
      : (tensor<32x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>,
         tensor<8x64x128xf32>, tensor<8x128x64xf32>, tensor<8xf32>,
         tensor<8x128xf32>, tensor<8x64xf32>, tensor<96x64xf32>,
         tensor<64x96xf32>, tensor<96x64xf32>, tensor<96xf32>, tensor<64xf32>)
      -> (tensor<32x64xf32>, tensor<8xi32>)
  return %y, %counts : tensor<32x64xf32>, tensor<8xi32>
}

// A fixed capacity (Switch's expert_capacity) on dyn.moe and its dispatch.
// CHECK-LABEL: func.func @moe_fixed_capacity
func.func @moe_fixed_capacity(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x128x64xf32>, %w2: tensor<8x64x128xf32>, %idx: tensor<?x1xi32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK: dyn.moe {{.*}} {activation = #dyn.activation<relu>, capacity = 3 : i64, normalize = false, top_k = 1 : i64}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 1 : i64, normalize = false, activation = #dyn.activation<relu>, capacity = 3 : i64}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x128x64xf32>, tensor<8x64x128xf32>) -> tensor<?x64xf32>
  // CHECK: dyn.moe.dispatch {{.*}} {capacity = 3 : i64, num_experts = 8 : i64}
  %rows, %offsets, %slots = dyn.moe.dispatch %x, %idx {num_experts = 8 : i64, capacity = 3 : i64}
      : tensor<?x64xf32>, tensor<?x1xi32> -> tensor<?x64xf32>, tensor<9xi32>, tensor<?x1xi32>
  return %y, %rows : tensor<?x64xf32>, tensor<?x64xf32>
}

// The decomposition of dyn.moe: route, dispatch, experts, combine.
// CHECK-LABEL: func.func @moe_decomposed
func.func @moe_decomposed(%x: tensor<?x64xf32>, %logits: tensor<?x8xf32>,
                          %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>,
                          %w3: tensor<8x256x64xf32>, %b1: tensor<8x256xf32>,
                          %b2: tensor<8x64xf32>) -> tensor<?x64xf32> {
  // CHECK: %[[W:.*]], %[[IDX:.*]] = dyn.moe.route %{{[^ ,)]+}} {normalize = false, top_k = 2 : i64} : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  %w, %idx = dyn.moe.route %logits {top_k = 2 : i64, normalize = false}
      : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
  // CHECK: %[[ROWS:.*]], %[[OFF:.*]], %[[SLOTS:.*]] = dyn.moe.dispatch %{{[^ ,)]+}}, %[[IDX]] {capacity_factor = 1.000000e+00 : f64, num_experts = 8 : i64}
  %rows, %offsets, %slots = dyn.moe.dispatch %x, %idx
      {num_experts = 8 : i64, capacity_factor = 1.0 : f64}
      : tensor<?x64xf32>, tensor<?x2xi32>
      -> tensor<?x64xf32>, tensor<9xi32>, tensor<?x2xi32>
  // CHECK: %[[OUT:.*]] = dyn.moe.experts %[[ROWS]], %[[OFF]] w1(%{{[^ ,)]+}}) w2(%{{[^ ,)]+}}) w3(%{{[^ ,)]+}}) b1(%{{[^ ,)]+}}) b2(%{{[^ ,)]+}}) {activation = #dyn.activation<gelu_tanh>}
  %out = dyn.moe.experts %rows, %offsets w1(%w1) w2(%w2) w3(%w3) b1(%b1) b2(%b2)
      {activation = #dyn.activation<gelu_tanh>}
      : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x256x64xf32>,
         tensor<8x64x256xf32>, tensor<8x256x64xf32>, tensor<8x256xf32>,
         tensor<8x64xf32>) -> tensor<?x64xf32>
  // CHECK: dyn.moe.combine %[[OUT]], %[[SLOTS]], %[[W]] : tensor<?x64xf32>, tensor<?x2xi32>, tensor<?x2xf32> -> tensor<?x64xf32>
  %y = dyn.moe.combine %out, %slots, %w
      : tensor<?x64xf32>, tensor<?x2xi32>, tensor<?x2xf32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @gate_per_sample
func.func @gate_per_sample(%x: tensor<8x64xf32>, %s: tensor<8xf32>)
    -> (tensor<8x64xf32>, tensor<8xi1>) {
  %t = dyn.param.read @exit_threshold : f32
  // CHECK: %{{[^ ,)]+}}, %{{[^ ,)]+}} = dyn.gate %{{[^ ,)]+}} score(%{{[^ ,)]+}} : tensor<8xf32>) threshold(%{{[^ ,)]+}}) : tensor<8x64xf32> -> tensor<8xi1> {
  // CHECK-NEXT: ^bb0(%[[H:.*]]: tensor<?x64xf32>):
  // CHECK-NEXT: %[[N:.*]] = math.tanh %[[H]] : tensor<?x64xf32>
  // CHECK-NEXT: dyn.yield %[[N]] : tensor<?x64xf32>
  %y, %mask = dyn.gate %x score(%s : tensor<8xf32>) threshold(%t)
      : tensor<8x64xf32> -> tensor<8xi1> {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.tanh %h : tensor<?x64xf32>
    dyn.yield %n : tensor<?x64xf32>
  }
  return %y, %mask : tensor<8x64xf32>, tensor<8xi1>
}

// CHECK-LABEL: func.func @gate_per_token
func.func @gate_per_token(%x: tensor<?x16x64xf32>, %s: tensor<?x16xf32>,
                          %t: f32) -> tensor<?x16x64xf32> {
  // CHECK: dyn.gate %{{[^ ,)]+}} score(%{{[^ ,)]+}} : tensor<?x16xf32>) threshold(%{{[^ ,)]+}}) : tensor<?x16x64xf32> {
  // CHECK-NEXT: ^bb0(%{{[^ ,)]+}}: tensor<?x64xf32>):
  %y = dyn.gate %x score(%s : tensor<?x16xf32>) threshold(%t)
      : tensor<?x16x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    dyn.yield %h : tensor<?x64xf32>
  }
  return %y : tensor<?x16x64xf32>
}

// CHECK-LABEL: func.func @cond_scalar
func.func @cond_scalar(%p: i1, %x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK: dyn.cond %{{[^ ,)]+}} (%{{[^ ,)]+}}) : i1, (tensor<4x8xf32>) -> tensor<4x8xf32> then {
  // CHECK: math.exp
  // CHECK: } else {
  // CHECK: arith.negf
  %r = dyn.cond %p (%x) : i1, (tensor<4x8xf32>) -> tensor<4x8xf32> then {
  ^bb0(%a: tensor<4x8xf32>):
    %e = math.exp %a : tensor<4x8xf32>
    dyn.yield %e : tensor<4x8xf32>
  } else {
  ^bb0(%a: tensor<4x8xf32>):
    %n = arith.negf %a : tensor<4x8xf32>
    dyn.yield %n : tensor<4x8xf32>
  }
  return %r : tensor<4x8xf32>
}

// CHECK-LABEL: func.func @cond_per_sample
func.func @cond_per_sample(%p: tensor<?xi1>, %x: tensor<?x8xf32>,
                           %y: tensor<?x3xf32>) -> tensor<?x8xf32> {
  // CHECK: dyn.cond %{{[^ ,)]+}} (%{{[^ ,)]+}}, %{{[^ ,)]+}}) : tensor<?xi1>, (tensor<?x8xf32>, tensor<?x3xf32>) -> tensor<?x8xf32> then {
  // CHECK-NEXT: ^bb0(%{{[^ ,)]+}}: tensor<?x8xf32>, %{{[^ ,)]+}}: tensor<?x3xf32>):
  %r = dyn.cond %p (%x, %y) : tensor<?xi1>, (tensor<?x8xf32>, tensor<?x3xf32>)
      -> tensor<?x8xf32> then {
  ^bb0(%a: tensor<?x8xf32>, %b: tensor<?x3xf32>):
    dyn.yield %a : tensor<?x8xf32>
  } else {
  ^bb0(%a: tensor<?x8xf32>, %b: tensor<?x3xf32>):
    %n = arith.negf %a : tensor<?x8xf32>
    dyn.yield %n : tensor<?x8xf32>
  }
  return %r : tensor<?x8xf32>
}

// CHECK-LABEL: func.func @early_exit_two_stages
func.func @early_exit_two_stages(%x: tensor<?x64xf32>, %t: f32,
    %head: tensor<?x10xf32>) -> (tensor<?x10xf32>, tensor<?xi32>) {
  // CHECK: dyn.early_exit %{{[^ ,)]+}} threshold(%{{[^ ,)]+}}) {criterion = #dyn.criterion<entropy>} : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  // CHECK: dyn.yield %{{[^ ,)]+}}, %{{[^ ,)]+}} : tensor<?x64xf32>, tensor<?x10xf32>
  // CHECK-NEXT: }, {
  // CHECK: dyn.yield %{{[^ ,)]+}}, %{{[^ ,)]+}} : tensor<?x64xf32>, tensor<?x10xf32>
  %l, %i = dyn.early_exit %x threshold(%t)
      {criterion = #dyn.criterion<entropy>}
      : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %n = math.tanh %h : tensor<?x64xf32>
    %s = tensor.extract_slice %n[0, 0] [4, 10] [1, 1]
        : tensor<?x64xf32> to tensor<4x10xf32>
    %c = tensor.cast %s : tensor<4x10xf32> to tensor<?x10xf32>
    dyn.yield %n, %c : tensor<?x64xf32>, tensor<?x10xf32>
  }, {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [4, 10] [1, 1]
        : tensor<?x64xf32> to tensor<4x10xf32>
    %c = tensor.cast %s : tensor<4x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %c : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return %l, %i : tensor<?x10xf32>, tensor<?xi32>
}

// Stages may change the hidden state's shape (CNN stages that downsample):
// each takes what the previous one yields; only the live batch is shared.
// CHECK-LABEL: func.func @early_exit_shape_changing_stages
func.func @early_exit_shape_changing_stages(%x: tensor<?x64xf32>, %t: f32)
    -> (tensor<?x10xf32>, tensor<?xi32>) {
  // CHECK: ^bb0(%{{.*}}: tensor<?x64xf32>):
  // CHECK: dyn.yield %{{[^ ,)]+}}, %{{[^ ,)]+}} : tensor<?x32xf32>, tensor<?x10xf32>
  // CHECK: ^bb0(%{{.*}}: tensor<?x32xf32>):
  // CHECK: dyn.yield %{{[^ ,)]+}}, %{{[^ ,)]+}} : tensor<?x16xf32>, tensor<?x10xf32>
  %l, %i = dyn.early_exit %x threshold(%t)
      {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x64xf32>
    %d = tensor.extract_slice %h[0, 0] [%n, 32] [1, 2] : tensor<?x64xf32> to tensor<?x32xf32>
    %c = tensor.extract_slice %h[0, 0] [%n, 10] [1, 1] : tensor<?x64xf32> to tensor<?x10xf32>
    dyn.yield %d, %c : tensor<?x32xf32>, tensor<?x10xf32>
  }, {
  ^bb0(%h: tensor<?x32xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x32xf32>
    %d = tensor.extract_slice %h[0, 0] [%n, 16] [1, 2] : tensor<?x32xf32> to tensor<?x16xf32>
    %c = tensor.extract_slice %h[0, 0] [%n, 10] [1, 1] : tensor<?x32xf32> to tensor<?x10xf32>
    dyn.yield %d, %c : tensor<?x16xf32>, tensor<?x10xf32>
  }
  return %l, %i : tensor<?x10xf32>, tensor<?xi32>
}

// CHECK-LABEL: func.func @early_exit_gate_criterion
func.func @early_exit_gate_criterion(%x: tensor<4x64xf32>, %t: f32,
    %l0: tensor<?x10xf32>, %g0: tensor<?xf32>)
    -> (tensor<4x10xf32>, tensor<4xi32>) {
  // CHECK: dyn.early_exit {{.*}} {criterion = #dyn.criterion<gate>}
  // CHECK: dyn.yield %{{[^ ,)]+}}, %{{[^ ,)]+}}, %{{[^ ,)]+}} : tensor<?x64xf32>, tensor<?x10xf32>, tensor<?xf32>
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<gate>}
      : tensor<4x64xf32> -> tensor<4x10xf32>, tensor<4xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [4, 10] [1, 1]
        : tensor<?x64xf32> to tensor<4x10xf32>
    %c = tensor.cast %s : tensor<4x10xf32> to tensor<?x10xf32>
    %g = tensor.extract_slice %h[0, 0] [4, 1] [1, 1]
        : tensor<?x64xf32> to tensor<4xf32>
    %gc = tensor.cast %g : tensor<4xf32> to tensor<?xf32>
    dyn.yield %h, %c, %gc : tensor<?x64xf32>, tensor<?x10xf32>, tensor<?xf32>
  }
  return %l, %i : tensor<4x10xf32>, tensor<4xi32>
}

// CHECK-LABEL: func.func @attention_dense
func.func @attention_dense(%q: tensor<1x8x128x64xf32>)
    -> tensor<1x8x128x64xf32> {
  // CHECK: dyn.attention %{{[^ ,)]+}}, %{{[^ ,)]+}}, %{{[^ ,)]+}} {causal, scale = 1.250000e-01 : f64}
  %o = dyn.attention %q, %q, %q {causal, scale = 0.125 : f64}
      : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
      -> tensor<1x8x128x64xf32>
  return %o : tensor<1x8x128x64xf32>
}

// CHECK-LABEL: func.func @bsa_topk
func.func @bsa_topk(%q: tensor<?x8x2048x64xf32>, %k: tensor<?x8x2048x64xf32>,
                    %v: tensor<?x8x2048x64xf32>) -> tensor<?x8x2048x64xf32> {
  %budget = dyn.param.read @block_budget : i32
  // CHECK: %[[L:.*]] = dyn.bsa.select %{{[^ ,)]+}}, %{{[^ ,)]+}} budget(%{{[^ ,)]+}} : i32) {block_size = 64 : i64, causal, selection = #dyn.selection<topk>} : tensor<?x8x2048x64xf32>, tensor<?x8x2048x64xf32> -> tensor<?x8x32x32xi1>
  %l = dyn.bsa.select %q, %k budget(%budget : i32)
      {selection = #dyn.selection<topk>, block_size = 64 : i64, causal}
      : tensor<?x8x2048x64xf32>, tensor<?x8x2048x64xf32> -> tensor<?x8x32x32xi1>
  // CHECK: dyn.bsa.attention %{{[^ ,)]+}}, %{{[^ ,)]+}}, %{{[^ ,)]+}}, %[[L]] {block_size = 64 : i64, causal}
  %o = dyn.bsa.attention %q, %k, %v, %l {block_size = 64 : i64, causal}
      : tensor<?x8x2048x64xf32>, tensor<?x8x2048x64xf32>,
        tensor<?x8x2048x64xf32>, tensor<?x8x32x32xi1> -> tensor<?x8x2048x64xf32>
  return %o : tensor<?x8x2048x64xf32>
}

// CHECK-LABEL: func.func @bsa_threshold_and_static
func.func @bsa_threshold_and_static(%q: tensor<2x4x256x32xf32>, %t: f32)
    -> (tensor<2x4x8x8xi1>, tensor<2x4x8x8xi1>) {
  // CHECK: dyn.bsa.select %{{[^ ,)]+}}, %{{[^ ,)]+}} threshold(%{{[^ ,)]+}}) {block_size = 32 : i64, scale = 5.000000e-01 : f64, selection = #dyn.selection<threshold>}
  %a = dyn.bsa.select %q, %q threshold(%t)
      {selection = #dyn.selection<threshold>, block_size = 32 : i64, scale = 0.5 : f64}
      : tensor<2x4x256x32xf32>, tensor<2x4x256x32xf32> -> tensor<2x4x8x8xi1>
  // CHECK: dyn.bsa.select %{{[^ ,)]+}}, %{{[^ ,)]+}} {block_size = 32 : i64, global = 1 : i64, selection = #dyn.selection<static_local>, window = 2 : i64}
  %b = dyn.bsa.select %q, %q
      {selection = #dyn.selection<static_local>, block_size = 32 : i64,
       window = 2 : i64, global = 1 : i64}
      : tensor<2x4x256x32xf32>, tensor<2x4x256x32xf32> -> tensor<2x4x8x8xi1>
  return %a, %b : tensor<2x4x8x8xi1>, tensor<2x4x8x8xi1>
}

// CHECK-LABEL: func.func @topk_and_scatter_add
func.func @topk_and_scatter_add(%x: tensor<?x8xf32>, %d: tensor<8x4xf32>,
    %i: tensor<?xi64>, %u: tensor<?x4xf32>) -> (tensor<?x2xf32>, tensor<?x2xi64>, tensor<8x4xf32>) {
  // CHECK: dyn.topk %{{[^ ,)]+}} {axis = 1 : i64, k = 2 : i64} : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi64>
  %v, %idx = dyn.topk %x {k = 2 : i64, axis = 1 : i64}
      : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi64>
  // CHECK: dyn.scatter_add %{{[^ ,)]+}}, %{{[^ ,)]+}}, %{{[^ ,)]+}} {axis = 0 : i64} : tensor<8x4xf32>, tensor<?xi64>, tensor<?x4xf32> -> tensor<8x4xf32>
  %r = dyn.scatter_add %d, %i, %u {axis = 0 : i64}
      : tensor<8x4xf32>, tensor<?xi64>, tensor<?x4xf32> -> tensor<8x4xf32>
  return %v, %idx, %r : tensor<?x2xf32>, tensor<?x2xi64>, tensor<8x4xf32>
}

// CHECK-LABEL: func.func @runtime_entry_points
func.func @runtime_entry_points(%x: tensor<?x64xf32>, %m: tensor<?xi1>) -> tensor<?x64xf32> {
  // CHECK: dyn.rt.iota %{{[^ ]+}} : tensor<?x64xf32> -> tensor<?xi32>
  %all = dyn.rt.iota %x : tensor<?x64xf32> -> tensor<?xi32>
  // CHECK: %[[I:.*]] = dyn.rt.select %{{[^ ]+}} : tensor<?xi1> -> tensor<?xi32>
  %i = dyn.rt.select %m : tensor<?xi1> -> tensor<?xi32>
  // CHECK: %[[L:.*]] = dyn.rt.gather_rows %{{[^ ]+}}[%[[I]]] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %live = dyn.rt.gather_rows %x[%i] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: dyn.rt.scatter_rows %[[L]] into %{{[^ ]+}}[%[[I]]] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %y = dyn.rt.scatter_rows %live into %x[%i] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// CHECK-LABEL: func.func @run_statistics
func.func @run_statistics(%n: index, %c: tensor<4xi32>) {
  // CHECK: dyn.rt.count %{{[^ ]+}} {name = "blk0.samples_run"} : index
  dyn.rt.count %n {name = "blk0.samples_run"} : index
  // CHECK: dyn.rt.count %{{[^ ]+}} {name = "moe.tokens"} : tensor<4xi32>
  dyn.rt.count %c {name = "moe.tokens"} : tensor<4xi32>
  return
}
