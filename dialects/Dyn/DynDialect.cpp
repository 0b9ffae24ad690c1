//===- DynDialect.cpp - dyn dialect registration --------------------------===//

#include "dync/Dialect/Dyn/DynDialect.h"
#include "dync/Dialect/Dyn/DynOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::dyn;

#include "dync/Dialect/Dyn/DynOpsDialect.cpp.inc"

#include "dync/Dialect/Dyn/DynEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dync/Dialect/Dyn/DynAttrs.cpp.inc"

void DynDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dync/Dialect/Dyn/DynOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dync/Dialect/Dyn/DynAttrs.cpp.inc"
      >();
}
