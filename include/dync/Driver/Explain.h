//===- Explain.h - human-readable report of a partitioned model -*- C++ -*-===//

#ifndef DYNC_DRIVER_EXPLAIN_H
#define DYNC_DRIVER_EXPLAIN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace dync {

/// Writes what partitioning made of `module`: the subgraphs (op count,
/// estimated FLOP at the dims' maxima, bounded signatures), the host
/// functions with the dynamic decisions they make and what decides each, and
/// the runtime parameters read. With `dot`, a Graphviz digraph of the same.
void explainPartition(mlir::ModuleOp module, llvm::raw_ostream &os, bool dot);

} // namespace dync

#endif // DYNC_DRIVER_EXPLAIN_H
