//===- dync-opt.cpp - MLIR optimizer driver with dync's dialect and passes ===//

#include "dync/InitAllDialects.h"
#include "dync/InitAllPasses.h"

#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  dync::registerAllPasses();
  mlir::DialectRegistry registry;
  dync::registerAllDialects(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "dync optimizer driver: the dyn dialect and every dync pass\n",
      registry));
}
