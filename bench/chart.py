#!/usr/bin/python3
"""Draws `./dev bench`'s results as one PNG, next to its table.

    /usr/bin/python3 bench/chart.py RESULTS.json OUT.png

Left: the median time of each workload for dync and each peer that ran it
(log scale: the workloads span two orders of magnitude). Right: for the
dynamic workloads, time against the fraction of the full work the network
decided to run, both relative to running everything; the diagonal is "time
proportional to work", the goal. Uses Debian's python3-matplotlib (no
display needed); the benchmark itself runs in a venv with PyPI's numpy, so
the chart is drawn by a separate process.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

COLORS = {"dync": "#1f5fa8", "dync dense": "#8fb4e3", "dync full depth": "#8fb4e3",
          "numpy": "#e08a2c", "numpy dense": "#e08a2c", "onnxruntime": "#3c9a4b"}


def main():
    results = json.load(open(sys.argv[1]))
    workloads = results.get("workloads", {})
    curves = results.get("work_curves", {})
    if not workloads and not curves:
        sys.exit("chart.py: no results to draw in " + sys.argv[1])
    fig, (bars, work) = plt.subplots(1, 2, figsize=(13, 0.9 + 0.75 * max(len(workloads), 4)),
                                     gridspec_kw={"width_ratios": [3, 2]})

    names = list(workloads)
    systems = []
    for w in names:
        systems += [s for s in workloads[w] if s not in systems]
    # Each workload's bars side by side, only for the systems that ran it.
    height = 0.8 / max(max(len(v) for v in workloads.values()), 1)
    labelled = set()
    for i, w in enumerate(names):
        for j, system in enumerate(s for s in systems if s in workloads[w]):
            x = workloads[w][system]
            bars.barh(i + j * height, x, height=height, color=COLORS.get(system),
                      label=None if system in labelled else system)
            labelled.add(system)
            bars.text(x, i + j * height, f" {x:.3g} {system}", va="center", fontsize=7)
    bars.set_yticks(range(len(names)), names)
    bars.invert_yaxis()
    bars.set_xscale("log")
    bars.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    bars.set_xlim(right=bars.get_xlim()[1] * 3)  # room for the labels
    bars.set_xlabel("median time per run, ms (log scale; shorter is better)")
    title = "dync and its peers, same machine, same run"
    if "limit_gflops" in results:
        title += f" (fp32 matmul limit {results['limit_gflops']:.0f} GFLOP/s)"
    bars.set_title(title, fontsize=10)
    bars.legend(fontsize=8, loc="lower right")

    work.plot([0, 1], [0, 1], color="gray", linestyle="--", label="time proportional to work")
    for name, c in curves.items():
        pts = sorted(c["points"])
        work.plot([f for f, _ in pts], [t / c["full_ms"] for _, t in pts], marker="o", label=name)
    work.set_xlim(0, 1.05)
    work.set_ylim(0, 1.2)
    work.set_xlabel("fraction of the full work the network ran")
    work.set_ylabel("time / time of the full work")
    work.set_title("dynamic workloads: does less work take less time?", fontsize=10)
    work.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)
    print(f"chart: {sys.argv[2]}")


if __name__ == "__main__":
    main()
