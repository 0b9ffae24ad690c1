//===- DynOps.h - dyn dialect operations ------------------------*- C++ -*-===//

#ifndef DYNC_DIALECT_DYN_DYNOPS_H
#define DYNC_DIALECT_DYN_DYNOPS_H

#include "dync/Dialect/Dyn/DynDialect.h"
#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"

#include "dync/Dialect/Dyn/DynEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dync/Dialect/Dyn/DynAttrs.h.inc"

#define GET_OP_CLASSES
#include "dync/Dialect/Dyn/DynOps.h.inc"

#endif // DYNC_DIALECT_DYN_DYNOPS_H
