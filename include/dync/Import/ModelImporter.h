//===- ModelImporter.h - dync model format (JSON + safetensors) -*- C++ -*-===//
//
// Imports a model in the dync model format, version 1 (docs/ModelFormat.md)
// into dyn-level IR: one `func.func @forward` over tensors, `dyn` ops for the
// dynamic constructs, upstream dialects for the static layers, `dyn.weight`
// references to the weights file, `dyn.param.def` for runtime parameters.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_IMPORT_MODELIMPORTER_H
#define DYNC_IMPORT_MODELIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringRef.h"

#include <string>
#include <vector>

namespace dync {

struct ImportDiagnostics {
  /// The first error, naming the node (or JSON path) and the problem.
  std::string error;
  /// Things worth knowing that do not stop the import (unused weights).
  std::vector<std::string> warnings;
};

/// Imports the model described by the JSON file at `path`; its weights file is
/// resolved relative to it and validated. Returns null on error, with the
/// message in `diags.error`. Never aborts on bad input.
mlir::OwningOpRef<mlir::ModuleOp> importModel(mlir::MLIRContext &context,
                                              llvm::StringRef path,
                                              ImportDiagnostics &diags);

/// Registers the dialects the importer's output uses.
void registerImportDialects(mlir::DialectRegistry &registry);

} // namespace dync

#endif // DYNC_IMPORT_MODELIMPORTER_H
