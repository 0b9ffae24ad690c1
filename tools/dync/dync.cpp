//===- dync.cpp - the dync compiler driver --------------------------------===//
//
//   dync MODEL.json|MODEL.mlir [-o FILE] [--emit=imported|mlir]
//
// Later stages (partitioned IR, LLVM IR, objects, shared libraries) come with
// the passes that produce them; asking for one today is a clear error.
//
//===----------------------------------------------------------------------===//

#include "dync/Driver/Explain.h"
#include "dync/Import/ModelImporter.h"
#include "dync/InitAllDialects.h"
#include "dync/InitAllPasses.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
enum class Emit { Imported, Mlir, Partitioned, Llvm, Asm, Obj, Header, So };

cl::OptionCategory dyncCategory("dync options");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.json | model.mlir>"),
                               cl::Required, cl::cat(dyncCategory));
cl::opt<std::string> outputFile("o", cl::desc("Output file (default: stdout)"),
                                cl::value_desc("file"), cl::init("-"),
                                cl::cat(dyncCategory));
cl::opt<Emit> emit(
    "emit", cl::desc("The stage to stop at"), cl::init(Emit::Mlir),
    cl::values(
        clEnumValN(Emit::Imported, "imported", "IR exactly as the importer built it"),
        clEnumValN(Emit::Mlir, "mlir", "dyn-level IR, canonicalized (default)"),
        clEnumValN(Emit::Partitioned, "partitioned", "static subgraphs + a host program holding all control"),
        clEnumValN(Emit::Llvm, "llvm", "LLVM IR (not yet)"),
        clEnumValN(Emit::Asm, "asm", "assembly (not yet)"),
        clEnumValN(Emit::Obj, "obj", "object file (not yet)"),
        clEnumValN(Emit::Header, "header", "C header (not yet)"),
        clEnumValN(Emit::So, "so", "shared library (not yet)")),
    cl::cat(dyncCategory));

StringRef emitName(Emit e) {
  switch (e) {
  case Emit::Imported: return "imported";
  case Emit::Mlir: return "mlir";
  case Emit::Partitioned: return "partitioned";
  case Emit::Llvm: return "llvm";
  case Emit::Asm: return "asm";
  case Emit::Obj: return "obj";
  case Emit::Header: return "header";
  case Emit::So: return "so";
  }
  return "?";
}

cl::opt<std::string> explain(
    "explain",
    cl::desc("Instead of IR, print what partitioning made of the model: its "
             "subgraphs, dynamic decisions and params (=text, default), or a "
             "Graphviz graph (=dot)"),
    cl::ValueOptional, cl::value_desc("text|dot"), cl::cat(dyncCategory));

int error(const Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "dync") << msg << "\n";
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  dync::registerAllPasses();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "dync 0.1.0 (model format 1, built with MLIR " << LLVM_VERSION_STRING << ")\n";
  });
  cl::HideUnrelatedOptions({&dyncCategory, &cl::getGeneralCategory()});
  cl::ParseCommandLineOptions(argc, argv,
                              "dync: ahead-of-time compiler for dynamic and sparse "
                              "neural networks\n");

  bool explaining = explain.getNumOccurrences() > 0;
  if (explaining && explain != "" && explain != "text" && explain != "dot")
    return error("--explain takes 'text' or 'dot', got '" + explain + "'");
  if (emit != Emit::Imported && emit != Emit::Mlir && emit != Emit::Partitioned)
    return error("--emit=" + emitName(emit) +
                 " is not implemented yet: this dync stops at partitioned IR "
                 "(--emit=imported, --emit=mlir or --emit=partitioned)");

  DialectRegistry registry;
  dync::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  OwningOpRef<ModuleOp> module;
  StringRef input = inputFile;
  if (input.ends_with(".json")) {
    dync::ImportDiagnostics diags;
    module = dync::importModel(context, input, diags);
    for (const std::string &w : diags.warnings)
      llvm::WithColor::warning(llvm::errs(), "dync") << w << "\n";
    if (!module)
      return error(diags.error);
  } else if (input.ends_with(".mlir")) {
    std::string message;
    auto file = openInputFile(input, &message);
    if (!file)
      return error(message);
    llvm::SourceMgr sourceMgr;
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    SourceMgrDiagnosticHandler handler(sourceMgr, &context);
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return 1;
  } else {
    return error("don't know how to read '" + input +
                 "': expected a .json model or a .mlir file");
  }

  if (emit != Emit::Imported || explaining) {
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      return error("invalid pass manager options");
    DefaultTimingManager tm;
    applyDefaultTimingManagerCLOptions(tm);
    TimingScope timing = tm.getRootScope();
    pm.enableTiming(timing);
    if (emit == Emit::Partitioned || explaining) {
      dync::buildPartitionPipeline(pm);
    } else {
      pm.addPass(createCanonicalizerPass());
      pm.addPass(createCSEPass());
    }
    if (failed(pm.run(*module)))
      return 1;
  }

  std::string message;
  auto output = openOutputFile(outputFile, &message);
  if (!output)
    return error(message);
  if (explaining)
    dync::explainPartition(*module, output->os(), explain == "dot");
  else {
    module->print(output->os());
    output->os() << "\n";
  }
  output->keep();
  return 0;
}
