//===- StatsReport.h - dync-run --stats as tables -------------*- C++ -*-===//
//
// The run statistics grouped by what counted them (gates, conds, early
// exits, MoE experts, block-sparse attention, time per subgraph), with a
// text bar per row, then every counter as `name = value`.
//
//===----------------------------------------------------------------------===//

#ifndef DYNC_RUN_STATSREPORT_H
#define DYNC_RUN_STATSREPORT_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace dync {

/// Prints `stats` (name, value in order) to `out`.
void printStatsReport(std::FILE *out, const std::vector<std::pair<std::string, int64_t>> &stats);

} // namespace dync

#endif // DYNC_RUN_STATSREPORT_H
