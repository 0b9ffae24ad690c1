#!/usr/bin/python3
"""Runs every ```sh block of a Markdown page, in order, in one directory.

    run-doc.py PAGE.md WORKDIR

A block right after a line `<!-- not run: REASON -->` is skipped (a reason is
required). Each block runs with `bash -euo pipefail` in WORKDIR, with the
caller's PATH (the test puts the build's tools first). Prints each block's
output after a `$ block N (line L)` header and stops at the first failure
with its exit status.
"""
import re
import subprocess
import sys


def blocks(text):
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```sh":
            start = i
            skip = None
            j = i - 1
            while j >= 0 and not lines[j].strip():
                j -= 1
            m = re.match(r"<!-- not run: (.+) -->", lines[j].strip()) if j >= 0 else None
            if m:
                skip = m.group(1)
            elif j >= 0 and lines[j].strip().startswith("<!-- not run"):
                sys.exit(f"line {j + 1}: '<!-- not run' needs a reason: <!-- not run: REASON -->")
            body = []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            yield start + 1, "\n".join(body) + "\n", skip
        i += 1


def main():
    page, workdir = sys.argv[1], sys.argv[2]
    ran = 0
    for n, (line, body, skip) in enumerate(blocks(open(page).read()), 1):
        if skip:
            print(f"$ block {n} (line {line}): not run ({skip})")
            continue
        print(f"$ block {n} (line {line})", flush=True)
        done = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=workdir)
        if done.returncode != 0:
            print(f"FAILED block {n} (line {line}): exit status {done.returncode}")
            return 1
        ran += 1
    print(f"ran {ran} block(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
