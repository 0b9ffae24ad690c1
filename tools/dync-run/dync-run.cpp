//===- dync-run.cpp - run a model compiled by dync ------------------------===//
//
//   dync-run MODEL.so [--weights FILE] --input NAME=FILE.npy ...
//            [--output NAME=FILE.npy ...] [--param NAME=VALUE ...]
//            [--stats] [--stats-json FILE] [--bench N] [--threads N]
//            [--device cpu|cuda]
//
// Uses only libdyncrt's C API (no LLVM, no MLIR).
//
//===----------------------------------------------------------------------===//

#include "Npy.h"
#include "StatsReport.h"

#include "dync/runtime.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: dync-run MODEL.so [--weights FILE.safetensors]\n"
               "                --input NAME=FILE.npy ... [--output NAME=FILE.npy ...]\n"
               "                [--param NAME=VALUE ...] [--stats] [--stats-json FILE]\n"
               "                [--bench N] [--threads N] [--device cpu|cuda]\n");
  return 2;
}

int error(const std::string &msg) {
  std::fprintf(stderr, "dync-run: error: %s\n", msg.c_str());
  return 1;
}

bool splitAssign(const std::string &s, std::string &name, std::string &value) {
  size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0)
    return false;
  name = s.substr(0, eq);
  value = s.substr(eq + 1);
  return true;
}

void printSummary(const char *name, const dync_tensor_t &t) {
  std::printf("%s: %s [", name, dync_dtype_name(t.dtype));
  int64_t count = 1;
  for (int32_t d = 0; d < t.rank; ++d) {
    std::printf("%s%lld", d ? ", " : "", static_cast<long long>(t.shape[d]));
    count *= t.shape[d];
  }
  std::printf("]");
  if (t.dtype == DYNC_F32) {
    std::printf(" =");
    for (int64_t i = 0; i < std::min<int64_t>(count, 6); ++i)
      std::printf(" %g", static_cast<const float *>(t.data)[i]);
    if (count > 6)
      std::printf(" ...");
  }
  std::printf("\n");
}

} // namespace

/// The process's peak resident memory in MiB: the weights' pages the runs
/// touched, the workspace, inputs and outputs. Linux's VmHWM, which belongs
/// to this program's address space (getrusage's ru_maxrss starts from the
/// parent's at fork, so a small program run from a big one reports the
/// parent's); 0 where /proc is not there.
static double peakResidentMiB() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::atof(line.c_str() + 6) / 1024.0;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return usage();
  std::string modelPath, weightsPath;
  std::map<std::string, std::string> inputFiles, outputFiles;
  std::vector<std::pair<std::string, double>> params;
  long bench = 0;
  long threads = 0;
  // What the model must run on; empty: what it was compiled for.
  std::string device;
  bool stats = false;
  std::string statsJson;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string &v) {
      if (i + 1 >= argc)
        return false;
      v = argv[++i];
      return true;
    };
    std::string v, name, value;
    if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--weights") {
      if (!next(weightsPath))
        return error("--weights needs a file");
    } else if (a == "--input" || a == "--output") {
      if (!next(v) || !splitAssign(v, name, value))
        return error(a + " takes NAME=FILE.npy");
      (a == "--input" ? inputFiles : outputFiles)[name] = value;
    } else if (a == "--param") {
      if (!next(v) || !splitAssign(v, name, value))
        return error("--param takes NAME=VALUE");
      char *end = nullptr;
      double d = std::strtod(value.c_str(), &end);
      if (value.empty() || *end)
        return error("--param " + name + ": '" + value + "' is not a number");
      params.emplace_back(name, d);
    } else if (a == "--device" || a.rfind("--device=", 0) == 0) {
      if (a == "--device" ? !next(device) : (device = a.substr(9), false))
        return error("--device needs cpu or cuda");
      if (device != "cpu" && device != "cuda")
        return error("--device takes cpu or cuda, got '" + device + "'");
    } else if (a == "--stats") {
      stats = true;
    } else if (a == "--stats-json") {
      if (!next(statsJson))
        return error("--stats-json needs a file");
    } else if (a == "--bench" || a == "--threads") {
      if (!next(v))
        return error(a + " needs a count");
      char *end = nullptr;
      long count = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || count < 1)
        return error(a + " needs a positive count, got '" + v + "'");
      (a == "--bench" ? bench : threads) = count;
    } else if (!a.empty() && a[0] == '-') {
      return error("unknown option '" + a + "'");
    } else if (modelPath.empty()) {
      modelPath = a;
    } else {
      return error("unexpected argument '" + a + "'");
    }
  }
  if (modelPath.empty())
    return usage();

  dync_model_t *model = nullptr;
  if (dync_status_t *s = dync_model_load(modelPath.c_str(),
                                         weightsPath.empty() ? nullptr : weightsPath.c_str(),
                                         &model)) {
    int rc = error(dync_status_message(s));
    dync_status_free(s);
    return rc;
  }
  if (!device.empty() && device != dync_model_device(model)) {
    int rc = error("'" + modelPath + "' is compiled for " + dync_model_device(model) +
                   ", not for --device " + device + " (compile it with dync --target=" + device +
                   ")");
    dync_model_release(model);
    return rc;
  }
  dync_session_t *session = nullptr;
  dync_session_create(model, &session);
  if (threads > 0)
    if (dync_status_t *s = dync_session_set_threads(
            session, static_cast<int32_t>(std::min<long>(threads, INT32_MAX)))) {
      int rc = error(std::string("--threads: ") + dync_status_message(s));
      dync_status_free(s);
      return rc;
    }
  for (auto &[name, value] : params)
    if (dync_status_t *s = dync_session_set_param(session, name.c_str(), value)) {
      int rc = error(dync_status_message(s));
      dync_status_free(s);
      return rc;
    }

  int32_t nIn = dync_model_num_inputs(model), nOut = dync_model_num_outputs(model);
  std::vector<dync::npy::Array> arrays(nIn);
  std::vector<dync_tensor_t> inputs(nIn);
  for (int32_t i = 0; i < nIn; ++i) {
    std::string name = dync_model_input_name(model, i);
    auto it = inputFiles.find(name);
    if (it == inputFiles.end())
      return error("missing --input " + name + "=FILE.npy");
    std::string problem = dync::npy::readFile(it->second, arrays[i]);
    if (!problem.empty())
      return error("input '" + name + "': " + problem);
    if (arrays[i].shape.size() > DYNC_MAX_RANK)
      return error("input '" + name + "' has too many dims");
    inputs[i] = dync_tensor_t{arrays[i].dtype, static_cast<int32_t>(arrays[i].shape.size()),
                              {}, arrays[i].data.data(), nullptr};
    std::copy(arrays[i].shape.begin(), arrays[i].shape.end(), inputs[i].shape);
    inputFiles.erase(it);
  }
  if (!inputFiles.empty())
    return error("the model has no input '" + inputFiles.begin()->first + "'");
  for (auto &[name, file] : outputFiles) {
    bool known = false;
    for (int32_t i = 0; i < nOut; ++i)
      known |= name == dync_model_output_name(model, i);
    if (!known)
      return error("the model has no output '" + name + "'");
  }

  std::vector<dync_tensor_t> outputs(nOut);
  auto run = [&]() -> bool {
    if (dync_status_t *s = dync_session_run(session, inputs.data(), nIn, outputs.data(), nOut)) {
      error(dync_status_message(s));
      dync_status_free(s);
      return false;
    }
    return true;
  };
  if (!run())
    return 1;
  for (int32_t i = 0; i < nOut; ++i) {
    const char *name = dync_model_output_name(model, i);
    auto it = outputFiles.find(name);
    if (it != outputFiles.end()) {
      std::string problem = dync::npy::writeFile(it->second, outputs[i]);
      if (!problem.empty())
        return error(problem);
    } else {
      printSummary(name, outputs[i]);
    }
  }

  // With --bench, the statistics are those of the last (warm) run: the
  // decisions are the same as the first run's, the times are not.
  std::vector<double> ms;
  if (bench > 0) {
    for (long r = 0; r < bench; ++r) {
      for (auto &o : outputs)
        dync_tensor_free(&o);
      auto t0 = std::chrono::steady_clock::now();
      if (!run())
        return 1;
      ms.push_back(std::chrono::duration<double, std::milli>(
                       std::chrono::steady_clock::now() - t0)
                       .count());
    }
  }
  int32_t nStats = dync_model_num_stats(model);
  if (stats) {
    std::printf("threads: %d (parallel loops split among them: %lld)\n",
                dync_session_threads(session),
                static_cast<long long>(dync_session_parallel_loops(session)));
    std::printf("weights copied at load: %.1f MiB (packed for the matmul kernel, "
                "misaligned, or for a CUDA device)\n",
                static_cast<double>(dync_model_weight_copy_bytes(model)) / (1 << 20));
    std::vector<std::pair<std::string, int64_t>> all;
    for (int32_t i = 0; i < nStats; ++i)
      all.emplace_back(dync_model_stat_name(model, i), dync_session_stat(session, i));
    std::fflush(stdout);
    dync::printStatsReport(stdout, all);
  }
  if (!statsJson.empty()) {
    std::ofstream out(statsJson);
    if (!out)
      return error("cannot write '" + statsJson + "'");
    out << "{";
    for (int32_t i = 0; i < nStats; ++i) {
      std::string name = dync_model_stat_name(model, i);
      std::string escaped;
      for (char c : name)
        escaped += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
      out << (i ? ", " : "") << "\"" << escaped << "\": " << dync_session_stat(session, i);
    }
    out << "}\n";
  }

  if (!ms.empty()) {
    std::sort(ms.begin(), ms.end());
    std::printf("median_ms=%.4f min_ms=%.4f peak_rss_mb=%.1f weight_copies_mb=%.1f\n",
                ms[ms.size() / 2], ms.front(), peakResidentMiB(),
                static_cast<double>(dync_model_weight_copy_bytes(model)) / (1 << 20));
  }
  for (auto &o : outputs)
    dync_tensor_free(&o);
  dync_session_release(session);
  dync_model_release(model);
  return 0;
}
