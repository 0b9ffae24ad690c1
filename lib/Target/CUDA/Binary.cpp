//===- Binary.cpp - PTX to a fatbin with the CUDA toolkit -----------------===//
//
// MLIR serializes the kernel module to PTX. The toolkit's ptxas assembles it
// once per architecture and fatbinary packs the cubins with the PTX (which
// the driver compiles for architectures newer than any cubin), so that one
// model library runs on every GPU it was built for without a JIT.
//
//===----------------------------------------------------------------------===//

#include "dync/Target/CUDA/CUDATarget.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/Pass.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace dync {

bool isValidCudaArch(StringRef arch) {
  unsigned n;
  return arch.consume_front("sm_") && !arch.getAsInteger(10, n) && n >= 75 && n < 1000;
}

std::string findCudaTool(StringRef name, StringRef toolkit, std::string &error) {
  auto under = [&](StringRef root) -> std::string {
    SmallString<256> path(root);
    llvm::sys::path::append(path, "bin", name);
    return llvm::sys::fs::can_execute(path) ? path.str().str() : "";
  };
  if (!toolkit.empty()) {
    std::string found = under(toolkit);
    if (found.empty())
      error = ("no '" + name + "' in the CUDA toolkit '" + toolkit + "' (--cuda-toolkit)").str();
    return found;
  }
  for (const char *var : {"CUDA_HOME", "CUDA_PATH"})
    if (const char *root = std::getenv(var); root && *root)
      if (std::string found = under(root); !found.empty())
        return found;
  if (std::string found = under("/usr/local/cuda"); !found.empty())
    return found;
  if (auto onPath = llvm::sys::findProgramByName(name))
    return *onPath;
  error = ("no CUDA toolkit: '" + name +
           "' is not in $CUDA_HOME, $CUDA_PATH, /usr/local/cuda or on PATH "
           "(install the CUDA toolkit or pass --cuda-toolkit=DIR)")
              .str();
  return "";
}

LogicalResult writePtx(ModuleOp module, llvm::raw_ostream &os, std::string &error) {
  bool any = false;
  for (auto binary : module.getOps<gpu::BinaryOp>())
    for (Attribute a : binary.getObjects()) {
      auto object = dyn_cast<gpu::ObjectAttr>(a);
      if (!object || object.getFormat() != gpu::CompilationTarget::Assembly)
        continue;
      os << object.getObject().getValue();
      any = true;
    }
  if (!any)
    error = "the module holds no PTX (the kernel stage of the CUDA pipeline makes it)";
  return success(any);
}

namespace {

/// Runs `tool` with `args`; its stderr goes to `log`. The tool's message on
/// failure.
LogicalResult run(StringRef tool, ArrayRef<StringRef> args, StringRef log, std::string &error) {
  SmallVector<StringRef> argv{tool};
  argv.append(args.begin(), args.end());
  std::optional<StringRef> redirects[] = {std::nullopt, std::nullopt, log};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(tool, argv, std::nullopt, redirects, 0, 0, &message);
  if (rc == 0)
    return success();
  error = (llvm::sys::path::filename(tool) + " failed").str();
  if (!message.empty())
    error += ": " + message;
  if (auto text = llvm::MemoryBuffer::getFile(log); text && !(*text)->getBuffer().empty())
    error += ":\n" + (*text)->getBuffer().rtrim().str();
  return failure();
}

/// The fatbin of `ptx`: a cubin per architecture, and the PTX.
LogicalResult assemble(StringRef ptx, const CudaOptions &options, std::string &fatbin,
                       std::string &error) {
  std::string ptxas = findCudaTool("ptxas", options.toolkit, error);
  if (ptxas.empty())
    return failure();
  std::string fatbinary = findCudaTool("fatbinary", options.toolkit, error);
  if (fatbinary.empty())
    return failure();
  SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("dync-cuda", dir)) {
    error = "cannot create a temporary directory for the CUDA toolkit's files";
    return failure();
  }
  // Everything in `dir` goes when this returns.
  llvm::scope_exit cleanup([&] { llvm::sys::fs::remove_directories(dir); });
  auto file = [&](const Twine &name) {
    SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return p.str().str();
  };
  std::string ptxFile = file("kernels.ptx"), log = file("log.txt");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxFile, ec);
    if (ec) {
      error = "cannot write '" + ptxFile + "': " + ec.message();
      return failure();
    }
    os << ptx;
  }
  std::vector<std::string> images;
  for (const std::string &arch : options.archs) {
    std::string cubin = file(arch + ".cubin");
    std::string archFlag = "-arch=" + arch;
    if (failed(run(ptxas, {"-O3", archFlag, "-o", cubin, ptxFile}, log, error)))
      return failure();
    images.push_back("--image3=kind=elf,sm=" + arch.substr(3) + ",file=" + cubin);
  }
  images.push_back("--image3=kind=ptx,sm=" + options.archs.front().substr(3) + ",file=" + ptxFile);
  std::string out = file("kernels.fatbin");
  std::string create = "--create=" + out;
  SmallVector<StringRef> args{"-64", create};
  for (const std::string &image : images)
    args.push_back(image);
  if (failed(run(fatbinary, args, log, error)))
    return failure();
  auto bytes = llvm::MemoryBuffer::getFile(out, /*IsText=*/false);
  if (!bytes) {
    error = "cannot read the fatbin: " + bytes.getError().message();
    return failure();
  }
  fatbin = (*bytes)->getBuffer().str();
  return success();
}

struct AssembleKernelsPass : PassWrapper<AssembleKernelsPass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(AssembleKernelsPass)
  explicit AssembleKernelsPass(CudaOptions options) : options(std::move(options)) {}
  StringRef getArgument() const override { return "dync-assemble-kernels"; }
  StringRef getDescription() const override {
    return "PTX objects of gpu.binary ops as fatbins (ptxas, fatbinary)";
  }

  void runOnOperation() override {
    for (auto binary : getOperation().getOps<gpu::BinaryOp>()) {
      SmallVector<Attribute> objects;
      for (Attribute a : binary.getObjects()) {
        auto object = dyn_cast<gpu::ObjectAttr>(a);
        if (!object || object.getFormat() != gpu::CompilationTarget::Assembly) {
          objects.push_back(a);
          continue;
        }
        std::string fatbin, error;
        if (failed(assemble(object.getObject().getValue(), options, fatbin, error))) {
          binary.emitError() << error;
          return signalPassFailure();
        }
        objects.push_back(gpu::ObjectAttr::get(
            &getContext(), object.getTarget(), gpu::CompilationTarget::Fatbin,
            StringAttr::get(&getContext(), fatbin), object.getProperties(),
            object.getKernels()));
      }
      binary.setObjectsAttr(ArrayAttr::get(&getContext(), objects));
    }
  }

  CudaOptions options;
};

} // namespace

std::unique_ptr<Pass> createAssembleKernelsPass(const CudaOptions &options) {
  return std::make_unique<AssembleKernelsPass>(options);
}

} // namespace dync
