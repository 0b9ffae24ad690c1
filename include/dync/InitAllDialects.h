//===- InitAllDialects.h - every dialect dync tools know --------*- C++ -*-===//

#ifndef DYNC_INITALLDIALECTS_H
#define DYNC_INITALLDIALECTS_H

#include "dync/Dialect/Dyn/DynDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"

namespace dync {

/// Registers the `dyn` dialect together with every upstream dialect and
/// extension, so that any tool sees the same set.
inline void registerAllDialects(mlir::DialectRegistry &registry) {
  registry.insert<mlir::dyn::DynDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
}

} // namespace dync

#endif // DYNC_INITALLDIALECTS_H
