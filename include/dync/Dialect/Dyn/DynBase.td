//===- DynBase.td - dyn dialect definition -----------------*- tablegen -*-===//
//
// The `dyn` dialect holds what upstream dialects cannot say: computation whose
// amount of work depends on the data (routing, gating, early exit, block-sparse
// attention, per-sample control) and the runtime parameters that steer it.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_DIALECT_DYN_DYNBASE_TD
#define DYNC_DIALECT_DYN_DYNBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Dyn_Dialect : Dialect {
  let name = "dyn";
  let cppNamespace = "::mlir::dyn";
  let summary = "Dynamic and sparse neural-network constructs";
  let description = [{
    The `dyn` dialect expresses the parts of a neural network whose work
    depends on the input: mixture-of-experts routing, per-sample gates,
    early exits, block-sparse attention with layouts chosen at run time,
    per-sample conditionals, and named runtime parameters. Ops work on
    builtin tensors with value semantics; the static layers around them are
    expressed with upstream dialects (`linalg`, `tensor`, `arith`, `math`).

    Region-carrying ops (`dyn.gate`, `dyn.cond`, `dyn.early_exit`) are
    isolated from above: a region sees only its block arguments, exactly as a
    subgraph of the dync model format sees only its own inputs. Inside a
    per-sample region the leading dimension is the *live* batch, which is
    always dynamic.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let hasConstantMaterializer = 0;
  // The dyn.* attributes (DynAttrNames.h) are checked where they appear.
  let hasOperationAttrVerify = 1;
  let hasRegionArgAttrVerify = 1;
  let hasRegionResultAttrVerify = 1;
}

class Dyn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Dyn_Dialect, mnemonic, traits>;

#endif // DYNC_DIALECT_DYN_DYNBASE_TD
