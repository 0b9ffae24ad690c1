//===- dync-opt.cpp - MLIR optimizer driver with dync's dialect and passes ===//

#include "dync/InitAllDialects.h"
#include "dync/InitAllPasses.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

namespace {

/// `dync-opt --help`: dync's own passes and pipelines and the options used
/// most, on one screen. MLIR's option parser lists every registered pass
/// (over a thousand lines); that full list stays behind --help-hidden and
/// --help-list, which this filters: it runs this tool with --help-list and
/// keeps dync's entries.
int shortHelp(const char *argv0) {
  static int anchor;
  std::string self = llvm::sys::fs::getMainExecutable(argv0, &anchor);
  llvm::SmallString<128> listing;
  if (llvm::sys::fs::createTemporaryFile("dync-opt-help", "txt", listing))
    return 1;
  llvm::scope_exit cleanup([&] { llvm::sys::fs::remove(listing); });
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, llvm::StringRef(listing),
                                                std::nullopt};
  if (llvm::sys::ExecuteAndWait(self, {self, "--help-list"}, std::nullopt, redirects) != 0)
    return 1;
  auto text = llvm::MemoryBuffer::getFile(listing);
  if (!text)
    return 1;
  std::string passes, common;
  llvm::SmallVector<llvm::StringRef> lines;
  (*text)->getBuffer().split(lines, '\n');
  for (llvm::StringRef line : lines) {
    llvm::StringRef flag = line.ltrim();
    if (flag.starts_with("--dyn-") || flag.starts_with("--dync-"))
      passes += "  " + flag.str() + "\n";
    else if (llvm::any_of(llvm::ArrayRef<llvm::StringRef>{"-o <", "--pass-pipeline=",
                                                          "--split-input-file",
                                                          "--verify-diagnostics ",
                                                          "--mlir-print-ir-after-all ",
                                                          "--mlir-timing ", "--help-hidden "},
                          [&](llvm::StringRef p) { return flag.starts_with(p); }))
      common += "  " + flag.str() + "\n";
  }
  llvm::outs() << "OVERVIEW: dync optimizer driver: the dyn dialect and every dync pass\n\n"
               << "USAGE: dync-opt [options] <input file>\n\n"
               << "dync's passes and pipelines (each stage of `dync --emit=...` is a pipeline):\n"
               << passes << "\nOptions used most:\n" << common
               << "\nEvery MLIR pass and option is accepted too: --help-hidden lists them.\n";
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  for (int i = 1; i < argc; ++i)
    if (llvm::StringRef(argv[i]) == "--help" || llvm::StringRef(argv[i]) == "-h")
      return shortHelp(argv[0]);
  mlir::registerAllPasses();
  dync::registerAllPasses();
  mlir::DialectRegistry registry;
  dync::registerAllDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "dync optimizer driver: the dyn dialect and every dync pass\n",
      registry));
}
