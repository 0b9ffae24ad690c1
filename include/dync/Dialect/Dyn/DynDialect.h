//===- DynDialect.h - dyn dialect declaration -------------------*- C++ -*-===//

#ifndef DYNC_DIALECT_DYN_DYNDIALECT_H
#define DYNC_DIALECT_DYN_DYNDIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "dync/Dialect/Dyn/DynOpsDialect.h.inc"

#endif // DYNC_DIALECT_DYN_DYNDIALECT_H
