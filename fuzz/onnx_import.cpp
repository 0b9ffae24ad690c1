//===- onnx_import.cpp - fuzzing the ONNX front end and partitioning -----===//
//
// Input: the bytes of an .onnx file. A model that imports (its weights are
// written to a per-process directory) is verified and partitioned. Any
// crash, hang or leak is a finding; errors are expected and silent.
//
//===----------------------------------------------------------------------===//

#include "dync/Import/ModelImporter.h"
#include "dync/InitAllDialects.h"
#include "dync/Pipelines/Pipelines.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry registry = [] {
    mlir::DialectRegistry r;
    dync::registerAllDialects(r);
    return r;
  }();
  static std::string dir = [] {
    std::string d = "/tmp/dync-fuzz-onnx-" + std::to_string(getpid());
    if (std::system(("mkdir -p " + d).c_str()) != 0)
      std::abort();
    return d;
  }();
  std::string path = dir + "/model.onnx";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char *>(data), size);
  }
  mlir::MLIRContext context(registry);
  context.printOpOnDiagnostic(false);
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) { return mlir::success(); });
  dync::OnnxImportOptions options;
  options.weightsPath = dir + "/model.safetensors";
  dync::ImportDiagnostics diags;
  mlir::OwningOpRef<mlir::ModuleOp> module = dync::importOnnxModel(context, path, options, diags);
  if (!module)
    return 0;
  if (failed(mlir::verify(*module)))
    std::abort(); // the importer promises verified IR
  mlir::PassManager pm(&context);
  dync::buildPartitionPipeline(pm);
  (void)pm.run(*module);
  return 0;
}
