//===- DynOps.td - dyn dialect operations ------------------*- tablegen -*-===//

#ifndef DYNC_DIALECT_DYN_DYNOPS_TD
#define DYNC_DIALECT_DYN_DYNOPS_TD

include "dync/Dialect/Dyn/DynBase.td"
include "dync/Dialect/Dyn/DynAttrs.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ValueBoundsOpInterface.td"

//===----------------------------------------------------------------------===//
// Weights and runtime parameters
//===----------------------------------------------------------------------===//

def Dyn_WeightOp : Dyn_Op<"weight", [Pure]> {
  let summary = "A named weight tensor, bound at run time";
  let description = [{
    Refers to a tensor of the model's weights file by name. The compiled model
    does not contain the data: the runtime maps the weights file and checks
    that the tensor exists with this shape and element type before a run.
    Keeping weights out of the IR keeps a module small whatever the size of
    the model.

    ```mlir
    %w = dyn.weight "blk0.ffn.weight" : tensor<256x64xf32>
    ```

    With `panel = P`, the result is the stored `[N, K]` matrix (N a multiple
    of P) in panels of P rows: `[N / P, K, P]`, element `(j, k, t)` being
    the stored `(j * P + t, k)`; a stored `[E, N, K]` (the experts of a MoE
    layer) is `[E, N / P, K, P]`, each expert's matrix in panels. The runtime packs the tensor into that
    layout once, when it loads the model (`dyn-pack-weights` chooses it for
    the weights a matmul kernel streams).

    ```mlir
    %p = dyn.weight "blk0.ffn.weight" {panel = 32 : i64} : tensor<8x64x32xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, OptionalAttr<I64Attr>:$panel);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Dyn_ParamDefOp : Dyn_Op<"param.def", [Symbol]> {
  let summary = "Declares a named runtime parameter and its default";
  let description = [{
    A runtime parameter is a scalar (`f32` or `i32`) that compiled code reads
    and that a caller may set before a run without recompiling (an exit
    threshold, a gate threshold, a block budget). Its type is the type of its
    default value.

    ```mlir
    dyn.param.def @exit_threshold = 9.000000e-01 : f32
    dyn.param.def @block_budget = 4 : i32
    ```
  }];
  let arguments = (ins SymbolNameAttr:$sym_name,
                       TypedAttrInterface:$default_value);
  let assemblyFormat = "$sym_name `=` $default_value attr-dict";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The parameter's scalar type: `f32` or `i32`.
    ::mlir::Type getType() { return getDefaultValue().getType(); }
  }];
}

def Dyn_ParamReadOp : Dyn_Op<"param.read", [
    Pure, DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Reads the value of a runtime parameter for this run";
  let description = [{
    Returns the value the caller set for the parameter, or its default. The
    value is fixed for the whole of one run, so reads may be merged; it is
    never folded to the default.

    ```mlir
    %t = dyn.param.read @exit_threshold : f32
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$param);
  let results = (outs AnyTypeOf<[F32, I32]>:$result);
  let assemblyFormat = "$param attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Mixture-of-experts routing
//===----------------------------------------------------------------------===//

def Dyn_MoeOp : Dyn_Op<"moe", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure, AttrSizedOperandSegments]> {
  let summary = "Mixture-of-experts feed-forward layer";
  let description = [{
    Routes every token of `input` (shape `[..., d]`) to its `top_k` best
    experts and returns the weighted sum of their outputs:

    - `p = softmax(input · routerᵀ + router_bias)` over the `E` experts;
    - the `top_k` largest entries of `p` are chosen (ties: lower index) and,
      with `normalize` (the default), rescaled to sum to one;
    - expert `e` computes `act(x·w1[e]ᵀ + b1[e]) · w2[e]ᵀ + b2[e]`; with `w3`
      (a gated, SwiGLU-style expert) the activation is multiplied by
      `x·w3[e]ᵀ` before the second projection;
    - with `capacity_factor c`, each expert takes at most
      `ceil(c·(T·top_k)/E)` assignments (double precision, in that order), granted first choices first in token
      order; an assignment over capacity contributes nothing and the other
      weights are not renormalized. `capacity n` instead fixes the limit at
      `n` assignments per expert, whatever T (Switch Transformer's
      `expert_capacity`); granted in the same order. Without either routing
      is dropless;
    - a shared expert (`shared_w1`, `shared_w2`, and `shared_w3` when the
      experts are gated) runs on every token and is added unweighted.

    The optional second result counts, per expert, the assignments it
    computed (after drops). Weight layouts follow PyTorch: `router [E, d]`,
    `w1 [E, h, d]`, `w2 [E, d, h]`, `w3 [E, h, d]`, `b1 [E, h]`, `b2 [E, d]`,
    `shared_w1 [hs, d]`, `shared_w2 [d, hs]`, `shared_w3 [hs, d]`.

    ```mlir
    %y, %counts = dyn.moe %x router(%r) w1(%w1) w2(%w2)
        {top_k = 2 : i64, activation = #dyn.activation<relu>}
        : (tensor<?x64xf32>, tensor<8x64xf32>, tensor<8x256x64xf32>,
           tensor<8x64x256xf32>) -> (tensor<?x64xf32>, tensor<8xi32>)
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$input,
    2DTensorOf<[AnyFloat]>:$router,
    3DTensorOf<[AnyFloat]>:$w1,
    3DTensorOf<[AnyFloat]>:$w2,
    Optional<3DTensorOf<[AnyFloat]>>:$w3,
    Optional<1DTensorOf<[AnyFloat]>>:$router_bias,
    Optional<2DTensorOf<[AnyFloat]>>:$b1,
    Optional<2DTensorOf<[AnyFloat]>>:$b2,
    Optional<2DTensorOf<[AnyFloat]>>:$shared_w1,
    Optional<2DTensorOf<[AnyFloat]>>:$shared_w2,
    Optional<2DTensorOf<[AnyFloat]>>:$shared_w3,
    Optional<1DTensorOf<[AnyFloat]>>:$shared_b1,
    Optional<1DTensorOf<[AnyFloat]>>:$shared_b2,
    ConfinedAttr<I64Attr, [IntPositive]>:$top_k,
    DefaultValuedAttr<BoolAttr, "true">:$normalize,
    Dyn_ActivationAttr:$activation,
    OptionalAttr<F64Attr>:$capacity_factor,
    OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$capacity
  );
  let results = (outs AnyRankedTensor:$result,
                      Optional<1DTensorOf<[I32]>>:$expert_counts);
  let assemblyFormat = [{
    $input `router` `(` $router `)` `w1` `(` $w1 `)` `w2` `(` $w2 `)`
    (`w3` `(` $w3^ `)`)?
    (`router_bias` `(` $router_bias^ `)`)?
    (`b1` `(` $b1^ `)`)?
    (`b2` `(` $b2^ `)`)?
    (`shared_w1` `(` $shared_w1^ `)`)?
    (`shared_w2` `(` $shared_w2^ `)`)?
    (`shared_w3` `(` $shared_w3^ `)`)?
    (`shared_b1` `(` $shared_b1^ `)`)?
    (`shared_b2` `(` $shared_b2^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// Number of experts, from the router's leading dimension (dynamic if the
    /// router's shape is).
    int64_t getNumExperts() { return getRouter().getType().getDimSize(0); }
    bool isGated() { return static_cast<bool>(getW3()); }
    bool hasSharedExpert() { return static_cast<bool>(getSharedW1()); }
  }];
}

def Dyn_MoeRouteOp : Dyn_Op<"moe.route", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "Top-k routing of tokens to experts";
  let description = [{
    Takes router logits `[T, E]`, applies a softmax over the experts, and
    returns for each token the `top_k` largest probabilities in descending
    order (ties: lower expert index) and the chosen experts. With `normalize`
    the returned weights of a token are rescaled to sum to one.

    ```mlir
    %w, %idx = dyn.moe.route %logits {top_k = 2 : i64}
        : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[AnyFloat]>:$logits,
                       ConfinedAttr<I64Attr, [IntPositive]>:$top_k,
                       DefaultValuedAttr<BoolAttr, "true">:$normalize);
  let results = (outs 2DTensorOf<[AnyFloat]>:$weights,
                      2DTensorOf<[I32]>:$indices);
  let assemblyFormat = [{
    $logits attr-dict `:` type($logits) `->` type($weights) `,` type($indices)
  }];
  let hasVerifier = 1;
}

def Dyn_MoeDispatchOp : Dyn_Op<"moe.dispatch", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "Groups token rows by the expert they are routed to";
  let description = [{
    Given tokens `[T, d]` and their chosen experts `[T, k]`, returns:

    - `rows`: the token rows copied into expert-major order; rows of expert
      `e` are `offsets[e] ..< offsets[e+1]`, in token order. Only the first
      `offsets[E]` rows are meaningful; the leading dimension is an upper
      bound (`T·k`);
    - `offsets [E+1]`: the ragged group boundaries;
    - `slots [T, k]`: for each assignment, the row of `rows` that holds it,
      or `-1` if it was dropped by the capacity limit.

    With `capacity_factor c` each expert keeps at most `ceil(c·(T·k)/E)`
    assignments, granted slot by slot (all first choices in token order,
    then all second choices, ...); with `capacity n`, at most `n`, granted
    in the same order. Without either nothing is dropped.

    ```mlir
    %rows, %offsets, %slots = dyn.moe.dispatch %x, %idx {num_experts = 8 : i64}
        : tensor<?x64xf32>, tensor<?x2xi32>
        -> tensor<?x64xf32>, tensor<9xi32>, tensor<?x2xi32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[AnyFloat]>:$input,
                       2DTensorOf<[I32]>:$indices,
                       ConfinedAttr<I64Attr, [IntPositive]>:$num_experts,
                       OptionalAttr<F64Attr>:$capacity_factor,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$capacity);
  let results = (outs 2DTensorOf<[AnyFloat]>:$rows,
                      1DTensorOf<[I32]>:$offsets,
                      2DTensorOf<[I32]>:$slots);
  let assemblyFormat = [{
    $input `,` $indices attr-dict `:` type($input) `,` type($indices)
    `->` type($rows) `,` type($offsets) `,` type($slots)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

def Dyn_MoeExpertsOp : Dyn_Op<"moe.experts", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure, AttrSizedOperandSegments]> {
  let summary = "Runs each expert's feed-forward network on its ragged group";
  let description = [{
    Row `r` of `rows` with `offsets[e] <= r < offsets[e+1]` is transformed by
    expert `e`: `act(x·w1[e]ᵀ + b1[e]) (⊙ x·w3[e]ᵀ) · w2[e]ᵀ + b2[e]`. Rows at
    or past `offsets[E]` are not computed and their result is unspecified.
    The work done is proportional to `offsets[E]`, not to the buffer size.

    ```mlir
    %out = dyn.moe.experts %rows, %offsets w1(%w1) w2(%w2)
        {activation = #dyn.activation<silu>}
        : (tensor<?x64xf32>, tensor<9xi32>, tensor<8x256x64xf32>,
           tensor<8x64x256xf32>) -> tensor<?x64xf32>
    ```

    With `panel = P` (`dyn-pack-weights`), `w1`, `w2` and `w3` are in panels
    of P rows: `[E, h / P, d, P]`, `[E, d / P, h, P]`, `[E, h / P, d, P]`
    (see `dyn.weight`).
  }];
  let arguments = (ins 2DTensorOf<[AnyFloat]>:$rows,
                       1DTensorOf<[I32]>:$offsets,
                       TensorRankOf<[AnyFloat], [3, 4]>:$w1,
                       TensorRankOf<[AnyFloat], [3, 4]>:$w2,
                       Optional<TensorRankOf<[AnyFloat], [3, 4]>>:$w3,
                       Optional<2DTensorOf<[AnyFloat]>>:$b1,
                       Optional<2DTensorOf<[AnyFloat]>>:$b2,
                       Dyn_ActivationAttr:$activation,
                       OptionalAttr<I64Attr>:$panel);
  let results = (outs 2DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $rows `,` $offsets `w1` `(` $w1 `)` `w2` `(` $w2 `)`
    (`w3` `(` $w3^ `)`)? (`b1` `(` $b1^ `)`)? (`b2` `(` $b2^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Dyn_MoeCombineOp : Dyn_Op<"moe.combine", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "Weighted sum of each token's expert outputs";
  let description = [{
    `result[t] = Σ_j weights[t, j] · expert_rows[slots[t, j]]`, skipping
    assignments whose slot is `-1` (dropped).

    ```mlir
    %y = dyn.moe.combine %out, %slots, %w
        : tensor<?x64xf32>, tensor<?x2xi32>, tensor<?x2xf32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins 2DTensorOf<[AnyFloat]>:$expert_rows,
                       2DTensorOf<[I32]>:$slots,
                       2DTensorOf<[AnyFloat]>:$weights);
  let results = (outs 2DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $expert_rows `,` $slots `,` $weights attr-dict `:` type($expert_rows) `,`
    type($slots) `,` type($weights) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Per-sample control: gate, cond, early exit
//===----------------------------------------------------------------------===//

def Dyn_YieldOp : Dyn_Op<"yield", [
    Pure, Terminator,
    DeclareOpInterfaceMethods<RegionBranchTerminatorOpInterface, ["getMutableSuccessorOperands"]>,
    ParentOneOf<["GateOp", "CondOp", "EarlyExitOp"]>]> {
  let summary = "Returns values from a dyn region";
  let description = [{
    Terminates the region of `dyn.gate`, `dyn.cond` and `dyn.early_exit`.

    ```mlir
    dyn.yield %h : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "attr-dict ($values^ `:` type($values))?";
}

def Dyn_GateOp : Dyn_Op<"gate", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    DeclareOpInterfaceMethods<ReifyRankedShapedTypeOpInterface, ["reifyResultShapes"]>,
    IsolatedFromAbove, RecursiveMemoryEffects, SingleBlock,
    DeclareOpInterfaceMethods<RegionBranchOpInterface, ["getRegionInvocationBounds"]>,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "Runs a block only on the samples (or tokens) whose score passes";
  let description = [{
    `result[b] = body(input)[b]` where `score[b] > threshold`, else
    `input[b]` (the block is skipped and the sample passes through). The body
    is computed only for the samples that run it: its argument is the live
    batch, whose leading dimension is dynamic.

    The granularity follows from the score: a score of shape `[B]` gates
    whole samples; a score of shape `[B, S]` gates tokens, and the body then
    sees the selected tokens as rows `[?, rest...]` of the input with its two
    leading dimensions merged.

    The optional second result is the mask of samples (tokens) that ran.

    ```mlir
    %y, %ran = dyn.gate %x score(%s : tensor<?xf32>) threshold(%t)
        : tensor<?x64xf32> -> tensor<?xi1> {
      ^bb0(%h: tensor<?x64xf32>):
      %r = math.tanh %h : tensor<?x64xf32>
      dyn.yield %r : tensor<?x64xf32>
    }
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       TensorOf<[F32]>:$score,
                       F32:$threshold);
  let results = (outs AnyRankedTensor:$result,
                      Optional<TensorOf<[I1]>>:$mask);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $input `score` `(` $score `:` type($score) `)` `threshold` `(` $threshold `)`
    attr-dict `:` type($input) (`->` type($mask)^)? $body
  }];
  let hasRegionVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    /// True when the score is per token (`[B, S]`) rather than per sample.
    bool isPerToken() {
      return ::llvm::cast<::mlir::RankedTensorType>(getScore().getType())
                 .getRank() == 2;
    }
    /// The type the body sees: the input with its gated dimensions replaced
    /// by one dynamic (live) dimension.
    ::mlir::RankedTensorType getLiveType();
  }];
}

def Dyn_CondOp : Dyn_Op<"cond", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    
    IsolatedFromAbove, RecursiveMemoryEffects,
    DeclareOpInterfaceMethods<RegionBranchOpInterface, [
        "getEntrySuccessorOperands", "getRegionInvocationBounds", "areTypesCompatible"]>]> {
  let summary = "Two-way branch on a scalar or per-sample predicate";
  let description = [{
    With a scalar `i1` predicate, runs `then` or `else` on the operands and
    returns what it yields. With a per-sample predicate `tensor<Bxi1>`, every
    sample takes its own branch: each region sees only the samples that take
    it (the live batch, dynamic leading dimension), and the results are
    merged back in sample order. Both regions yield the same types.

    ```mlir
    %r = dyn.cond %p (%x) : i1, (tensor<4x8xf32>) -> tensor<4x8xf32> then {
    ^bb0(%a: tensor<4x8xf32>):
      dyn.yield %a : tensor<4x8xf32>
    } else {
    ^bb0(%a: tensor<4x8xf32>):
      %n = arith.negf %a : tensor<4x8xf32>
      dyn.yield %n : tensor<4x8xf32>
    }
    ```
  }];
  let arguments = (ins AnyTypeOf<[I1, 1DTensorOf<[I1]>]>:$predicate,
                       Variadic<AnyType>:$inputs);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$then_region,
                        SizedRegion<1>:$else_region);
  let assemblyFormat = [{
    $predicate ` ` `(` $inputs `)` attr-dict `:` type($predicate) `,`
    functional-type($inputs, $results) `then` $then_region `else` $else_region
  }];
  // Signatures are checked before RegionBranchOpInterface checks the values a
  // scalar cond forwards, so that a mismatch is reported in the op's terms.
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    bool isPerSample() {
      return ::llvm::isa<::mlir::RankedTensorType>(getPredicate().getType());
    }
  }];
}

def Dyn_EarlyExitOp : Dyn_Op<"early_exit", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    
    IsolatedFromAbove, RecursiveMemoryEffects,
    DeclareOpInterfaceMethods<RegionBranchOpInterface, ["getRegionInvocationBounds"]>]> {
  let summary = "Staged computation where each sample leaves at its first confident head";
  let description = [{
    Each region is one stage: it takes the hidden state `h` of the samples
    still live (dynamic leading dimension) and yields the next hidden state
    (same type), the logits of the stage's exit head `[?, C]`, and for the
    `gate` criterion a learned score `[?]`. A sample exits at the first stage
    whose confidence reaches `threshold`:

    - `max_softmax`: the largest softmax probability of the logits;
    - `entropy`: `Σ p·log p`, minus the entropy (higher is more confident);
    - `gate`: `sigmoid` of the stage's score.

    The last stage always exits. Results: the logits of each sample's exit
    head and the index of that stage (`i32`). Samples that exited are not
    computed further.

    ```mlir
    %logits, %idx = dyn.early_exit %x threshold(%t)
        {criterion = #dyn.criterion<max_softmax>}
        : tensor<?x64xf32> -> tensor<?x10xf32>, tensor<?xi32> {
    ^bb0(%h: tensor<?x64xf32>):
      ...
      dyn.yield %h1, %l1 : tensor<?x64xf32>, tensor<?x10xf32>
    }, {
    ^bb0(%h: tensor<?x64xf32>):
      ...
      dyn.yield %h2, %l2 : tensor<?x64xf32>, tensor<?x10xf32>
    }
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input, F32:$threshold,
                       Dyn_ExitCriterionAttr:$criterion);
  let results = (outs 2DTensorOf<[AnyFloat]>:$logits,
                      1DTensorOf<[I32]>:$exit_index);
  let regions = (region VariadicRegion<SizedRegion<1>>:$stages);
  let assemblyFormat = [{
    $input `threshold` `(` $threshold `)` attr-dict `:` type($input) `->`
    type($logits) `,` type($exit_index) $stages
  }];
  let hasRegionVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Dyn_AttentionOp : Dyn_Op<"attention", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "Dense multi-head scaled dot-product attention";
  let description = [{
    `softmax(q·kᵀ·scale [+ causal mask]) · v` on `[B, H, S, D]` tensors.
    `scale` defaults to `1/sqrt(D)`. With `causal`, query `i` sees keys
    `j <= i`.

    ```mlir
    %o = dyn.attention %q, %k, %v {causal}
        : tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>
        -> tensor<1x8x128x64xf32>
    ```
  }];
  let arguments = (ins 4DTensorOf<[AnyFloat]>:$query,
                       4DTensorOf<[AnyFloat]>:$key,
                       4DTensorOf<[AnyFloat]>:$value,
                       UnitAttr:$causal,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs 4DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value attr-dict `:` type($query) `,` type($key) `,`
    type($value) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Dyn_BsaSelectOp : Dyn_Op<"bsa.select", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure, AttrSizedOperandSegments]> {
  let summary = "Chooses the block layout of block-sparse attention";
  let description = [{
    Returns a layout `[B, H, nQ, nK]` (`i1`) saying which (query block, key
    block) pairs attention computes, with `nQ = Sq / block_size` and
    `nK = Sk / block_size`. Key block `j` is a candidate for query block `i`
    unless `causal` and `j > i`. Pooled scores are
    `s_ij = mean(q block i) · mean(k block j)` per batch and head.

    - `topk` (operand `budget`, `i32`): keep the `budget` best-scoring
      candidates (ties: lower index; all of them if fewer);
    - `threshold` (operand `threshold`, `f32`): keep the candidates whose
      softmax over the candidates of `s_ij · scale` is `>= threshold`;
    - `static_local` (attributes `window`, `global`): keep candidates with
      `|i - j| <= window` or `j < global`; needs no scores.

    The diagonal block is always kept.

    ```mlir
    %l = dyn.bsa.select %q, %k budget(%c4 : i32)
        {selection = #dyn.selection<topk>, block_size = 64 : i64, causal}
        : tensor<1x8x2048x64xf32>, tensor<1x8x2048x64xf32> -> tensor<1x8x32x32xi1>
    ```
  }];
  let arguments = (ins 4DTensorOf<[AnyFloat]>:$query,
                       4DTensorOf<[AnyFloat]>:$key,
                       Optional<I32>:$budget,
                       Optional<F32>:$threshold,
                       Dyn_BlockSelectionAttr:$selection,
                       ConfinedAttr<I64Attr, [IntPositive]>:$block_size,
                       UnitAttr:$causal,
                       OptionalAttr<F64Attr>:$scale,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntNonNegative]>>:$window,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntNonNegative]>>:$global);
  let results = (outs 4DTensorOf<[I1]>:$layout);
  let assemblyFormat = [{
    $query `,` $key (`budget` `(` $budget^ `:` type($budget) `)`)?
    (`threshold` `(` $threshold^ `)`)?
    attr-dict `:` type($query) `,` type($key) `->` type($layout)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// True when the rule keeps every candidate block whatever the data:
    /// a window or global prefix covering all key blocks, or a constant
    /// budget at least the number of key blocks.
    bool keepsAllCandidates();
  }];
}

def Dyn_BsaAttentionOp : Dyn_Op<"bsa.attention", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "Attention computed only on the blocks of a layout";
  let description = [{
    Dense attention restricted to the (query block, key block) pairs set in
    `layout`: positions in other blocks contribute nothing. With `causal`,
    keys after the query are masked inside kept blocks too. `scale` defaults
    to `1/sqrt(D)`. Work is proportional to the number of kept blocks.

    ```mlir
    %o = dyn.bsa.attention %q, %k, %v, %l {block_size = 64 : i64}
        : tensor<1x8x2048x64xf32>, tensor<1x8x2048x64xf32>,
          tensor<1x8x2048x64xf32>, tensor<1x8x32x32xi1> -> tensor<1x8x2048x64xf32>
    ```
  }];
  let arguments = (ins 4DTensorOf<[AnyFloat]>:$query,
                       4DTensorOf<[AnyFloat]>:$key,
                       4DTensorOf<[AnyFloat]>:$value,
                       4DTensorOf<[I1]>:$layout,
                       ConfinedAttr<I64Attr, [IntPositive]>:$block_size,
                       UnitAttr:$causal,
                       OptionalAttr<F64Attr>:$scale);
  let results = (outs 4DTensorOf<[AnyFloat]>:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $layout attr-dict `:` type($query) `,`
    type($key) `,` type($value) `,` type($layout) `->` type($result)
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
}

//===----------------------------------------------------------------------===//
// Data-dependent indexing
//===----------------------------------------------------------------------===//

def Dyn_TopKOp : Dyn_Op<"topk", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "The k largest entries along an axis, with their indices";
  let description = [{
    Returns the `k` largest values along `axis` in descending order and their
    positions (`i64`). Ties go to the lower index, so the result is
    deterministic. A NaN never ranks above a number (PyTorch ranks NaN
    first): inputs should not hold NaN.

    ```mlir
    %v, %i = dyn.topk %x {k = 2 : i64, axis = 1 : i64}
        : tensor<?x8xf32> -> tensor<?x2xf32>, tensor<?x2xi64>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$input,
                       ConfinedAttr<I64Attr, [IntPositive]>:$k,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis);
  let results = (outs AnyRankedTensor:$values, TensorOf<[I64]>:$indices);
  let assemblyFormat = [{
    $input attr-dict `:` type($input) `->` type($values) `,` type($indices)
  }];
  let hasVerifier = 1;
}

def Dyn_ScatterAddOp : Dyn_Op<"scatter_add", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    
    Pure, AllTypesMatch<["data", "result"]>]> {
  let summary = "Adds slices of updates into a copy of data at given positions";
  let description = [{
    `result` is a copy of `data` where, for every `i`, the slice
    `updates[..., i, ...]` (along `axis`) is added at position `indices[i]`
    along `axis`. Repeated indices accumulate. Negative indices count from
    the end; indices still out of range are clamped, so that no write leaves
    the tensor (PyTorch raises instead).

    ```mlir
    %r = dyn.scatter_add %data, %idx, %upd {axis = 0 : i64}
        : tensor<8x4xf32>, tensor<?xi64>, tensor<?x4xf32> -> tensor<8x4xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$data,
                       1DTensorOf<[I32, I64]>:$indices,
                       AnyRankedTensor:$updates,
                       ConfinedAttr<I64Attr, [IntNonNegative]>:$axis);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $data `,` $indices `,` $updates attr-dict `:` type($data) `,`
    type($indices) `,` type($updates) `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Host program: runtime entry points
//===----------------------------------------------------------------------===//
//
// After partitioning, the host function holds all data-dependent control and
// calls static subgraphs and these entry points. They move rows of the live
// batch around; their result sizes depend on data, so they never appear inside
// a subgraph.

def Dyn_RtIotaOp : Dyn_Op<"rt.iota", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "The indices 0 ..< n of a batch";
  let description = [{
    Returns `[0, 1, ..., n-1]` where `n` is the size of dimension 0 of
    `like`: the positions of every sample of a batch, where bookkeeping of the
    live batch starts.

    ```mlir
    %all = dyn.rt.iota %x : tensor<?x64xf32> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$like);
  let results = (outs 1DTensorOf<[I32]>:$result);
  let assemblyFormat = "$like attr-dict `:` type($like) `->` type($result)";
  let hasVerifier = 1;
}

def Dyn_RtSelectOp : Dyn_Op<"rt.select", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "Positions of the set entries of a mask";
  let description = [{
    Returns, in ascending order, the positions `i` where `mask[i]` is true. The
    result's size is the number of set entries (at most the mask's size).

    ```mlir
    %run = dyn.rt.select %mask : tensor<?xi1> -> tensor<?xi32>
    ```
  }];
  let arguments = (ins 1DTensorOf<[I1]>:$mask);
  let results = (outs 1DTensorOf<[I32]>:$result);
  let assemblyFormat = "$mask attr-dict `:` type($mask) `->` type($result)";
  let hasVerifier = 1;
}

def Dyn_RtGatherRowsOp : Dyn_Op<"rt.gather_rows", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    Pure]> {
  let summary = "Compacts the rows of a batch at given positions";
  let description = [{
    `result[j] = source[indices[j]]` along dimension 0: the live samples, packed
    densely so that a subgraph computes only them.

    ```mlir
    %live = dyn.rt.gather_rows %x[%run] : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$source, 1DTensorOf<[I32]>:$indices);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $source `[` $indices `]` attr-dict `:` type($source) `,` type($indices)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def Dyn_RtScatterRowsOp : Dyn_Op<"rt.scatter_rows", [DeclareOpInterfaceMethods<ValueBoundsOpInterface, ["populateBoundsForShapedValueDim"]>,
    
    Pure, AllTypesMatch<["dest", "result"]>]> {
  let summary = "Writes rows back into a batch at given positions";
  let description = [{
    A copy of `dest` with `dest[indices[j]] = rows[j]` along dimension 0: the
    results of the live samples merged back into the whole batch.

    ```mlir
    %y = dyn.rt.scatter_rows %out into %x[%run]
        : tensor<?x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
    ```
  }];
  let arguments = (ins AnyRankedTensor:$rows, AnyRankedTensor:$dest,
                       1DTensorOf<[I32]>:$indices);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = [{
    $rows `into` $dest `[` $indices `]` attr-dict `:` type($rows) `,`
    type($indices) `->` type($result)
  }];
  let hasVerifier = 1;
}

def Dyn_RtCountOp : Dyn_Op<"rt.count", [MemoryEffects<[MemWrite]>]> {
  let summary = "Adds to a named run statistic";
  let description = [{
    Records what the network decided, for the runtime's per-run statistics:
    an `index` adds to the statistic `name`; a `tensor<Nxi32>` adds its
    entries to the statistics `name[0]` ... `name[N-1]`. With `at(%i)` and
    `slots = N`, the `index` adds to `name[%i]` of the family `name[0]` ...
    `name[N-1]` (the rows expert `%i` computed, counted in the loop over
    experts); `%i` outside `[0, N)` counts nothing. Statistics are reset
    before each run and read after it.

    ```mlir
    dyn.rt.count %n {name = "blk0.samples_run"} : index
    dyn.rt.count %rows at(%e) {name = "moe.expert_tokens", slots = 8 : i64} : index
    ```
  }];
  let arguments = (ins AnyTypeOf<[Index, 1DTensorOf<[I32]>]>:$value,
                       Optional<Index>:$slot, StrAttr:$name,
                       OptionalAttr<ConfinedAttr<I64Attr, [IntPositive]>>:$slots);
  let assemblyFormat = "$value (`at` `(` $slot^ `)`)? attr-dict `:` type($value)";
  let builders = [
    OpBuilder<(ins "::mlir::Value":$value, "::mlir::StringAttr":$name), [{
      build($_builder, $_state, value, ::mlir::Value(), name, ::mlir::IntegerAttr());
    }]>
  ];
  let hasVerifier = 1;
}

#endif // DYNC_DIALECT_DYN_DYNOPS_TD
