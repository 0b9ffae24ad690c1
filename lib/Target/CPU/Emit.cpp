//===- Emit.cpp - objects and shared libraries ----------------------------===//
//
// Machine code from an in-process TargetMachine (no shelling out to llc),
// and the model library linked by the system's C compiler driver. A model
// library's machine code is generated in parallel: the optimized module is
// split into one part per core (llvm::SplitModule), each part is compiled in
// its own LLVMContext on its own thread (a context is not thread-safe; the
// parts travel as bitcode, as LLVM's own parallel code generation does), and
// the objects are linked together. Instruction selection works per function,
// so the code is the same as from one part; only its order in the library
// differs.
//
//===----------------------------------------------------------------------===//

#include "dync/Target/CPU/CPUTarget.h"

#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/Threading.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <algorithm>
#include <mutex>

using namespace mlir;

namespace dync {

LogicalResult emitNative(llvm::Module &llvmModule, const CpuOptions &options,
                         bool assembly, llvm::raw_pwrite_stream &os,
                         std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm(makeTargetMachine(options, error));
  if (!tm)
    return failure();
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr,
                              assembly ? llvm::CodeGenFileType::AssemblyFile
                                       : llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit this file type";
    return failure();
  }
  pm.run(llvmModule);
  return success();
}

LogicalResult linkSharedLibrary(ArrayRef<std::string> objects, StringRef output,
                                std::string &error) {
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc) {
    error = "no system linker driver 'cc' on PATH (install gcc or clang)";
    return failure();
  }
  SmallVector<StringRef> args{*cc, "-shared", "-o", output};
  for (const std::string &o : objects)
    args.push_back(o);
  args.push_back("-lm");
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, {}, 0, 0, &message);
  if (rc != 0) {
    error = "linking '" + output.str() + "' failed" +
            (message.empty() ? "" : ": " + message);
    return failure();
  }
  return success();
}

namespace {

/// Writes the object of `module` to a new temporary file, named in `path`.
LogicalResult emitObject(llvm::Module &module, const CpuOptions &options,
                         std::string &path, std::string &error) {
  SmallString<128> object;
  if (llvm::sys::fs::createTemporaryFile("dync", "o", object)) {
    error = "cannot create a temporary object file";
    return failure();
  }
  path = object.str().str();
  std::error_code ec;
  llvm::raw_fd_ostream os(object, ec);
  if (ec) {
    error = "cannot write '" + path + "': " + ec.message();
    return failure();
  }
  return emitNative(module, options, /*assembly=*/false, os, error);
}

} // namespace

unsigned codegenJobs() {
  return std::clamp(llvm::hardware_concurrency().compute_thread_count(), 1u, 8u);
}

LogicalResult emitObjects(std::unique_ptr<llvm::Module> module, const CpuOptions &options,
                          unsigned jobs, SmallVectorImpl<std::string> &objects,
                          std::string &error) {
  if (jobs <= 1) {
    objects.emplace_back();
    return emitObject(*module, options, objects.back(), error);
  }

  // Locals referenced across parts become hidden globals, so nothing the
  // library exports changes.
  SmallVector<SmallString<0>> parts;
  llvm::SplitModule(
      *module, jobs,
      [&](std::unique_ptr<llvm::Module> part) {
        parts.emplace_back();
        llvm::raw_svector_ostream os(parts.back());
        llvm::WriteBitcodeToFile(*part, os);
      },
      /*PreserveLocals=*/false, /*RoundRobin=*/true);
  module.reset();

  size_t first = objects.size();
  objects.resize(first + parts.size());
  std::mutex errorMutex;
  bool failedAny = false;
  {
    llvm::DefaultThreadPool pool(llvm::hardware_concurrency(jobs));
    for (size_t i = 0; i < parts.size(); ++i)
      pool.async([&, i] {
        std::string message;
        llvm::LLVMContext context;
        llvm::Expected<std::unique_ptr<llvm::Module>> part = llvm::parseBitcodeFile(
            llvm::MemoryBufferRef(llvm::StringRef(parts[i].data(), parts[i].size()),
                                  "dync-part"),
            context);
        LogicalResult emitted =
            part ? emitObject(**part, options, objects[first + i], message)
                 : (message = llvm::toString(part.takeError()), failure());
        if (failed(emitted)) {
          std::lock_guard<std::mutex> lock(errorMutex);
          if (!failedAny)
            error = message;
          failedAny = true;
        }
      });
    pool.wait();
  }
  return failure(failedAny);
}

} // namespace dync
