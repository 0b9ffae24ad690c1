#!/usr/bin/python3
"""Checks docs/BadInput.md: every row's error message must still be what its
test checks.

    bad-input-matrix.py SRC_ROOT

A row's last cell names the test as `file PREFIX` or `file`. The message (the
first backquoted cell) is split at `…` (a part that depends on the input);
each piece must appear, in order, in one `PREFIX:` line of the file (FileCheck
`{{...}}` patterns count as gaps), or anywhere in the file without a prefix.
Prints each failing row and exits 1 if any; else the number of rows checked.
"""
import os
import re
import sys

root = sys.argv[1]
doc = os.path.join(root, "docs", "BadInput.md")
rows = failures = 0
for lineno, line in enumerate(open(doc, encoding="utf-8"), 1):
    if not line.startswith("|") or line.startswith("|---"):
        continue
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    test = re.fullmatch(r"`(test/[^` ]+)(?: ([A-Z0-9-]+))?`", cells[-1])
    messages = [c for c in cells[1:-1] if c.startswith("`") and c.endswith("`")]
    if not test or not messages:
        continue
    rows += 1
    message = messages[-1][1:-1]
    path, prefix = test.group(1), test.group(2)
    text = open(os.path.join(root, path), encoding="utf-8").read()
    if prefix:
        candidates = [re.sub(r"\{\{.*?\}\}", "…", m.group(1))
                      for m in re.finditer(r"^(?://\s*)?" + re.escape(prefix) + r":\s*(.*)$",
                                           text, re.M)]
    else:
        candidates = [text]

    def found(candidate):
        at = 0
        for piece in message.split("…"):
            # A piece may span a gap of the check line only at its ends.
            k = candidate.find(piece, at)
            if k < 0:
                return False
            at = k + len(piece)
        return True

    if not any(found(c) for c in candidates):
        failures += 1
        print(f"docs/BadInput.md:{lineno}: not found in {path}"
              f"{' under ' + prefix if prefix else ''}: {message}")
print(f"bad-input matrix: {rows} rows, {failures} not backed by their test")
sys.exit(1 if failures else 0)
