//===- dync.cpp - the dync compiler driver --------------------------------===//
//
//   dync MODEL.json|MODEL.onnx|MODEL.mlir [-o FILE] [--emit=STAGE] [--target=cpu|cuda]
//
// Reads a model, runs the pipeline up to the stage asked for (the same
// builders `dync-opt` registers), and writes IR, LLVM IR, machine code, a C
// header or the model library.
//
//===----------------------------------------------------------------------===//

#include "dync/Dialect/Dyn/DynOps.h"
#include "dync/Dialect/Dyn/DynAttrNames.h"
#include "dync/Driver/Explain.h"
#include "dync/Import/ModelImporter.h"
#include "dync/InitAllDialects.h"
#include "dync/InitAllPasses.h"
#include "dync/Pipelines/Pipelines.h"
#include "dync/Target/CPU/CPUTarget.h"

#include "Phases.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "mlir/InitAllPasses.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include <cctype>
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {
enum class Emit { Imported, Mlir, Partitioned, Codegen, Ptx, Lowered, Llvm, Asm, Obj, Header, So };
enum class Target { Cpu, Cuda, CudaEmulated };

cl::OptionCategory dyncCategory("dync options");

cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model.json | model.onnx | model.mlir>"),
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
        clEnumValN(Emit::Codegen, "codegen", "dyn ops spelled with upstream ops, the entry readied for the target"),
        clEnumValN(Emit::Ptx, "ptx", "PTX of the GPU kernels (--target=cuda)"),
        clEnumValN(Emit::Lowered, "lowered", "the LLVM dialect, before translation"),
        clEnumValN(Emit::Llvm, "llvm", "LLVM IR"),
        clEnumValN(Emit::Asm, "asm", "assembly for the target CPU (the host program's, for CUDA)"),
        clEnumValN(Emit::Obj, "obj", "an object file"),
        clEnumValN(Emit::Header, "header", "C header for a statically linked model (with --emit=obj)"),
        clEnumValN(Emit::So, "so", "a shared library that dync-run and libdyncrt load")),
    cl::cat(dyncCategory));

StringRef emitName(Emit e) {
  switch (e) {
  case Emit::Imported: return "imported";
  case Emit::Mlir: return "mlir";
  case Emit::Partitioned: return "partitioned";
  case Emit::Codegen: return "codegen";
  case Emit::Ptx: return "ptx";
  case Emit::Lowered: return "lowered";
  case Emit::Llvm: return "llvm";
  case Emit::Asm: return "asm";
  case Emit::Obj: return "obj";
  case Emit::Header: return "header";
  case Emit::So: return "so";
  }
  return "?";
}

cl::opt<Target> target(
    "target", cl::desc("What the model runs on"), cl::init(Target::Cpu),
    cl::values(clEnumValN(Target::Cpu, "cpu", "this machine's CPU, or --cpu/--mattr's (default)"),
               clEnumValN(Target::Cuda, "cuda",
                          "NVIDIA GPUs: kernels in a fatbin, the host program on the CPU"),
               clEnumValN(Target::CudaEmulated, "cuda-emulated",
                          "a test target: the CUDA kernels run as loops on this CPU")),
    cl::cat(dyncCategory));
cl::list<std::string> cudaArchs("cuda-arch",
                                cl::desc("GPU architectures to build cubins for, oldest first "
                                         "(default sm_80,sm_90)"),
                                cl::CommaSeparated, cl::value_desc("sm_NN,..."),
                                cl::cat(dyncCategory));
cl::opt<std::string> cudaGemm("cuda-gemm",
                              cl::desc("Plain f32 matmuls on the GPU: generated kernels (default) "
                                       "or cublas (calls cuBLAS at run time)"),
                              cl::value_desc("generated|cublas"), cl::init("generated"),
                              cl::cat(dyncCategory));
cl::opt<std::string> cudaToolkit("cuda-toolkit",
                                 cl::desc("The CUDA toolkit's directory (default: $CUDA_HOME, "
                                          "$CUDA_PATH, /usr/local/cuda, PATH)"),
                                 cl::value_desc("dir"), cl::cat(dyncCategory));

cl::opt<std::string> cpuName("cpu", cl::desc("Target CPU (default: the host's)"),
                             cl::cat(dyncCategory));
cl::opt<std::string> cpuFeatures("mattr",
                                 cl::desc("Target features, e.g. +avx,+fma "
                                          "(default: the host's, detected)"),
                                 cl::cat(dyncCategory));
cl::opt<bool> embedWeights("embed-weights",
                            cl::desc("Embed the weights in the compiled model, "
                                     "so that it needs no weights file"),
                            cl::cat(dyncCategory));
cl::opt<unsigned> optLevel("O", cl::desc("Optimization level 0-3 (default 2)"),
                           cl::Prefix, cl::init(2), cl::cat(dyncCategory));

cl::opt<unsigned> jobs("j",
                      cl::desc("Threads generating machine code for -o model.so, at most 64 "
                               "(default: the cores this process may use, at most 8)"),
                      cl::value_desc("N"), cl::Prefix, cl::init(0), cl::cat(dyncCategory));

cl::opt<bool> packWeights(
    "pack-weights",
    cl::desc("Read the f32 weights of Linear layers and MoE experts in the panels of the "
             "CPU's matmul kernel, packed once when the model loads (default true; "
             "--pack-weights=false reads every weight where the file is mapped)"),
    cl::init(true), cl::cat(dyncCategory));

cl::opt<std::string> memoryBudget(
    "memory-budget",
    cl::desc("Reject the model if its memory plan may need more than this at "
             "the largest sizes of its dims: bytes, or a number with K, M or G "
             "(KiB, MiB, GiB); weights are not counted"),
    cl::value_desc("size"), cl::cat(dyncCategory));

/// `--memory-budget`'s bytes: `N`, `NK`, `NM` or `NG` (binary units, an
/// optional trailing `B` or `iB`); nullopt if malformed or zero.
std::optional<int64_t> parseBytes(StringRef text) {
  StringRef digits = text.take_while([](char c) { return c >= '0' && c <= '9'; });
  std::string u = text.drop_front(digits.size()).lower();
  if (StringRef(u).ends_with("ib"))
    u.resize(u.size() - 2);
  else if (StringRef(u).ends_with("b"))
    u.resize(u.size() - 1);
  int shift = u.empty() ? 0 : u == "k" ? 10 : u == "m" ? 20 : u == "g" ? 30 : -1;
  uint64_t n;
  if (shift < 0 || digits.empty() || digits.getAsInteger(10, n) || n == 0 ||
      n > (uint64_t(INT64_MAX) >> shift))
    return std::nullopt;
  return int64_t(n << shift);
}

cl::list<std::string> dimBounds(
    "dim",
    cl::desc("Bounds of an ONNX model's symbolic dim (dim_param): NAME=MIN:MAX or NAME=MAX "
             "(default 1:4096); repeatable"),
    cl::value_desc("name=min:max"), cl::cat(dyncCategory));

/// `--dim`'s `NAME=MIN:MAX` or `NAME=MAX`.
std::optional<std::pair<std::string, std::pair<int64_t, int64_t>>> parseDim(StringRef text) {
  auto [name, range] = text.split('=');
  if (name.empty() || range.empty() || !text.contains('='))
    return std::nullopt;
  auto [lo, hi] = range.contains(':') ? range.split(':') : std::make_pair(StringRef("1"), range);
  int64_t min, max;
  if (lo.getAsInteger(10, min) || hi.getAsInteger(10, max) || min < 1 || max < min)
    return std::nullopt;
  return std::make_pair(name.str(), std::make_pair(min, max));
}

cl::opt<bool> quiet("q", cl::desc("No progress lines (a compile on a terminal prints its phases "
                                   "once it has run for a second)"),
                    cl::cat(dyncCategory));
cl::opt<bool> timing("timing",
                     cl::desc("Print the time of each phase (import, passes, LLVM IR, machine "
                              "code, link) at the end; --mlir-timing breaks the passes down"),
                     cl::cat(dyncCategory));

cl::opt<std::string> explain(
    "explain",
    cl::desc("Instead of IR, print what partitioning made of the model: its "
             "subgraphs, dynamic decisions and params (=text, default), or a "
             "Graphviz graph (=dot), rendered to SVG with Graphviz (=svg)"),
    cl::ValueOptional, cl::value_desc("text|dot|svg"), cl::cat(dyncCategory));

/// The last stage of the pipeline that `emit` needs.
dync::Stage stageFor(Emit e, bool explaining) {
  if (explaining)
    return dync::Stage::Partitioned;
  switch (e) {
  case Emit::Imported: return dync::Stage::Imported;
  case Emit::Mlir: return dync::Stage::Canonical;
  case Emit::Partitioned: return dync::Stage::Partitioned;
  case Emit::Codegen:
  case Emit::Header: return dync::Stage::Codegen;
  case Emit::Ptx: return dync::Stage::Kernels;
  default: return dync::Stage::Lowered;
  }
}

/// `file: node 'name' (path)` for the location an importer gives a node
/// (its name around its path in the model file), or MLIR's spelling of any
/// other location.
std::string describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    if (auto where = dyn_cast<NameLoc>(name.getChildLoc()))
      if (auto file = dyn_cast<FileLineColLoc>(where.getChildLoc()))
        return (file.getFilename().strref() + ": node '" + name.getName().strref() + "' (" +
                where.getName().strref() + ")")
            .str();
  if (auto file = dyn_cast<FileLineColLoc>(loc); file && file.getLine() == 0)
    return file.getFilename().str();
  std::string s;
  llvm::raw_string_ostream os(s);
  os << loc;
  return s;
}

int error(const Twine &msg) {
  llvm::WithColor::error(llvm::errs(), "dync") << msg << "\n";
  return 1;
}
} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM y(argc, argv);
  // Passes first, so that --mlir-print-ir-after=<any pass> knows them all.
  mlir::registerAllPasses();
  dync::registerAllPasses();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  cl::SetVersionPrinter([](llvm::raw_ostream &os) {
    os << "dync 0.1.0 (model format 1, built with MLIR " << LLVM_VERSION_STRING << ")\n";
  });
  // --help shows dync's own options; LLVM's backend flags and MLIR's
  // debugging ones (--mlir-print-ir-after-all, --mlir-timing...) still work
  // and --help-hidden lists them.
  for (auto &entry : cl::getRegisteredOptions()) {
    cl::Option *o = entry.second;
    bool generic = llvm::is_contained({"help", "help-list", "version"}, entry.first);
    if (!generic && !llvm::is_contained(o->Categories, &dyncCategory) &&
        o->getOptionHiddenFlag() == cl::NotHidden)
      o->setHiddenFlag(cl::Hidden);
  }
  cl::ParseCommandLineOptions(argc, argv,
                              "dync: ahead-of-time compiler for dynamic and sparse "
                              "neural networks\n\n"
                              "  MLIR's and LLVM's debugging options are accepted too "
                              "(--help-hidden lists them).\n");

  bool explaining = explain.getNumOccurrences() > 0;
  if (explaining && explain != "" && explain != "text" && explain != "dot" && explain != "svg")
    return error("--explain takes 'text', 'dot' or 'svg', got '" + explain + "'");
  std::string graphviz;
  if (explain == "svg") {
    auto dot = llvm::sys::findProgramByName("dot");
    if (!dot)
      return error("--explain=svg renders with Graphviz's 'dot', which is not on PATH (Debian: "
                   "apt-get install graphviz); --explain=dot writes the graph for it");
    graphviz = *dot;
  }
  // Without --emit, the output file's extension says what to write.
  if (emit.getNumOccurrences() == 0) {
    StringRef ext = llvm::sys::path::extension(outputFile.getValue());
    if (ext == ".so")
      emit = Emit::So;
    else if (ext == ".o")
      emit = Emit::Obj;
    else if (ext == ".ll")
      emit = Emit::Llvm;
    else if (ext == ".s")
      emit = Emit::Asm;
    else if (ext == ".ptx")
      emit = Emit::Ptx;
  }
  bool cuda = target == Target::Cuda;
  bool emulated = target == Target::CudaEmulated;
  if (emit == Emit::Ptx && !cuda)
    return error("--emit=ptx needs --target=cuda");
  if (cuda && emit == Emit::Header)
    return error("--emit=header is for the CPU target: a CUDA model is loaded as a library "
                 "(--emit=so)");
  if (emulated && emit == Emit::Header)
    return error("--emit=header is for the CPU target");
  if (!cuda && (cudaArchs.getNumOccurrences() || cudaToolkit.getNumOccurrences()))
    return error("--cuda-arch and --cuda-toolkit apply to --target=cuda");
  if (cudaGemm != "generated" && cudaGemm != "cublas")
    return error("--cuda-gemm takes generated or cublas, got '" + cudaGemm + "'");
  if (!cuda && !emulated && cudaGemm.getNumOccurrences())
    return error("--cuda-gemm applies to --target=cuda (and cuda-emulated)");
  for (const std::string &arch : cudaArchs)
    if (!dync::isValidCudaArch(arch))
      return error("invalid --cuda-arch '" + arch + "': expected sm_NN with NN at least 75 "
                   "(sm_80, sm_90...)");
  if (optLevel > 3)
    return error("-O takes 0, 1, 2 or 3");
  // Written from the LLVM module: translation follows the pipeline.
  bool native = emit == Emit::Llvm || emit == Emit::Asm || emit == Emit::Obj ||
                emit == Emit::So;
  if (embedWeights && !(emit == Emit::So || emit == Emit::Obj || emit == Emit::Llvm ||
                        emit == Emit::Asm))
    return error("--embed-weights applies to compiled output (--emit=so, obj, llvm "
                 "or asm), not to --emit=" + emitName(emit));
  if ((native || emit == Emit::Header) && explaining)
    return error("--explain prints a report; it cannot be combined with --emit=" +
                 emitName(emit));
  std::optional<int64_t> budget;
  if (memoryBudget.getNumOccurrences() && !(budget = parseBytes(memoryBudget)))
    return error("invalid --memory-budget '" + memoryBudget +
                 "': expected a positive number of bytes, optionally with K, M or G");
  if (budget && !native && emit != Emit::Lowered)
    return error("--memory-budget checks the memory plan of compiled output (--emit=so, "
                 "obj, llvm, asm or lowered), not --emit=" + emitName(emit));
  if (emit == Emit::So && outputFile == "-")
    return error("--emit=so needs an output file (-o model.so)");

  // Progress goes to a terminal only; DYNC_PROGRESS_AFTER (seconds, default
  // 1) moves the threshold, for the tests.
  double progressAfter = 1.0;
  if (const char *env = std::getenv("DYNC_PROGRESS_AFTER"))
    progressAfter = std::atof(env);
  dync::PhaseLog phases(!quiet && llvm::sys::Process::StandardErrIsDisplayed(), progressAfter);
  // Every successful return: the --timing table.
  auto finished = [&]() {
    if (timing)
      phases.printTable(llvm::errs());
    return 0;
  };

  DialectRegistry registry;
  dync::registerAllDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  OwningOpRef<ModuleOp> module;
  StringRef input = inputFile;
  // A model's diagnostics name its nodes and where they are in the model
  // file, as the importer's own messages do.
  std::optional<ScopedDiagnosticHandler> modelDiagnostics;
  if (input.ends_with(".json") || input.ends_with(".onnx"))
    modelDiagnostics.emplace(&context, [](Diagnostic &d) {
      auto &os = d.getSeverity() == DiagnosticSeverity::Error
                     ? llvm::WithColor::error(llvm::errs(), "dync")
                 : d.getSeverity() == DiagnosticSeverity::Warning
                     ? llvm::WithColor::warning(llvm::errs(), "dync")
                     : llvm::WithColor::note(llvm::errs(), "dync");
      os << describeLocation(d.getLocation()) << ": " << d.str() << "\n";
      for (Diagnostic &note : d.getNotes()) {
        // MLIR attaches the failing op in generic form: noise for a model's
        // author (--mlir-print-ir-after-failure shows the IR to a developer).
        if (StringRef(note.str()).starts_with("see current operation"))
          continue;
        llvm::WithColor::note(llvm::errs(), "dync")
            << describeLocation(note.getLocation()) << ": " << note.str() << "\n";
      }
      return success();
    });
  if (dimBounds.getNumOccurrences() && !input.ends_with(".onnx"))
    return error("--dim sets the bounds of an ONNX model's dims; a JSON model declares its "
                 "own ('dims')");
  if (input.ends_with(".json")) {
    dync::ImportDiagnostics diags;
    module = dync::importModel(context, input, diags);
    for (const std::string &w : diags.warnings)
      llvm::WithColor::warning(llvm::errs(), "dync") << w << "\n";
    if (!module)
      return error(diags.error);
  } else if (input.ends_with(".onnx")) {
    dync::OnnxImportOptions onnx;
    for (const std::string &d : dimBounds) {
      auto parsed = parseDim(d);
      if (!parsed)
        return error("invalid --dim '" + d + "': expected NAME=MIN:MAX or NAME=MAX with "
                     "1 <= MIN <= MAX");
      onnx.dims.push_back(*parsed);
    }
    // The weights go beside the output (model.so -> model.safetensors), or
    // beside the model when writing to stdout.
    SmallString<256> weights(outputFile == "-" ? StringRef(input) : StringRef(outputFile));
    llvm::sys::path::replace_extension(weights, ".safetensors");
    if (weights == input || weights == outputFile)
      weights += ".weights";
    onnx.weightsPath = weights.str().str();
    dync::ImportDiagnostics diags;
    module = dync::importOnnxModel(context, input, onnx, diags);
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
                 "': expected a .json or .onnx model or a .mlir file");
  }

  phases.done("import");

  dync::CpuOptions cpu{cpuName, cpuFeatures, optLevel, ""};
  cpu.memoryBudget = budget.value_or(0);
  cpu.packWeights = packWeights;
  dync::CudaOptions gpu;
  if (!cudaArchs.empty())
    gpu.archs.assign(cudaArchs.begin(), cudaArchs.end());
  gpu.toolkit = cudaToolkit;
  gpu.gemm = cudaGemm;
  gpu.host = cpu;
  if (cuda && (emit == Emit::Ptx || stageFor(emit, explaining) == dync::Stage::Lowered)) {
    // Before the passes: a missing toolkit is the user's to fix, not a
    // pipeline failure.
    std::string message;
    if (dync::findCudaTool("ptxas", gpu.toolkit, message).empty())
      return error(message);
  }
  {
    PassManager pm(&context);
    if (failed(applyPassManagerCLOptions(pm)))
      return error("invalid pass manager options");
    DefaultTimingManager tm;
    applyDefaultTimingManagerCLOptions(tm);
    TimingScope timing = tm.getRootScope();
    pm.enableTiming(timing);
    if (cuda || emulated)
      dync::buildCudaPipeline(pm, stageFor(emit, explaining), gpu, emulated);
    else
      dync::buildCpuPipeline(pm, stageFor(emit, explaining), cpu);
    if (failed(pm.run(*module)))
      return 1;
  }
  phases.done("passes");

  if (emit == Emit::Ptx) {
    std::string message;
    auto output = openOutputFile(outputFile, &message);
    if (!output)
      return error(message);
    if (failed(dync::writePtx(*module, output->os(), message)))
      return error(message);
    output->keep();
    phases.done("write");
    return finished();
  }

  if (emit == Emit::Header) {
    std::string message;
    auto output = openOutputFile(outputFile, &message);
    if (!output)
      return error(message);
    dync::writeStaticHeader(output->os(), *module, embedWeights);
    output->keep();
    phases.done("write");
    return finished();
  }

  if (native) {
    if (embedWeights) {
      auto path = module->getOperation()->getAttrOfType<StringAttr>(mlir::dyn::attrs::kWeightsPath);
      if (!path)
        return error("--embed-weights needs a model imported from JSON or ONNX (its weights file)");
      auto buffer = llvm::MemoryBuffer::getFile(path.getValue(), /*IsText=*/false);
      if (!buffer)
        return error("cannot read weights '" + path.getValue() + "': " +
                     buffer.getError().message());
      cpu.embeddedWeights = (*buffer)->getBuffer().str();
      gpu.host.embeddedWeights = cpu.embeddedWeights;
    }
    llvm::LLVMContext llvmContext;
    std::string message;
    auto llvmModule = cuda ? dync::translateCudaToLLVM(*module, llvmContext, gpu, message)
                           : dync::translateToLLVM(*module, llvmContext, cpu, message);
    if (!llvmModule)
      return error(message);
    phases.done("LLVM IR");
    if (emit == Emit::So) {
      SmallVector<std::string> objects;
      llvm::scope_exit removeObjects([&] {
        for (const std::string &o : objects)
          if (!o.empty())
            llvm::sys::fs::remove(o);
      });
      if (failed(dync::emitObjects(std::move(llvmModule), cpu,
                                   jobs ? std::min(jobs.getValue(), 64u) : dync::codegenJobs(),
                                   objects, message)))
        return error(message);
      phases.done("machine code", std::to_string(objects.size()) +
                                      (objects.size() == 1 ? " part" : " parts in parallel"));
      if (failed(dync::linkSharedLibrary(objects, outputFile, message)))
        return error(message);
      phases.done("link");
      return finished();
    }
    auto output = openOutputFile(outputFile, &message);
    if (!output)
      return error(message);
    if (emit == Emit::Llvm)
      llvmModule->print(output->os(), nullptr);
    else if (failed(dync::emitNative(*llvmModule, cpu, emit == Emit::Asm,
                                     output->os(), message)))
      return error(message);
    output->keep();
    phases.done(emit == Emit::Llvm ? "write" : "machine code");
    return finished();
  }

  std::string message;
  auto output = openOutputFile(outputFile, &message);
  if (!output)
    return error(message);
  if (explaining && explain == "svg") {
    // The Graphviz graph through `dot -Tsvg`, into the output.
    SmallString<128> graph;
    if (llvm::sys::fs::createTemporaryFile("dync-explain", "dot", graph))
      return error("cannot create a temporary file for the graph");
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(graph, ec);
      dync::explainPartition(*module, os, /*dot=*/true);
    }
    SmallString<128> svg;
    if (llvm::sys::fs::createTemporaryFile("dync-explain", "svg", svg))
      return error("cannot create a temporary file for the graph");
    std::string message;
    int rc = llvm::sys::ExecuteAndWait(graphviz, {graphviz, "-Tsvg", graph, "-o", svg},
                                       std::nullopt, {}, 0, 0, &message);
    llvm::sys::fs::remove(graph);
    auto rendered = llvm::MemoryBuffer::getFile(svg);
    llvm::sys::fs::remove(svg);
    if (rc != 0 || !rendered)
      return error("Graphviz's dot failed to render the graph" +
                   (message.empty() ? std::string() : ": " + message));
    output->os() << (*rendered)->getBuffer();
  } else if (explaining) {
    dync::explainPartition(*module, output->os(), explain == "dot");
  } else {
    module->print(output->os());
    output->os() << "\n";
  }
  output->keep();
  phases.done("write");
  return finished();
}
