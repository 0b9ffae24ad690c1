//===- StatsReport.cpp - dync-run --stats as tables -----------------------===//
//
// The counters' names say what counted them (docs/Runtime.md, "Run
// statistics"): NODE.samples / NODE.samples_run (a gate), NODE.samples_then /
// NODE.samples_else (a per-sample cond), NODE.stageK_samples (an early exit),
// NODE.tokens and NODE.expert_tokens[e] (a MoE layer), NODE.blocks /
// NODE.blocks_computed and NODE.head_blocks_computed[h] (block-sparse
// attention), time_ns.PATH (a subgraph).
//
//===----------------------------------------------------------------------===//

#include "StatsReport.h"

#include <algorithm>
#include <map>

namespace {

using Stats = std::vector<std::pair<std::string, int64_t>>;

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// A bar of '#' for `v` of `max`, at most `width` long (one '#' for any
/// non-zero value).
std::string bar(int64_t v, int64_t max, int width = 30) {
  if (v <= 0 || max <= 0)
    return "";
  int n = static_cast<int>((static_cast<double>(v) * width + max - 1) / max);
  return std::string(std::max(1, std::min(n, width)), '#');
}

double percent(int64_t part, int64_t whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

using Rows = std::vector<std::pair<int, int64_t>>;

/// The counters NODE<marker>I<suffix> (I a number), by NODE: (I, value)
/// in the counters' order.
std::map<std::string, Rows> indexed(const Stats &stats, const std::string &marker,
                                    const std::string &suffix) {
  std::map<std::string, Rows> out;
  for (auto &[name, v] : stats) {
    size_t at = name.rfind(marker);
    if (at == std::string::npos || !endsWith(name, suffix))
      continue;
    size_t from = at + marker.size();
    if (from + suffix.size() > name.size())
      continue;
    std::string i = name.substr(from, name.size() - from - suffix.size());
    if (i.empty() || i.size() > 9 || i.find_first_not_of("0123456789") != std::string::npos)
      continue;
    out[name.substr(0, at)].push_back({std::stoi(i), v});
  }
  return out;
}

/// One row per index, with a bar scaled to the largest value.
void printRows(std::FILE *out, const Rows &rows) {
  int64_t max = 0;
  for (auto &[i, v] : rows)
    max = std::max(max, v);
  for (auto &[i, v] : rows)
    std::fprintf(out, "  %-28s %5d %8lld  %s\n", "", i, static_cast<long long>(v),
                 bar(v, max).c_str());
}

} // namespace

void dync::printStatsReport(std::FILE *out, const Stats &stats) {
  std::map<std::string, int64_t> value(stats.begin(), stats.end());
  auto has = [&](const std::string &n) { return value.count(n) != 0; };

  // Gates: NODE.samples with NODE.samples_run.
  bool header = false;
  for (auto &[name, v] : stats) {
    if (!endsWith(name, ".samples_run"))
      continue;
    std::string node = name.substr(0, name.size() - 12);
    if (!has(node + ".samples"))
      continue;
    int64_t total = value[node + ".samples"];
    if (!header)
      std::fprintf(out, "%-38s %8s %8s %8s\n", "gates", "samples", "ran", "skipped");
    header = true;
    std::fprintf(out, "  %-36s %8lld %8lld %7.1f%%  %s\n", node.c_str(),
                 static_cast<long long>(total), static_cast<long long>(v),
                 100.0 - percent(v, total), bar(v, total).c_str());
  }
  // Per-sample conds: NODE.samples_then and NODE.samples_else.
  header = false;
  for (auto &[name, v] : stats) {
    if (!endsWith(name, ".samples_then"))
      continue;
    std::string node = name.substr(0, name.size() - 13);
    if (!header)
      std::fprintf(out, "%-38s %8s %8s\n", "conds", "then", "else");
    header = true;
    std::fprintf(out, "  %-36s %8lld %8lld\n", node.c_str(), static_cast<long long>(v),
                 static_cast<long long>(has(node + ".samples_else") ? value[node + ".samples_else"]
                                                                    : 0));
  }
  // Early exits: NODE.stageK_samples, one row per stage.
  for (auto &[node, stages] : indexed(stats, ".stage", "_samples")) {
    std::fprintf(out, "early exit %-19s %5s %8s  (samples each stage computed)\n", node.c_str(),
                 "stage", "samples");
    printRows(out, stages);
  }
  // MoE layers: NODE.expert_tokens[e], with NODE.tokens.
  for (auto &[node, rows] : indexed(stats, ".expert_tokens[", "]")) {
    std::string tokens = has(node + ".tokens") ? ", " + std::to_string(value[node + ".tokens"]) +
                                                     " tokens"
                                               : "";
    std::fprintf(out, "experts %-22s %5s %8s  (tokens each expert computed%s)\n", node.c_str(),
                 "expert", "tokens", tokens.c_str());
    printRows(out, rows);
  }
  // Block-sparse attention: NODE.blocks and NODE.blocks_computed.
  header = false;
  for (auto &[name, v] : stats) {
    if (!endsWith(name, ".blocks_computed"))
      continue;
    std::string node = name.substr(0, name.size() - 16);
    int64_t total = has(node + ".blocks") ? value[node + ".blocks"] : 0;
    if (!header)
      std::fprintf(out, "%-38s %8s %8s %8s\n", "attention", "blocks", "computed", "density");
    header = true;
    std::fprintf(out, "  %-36s %8lld %8lld %7.1f%%  %s\n", node.c_str(),
                 static_cast<long long>(total), static_cast<long long>(v), percent(v, total),
                 bar(v, total).c_str());
  }
  // Block-sparse attention per head: NODE.head_blocks_computed[h], each head
  // of NODE.blocks / heads pairs.
  for (auto &[node, rows] : indexed(stats, ".head_blocks_computed[", "]")) {
    int64_t perHead = has(node + ".blocks") && !rows.empty()
                          ? value[node + ".blocks"] / static_cast<int64_t>(rows.size())
                          : 0;
    std::fprintf(out, "attention %-20s %5s %8s %8s  (blocks each head computed)\n", node.c_str(),
                 "head", "computed", "density");
    for (auto &[h, v] : rows)
      std::fprintf(out, "  %-28s %5d %8lld %7.1f%%  %s\n", "", h, static_cast<long long>(v),
                   percent(v, perHead), bar(v, perHead).c_str());
  }
  // Time per subgraph, slowest first.
  Stats times;
  int64_t totalNs = 0;
  for (auto &[name, v] : stats)
    if (name.rfind("time_ns.", 0) == 0) {
      times.push_back({name.substr(8), v});
      totalNs += v;
    }
  if (!times.empty()) {
    std::sort(times.begin(), times.end(), [](auto &a, auto &b) {
      return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    std::fprintf(out, "%-38s %8s %8s\n", "time per subgraph", "ms", "share");
    for (auto &[path, ns] : times)
      std::fprintf(out, "  %-36s %8.3f %7.1f%%  %s\n", path.c_str(), ns / 1e6,
                   percent(ns, totalNs), bar(ns, times.front().second).c_str());
  }
  std::fprintf(out, "stats:%s\n", stats.empty() ? " none (the model makes no dynamic decisions)" : "");
  for (auto &[name, v] : stats)
    std::fprintf(out, "  %s = %lld\n", name.c_str(), static_cast<long long>(v));
}
