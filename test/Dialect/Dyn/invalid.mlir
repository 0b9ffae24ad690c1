// One case per verifier message of the dyn dialect.
// RUN: dync-opt %s -split-input-file -verify-diagnostics

func.func @weight_empty_name() {
  // expected-error @+1 {{weight name must not be empty}}
  %w = dyn.weight "" : tensor<4xf32>
  return
}

// -----

func.func @weight_panel_mismatch() {
  // expected-error @+1 {{a weight in panels of 16 is [N / panel, K, panel] or [E, N / panel, K, panel], got 'tensor<2x8x32xf32>'}}
  %w = dyn.weight "w" {panel = 16 : i64} : tensor<2x8x32xf32>
  return
}

// -----

func.func @weight_panel_rank() {
  // expected-error @+1 {{a weight in panels of 32 is [N / panel, K, panel] or [E, N / panel, K, panel], got 'tensor<64x8xf32>'}}
  %w = dyn.weight "w" {panel = 32 : i64} : tensor<64x8xf32>
  return
}

// -----

func.func @weight_dynamic_shape() {
  // expected-error @+1 {{result #0 must be statically shaped tensor}}
  %w = dyn.weight "w" : tensor<?xf32>
  return
}

// -----

// expected-error @+1 {{runtime parameter 'k' must be f32 or i32, got 'i64'}}
dyn.param.def @k = 4 : i64

// -----

func.func @param_undefined() {
  // expected-error @+1 {{'@nope' does not name a runtime parameter (no dyn.param.def with that name)}}
  %t = dyn.param.read @nope : f32
  return
}

// -----

dyn.param.def @t = 0.5 : f32
func.func @param_wrong_type() {
  // expected-error @+1 {{reads runtime parameter '@t' of type 'f32' as 'i32'}}
  %t = dyn.param.read @t : i32
  return
}

// -----

func.func @moe_rank0_input(%x: tensor<f32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{input must have at least one dimension (the model dimension d)}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<f32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<f32>
  return
}

// -----

func.func @moe_router_shape(%x: tensor<?x32xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{'router' has shape [8, 64], expected [8, 32] [E, d]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x32xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @moe_router_bias_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %rb: tensor<4xf32>, %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{'router_bias' has shape [4], expected [8] [E]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) router_bias(%rb)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<4xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_w1_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x32xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{'w1' has shape [8, 256, 32], expected [8, 256, 64] [E, h, d]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x32xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_w2_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x256x64xf32>) {
  // expected-error @+1 {{'w2' has shape [8, 256, 64], expected [8, 64, 256] [E, d, h]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x256x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_w3_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>, %w3: tensor<8x128x64xf32>) {
  // expected-error @+1 {{'w3' has shape [8, 128, 64], expected [8, 256, 64] [E, h, d]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) w3(%w3)
      {top_k = 2 : i64, activation = #dyn.activation<silu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<8x128x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_b1_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>, %b1: tensor<8x64xf32>) {
  // expected-error @+1 {{'b1' has shape [8, 64], expected [8, 256] [E, h]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) b1(%b1)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<8x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_b2_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>, %b2: tensor<8x256xf32>) {
  // expected-error @+1 {{'b2' has shape [8, 256], expected [8, 64] [E, d]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) b2(%b2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<8x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_top_k_too_large(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{top_k = 9 exceeds the number of experts (8)}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 9 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_top_k_zero(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+2 {{attribute 'top_k' failed to satisfy constraint: 64-bit signless integer attribute whose value is positive}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 0 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_capacity_not_positive(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{capacity_factor must be positive, got 0}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>, capacity_factor = 0.0 : f64}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_half(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>, %s1: tensor<96x64xf32>) {
  // expected-error @+1 {{'shared_w1' and 'shared_w2' must be given together}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) shared_w1(%s1)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<96x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_bias_alone(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>, %sb: tensor<64xf32>) {
  // expected-error @+1 {{shared expert weights given without 'shared_w1' and 'shared_w2'}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) shared_b2(%sb)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_not_gated(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>, %w3: tensor<8x256x64xf32>,
    %s1: tensor<96x64xf32>, %s2: tensor<64x96xf32>) {
  // expected-error @+1 {{the experts are gated ('w3' given) but the shared expert has no 'shared_w3'}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) w3(%w3) shared_w1(%s1) shared_w2(%s2)
      {top_k = 2 : i64, activation = #dyn.activation<silu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<8x256x64xf32>, tensor<96x64xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_gated_alone(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>,
    %s1: tensor<96x64xf32>, %s2: tensor<64x96xf32>, %s3: tensor<96x64xf32>) {
  // expected-error @+1 {{'shared_w3' given but the experts are not gated (no 'w3')}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) shared_w1(%s1) shared_w2(%s2) shared_w3(%s3)
      {top_k = 2 : i64, activation = #dyn.activation<silu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<96x64xf32>, tensor<64x96xf32>, tensor<96x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_w1_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>,
    %s1: tensor<96x32xf32>, %s2: tensor<64x96xf32>) {
  // expected-error @+1 {{'shared_w1' has shape [96, 32], expected [96, 64] [hs, d]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) shared_w1(%s1) shared_w2(%s2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<96x32xf32>, tensor<64x96xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_w2_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>,
    %s1: tensor<96x64xf32>, %s2: tensor<64x95xf32>) {
  // expected-error @+1 {{'shared_w2' has shape [64, 95], expected [64, 96] [d, hs]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) shared_w1(%s1) shared_w2(%s2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<96x64xf32>, tensor<64x95xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_w3_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>, %w3: tensor<8x256x64xf32>,
    %s1: tensor<96x64xf32>, %s2: tensor<64x96xf32>, %s3: tensor<95x64xf32>) {
  // expected-error @+1 {{'shared_w3' has shape [95, 64], expected [96, 64] [hs, d]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) w3(%w3) shared_w1(%s1) shared_w2(%s2) shared_w3(%s3)
      {top_k = 2 : i64, activation = #dyn.activation<silu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<8x256x64xf32>, tensor<96x64xf32>, tensor<64x96xf32>, tensor<95x64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_b1_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>,
    %s1: tensor<96x64xf32>, %s2: tensor<64x96xf32>, %sb1: tensor<64xf32>) {
  // expected-error @+1 {{'shared_b1' has shape [64], expected [96] [hs]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) shared_w1(%s1) shared_w2(%s2) shared_b1(%sb1)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<96x64xf32>, tensor<64x96xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_shared_b2_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>,
    %s1: tensor<96x64xf32>, %s2: tensor<64x96xf32>, %sb2: tensor<96xf32>) {
  // expected-error @+1 {{'shared_b2' has shape [96], expected [64] [d]}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) shared_w1(%s1) shared_w2(%s2) shared_b2(%sb2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>, tensor<96x64xf32>, tensor<64x96xf32>, tensor<96xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_result_type(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{result type 'tensor<4x64xf32>' must equal the input type 'tensor<?x64xf32>'}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @moe_counts_shape(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{'expert_counts' has shape [4], expected [8] [E]}}
  %y, %c = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 2 : i64, activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> (tensor<?x64xf32>, tensor<4xi32>)
  return
}

// -----

func.func @moe_unknown_activation(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+2 {{expected ::mlir::dyn::Activation to be one of: relu, gelu, gelu_tanh, silu}}
  // expected-error @+1 {{failed to parse Dyn_ActivationAttr parameter 'value'}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2) {top_k = 2 : i64, activation = #dyn.activation<swish>}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @route_top_k_too_large(%l: tensor<?x4xf32>) {
  // expected-error @+1 {{top_k = 5 exceeds the number of experts (4)}}
  %w, %i = dyn.moe.route %l {top_k = 5 : i64} : tensor<?x4xf32> -> tensor<?x5xf32>, tensor<?x5xi32>
  return
}

// -----

func.func @route_weights_shape(%l: tensor<16x4xf32>) {
  // expected-error @+1 {{'weights' has shape [16, 1], expected [16, 2] [T, k]}}
  %w, %i = dyn.moe.route %l {top_k = 2 : i64} : tensor<16x4xf32> -> tensor<16x1xf32>, tensor<16x2xi32>
  return
}

// -----

func.func @route_indices_shape(%l: tensor<16x4xf32>) {
  // expected-error @+1 {{'indices' has shape [8, 2], expected [16, 2] [T, k]}}
  %w, %i = dyn.moe.route %l {top_k = 2 : i64} : tensor<16x4xf32> -> tensor<16x2xf32>, tensor<8x2xi32>
  return
}

// -----

func.func @dispatch_indices_shape(%x: tensor<16x64xf32>, %i: tensor<8x2xi32>) {
  // expected-error @+1 {{'indices' has shape [8, 2], expected [16, 2] [T, k]}}
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64}
      : tensor<16x64xf32>, tensor<8x2xi32> -> tensor<?x64xf32>, tensor<5xi32>, tensor<16x2xi32>
  return
}

// -----

func.func @dispatch_k_too_large(%x: tensor<?x64xf32>, %i: tensor<?x5xi32>) {
  // expected-error @+1 {{top_k = 5 exceeds the number of experts (4)}}
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64}
      : tensor<?x64xf32>, tensor<?x5xi32> -> tensor<?x64xf32>, tensor<5xi32>, tensor<?x5xi32>
  return
}

// -----

func.func @moe_two_capacities(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{takes 'capacity_factor' or 'capacity', not both}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 1 : i64, activation = #dyn.activation<relu>, capacity_factor = 1.0 : f64, capacity = 2 : i64}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @moe_fixed_capacity_zero(%x: tensor<?x64xf32>, %r: tensor<8x64xf32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+2 {{attribute 'capacity' failed to satisfy constraint}}
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 1 : i64, activation = #dyn.activation<relu>, capacity = 0 : i64}
      : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @dispatch_two_capacities(%x: tensor<?x64xf32>, %i: tensor<?x2xi32>) {
  // expected-error @+1 {{takes 'capacity_factor' or 'capacity', not both}}
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64, capacity_factor = 1.0 : f64, capacity = 1 : i64}
      : tensor<?x64xf32>, tensor<?x2xi32> -> tensor<?x64xf32>, tensor<5xi32>, tensor<?x2xi32>
  return
}

// -----

func.func @dispatch_capacity(%x: tensor<?x64xf32>, %i: tensor<?x2xi32>) {
  // expected-error @+1 {{capacity_factor must be positive, got -1}}
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64, capacity_factor = -1.0 : f64}
      : tensor<?x64xf32>, tensor<?x2xi32> -> tensor<?x64xf32>, tensor<5xi32>, tensor<?x2xi32>
  return
}

// -----

func.func @dispatch_rows_shape(%x: tensor<16x64xf32>, %i: tensor<16x2xi32>) {
  // expected-error @+1 {{'rows' has shape [16, 64], expected [32, 64] [T*k, d]}}
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64}
      : tensor<16x64xf32>, tensor<16x2xi32> -> tensor<16x64xf32>, tensor<5xi32>, tensor<16x2xi32>
  return
}

// -----

func.func @dispatch_offsets_shape(%x: tensor<?x64xf32>, %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'offsets' has shape [4], expected [5] [E+1]}}
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64}
      : tensor<?x64xf32>, tensor<?x2xi32> -> tensor<?x64xf32>, tensor<4xi32>, tensor<?x2xi32>
  return
}

// -----

func.func @dispatch_slots_shape(%x: tensor<?x64xf32>, %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'slots' has shape [?, 1], expected [?, 2] [T, k]}}
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64}
      : tensor<?x64xf32>, tensor<?x2xi32> -> tensor<?x64xf32>, tensor<5xi32>, tensor<?x1xi32>
  return
}

// -----

func.func @dispatch_rows_element_type(%x: tensor<?x64xf32>, %i: tensor<?x2xi32>) {
  // expected-error @+1 {{'rows' must have the element type of the input}}
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64}
      : tensor<?x64xf32>, tensor<?x2xi32> -> tensor<?x64xf16>, tensor<5xi32>, tensor<?x2xi32>
  return
}

// -----

func.func @experts_offsets_shape(%r: tensor<?x64xf32>, %o: tensor<8xi32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{'offsets' has shape [8], expected [9] [E+1]}}
  %y = dyn.moe.experts %r, %o w1(%w1) w2(%w2) {activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<8xi32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @experts_w2_shape(%r: tensor<?x64xf32>, %o: tensor<9xi32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x128xf32>) {
  // expected-error @+1 {{'w2' has shape [8, 64, 128], expected [8, 64, 256] [E, d, h]}}
  %y = dyn.moe.experts %r, %o w1(%w1) w2(%w2) {activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x256x64xf32>, tensor<8x64x128xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @experts_panel_divides(%r: tensor<?x64xf32>, %o: tensor<9xi32>,
    %w1: tensor<8x8x64x32xf32>, %w2: tensor<8x2x256x32xf32>) {
  // expected-error @+1 {{panel 48 must be positive and divide d = 64}}
  %y = dyn.moe.experts %r, %o w1(%w1) w2(%w2) {activation = #dyn.activation<relu>, panel = 48 : i64}
      : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x8x64x32xf32>, tensor<8x2x256x32xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @experts_panel_w2(%r: tensor<?x64xf32>, %o: tensor<9xi32>,
    %w1: tensor<8x8x64x32xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{'w2' has shape [8, 64, 256], expected [8, 2, 256, 32] [E, d / panel, h, panel]}}
  %y = dyn.moe.experts %r, %o w1(%w1) w2(%w2) {activation = #dyn.activation<relu>, panel = 32 : i64}
      : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x8x64x32xf32>, tensor<8x64x256xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @experts_panel_w1(%r: tensor<?x64xf32>, %o: tensor<9xi32>,
    %w1: tensor<8x8x32x32xf32>, %w2: tensor<8x2x256x32xf32>) {
  // expected-error @+1 {{'w1' has shape [8, 8, 32, 32], expected [8, 8, 64, 32] [E, h / panel, d, panel]}}
  %y = dyn.moe.experts %r, %o w1(%w1) w2(%w2) {activation = #dyn.activation<relu>, panel = 32 : i64}
      : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x8x32x32xf32>, tensor<8x2x256x32xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @experts_result_type(%r: tensor<?x64xf32>, %o: tensor<9xi32>,
    %w1: tensor<8x256x64xf32>, %w2: tensor<8x64x256xf32>) {
  // expected-error @+1 {{result type 'tensor<?x32xf32>' must equal the type of 'rows' 'tensor<?x64xf32>'}}
  %y = dyn.moe.experts %r, %o w1(%w1) w2(%w2) {activation = #dyn.activation<relu>}
      : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x256x64xf32>, tensor<8x64x256xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @combine_weights_shape(%e: tensor<?x64xf32>, %s: tensor<16x2xi32>, %w: tensor<16x3xf32>) {
  // expected-error @+1 {{'weights' has shape [16, 3], expected [16, 2] [T, k]}}
  %y = dyn.moe.combine %e, %s, %w : tensor<?x64xf32>, tensor<16x2xi32>, tensor<16x3xf32> -> tensor<16x64xf32>
  return
}

// -----

func.func @combine_result_shape(%e: tensor<?x64xf32>, %s: tensor<16x2xi32>, %w: tensor<16x2xf32>) {
  // expected-error @+1 {{result has shape [16, 32], expected [16, 64] [T, d]}}
  %y = dyn.moe.combine %e, %s, %w : tensor<?x64xf32>, tensor<16x2xi32>, tensor<16x2xf32> -> tensor<16x32xf32>
  return
}

// -----

func.func @gate_score_rank(%x: tensor<2x3x4x5xf32>, %s: tensor<2x3x4xf32>, %t: f32) {
  // expected-error @+1 {{score must have shape [B] (per sample) or [B, S] (per token), got rank 3}}
  %y = dyn.gate %x score(%s : tensor<2x3x4xf32>) threshold(%t) : tensor<2x3x4x5xf32> {
  ^bb0(%h: tensor<?x4x5xf32>):
    dyn.yield %h : tensor<?x4x5xf32>
  }
  return
}

// -----

func.func @gate_input_rank(%x: tensor<8xf32>, %s: tensor<8x4xf32>, %t: f32) {
  // expected-error @+1 {{input of rank 1 cannot be gated by a score of rank 2}}
  %y = dyn.gate %x score(%s : tensor<8x4xf32>) threshold(%t) : tensor<8xf32> {
  ^bb0(%h: tensor<?xf32>):
    dyn.yield %h : tensor<?xf32>
  }
  return
}

// -----

func.func @gate_score_shape(%x: tensor<8x64xf32>, %s: tensor<4xf32>, %t: f32) {
  // expected-error @+1 {{score has shape [4], expected [8] [B] (the input's batch)}}
  %y = dyn.gate %x score(%s : tensor<4xf32>) threshold(%t) : tensor<8x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    dyn.yield %h : tensor<?x64xf32>
  }
  return
}

// -----

func.func @gate_mask_shape(%x: tensor<8x64xf32>, %s: tensor<8xf32>, %t: f32) {
  // expected-error @+1 {{mask has shape [4], expected [8] (the score's shape)}}
  %y, %m = dyn.gate %x score(%s : tensor<8xf32>) threshold(%t) : tensor<8x64xf32> -> tensor<4xi1> {
  ^bb0(%h: tensor<?x64xf32>):
    dyn.yield %h : tensor<?x64xf32>
  }
  return
}

// -----

func.func @gate_body_takes_static_batch(%x: tensor<8x64xf32>, %s: tensor<8xf32>, %t: f32) {
  // expected-error @+1 {{body must take ('tensor<?x64xf32>'), but takes ('tensor<8x64xf32>')}}
  %y = dyn.gate %x score(%s : tensor<8xf32>) threshold(%t) : tensor<8x64xf32> {
  ^bb0(%h: tensor<8x64xf32>):
    %c = tensor.cast %h : tensor<8x64xf32> to tensor<?x64xf32>
    dyn.yield %c : tensor<?x64xf32>
  }
  return
}

// -----

func.func @gate_body_yields_wrong_type(%x: tensor<8x64xf32>, %s: tensor<8xf32>, %t: f32) {
  // expected-error @+1 {{body must yield ('tensor<?x64xf32>'), but yields ('tensor<?x32xf32>')}}
  %y = dyn.gate %x score(%s : tensor<8xf32>) threshold(%t) : tensor<8x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    %e = tensor.extract_slice %h[0, 0] [2, 32] [1, 1] : tensor<?x64xf32> to tensor<2x32xf32>
    %c = tensor.cast %e : tensor<2x32xf32> to tensor<?x32xf32>
    dyn.yield %c : tensor<?x32xf32>
  }
  return
}

// -----

func.func @gate_body_not_yield(%x: tensor<8x64xf32>, %s: tensor<8xf32>, %t: f32) {
  // expected-error @+1 {{body must end with dyn.yield}}
  %y = dyn.gate %x score(%s : tensor<8xf32>) threshold(%t) : tensor<8x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    llvm.unreachable
  }
  return
}

// -----

func.func @gate_threshold_type(%x: tensor<8x64xf32>, %s: tensor<8xf32>, %t: i32) {
  // expected-error @+1 {{operand #2 must be 32-bit float, but got 'i32'}}
  %y = "dyn.gate"(%x, %s, %t) ({
  ^bb0(%h: tensor<?x64xf32>):
    dyn.yield %h : tensor<?x64xf32>
  }) : (tensor<8x64xf32>, tensor<8xf32>, i32) -> tensor<8x64xf32>
  return
}

// -----

func.func @gate_captures_value(%x: tensor<8x64xf32>, %s: tensor<8xf32>, %t: f32) {
  // expected-note @+1 {{required by region isolation constraints}}
  %y = dyn.gate %x score(%s : tensor<8xf32>) threshold(%t) : tensor<8x64xf32> {
  ^bb0(%h: tensor<?x64xf32>):
    // expected-error @+1 {{using value defined outside the region}}
    %c = tensor.cast %x : tensor<8x64xf32> to tensor<?x64xf32>
    dyn.yield %c : tensor<?x64xf32>
  }
  return
}

// -----

func.func @cond_then_signature(%p: i1, %x: tensor<4xf32>) {
  // expected-error @+1 {{'then' region must take ('tensor<4xf32>'), but takes ('tensor<?xf32>')}}
  %r = dyn.cond %p (%x) : i1, (tensor<4xf32>) -> tensor<4xf32> then {
  ^bb0(%a: tensor<?xf32>):
    %c = tensor.cast %a : tensor<?xf32> to tensor<4xf32>
    dyn.yield %c : tensor<4xf32>
  } else {
  ^bb0(%a: tensor<4xf32>):
    dyn.yield %a : tensor<4xf32>
  }
  return
}

// -----

func.func @cond_else_yield(%p: i1, %x: tensor<4xf32>) {
  // expected-error @+1 {{'else' region must yield ('tensor<4xf32>'), but yields ('tensor<4xf32>', 'tensor<4xf32>')}}
  %r = dyn.cond %p (%x) : i1, (tensor<4xf32>) -> tensor<4xf32> then {
  ^bb0(%a: tensor<4xf32>):
    dyn.yield %a : tensor<4xf32>
  } else {
  ^bb0(%a: tensor<4xf32>):
    dyn.yield %a, %a : tensor<4xf32>, tensor<4xf32>
  }
  return
}

// -----

func.func @cond_per_sample_operand(%p: tensor<8xi1>, %x: tensor<4x3xf32>) {
  // expected-error @+1 {{with a per-sample predicate of shape [8], operand #0 must be a tensor with leading dimension [8], got 'tensor<4x3xf32>'}}
  %r = dyn.cond %p (%x) : tensor<8xi1>, (tensor<4x3xf32>) -> tensor<8x3xf32> then {
  ^bb0(%a: tensor<?x3xf32>):
    dyn.yield %a : tensor<?x3xf32>
  } else {
  ^bb0(%a: tensor<?x3xf32>):
    dyn.yield %a : tensor<?x3xf32>
  }
  return
}

// -----

func.func @cond_per_sample_result(%p: tensor<8xi1>, %x: tensor<8x3xf32>) {
  // expected-error @+1 {{with a per-sample predicate of shape [8], result #0 must be a tensor with leading dimension [8], got 'f32'}}
  %r = dyn.cond %p (%x) : tensor<8xi1>, (tensor<8x3xf32>) -> f32 then {
  ^bb0(%a: tensor<?x3xf32>):
    %z = arith.constant 0.0 : f32
    dyn.yield %z : f32
  } else {
  ^bb0(%a: tensor<?x3xf32>):
    %z = arith.constant 0.0 : f32
    dyn.yield %z : f32
  }
  return
}

// -----

func.func @cond_per_sample_region(%p: tensor<8xi1>, %x: tensor<8x3xf32>) {
  // expected-error @+1 {{'then' region must take ('tensor<?x3xf32>'), but takes ('tensor<8x3xf32>')}}
  %r = dyn.cond %p (%x) : tensor<8xi1>, (tensor<8x3xf32>) -> tensor<8x3xf32> then {
  ^bb0(%a: tensor<8x3xf32>):
    %c = tensor.cast %a : tensor<8x3xf32> to tensor<?x3xf32>
    dyn.yield %c : tensor<?x3xf32>
  } else {
  ^bb0(%a: tensor<?x3xf32>):
    dyn.yield %a : tensor<?x3xf32>
  }
  return
}

// -----

func.func @cond_predicate_type(%p: i32, %x: tensor<4xf32>) {
  // expected-error @+1 {{operand #0 must be 1-bit signless integer or 1D tensor of 1-bit signless integer values, but got 'i32'}}
  %r = "dyn.cond"(%p, %x) ({
  ^bb0(%a: tensor<4xf32>):
    dyn.yield %a : tensor<4xf32>
  }, {
  ^bb0(%a: tensor<4xf32>):
    dyn.yield %a : tensor<4xf32>
  }) : (i32, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @early_exit_rank0(%x: tensor<f32>, %t: f32) {
  // expected-error @+1 {{input must have a leading batch dimension}}
  %l, %i = "dyn.early_exit"(%x, %t) ({
  ^bb0(%h: tensor<f32>):
    dyn.yield %h : tensor<f32>
  }) {criterion = #dyn.criterion<max_softmax>} : (tensor<f32>, f32) -> (tensor<?x10xf32>, tensor<?xi32>)
  return
}

// -----

func.func @early_exit_no_stage(%x: tensor<?x64xf32>, %t: f32) {
  // expected-error @+1 {{needs at least one stage}}
  %l, %i = "dyn.early_exit"(%x, %t) {criterion = #dyn.criterion<max_softmax>}
      : (tensor<?x64xf32>, f32) -> (tensor<?x10xf32>, tensor<?xi32>)
  return
}

// -----

func.func @early_exit_logits_batch(%x: tensor<8x64xf32>, %t: f32) {
  // expected-error @+1 {{'logits' has shape [4, 10], expected [8, 10] [B, C]}}
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<8x64xf32> -> tensor<4x10xf32>, tensor<8xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [1, 10] [1, 1] : tensor<?x64xf32> to tensor<1x10xf32>
    %sc = tensor.cast %s : tensor<1x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return
}

// -----

func.func @early_exit_index_batch(%x: tensor<8x64xf32>, %t: f32) {
  // expected-error @+1 {{'exit_index' has shape [4], expected [8] [B]}}
  %l, %i = "dyn.early_exit"(%x, %t) ({
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [1, 10] [1, 1] : tensor<?x64xf32> to tensor<1x10xf32>
    %sc = tensor.cast %s : tensor<1x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }) {criterion = #dyn.criterion<max_softmax>} : (tensor<8x64xf32>, f32) -> (tensor<8x10xf32>, tensor<4xi32>)
  return
}

// -----

func.func @early_exit_stage_missing_gate(%x: tensor<?x64xf32>, %t: f32) {
  // expected-error @+1 {{stage 0 must yield ('tensor<?x64xf32>', 'tensor<?x10xf32>', 'tensor<?xf32>'), but yields ('tensor<?x64xf32>', 'tensor<?x10xf32>')}}
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<gate>}
      : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [1, 10] [1, 1] : tensor<?x64xf32> to tensor<1x10xf32>
    %sc = tensor.cast %s : tensor<1x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return
}

// -----

func.func @early_exit_hidden_not_live(%x: tensor<?x64xf32>, %t: f32) {
  // expected-error @+1 {{stage 0 must yield a hidden state with the live batch (a dynamic leading dim) first, got 'tensor<4x64xf32>'}}
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [4, 64] [1, 1] : tensor<?x64xf32> to tensor<4x64xf32>
    %c = tensor.extract_slice %h[0, 0] [1, 10] [1, 1] : tensor<?x64xf32> to tensor<1x10xf32>
    %cc = tensor.cast %c : tensor<1x10xf32> to tensor<?x10xf32>
    dyn.yield %s, %cc : tensor<4x64xf32>, tensor<?x10xf32>
  }
  return
}

// -----

func.func @early_exit_stage_takes_other_shape(%x: tensor<?x64xf32>, %t: f32) {
  // expected-error @+1 {{stage 1 must take ('tensor<?x32xf32>'), but takes ('tensor<?x64xf32>')}}
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x64xf32>
    %d = tensor.extract_slice %h[0, 0] [%n, 32] [1, 1] : tensor<?x64xf32> to tensor<?x32xf32>
    %c = tensor.extract_slice %h[0, 0] [%n, 10] [1, 1] : tensor<?x64xf32> to tensor<?x10xf32>
    dyn.yield %d, %c : tensor<?x32xf32>, tensor<?x10xf32>
  }, {
  ^bb0(%h: tensor<?x64xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x64xf32>
    %c = tensor.extract_slice %h[0, 0] [%n, 10] [1, 1] : tensor<?x64xf32> to tensor<?x10xf32>
    dyn.yield %h, %c : tensor<?x64xf32>, tensor<?x10xf32>
  }
  return
}

// -----

func.func @early_exit_classes_differ(%x: tensor<?x64xf32>, %t: f32) {
  // expected-error @+1 {{stage 1 must yield ('tensor<?x64xf32>', 'tensor<?x10xf32>'), but yields ('tensor<?x64xf32>', 'tensor<?x5xf32>')}}
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [1, 10] [1, 1] : tensor<?x64xf32> to tensor<1x10xf32>
    %sc = tensor.cast %s : tensor<1x10xf32> to tensor<?x10xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x10xf32>
  }, {
  ^bb0(%h: tensor<?x64xf32>):
    %s = tensor.extract_slice %h[0, 0] [1, 5] [1, 1] : tensor<?x64xf32> to tensor<1x5xf32>
    %sc = tensor.cast %s : tensor<1x5xf32> to tensor<?x5xf32>
    dyn.yield %h, %sc : tensor<?x64xf32>, tensor<?x5xf32>
  }
  return
}

// -----

func.func @early_exit_threshold_type(%x: tensor<?x64xf32>, %t: f64) {
  // expected-error @+1 {{operand #1 must be 32-bit float, but got 'f64'}}
  %l, %i = "dyn.early_exit"(%x, %t) ({
  ^bb0(%h: tensor<?x64xf32>):
    dyn.yield %h : tensor<?x64xf32>
  }) {criterion = #dyn.criterion<max_softmax>} : (tensor<?x64xf32>, f64) -> (tensor<?x10xf32>, tensor<?xi32>)
  return
}

// -----

func.func @attention_key_shape(%q: tensor<1x8x128x64xf32>, %k: tensor<1x4x128x64xf32>) {
  // expected-error @+1 {{'key' has shape [1, 4, 128, 64], expected [1, 8, 128, 64] [B, H, S, D]}}
  %o = dyn.attention %q, %k, %k : tensor<1x8x128x64xf32>, tensor<1x4x128x64xf32>, tensor<1x4x128x64xf32> -> tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_value_shape(%q: tensor<1x8x128x64xf32>, %v: tensor<1x8x64x64xf32>) {
  // expected-error @+1 {{'value' has shape [1, 8, 64, 64], expected [1, 8, 128, 64] [B, H, S, D]}}
  %o = dyn.attention %q, %q, %v : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x64x64xf32> -> tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_result_shape(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{result has shape [1, 8, 64, 64], expected [1, 8, 128, 64] [B, H, S, D]}}
  %o = dyn.attention %q, %q, %q : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x64x64xf32>
  return
}

// -----

func.func @attention_scale_not_finite(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{scale must be finite, got INF}}
  %o = dyn.attention %q, %q, %q {scale = 0x7FF0000000000000 : f64} : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x128x64xf32>
  return
}

// -----

func.func @attention_causal_lengths(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x64x64xf32>) {
  // expected-error @+1 {{causal attention needs equal query and key lengths}}
  %o = dyn.attention %q, %k, %k {causal} : tensor<1x8x128x64xf32>, tensor<1x8x64x64xf32>, tensor<1x8x64x64xf32> -> tensor<1x8x128x64xf32>
  return
}

// -----

func.func @bsa_block_size_query(%q: tensor<1x8x100x64xf32>, %k: tensor<1x8x128x64xf32>, %b: i32) {
  // expected-error @+1 {{block_size 64 does not divide the query length 100}}
  %l = dyn.bsa.select %q, %k budget(%b : i32) {selection = #dyn.selection<topk>, block_size = 64 : i64}
      : tensor<1x8x100x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x1x2xi1>
  return
}

// -----

func.func @bsa_block_size_key(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x96x64xf32>, %b: i32) {
  // expected-error @+1 {{block_size 64 does not divide the key length 96}}
  %l = dyn.bsa.select %q, %k budget(%b : i32) {selection = #dyn.selection<topk>, block_size = 64 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x96x64xf32> -> tensor<1x8x2x1xi1>
  return
}

// -----

func.func @bsa_causal_lengths(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x256x64xf32>, %b: i32) {
  // expected-error @+1 {{causal attention needs equal query and key lengths, got 128 and 256}}
  %l = dyn.bsa.select %q, %k budget(%b : i32) {selection = #dyn.selection<topk>, block_size = 64 : i64, causal}
      : tensor<1x8x128x64xf32>, tensor<1x8x256x64xf32> -> tensor<1x8x2x4xi1>
  return
}

// -----

func.func @bsa_select_layout_shape(%q: tensor<1x8x128x64xf32>, %b: i32) {
  // expected-error @+1 {{layout has shape [1, 8, 4, 4], expected [1, 8, 2, 2] [B, H, Sq/block_size, Sk/block_size]}}
  %l = dyn.bsa.select %q, %q budget(%b : i32) {selection = #dyn.selection<topk>, block_size = 64 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x4x4xi1>
  return
}

// -----

func.func @bsa_topk_without_budget(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{selection 'topk' needs a 'budget' operand}}
  %l = dyn.bsa.select %q, %q {selection = #dyn.selection<topk>, block_size = 64 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x2x2xi1>
  return
}

// -----

func.func @bsa_budget_unused(%q: tensor<1x8x128x64xf32>, %b: i32, %t: f32) {
  // expected-error @+1 {{a 'budget' operand is not used by selection 'threshold'}}
  %l = dyn.bsa.select %q, %q budget(%b : i32) threshold(%t) {selection = #dyn.selection<threshold>, block_size = 64 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x2x2xi1>
  return
}

// -----

func.func @bsa_threshold_missing(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{selection 'threshold' needs a 'threshold' operand}}
  %l = dyn.bsa.select %q, %q {selection = #dyn.selection<threshold>, block_size = 64 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x2x2xi1>
  return
}

// -----

func.func @bsa_static_without_window(%q: tensor<1x8x128x64xf32>) {
  // expected-error @+1 {{selection 'static_local' needs a 'window' attribute}}
  %l = dyn.bsa.select %q, %q {selection = #dyn.selection<static_local>, block_size = 64 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x2x2xi1>
  return
}

// -----

func.func @bsa_global_unused(%q: tensor<1x8x128x64xf32>, %b: i32) {
  // expected-error @+1 {{'global' is not used by selection 'topk'}}
  %l = dyn.bsa.select %q, %q budget(%b : i32) {selection = #dyn.selection<topk>, block_size = 64 : i64, global = 1 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> -> tensor<1x8x2x2xi1>
  return
}

// -----

func.func @bsa_budget_type(%q: tensor<1x8x128x64xf32>, %b: i64) {
  // expected-error @+1 {{operand #2 must be 32-bit signless integer, but got 'i64'}}
  %l = "dyn.bsa.select"(%q, %q, %b) {selection = #dyn.selection<topk>, block_size = 64 : i64, operandSegmentSizes = array<i32: 1, 1, 1, 0>}
      : (tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, i64) -> tensor<1x8x2x2xi1>
  return
}

// -----

func.func @bsa_attention_layout_shape(%q: tensor<1x8x128x64xf32>, %l: tensor<1x8x2x3xi1>) {
  // expected-error @+1 {{'layout' has shape [1, 8, 2, 3], expected [1, 8, 2, 2] [B, H, Sq/block_size, Sk/block_size]}}
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 64 : i64}
      : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x2x3xi1> -> tensor<1x8x128x64xf32>
  return
}

// -----

func.func @bsa_attention_block_size(%q: tensor<1x8x96x64xf32>, %l: tensor<1x8x1x1xi1>) {
  // expected-error @+1 {{block_size 64 does not divide the query length 96}}
  %o = dyn.bsa.attention %q, %q, %q, %l {block_size = 64 : i64}
      : tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x96x64xf32>, tensor<1x8x1x1xi1> -> tensor<1x8x96x64xf32>
  return
}

// -----

func.func @yield_outside(%x: tensor<4xf32>) {
  // expected-error @+1 {{'dyn.yield' op expects parent op to be one of 'dyn.gate, dyn.cond, dyn.early_exit'}}
  dyn.yield %x : tensor<4xf32>
}

// -----

func.func @topk_axis(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %v, %i = dyn.topk %x {k = 2 : i64, axis = 2 : i64} : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<4x2xi64>
  return
}

// -----

func.func @topk_k_too_large(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{k = 9 exceeds the size 8 of axis 1}}
  %v, %i = dyn.topk %x {k = 9 : i64, axis = 1 : i64} : tensor<4x8xf32> -> tensor<4x9xf32>, tensor<4x9xi64>
  return
}

// -----

func.func @topk_values_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'values' has shape [4, 3], expected [4, 2] (the input with k along the axis)}}
  %v, %i = dyn.topk %x {k = 2 : i64, axis = 1 : i64} : tensor<4x8xf32> -> tensor<4x3xf32>, tensor<4x2xi64>
  return
}

// -----

func.func @topk_indices_shape(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'indices' has shape [2, 2], expected [4, 2] (the input with k along the axis)}}
  %v, %i = dyn.topk %x {k = 2 : i64, axis = 1 : i64} : tensor<4x8xf32> -> tensor<4x2xf32>, tensor<2x2xi64>
  return
}

// -----

func.func @topk_values_type(%x: tensor<4x8xf32>) {
  // expected-error @+1 {{'values' must have the element type of the input}}
  %v, %i = dyn.topk %x {k = 2 : i64, axis = 1 : i64} : tensor<4x8xf32> -> tensor<4x2xf16>, tensor<4x2xi64>
  return
}

// -----

func.func @scatter_add_axis(%d: tensor<8x4xf32>, %i: tensor<3xi64>, %u: tensor<3x4xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %r = dyn.scatter_add %d, %i, %u {axis = 2 : i64} : tensor<8x4xf32>, tensor<3xi64>, tensor<3x4xf32> -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_add_updates_shape(%d: tensor<8x4xf32>, %i: tensor<3xi64>, %u: tensor<2x4xf32>) {
  // expected-error @+1 {{'updates' has shape [2, 4], expected [3, 4] (the data with len(indices) along the axis)}}
  %r = dyn.scatter_add %d, %i, %u {axis = 0 : i64} : tensor<8x4xf32>, tensor<3xi64>, tensor<2x4xf32> -> tensor<8x4xf32>
  return
}

// -----

func.func @scatter_add_updates_type(%d: tensor<8x4xf32>, %i: tensor<3xi64>, %u: tensor<3x4xf16>) {
  // expected-error @+1 {{'updates' must have the element type of the data}}
  %r = dyn.scatter_add %d, %i, %u {axis = 0 : i64} : tensor<8x4xf32>, tensor<3xi64>, tensor<3x4xf16> -> tensor<8x4xf32>
  return
}

// -----

func.func @iota_scalar(%x: tensor<f32>) {
  // expected-error @+1 {{needs a batched operand (rank >= 1)}}
  %i = dyn.rt.iota %x : tensor<f32> -> tensor<?xi32>
  return
}

// -----

func.func @iota_shape(%x: tensor<4x2xf32>) {
  // expected-error @+1 {{result has shape [3], expected [4] (the batch of the operand)}}
  %i = dyn.rt.iota %x : tensor<4x2xf32> -> tensor<3xi32>
  return
}

// -----

func.func @select_too_many(%m: tensor<4xi1>) {
  // expected-error @+1 {{result of size 5 cannot hold more positions than the mask has (4)}}
  %i = dyn.rt.select %m : tensor<4xi1> -> tensor<5xi32>
  return
}

// -----

func.func @gather_rows_type(%x: tensor<?x4xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{result 'tensor<?x4xf16>' must have the rank and element type of 'tensor<?x4xf32>'}}
  %r = dyn.rt.gather_rows %x[%i] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x4xf16>
  return
}

// -----

func.func @gather_rows_shape(%x: tensor<?x4xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{result has shape [?, 3], expected [?, 4] (rows of the batch)}}
  %r = dyn.rt.gather_rows %x[%i] : tensor<?x4xf32>, tensor<?xi32> -> tensor<?x3xf32>
  return
}

// -----

func.func @gather_rows_count(%x: tensor<?x4xf32>, %i: tensor<3xi32>) {
  // expected-error @+1 {{result must have one row per index}}
  %r = dyn.rt.gather_rows %x[%i] : tensor<?x4xf32>, tensor<3xi32> -> tensor<2x4xf32>
  return
}

// -----

func.func @scatter_rows_shape(%x: tensor<?x4xf32>, %r: tensor<?x2xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{'rows' has shape [?, 2], expected [?, 4] (rows of the batch)}}
  %y = dyn.rt.scatter_rows %r into %x[%i] : tensor<?x2xf32>, tensor<?xi32> -> tensor<?x4xf32>
  return
}

// -----

func.func @scatter_rows_count(%x: tensor<?x4xf32>, %r: tensor<2x4xf32>, %i: tensor<3xi32>) {
  // expected-error @+1 {{'rows' must have one row per index}}
  %y = dyn.rt.scatter_rows %r into %x[%i] : tensor<2x4xf32>, tensor<3xi32> -> tensor<?x4xf32>
  return
}

// -----

func.func @scatter_rows_rank(%x: tensor<?x4xf32>, %r: tensor<?xf32>, %i: tensor<?xi32>) {
  // expected-error @+1 {{'rows' 'tensor<?xf32>' must have the rank and element type of 'tensor<?x4xf32>'}}
  %y = dyn.rt.scatter_rows %r into %x[%i] : tensor<?xf32>, tensor<?xi32> -> tensor<?x4xf32>
  return
}

// -----

func.func @count_empty_name(%n: index) {
  // expected-error @+1 {{statistic name must not be empty}}
  dyn.rt.count %n {name = ""} : index
  return
}

// -----

func.func @count_dynamic_tensor(%c: tensor<?xi32>) {
  // expected-error @+1 {{a tensor of counts needs a static size (one statistic per entry)}}
  dyn.rt.count %c {name = "x"} : tensor<?xi32>
  return
}

// -----

// The dyn.* attributes are checked where they appear (DynAttrNames.h).
// expected-error @+1 {{unknown dyn attribute 'dyn.modle'}}
module attributes {dyn.modle = "m"} {}

// -----

// expected-error @+1 {{'dyn.model' must be a string}}
module attributes {dyn.model = 3} {}

// -----

module {
  // expected-error @+1 {{'dyn.model' belongs on a module}}
  func.func @f() attributes {dyn.model = "m"} { return }
}

// -----

// expected-error @+1 {{'dyn.stats' must be an array of statistic names}}
module attributes {dyn.stats = [1]} {}

// -----

// expected-error @+1 {{'dyn.dims': dim 'B' needs bounds array<i64: min, max> with 1 <= min <= max}}
func.func @dims(%x: tensor<?xf32>) attributes {dyn.dims = {B = array<i64: 4, 2>}} { return }

// -----

// expected-error @+1 {{'dyn.dims' must map dim names to [min, max]}}
func.func @dims_kind() attributes {dyn.dims = [1, 2]} { return }

// -----

// expected-error @+1 {{'dyn.subgraph' is a unit attribute}}
func.func @sg() attributes {dyn.subgraph = 1} { return }

// -----

// expected-error @+1 {{'dyn.region' must name the region op it was outlined from (dyn.gate, dyn.cond or dyn.early_exit), got 'dyn.moe'}}
func.func @region() attributes {dyn.region = "dyn.moe"} { return }

// -----

// expected-error @+1 {{'dyn.workspace_slots' must be a non-negative integer}}
func.func @slots() attributes {dyn.workspace_slots = -1} { return }

// -----

// expected-error @+1 {{'dyn.name' belongs on a function argument or result}}
func.func @name() attributes {dyn.name = "x"} { return }

// -----

// expected-error @+1 {{'dyn.shape' of argument #0 must give one size or dim name per dim of 'tensor<?x4xf32>'}}
func.func @shape(%x: tensor<?x4xf32> {dyn.shape = ["B"]}) { return }

// -----

// expected-error @+1 {{'dyn.bounds' of argument #0 must give one non-negative bound per dim of 'tensor<?x4xf32>'}}
func.func @bounds(%x: tensor<?x4xf32> {dyn.bounds = array<i64: 8>}) { return }

// -----

// expected-error @+1 {{'dyn.param' must name a dyn.param.def (@name)}}
func.func @param(%t: f32 {dyn.param = "t"}) { return }

// -----

// expected-error @+1 {{'dyn.weight_panel' of argument #0 must be the panel width of a weight of type [(E,) N / panel, K, panel], got 'tensor<4x8xf32>'}}
func.func @weight_panel_arg(%w: tensor<4x8xf32> {dyn.weight = "w", dyn.weight_panel = 8 : i64}) { return }

// -----

// expected-error @+1 {{'dyn.weight_panel' of argument #0 must be the panel width}}
func.func @weight_panel_not_weight(%w: tensor<1x8x8xf32> {dyn.weight_panel = 8 : i64}) { return }

// -----

// expected-error @+1 {{'dyn.weight' must be a string}}
func.func @weight(%w: tensor<4xf32> {dyn.weight = 1}) { return }

// -----

// expected-error @+1 {{unknown dyn argument attribute 'dyn.bound'}}
func.func @arg_unknown(%x: tensor<4xf32> {dyn.bound = array<i64: 4>}) { return }

// -----

// expected-error @+1 {{'dyn.bounds' of result #0 must give one non-negative bound per dim of 'tensor<?xf32>'}}
func.func @result_bounds(%x: tensor<?xf32>) -> (tensor<?xf32> {dyn.bounds = array<i64: -1>}) {
  return %x : tensor<?xf32>
}

// -----

// expected-error @+1 {{unknown dyn result attribute 'dyn.shape'}}
func.func @result_unknown(%x: tensor<?xf32>) -> (tensor<?xf32> {dyn.shape = ["B"]}) {
  return %x : tensor<?xf32>
}

// -----

func.func @count_at_without_slots(%n: index, %e: index) {
  // expected-error @+1 {{'at' and 'slots' go together: a slot chosen at run time needs the size of its family}}
  dyn.rt.count %n at(%e) {name = "moe.expert_tokens"} : index
  return
}

// -----

func.func @count_tensor_at(%c: tensor<2xi32>, %e: index) {
  // expected-error @+1 {{'at' counts an index value, not a tensor of counts}}
  dyn.rt.count %c at(%e) {name = "moe.expert_tokens", slots = 2 : i64} : tensor<2xi32>
  return
}
