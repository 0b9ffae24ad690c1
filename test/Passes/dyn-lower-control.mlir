// RUN: dync-opt %s -dyn-lower-control -split-input-file -verify-diagnostics | FileCheck %s

// A per-sample gate: mask, positions of the samples that run, compaction, the
// body called only when a sample runs, merge back; the mask result is the
// mask itself.
// CHECK-LABEL: func.func @gate_per_sample
// CHECK-SAME:  (%[[X:.*]]: tensor<?x8xf32>, %[[S:.*]]: tensor<?xf32>, %[[T:.*]]: f32)
// CHECK:       %[[TS:.*]] = tensor.splat %[[T]]
// CHECK:       %[[MASK:.*]] = arith.cmpf ogt, %[[S]], %[[TS]] : tensor<?xf32>
// CHECK:       %[[SEL:.*]] = dyn.rt.select %[[MASK]] : tensor<?xi1> -> tensor<?xi32>
// The run statistics: the samples here, and in the body, the rows it is
// given (counted where the work runs).
// CHECK:       dyn.rt.count %{{.*}} {name = "gate.samples"} : index
// CHECK:       %[[N:.*]] = tensor.dim %[[SEL]]
// CHECK:       %[[ANY:.*]] = arith.cmpi sgt, %[[N]]
// CHECK:       %[[Y:.*]] = scf.if %[[ANY]] -> (tensor<?x8xf32>) {
// CHECK:         %[[LIVE:.*]] = dyn.rt.gather_rows %[[X]][%[[SEL]]]
// CHECK:         %[[OUT:.*]] = func.call @gate_per_sample.gate.body(%[[LIVE]])
// CHECK:         %[[M:.*]] = dyn.rt.scatter_rows %[[OUT]] into %[[X]][%[[SEL]]]
// CHECK:         scf.yield %[[M]]
// CHECK:       } else {
// CHECK:         scf.yield %[[X]]
// CHECK:       return %[[Y]], %[[MASK]]
// CHECK:       func.func private @gate_per_sample.gate.body(%[[H:.*]]: tensor<?x8xf32>) -> tensor<?x8xf32> attributes {dyn.region = "dyn.gate"}
// CHECK:       %[[ROWS:.*]] = tensor.dim %[[H]], %c0
// CHECK:       dyn.rt.count %[[ROWS]] {name = "gate.samples_run"} : index
// CHECK:       math.tanh
// CHECK:       return
func.func @gate_per_sample(%x: tensor<?x8xf32>, %s: tensor<?xf32>, %t: f32)
    -> (tensor<?x8xf32>, tensor<?xi1>) {
  %y, %m = dyn.gate %x score(%s : tensor<?xf32>) threshold(%t) : tensor<?x8xf32> -> tensor<?xi1> {
  ^bb0(%h: tensor<?x8xf32>):
    %r = math.tanh %h : tensor<?x8xf32>
    dyn.yield %r : tensor<?x8xf32>
  }
  return %y, %m : tensor<?x8xf32>, tensor<?xi1>
}

// -----

// Per token: tokens are rows; [B, S, d] is gated as [B*S, d] and reshaped back.
// CHECK-LABEL: func.func @gate_per_token
// CHECK:       %[[ROWS:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<?x4x8xf32> into tensor<?x8xf32>
// CHECK:       %[[M:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1]] : tensor<?x4xi1> into tensor<?xi1>
// CHECK:       dyn.rt.select %[[M]]
// CHECK:       scf.if
// CHECK:       tensor.expand_shape {{.*}} : tensor<?x8xf32> into tensor<?x4x8xf32>
func.func @gate_per_token(%x: tensor<?x4x8xf32>, %s: tensor<?x4xf32>, %t: f32) -> tensor<?x4x8xf32> {
  %y = dyn.gate %x score(%s : tensor<?x4xf32>) threshold(%t) : tensor<?x4x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    dyn.yield %h : tensor<?x8xf32>
  }
  return %y : tensor<?x4x8xf32>
}

// -----

// A scalar cond is an scf.if that calls one branch or the other.
// CHECK-LABEL: func.func @cond_scalar
// CHECK:       scf.if %{{.*}} -> (tensor<4xf32>) {
// CHECK:         func.call @cond_scalar.cond.then
// CHECK:       } else {
// CHECK:         func.call @cond_scalar.cond.else
// CHECK-DAG:   func.func private @cond_scalar.cond.then{{.*}}attributes {dyn.region = "dyn.cond"}
// CHECK-DAG:   func.func private @cond_scalar.cond.else{{.*}}attributes {dyn.region = "dyn.cond"}
func.func @cond_scalar(%p: i1, %x: tensor<4xf32>) -> tensor<4xf32> {
  %r = dyn.cond %p (%x) : i1, (tensor<4xf32>) -> tensor<4xf32> then {
  ^bb0(%a: tensor<4xf32>):
    %e = math.exp %a : tensor<4xf32>
    dyn.yield %e : tensor<4xf32>
  } else {
  ^bb0(%a: tensor<4xf32>):
    dyn.yield %a : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}

// -----

// Per sample: each branch runs on its own samples and writes its rows of the
// result; a branch no sample takes is not called.
// CHECK-LABEL: func.func @cond_per_sample
// CHECK-SAME:  (%[[P:.*]]: tensor<?xi1>, %[[X:.*]]: tensor<?x3xf32>)
// CHECK:       %[[NOT:.*]] = arith.xori %[[P]]
// CHECK:       %[[TI:.*]] = dyn.rt.select %[[P]]
// CHECK:       %[[EI:.*]] = dyn.rt.select %[[NOT]]
// CHECK:       %[[INIT:.*]] = tensor.empty(%{{.*}}) : tensor<?x3xf32>
// CHECK:       %[[R1:.*]] = scf.if
// CHECK:         dyn.rt.gather_rows %[[X]][%[[TI]]]
// CHECK:         func.call @cond_per_sample.cond.then
// CHECK:         dyn.rt.scatter_rows %{{.*}} into %[[INIT]][%[[TI]]]
// CHECK:       %[[R2:.*]] = scf.if
// CHECK:         dyn.rt.gather_rows %[[X]][%[[EI]]]
// CHECK:         func.call @cond_per_sample.cond.else
// CHECK:         dyn.rt.scatter_rows %{{.*}} into %[[R1]][%[[EI]]]
// CHECK:       return %[[R2]]
// Each branch counts the samples it is given.
// CHECK-DAG:   dyn.rt.count %{{.*}} {name = "cond.samples_then"}
// CHECK-DAG:   dyn.rt.count %{{.*}} {name = "cond.samples_else"}
func.func @cond_per_sample(%p: tensor<?xi1>, %x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  %r = dyn.cond %p (%x) : tensor<?xi1>, (tensor<?x3xf32>) -> tensor<?x3xf32> then {
  ^bb0(%a: tensor<?x3xf32>):
    %e = math.exp %a : tensor<?x3xf32>
    dyn.yield %e : tensor<?x3xf32>
  } else {
  ^bb0(%a: tensor<?x3xf32>):
    dyn.yield %a : tensor<?x3xf32>
  }
  return %r : tensor<?x3xf32>
}

// -----

// Early exit: stage 0 runs on everyone; its confidence decides who exits;
// exited samples' logits and stage index go to their original positions; the
// rest is compacted and stage 1 runs only if anyone is left, where everyone
// exits.
// CHECK-LABEL: func.func @early_exit_two_stages
// CHECK-SAME:  (%[[X:.*]]: tensor<?x8xf32>, %[[T:.*]]: f32)
// CHECK:       %[[POS:.*]] = dyn.rt.iota %[[X]]
// CHECK:       %[[L0:.*]] = tensor.empty(%{{.*}}) : tensor<?x3xf32>
// CHECK:       %[[I0:.*]] = tensor.empty(%{{.*}}) : tensor<?xi32>
// CHECK:       %[[S0:.*]]:2 = call @early_exit_two_stages.early_exit.stage0(%[[X]])
// CHECK:       math.exp
// CHECK:       arith.divf
// CHECK:       arith.maximumf
// CHECK:       %[[EXITS:.*]] = arith.cmpf oge
// CHECK:       %[[STAYS:.*]] = arith.xori %[[EXITS]]
// CHECK:       %[[EX:.*]] = dyn.rt.select %[[EXITS]]
// CHECK:       %[[KEEP:.*]] = dyn.rt.select %[[STAYS]]
// CHECK:       %[[EXPOS:.*]] = dyn.rt.gather_rows %[[POS]][%[[EX]]]
// CHECK:       %[[EXL:.*]] = dyn.rt.gather_rows %[[S0]]#1[%[[EX]]]
// CHECK:       %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK:       %[[STAGE0:.*]] = tensor.splat %[[ZERO]]
// CHECK:       %[[L1:.*]] = dyn.rt.scatter_rows %[[EXL]] into %[[L0]][%[[EXPOS]]]
// CHECK:       %[[I1:.*]] = dyn.rt.scatter_rows %[[STAGE0]] into %[[I0]][%[[EXPOS]]]
// CHECK:       %[[H1:.*]] = dyn.rt.gather_rows %[[S0]]#0[%[[KEEP]]]
// CHECK:       %[[POS1:.*]] = dyn.rt.gather_rows %[[POS]][%[[KEEP]]]
// CHECK:       %[[R:.*]]:2 = scf.if %{{.*}} -> (tensor<?x3xf32>, tensor<?xi32>) {
// CHECK:         %[[S1:.*]]:2 = func.call @early_exit_two_stages.early_exit.stage1(%[[H1]])
// CHECK:         %[[ONE:.*]] = arith.constant 1 : i32
// CHECK:         dyn.rt.scatter_rows %[[S1]]#1 into %[[L1]][%[[POS1]]]
// CHECK:         dyn.rt.scatter_rows %{{.*}} into %[[I1]][%[[POS1]]]
// CHECK:       } else {
// CHECK:         scf.yield %[[L1]], %[[I1]]
// CHECK:       return %[[R]]#0, %[[R]]#1
// Each stage counts the samples it is given.
// CHECK-DAG:   dyn.rt.count %{{.*}} {name = "early_exit.stage0_samples"}
// CHECK-DAG:   dyn.rt.count %{{.*}} {name = "early_exit.stage1_samples"}
func.func @early_exit_two_stages(%x: tensor<?x8xf32>, %t: f32) -> (tensor<?x3xf32>, tensor<?xi32>) {
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x8xf32> -> tensor<?x3xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x8xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x8xf32>
    %s = tensor.extract_slice %h[0, 0] [%n, 3] [1, 1] : tensor<?x8xf32> to tensor<?x3xf32>
    dyn.yield %h, %s : tensor<?x8xf32>, tensor<?x3xf32>
  }, {
  ^bb0(%h: tensor<?x8xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x8xf32>
    %s = tensor.extract_slice %h[0, 5] [%n, 3] [1, 1] : tensor<?x8xf32> to tensor<?x3xf32>
    dyn.yield %h, %s : tensor<?x8xf32>, tensor<?x3xf32>
  }
  return %l, %i : tensor<?x3xf32>, tensor<?xi32>
}

// -----

// The entropy criterion: Σ p·log p with 0·log 0 = 0; the gate criterion:
// sigmoid of the stage's learned score.
// CHECK-LABEL: func.func @early_exit_criteria
// CHECK:       math.exp
// CHECK:       math.log
// CHECK:       arith.select
// CHECK:       arith.cmpf oge
// CHECK:       math.exp
// CHECK:       arith.divf
// CHECK:       arith.cmpf oge
func.func @early_exit_criteria(%x: tensor<?x3xf32>, %t: f32) -> (tensor<?x3xf32>, tensor<?xi32>, tensor<?x3xf32>, tensor<?xi32>) {
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<entropy>}
      : tensor<?x3xf32> -> tensor<?x3xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x3xf32>):
    dyn.yield %h, %h : tensor<?x3xf32>, tensor<?x3xf32>
  }, {
  ^bb0(%h: tensor<?x3xf32>):
    dyn.yield %h, %h : tensor<?x3xf32>, tensor<?x3xf32>
  }
  %l2, %i2 = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<gate>}
      : tensor<?x3xf32> -> tensor<?x3xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x3xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x3xf32>
    %g = tensor.extract_slice %h[0, 0] [%n, 1] [1, 1] : tensor<?x3xf32> to tensor<?xf32>
    dyn.yield %h, %h, %g : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?xf32>
  }, {
  ^bb0(%h: tensor<?x3xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x3xf32>
    %g = tensor.extract_slice %h[0, 0] [%n, 1] [1, 1] : tensor<?x3xf32> to tensor<?xf32>
    dyn.yield %h, %h, %g : tensor<?x3xf32>, tensor<?x3xf32>, tensor<?xf32>
  }
  return %l, %i, %l2, %i2 : tensor<?x3xf32>, tensor<?xi32>, tensor<?x3xf32>, tensor<?xi32>
}

// -----

// MoE: tokens as rows, router projection, route, dispatch, grouped experts,
// combine, the shared expert as dense code, counts from the group offsets.
// CHECK-LABEL: func.func @moe_shared
// CHECK:       %[[FLAT:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1], [2]] : tensor<?x4x8xf32> into tensor<?x8xf32>
// CHECK:       %[[W:.*]], %[[IDX:.*]] = dyn.moe.route %{{.*}} {top_k = 2 : i64} : tensor<?x4xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
// CHECK:       %[[ROWS:.*]], %[[OFF:.*]], %[[SLOTS:.*]] = dyn.moe.dispatch %[[FLAT]], %[[IDX]] {capacity_factor = 1.500000e+00 : f64, num_experts = 4 : i64}
// CHECK:       %[[OUT:.*]] = dyn.moe.experts %[[ROWS]], %[[OFF]] w1(%{{.*}}) w2(%{{.*}}) w3(%{{.*}}) {activation = #dyn.activation<silu>}
// CHECK:       %[[Y:.*]] = dyn.moe.combine %[[OUT]], %[[SLOTS]], %[[W]]
// CHECK:       linalg.generic
// CHECK:       arith.addf
// CHECK:       tensor.expand_shape {{.*}} : tensor<?x8xf32> into tensor<?x4x8xf32>
// CHECK:       %[[HI:.*]] = tensor.extract_slice %[[OFF]][1] [4] [1]
// CHECK:       %[[LO:.*]] = tensor.extract_slice %[[OFF]][0] [4] [1]
// CHECK:       %[[COUNTS:.*]] = arith.subi %[[HI]], %[[LO]] : tensor<4xi32>
// CHECK:       dyn.rt.count %{{.*}} {name = "moe.tokens"} : index
// CHECK-NOT:   expert_tokens
// CHECK:       return %{{.*}}, %[[COUNTS]]
func.func @moe_shared(%x: tensor<?x4x8xf32>, %r: tensor<4x8xf32>, %w1: tensor<4x16x8xf32>,
    %w2: tensor<4x8x16xf32>, %w3: tensor<4x16x8xf32>, %s1: tensor<6x8xf32>,
    %s2: tensor<8x6xf32>, %s3: tensor<6x8xf32>) -> (tensor<?x4x8xf32>, tensor<4xi32>) {
  %y, %c = dyn.moe %x router(%r) w1(%w1) w2(%w2) w3(%w3) shared_w1(%s1) shared_w2(%s2) shared_w3(%s3)
      {top_k = 2 : i64, activation = #dyn.activation<silu>, capacity_factor = 1.5 : f64}
      : (tensor<?x4x8xf32>, tensor<4x8xf32>, tensor<4x16x8xf32>, tensor<4x8x16xf32>, tensor<4x16x8xf32>,
         tensor<6x8xf32>, tensor<8x6xf32>, tensor<6x8xf32>) -> (tensor<?x4x8xf32>, tensor<4xi32>)
  return %y, %c : tensor<?x4x8xf32>, tensor<4xi32>
}

// -----

// A fixed capacity goes to the dispatch as it is.
// CHECK-LABEL: func.func @moe_fixed_capacity
// CHECK:       dyn.moe.dispatch %{{.*}}, %{{.*}} {capacity = 2 : i64, num_experts = 4 : i64}
func.func @moe_fixed_capacity(%x: tensor<?x8xf32>, %r: tensor<4x8xf32>, %w1: tensor<4x16x8xf32>,
    %w2: tensor<4x8x16xf32>) -> tensor<?x8xf32> {
  %y = dyn.moe %x router(%r) w1(%w1) w2(%w2)
      {top_k = 1 : i64, activation = #dyn.activation<relu>, capacity = 2 : i64}
      : (tensor<?x8xf32>, tensor<4x8xf32>, tensor<4x16x8xf32>, tensor<4x8x16xf32>) -> tensor<?x8xf32>
  return %y : tensor<?x8xf32>
}

// -----

// Nesting: a cond inside a gate body, and an MoE inside an early-exit stage.
// Each outlined region is lowered in turn.
// CHECK-LABEL: func.func @nested
// CHECK:       func.call @nested.g.body
// CHECK:       call @nested.ee.stage0
// CHECK-LABEL: func.func private @nested.ee.stage0
// CHECK:       dyn.moe.dispatch
// CHECK:       dyn.moe.experts
// CHECK-NOT:   dyn.moe {{.*}}router
// CHECK-LABEL: func.func private @nested.g.body
// CHECK:       dyn.rt.select
// CHECK:       func.call @nested.g.body.c.then
// CHECK:       func.call @nested.g.body.c.else
// CHECK-NOT:   dyn.cond %
func.func @nested(%x: tensor<?x8xf32>, %s: tensor<?xf32>, %p: tensor<?xi1>, %t: f32,
                  %r: tensor<2x8xf32>, %w1: tensor<2x4x8xf32>, %w2: tensor<2x8x4xf32>)
    -> (tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32>) {
  %y = dyn.gate %x score(%s : tensor<?xf32>) threshold(%t) : tensor<?x8xf32> {
  ^bb0(%h: tensor<?x8xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x8xf32>
    %zero = arith.constant 0.0 : f32
    %z = tensor.splat %zero[%n] : tensor<?xf32>
    %first = tensor.extract_slice %h[0, 0] [%n, 1] [1, 1] : tensor<?x8xf32> to tensor<?xf32>
    %q = arith.cmpf ogt, %first, %z : tensor<?xf32>
    %o = dyn.cond %q (%h) : tensor<?xi1>, (tensor<?x8xf32>) -> tensor<?x8xf32> then {
    ^bb0(%a: tensor<?x8xf32>):
      %e = math.exp %a : tensor<?x8xf32>
      dyn.yield %e : tensor<?x8xf32>
    } else {
    ^bb0(%a: tensor<?x8xf32>):
      dyn.yield %a : tensor<?x8xf32>
    } loc("c")
    dyn.yield %o : tensor<?x8xf32>
  } loc("g")
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x8xf32> -> tensor<?x8xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x8xf32>):
    %r0 = dyn.weight "r" : tensor<2x8xf32>
    %a0 = dyn.weight "w1" : tensor<2x4x8xf32>
    %b0 = dyn.weight "w2" : tensor<2x8x4xf32>
    %m = dyn.moe %h router(%r0) w1(%a0) w2(%b0) {top_k = 1 : i64, activation = #dyn.activation<relu>}
        : (tensor<?x8xf32>, tensor<2x8xf32>, tensor<2x4x8xf32>, tensor<2x8x4xf32>) -> tensor<?x8xf32>
    dyn.yield %m, %m : tensor<?x8xf32>, tensor<?x8xf32>
  } loc("ee")
  return %y, %l, %i : tensor<?x8xf32>, tensor<?x8xf32>, tensor<?xi32>
}

// -----

// Nesting: a per-sample gate inside an early-exit stage. The stage runs on the
// live (compacted) batch; inside it, the gate compacts again to the samples
// whose score passes.
// CHECK-LABEL: func.func @gate_in_stage
// CHECK:       call @gate_in_stage.ee.stage0
// CHECK-LABEL: func.func private @gate_in_stage.ee.stage0
// CHECK:       dyn.rt.select
// CHECK:       dyn.rt.gather_rows
// CHECK:       func.call @gate_in_stage.ee.stage0.g.body
// CHECK:       dyn.rt.scatter_rows
// CHECK-NOT:   dyn.gate %
func.func @gate_in_stage(%x: tensor<?x8xf32>, %t: f32) -> (tensor<?x8xf32>, tensor<?xi32>) {
  %l, %i = dyn.early_exit %x threshold(%t) {criterion = #dyn.criterion<max_softmax>}
      : tensor<?x8xf32> -> tensor<?x8xf32>, tensor<?xi32> {
  ^bb0(%h: tensor<?x8xf32>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %h, %c0 : tensor<?x8xf32>
    %s = tensor.extract_slice %h[0, 0] [%n, 1] [1, 1] : tensor<?x8xf32> to tensor<?xf32>
    %gt = arith.constant 0.5 : f32
    %g = dyn.gate %h score(%s : tensor<?xf32>) threshold(%gt) : tensor<?x8xf32> {
    ^bb0(%a: tensor<?x8xf32>):
      %e = math.exp %a : tensor<?x8xf32>
      dyn.yield %e : tensor<?x8xf32>
    } loc("g")
    dyn.yield %g, %g : tensor<?x8xf32>, tensor<?x8xf32>
  } loc("ee")
  return %l, %i : tensor<?x8xf32>, tensor<?xi32>
}

// -----

// A per-sample cond whose results have a dynamic dim after the batch: the
// merged result is allocated from the predicate's batch and the input's dim 1,
// which the branches' results are reified to.
// CHECK-LABEL: func.func @cond_dynamic_rows
// CHECK-SAME:  (%[[P:.*]]: tensor<?xi1>, %[[X:.*]]: tensor<?x?x24xf32>)
// CHECK-DAG:   %[[B:.*]] = tensor.dim %[[P]], %c0
// CHECK-DAG:   %[[S:.*]] = tensor.dim %[[X]], %c1
// CHECK:       tensor.empty(%[[B]], %[[S]]) : tensor<?x?x24xf32>
func.func @cond_dynamic_rows(%p: tensor<?xi1>, %x: tensor<?x?x24xf32>) -> tensor<?x?x24xf32> {
  %r = dyn.cond %p (%x) : tensor<?xi1>, (tensor<?x?x24xf32>) -> tensor<?x?x24xf32> then {
  ^bb0(%a: tensor<?x?x24xf32>):
    %t = math.tanh %a : tensor<?x?x24xf32>
    dyn.yield %t : tensor<?x?x24xf32>
  } else {
  ^bb0(%a: tensor<?x?x24xf32>):
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %n = tensor.dim %a, %c0 : tensor<?x?x24xf32>
    %m = tensor.dim %a, %c1 : tensor<?x?x24xf32>
    %e = tensor.empty(%n, %m) : tensor<?x?x24xf32>
    %z = arith.constant 0.0 : f32
    %f = linalg.fill ins(%z : f32) outs(%e : tensor<?x?x24xf32>) -> tensor<?x?x24xf32>
    dyn.yield %f : tensor<?x?x24xf32>
  }
  return %r : tensor<?x?x24xf32>
}

// -----

func.func @negative_cond_dynamic_rows(%p: tensor<?xi1>, %x: tensor<?x8xf32>, %m: tensor<?xi64>) -> tensor<?x?xf32> {
  // A result dim that depends on data (an index read from a tensor) is not
  // known before the branches run.
  // expected-error @+1 {{'dyn.cond' op of node 'cond' cannot be partitioned: dim 1 of its result #0 ('tensor<?x?xf32>') does not follow from the sizes of its inputs, so the merged result cannot be allocated before the branches run}}
  %r = dyn.cond %p (%x, %m) : tensor<?xi1>, (tensor<?x8xf32>, tensor<?xi64>) -> tensor<?x?xf32> then {
  ^bb0(%a: tensor<?x8xf32>, %b: tensor<?xi64>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %a, %c0 : tensor<?x8xf32>
    %k = tensor.extract %b[%c0] : tensor<?xi64>
    %ki = arith.index_cast %k : i64 to index
    %s = tensor.extract_slice %a[0, 0] [%n, %ki] [1, 1] : tensor<?x8xf32> to tensor<?x?xf32>
    dyn.yield %s : tensor<?x?xf32>
  } else {
  ^bb0(%a: tensor<?x8xf32>, %b: tensor<?xi64>):
    %c0 = arith.constant 0 : index
    %n = tensor.dim %a, %c0 : tensor<?x8xf32>
    %k = tensor.extract %b[%c0] : tensor<?xi64>
    %ki = arith.index_cast %k : i64 to index
    %s = tensor.extract_slice %a[0, 0] [%n, %ki] [1, 1] : tensor<?x8xf32> to tensor<?x?xf32>
    dyn.yield %s : tensor<?x?xf32>
  }
  return %r : tensor<?x?xf32>
}
