//===- DynAttrs.td - dyn dialect enums and attributes ------*- tablegen -*-===//

#ifndef DYNC_DIALECT_DYN_DYNATTRS_TD
#define DYNC_DIALECT_DYN_DYNATTRS_TD

include "dync/Dialect/Dyn/DynBase.td"
include "mlir/IR/EnumAttr.td"

def Dyn_Activation : I32EnumAttr<"Activation", "expert activation function", [
    I32EnumAttrCase<"relu", 0>,
    I32EnumAttrCase<"gelu", 1>,
    I32EnumAttrCase<"gelu_tanh", 2>,
    I32EnumAttrCase<"silu", 3>
  ]> {
  let cppNamespace = "::mlir::dyn";
  let genSpecializedAttr = 0;
}
def Dyn_ActivationAttr : EnumAttr<Dyn_Dialect, Dyn_Activation, "activation"> {
  let summary = "Activation of an expert's first projection";
  let assemblyFormat = "`<` $value `>`";
}

def Dyn_ExitCriterion : I32EnumAttr<"ExitCriterion",
    "confidence measure of an early-exit head", [
    I32EnumAttrCase<"max_softmax", 0>,
    I32EnumAttrCase<"entropy", 1>,
    I32EnumAttrCase<"gate", 2>
  ]> {
  let cppNamespace = "::mlir::dyn";
  let genSpecializedAttr = 0;
}
def Dyn_ExitCriterionAttr
    : EnumAttr<Dyn_Dialect, Dyn_ExitCriterion, "criterion"> {
  let summary = "How an early-exit head's confidence is measured";
  let assemblyFormat = "`<` $value `>`";
}

def Dyn_BlockSelection : I32EnumAttr<"BlockSelection",
    "how a block-sparse attention layout is chosen", [
    I32EnumAttrCase<"topk", 0>,
    I32EnumAttrCase<"threshold", 1>,
    I32EnumAttrCase<"static_local", 2>
  ]> {
  let cppNamespace = "::mlir::dyn";
  let genSpecializedAttr = 0;
}
def Dyn_BlockSelectionAttr
    : EnumAttr<Dyn_Dialect, Dyn_BlockSelection, "selection"> {
  let summary = "Block-layout selection rule";
  let assemblyFormat = "`<` $value `>`";
}

#endif // DYNC_DIALECT_DYN_DYNATTRS_TD
