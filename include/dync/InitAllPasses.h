//===- InitAllPasses.h - every dync pass ------------------------*- C++ -*-===//

#ifndef DYNC_INITALLPASSES_H
#define DYNC_INITALLPASSES_H

#include "dync/Passes/Passes.h"
#include "dync/Pipelines/Pipelines.h"

namespace dync {

/// Registers every dync pass and pipeline with the global registry, so that
/// `dync-opt` and the `dync` driver accept them by name.
inline void registerAllPasses() {
  registerDyncPartitionPasses();
  registerDyncConversionPasses();
  registerDyncCodegenPasses();
  registerDyncCPUPasses();
  registerDyncCUDAPasses();
  registerPipelines();
}

} // namespace dync

#endif // DYNC_INITALLPASSES_H
