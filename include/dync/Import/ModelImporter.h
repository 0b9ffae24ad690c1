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

/// How an ONNX model's dims and weights are set up (ONNX has no bounds).
struct OnnxImportOptions {
  /// Bounds of symbolic dims (`dim_param`) by name; the others get
  /// [1, kDefaultMax].
  std::vector<std::pair<std::string, std::pair<int64_t, int64_t>>> dims;
  static constexpr int64_t kDefaultMax = 4096;
  /// Where the weights (the graph's float initializers and constants) are
  /// written as safetensors.
  std::string weightsPath;
};

/// Imports the ONNX model at `path` (opsets 13 to 21): the same IR as
/// importModel, its weights written to `options.weightsPath`. Returns null
/// on error, with every unsupported op or attribute named in `diags.error`.
mlir::OwningOpRef<mlir::ModuleOp> importOnnxModel(mlir::MLIRContext &context,
                                                  llvm::StringRef path,
                                                  const OnnxImportOptions &options,
                                                  ImportDiagnostics &diags);

/// Registers the dialects the importer's output uses.
void registerImportDialects(mlir::DialectRegistry &registry);

} // namespace dync

#endif // DYNC_IMPORT_MODELIMPORTER_H
