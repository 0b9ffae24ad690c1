//===- json_import.cpp - fuzzing the JSON front end and partitioning ------===//
//
// Input: a model's JSON text, next to a small weights file (w4 [4, 4], w8
// [8, 8], v4 [4]) this target writes at start. A model that imports is
// verified and partitioned. Any crash, hang or leak is a finding; errors are
// expected and silent.
//
//===----------------------------------------------------------------------===//

#include "dync/Import/ModelImporter.h"
#include "dync/InitAllDialects.h"
#include "dync/Pipelines/Pipelines.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

std::string dir() {
  static std::string d = [] {
    std::string t = "/tmp/dync-fuzz-json-" + std::to_string(getpid());
    std::string mk = "mkdir -p " + t;
    if (std::system(mk.c_str()) != 0)
      std::abort();
    // A weights file: header {"v4": F32 [4], "w4": F32 [4,4], "w8": F32 [8,8]}.
    std::string header = "{\"v4\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                         "\"w4\":{\"dtype\":\"F32\",\"shape\":[4,4],\"data_offsets\":[16,80]},"
                         "\"w8\":{\"dtype\":\"F32\",\"shape\":[8,8],\"data_offsets\":[80,336]}}";
    while (header.size() % 8)
      header += ' ';
    std::ofstream w(t + "/w.safetensors", std::ios::binary);
    uint64_t n = header.size();
    w.write(reinterpret_cast<const char *>(&n), 8);
    w << header;
    std::string zeros(336, '\0');
    w.write(zeros.data(), zeros.size());
    return t;
  }();
  return d;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry registry = [] {
    mlir::DialectRegistry r;
    dync::registerAllDialects(r);
    return r;
  }();
  std::string path = dir() + "/model.json";
  {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char *>(data), size);
  }
  mlir::MLIRContext context(registry);
  context.printOpOnDiagnostic(false);
  mlir::ScopedDiagnosticHandler quiet(&context, [](mlir::Diagnostic &) { return mlir::success(); });
  dync::ImportDiagnostics diags;
  mlir::OwningOpRef<mlir::ModuleOp> module = dync::importModel(context, path, diags);
  if (!module)
    return 0;
  if (failed(mlir::verify(*module)))
    std::abort(); // the importer promises verified IR
  mlir::PassManager pm(&context);
  dync::buildPartitionPipeline(pm);
  (void)pm.run(*module);
  return 0;
}
