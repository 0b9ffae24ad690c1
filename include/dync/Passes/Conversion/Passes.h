//===- Passes.h - Conversion passes ------------------------------------*- C++ -*-===//
//
// Dialect conversions.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_PASSES_CONVERSION_PASSES_H
#define DYNC_PASSES_CONVERSION_PASSES_H

#include "dync/Passes/Common.h"

namespace dync {

#define GEN_PASS_DECL
#include "dync/Passes/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "dync/Passes/Conversion/Passes.h.inc"

} // namespace dync

#endif // DYNC_PASSES_CONVERSION_PASSES_H
