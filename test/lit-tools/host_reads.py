#!/usr/bin/env python3
"""What a CUDA model's host program reads back from the device.

  host_reads.py KERNELS.mlir [FUNC]

KERNELS.mlir is the host program at `dync-opt --dync-cuda-kernels`, where
subgraphs are still calls. A subgraph's results live in device-visible
memory written by its kernels, and the call waits for them before it
returns; every `memref.load` of such a result in FUNC (default forward) is
the host reading device data back. Prints

  reads CALLS calls BUFFERS buffers

the number of subgraph calls whose results the host loads (each one wait,
at the end of that call) and of distinct result buffers it loads.
"""
import re
import sys


def main(argv):
    if len(argv) not in (1, 2):
        sys.exit(__doc__)
    func = argv[1] if len(argv) == 2 else "forward"
    text = open(argv[0]).read()
    start = text.index("func.func @%s(" % func)
    end = text.index("\n  }\n", start)
    body = text[start:end]
    calls = set(m.group(1) for m in re.finditer(r"(%\w+)(?::\d+)? = (?:func\.)?call @[\w.]+\(", body))
    loads = set((v, k) for v, k in re.findall(r"memref\.load (%\w+)(#\d+)?\[", body) if v in calls)
    print("reads %d calls %d buffers" % (len({v for v, _ in loads}), len(loads)))


if __name__ == "__main__":
    main(sys.argv[1:])
