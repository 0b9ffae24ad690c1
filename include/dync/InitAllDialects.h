//===- InitAllDialects.h - every dialect dync tools know --------*- C++ -*-===//

#ifndef DYNC_INITALLDIALECTS_H
#define DYNC_INITALLDIALECTS_H

#include "dync/Dialect/Dyn/DynDialect.h"
#include "dync/Target/CUDA/CUDATarget.h"
#include "mlir/Dialect/Arith/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/ValueBoundsOpInterfaceImpl.h"
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
  // The value-bound models dync's bounds analysis queries.
  mlir::arith::registerValueBoundsOpInterfaceExternalModels(registry);
  mlir::linalg::registerValueBoundsOpInterfaceExternalModels(registry);
  mlir::scf::registerValueBoundsOpInterfaceExternalModels(registry);
  mlir::tensor::registerValueBoundsOpInterfaceExternalModels(registry);
  // The CUDA target: PTX serialization and the GPU translations to LLVM IR.
  registerCudaTargetInterfaces(registry);
}

} // namespace dync

#endif // DYNC_INITALLDIALECTS_H
