// RUN: dync-opt %s -convert-dyn-to-linalg=moe-on-device=true -split-input-file | FileCheck %s

// MoE dispatch on the device (the CUDA target's form): parallel generics
// only, each element deciding from the routing, so no host loop is left.
// The assignments (p = choice * T + token, the grant order) are cut into
// chunks of 64; each (chunk, expert) counts its assignments, and `before`
// sums the chunks ahead. An assignment's place in its expert's queue is
// `before` at its chunk plus the same-expert assignments ahead of it in the
// chunk, kept below the capacity; the offsets sum the experts' kept counts;
// a row finds its chunk from `before`, then its token in the chunk.
// CHECK-LABEL: func.func @dispatch
// CHECK:       %[[CAP:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK:       %[[NCHUNKS:.*]] = arith.divui %{{.*}}, %[[C64:.*]] : index
// CHECK:       %[[INCHUNK:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x4xi32>)
// CHECK:       %[[END:.*]] = arith.minui
// CHECK:       scf.for %{{.*}} = %{{.*}} to %[[END]]
// CHECK:       %[[BEFORE:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x4xi32>)
// CHECK:       tensor.extract %[[INCHUNK]]
// The place of each assignment.
// CHECK:       %[[LOCAL:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2xi32>)
// CHECK:       %[[MINE:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK:       %[[CHUNK:.*]] = arith.divui %[[MINE]], %{{.*}} : index
// CHECK:       %[[BASE:.*]] = tensor.extract %[[BEFORE]][%[[CHUNK]], %{{.*}}] : tensor<?x4xi32>
// CHECK:       %[[AHEAD:.*]] = scf.for %{{.*}} = %{{.*}} to %[[MINE]]
// CHECK:       %[[RANK:.*]] = arith.addi %[[BASE]], %[[AHEAD]] : i32
// CHECK:       %[[KEPT:.*]] = arith.cmpi slt, %[[RANK]], %[[CAP]] : i32
// CHECK:       arith.select %[[KEPT]], %[[RANK]], %{{.*}} : i32
// Each expert's kept count, then the offsets.
// CHECK:       %[[COUNTS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<4xi32>)
// CHECK:       tensor.extract %[[BEFORE]][%[[NCHUNKS]], %{{.*}}]
// CHECK:       arith.minsi %{{.*}}, %[[CAP]] : i32
// CHECK:       %[[OFFSETS:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<5xi32>)
// CHECK:       tensor.extract %[[COUNTS]]
// The slots, then each row's token and the rows gathered.
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<?x2xi32>)
// CHECK:       tensor.extract %[[LOCAL]]
// CHECK:       %[[TOKEN:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?xi32>)
// CHECK:       scf.for %{{.*}} = %{{.*}} to %[[NCHUNKS]]
// CHECK:       tensor.extract %[[BEFORE]]
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<?x8xf32>)
// CHECK:       tensor.extract %[[TOKEN]]
// CHECK-NOT:   dyn.moe.dispatch
// CHECK:       return
func.func @dispatch(%x: tensor<?x8xf32>, %i: tensor<?x2xi32>) -> (tensor<?x8xf32>, tensor<5xi32>, tensor<?x2xi32>) {
  %r, %o, %s = dyn.moe.dispatch %x, %i {num_experts = 4 : i64, capacity = 3 : i64}
      : tensor<?x8xf32>, tensor<?x2xi32> -> tensor<?x8xf32>, tensor<5xi32>, tensor<?x2xi32>
  return %r, %o, %s : tensor<?x8xf32>, tensor<5xi32>, tensor<?x2xi32>
}

// -----

// Experts on the device: each row's expert from the offsets (-1 past
// offsets[E]), then the hidden layer as a loop mapped to GPU threads, a
// thread per (row, unit) that skips unowned rows and counts a row for its
// expert from unit 0, in the branch that computes it; the gate (w3) and
// biases read at the row's expert; then the output layer, a thread per
// (row, column).
// CHECK-LABEL: func.func @experts
// CHECK:       %[[EXPERT:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<?xi32>)
// CHECK:       %[[HIDDEN:.*]] = scf.forall (%[[R:.*]], %[[J:.*]]) in (%{{.*}}, 4) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<?x4xf32>)
// CHECK:       %[[E32:.*]] = tensor.extract %[[EXPERT]][%[[R]]] : tensor<?xi32>
// CHECK:       %[[OWNED:.*]] = arith.cmpi sge, %[[E32]], %{{.*}} : i32
// CHECK:       scf.if %[[OWNED]] -> (f32)
// CHECK:       %[[E:.*]] = arith.index_cast %[[E32]] : i32 to index
// CHECK:       %[[UNIT0:.*]] = arith.cmpi eq, %[[J]], %{{.*}} : index
// CHECK:       scf.if %[[UNIT0]] {
// CHECK:       dyn.rt.count %{{.*}} at(%[[E]]) {name = "moe.expert_tokens", slots = 2 : i64} : index
// CHECK:       tensor.extract %arg2[%[[E]], %[[J]], %{{.*}}] : tensor<2x4x8xf32>
// CHECK:       tensor.extract %arg5[%[[E]], %[[J]]] : tensor<2x4xf32>
// CHECK:       tensor.extract %arg4[%[[E]], %[[J]], %{{.*}}] : tensor<2x4x8xf32>
// CHECK:       mapping = [#gpu.thread<y>, #gpu.thread<x>]
// CHECK:       linalg.generic {{.*}} outs(%{{.*}} : tensor<?x8xf32>)
// CHECK:       tensor.extract %[[HIDDEN]]
// CHECK:       tensor.extract %arg3[%{{.*}}, %{{.*}}, %{{.*}}] : tensor<2x8x4xf32>
// CHECK:       tensor.extract %arg6
// CHECK-NOT:   dyn.moe.experts
func.func @experts(%rows: tensor<?x8xf32>, %off: tensor<3xi32>, %w1: tensor<2x4x8xf32>, %w2: tensor<2x8x4xf32>, %w3: tensor<2x4x8xf32>, %b1: tensor<2x4xf32>, %b2: tensor<2x8xf32>) -> tensor<?x8xf32> {
  %y = dyn.moe.experts %rows, %off w1(%w1) w2(%w2) w3(%w3) b1(%b1) b2(%b2) {activation = #dyn.activation<silu>}
      : (tensor<?x8xf32>, tensor<3xi32>, tensor<2x4x8xf32>, tensor<2x8x4xf32>, tensor<2x4x8xf32>, tensor<2x4xf32>, tensor<2x8xf32>) -> tensor<?x8xf32> loc("moe")
  return %y : tensor<?x8xf32>
}

// -----

// Not f32: the loop over experts (on the host), as on the CPU.
// CHECK-LABEL: func.func @half
// CHECK:       scf.for
// CHECK:       dyn.rt.count %{{.*}} at(%{{.*}}) {name = "half.expert_tokens", slots = 2 : i64} : index
// CHECK-NOT:   scf.forall
func.func @half(%rows: tensor<?x8xbf16>, %off: tensor<3xi32>, %w1: tensor<2x4x8xbf16>, %w2: tensor<2x8x4xbf16>) -> tensor<?x8xbf16> {
  %y = dyn.moe.experts %rows, %off w1(%w1) w2(%w2) {activation = #dyn.activation<relu>}
      : (tensor<?x8xbf16>, tensor<3xi32>, tensor<2x4x8xbf16>, tensor<2x8x4xbf16>) -> tensor<?x8xbf16> loc("half")
  return %y : tensor<?x8xbf16>
}
