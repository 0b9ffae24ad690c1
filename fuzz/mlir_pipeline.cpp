//===- mlir_pipeline.cpp - fuzzing dyn IR: parse, verify, compile ---------===//
//
// Input: MLIR text. What parses and verifies goes through partitioning and
// the CPU target's code generation stage; a pass must never crash on
// verifier-valid IR (it reports what it cannot handle).
//
//===----------------------------------------------------------------------===//

#include "dync/InitAllDialects.h"
#include "dync/Pipelines/Pipelines.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"

#include <string>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry registry = [] {
    mlir::DialectRegistry r;
    dync::registerAllDialects(r);
    return r;
  }();
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) { return mlir::success(); });
  std::string text(reinterpret_cast<const char *>(data), size);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, &context);
  if (!module || failed(mlir::verify(*module)))
    return 0;
  mlir::PassManager pm(&context);
  dync::buildCpuPipeline(pm, dync::Stage::Codegen, dync::CpuOptions());
  (void)pm.run(*module);
  return 0;
}
