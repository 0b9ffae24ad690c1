#!/usr/bin/env python3
"""The work a run counted where it did it, against the numpy reference.

  computed.py blocks WORK NODE LAYOUT   NODE.blocks_computed (and per head,
                                        NODE.head_blocks_computed[h]) against
                                        the blocks WORK/LAYOUT.ref.npy keeps
  computed.py experts WORK NODE COUNTS  NODE.expert_tokens[e] against the
                                        reference's counts WORK/COUNTS.ref.npy

WORK is an e2e.py work directory (stats.json, *.ref.npy). Prints what was
counted and exits 1 if it differs from the reference.
"""
import json
import sys

import numpy as np


def main(argv):
    if len(argv) != 4 or argv[0] not in ("blocks", "experts"):
        sys.exit(__doc__)
    kind, work, node, ref_name = argv
    stats = json.load(open(work + "/stats.json"))
    ref = np.load(work + "/" + ref_name + ".ref.npy")
    if kind == "blocks":
        kept = int(ref.sum())
        heads = [int(h) for h in ref.sum(axis=(0, 2, 3))]
        got = stats[node + ".blocks_computed"]
        got_heads = [stats["%s.head_blocks_computed[%d]" % (node, h)] for h in range(len(heads))]
        if got != kept or got_heads != heads:
            sys.exit("%s: computed %d %s, the reference keeps %d %s" % (node, got, got_heads, kept, heads))
        print("kept", kept, "of", stats[node + ".blocks"])
        return
    want = [int(c) for c in ref]
    got = [stats["%s.expert_tokens[%d]" % (node, e)] for e in range(len(want))]
    if got != want:
        sys.exit("%s: computed %s, the reference %s" % (node, got, want))
    print("counts", got, "of", stats[node + ".tokens"], "tokens")


if __name__ == "__main__":
    main(sys.argv[1:])
