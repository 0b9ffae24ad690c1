#!/usr/bin/python3
"""Checks docs/README.md, the documentation index: every page of docs/ is
linked from it, every page it links exists, and every generated reference it
names (`build/docs/...`) exists in the build.

    docs-index.py SRC_ROOT BUILD_ROOT
"""
import glob
import os
import re
import sys

src, build = sys.argv[1], sys.argv[2]
index = open(os.path.join(src, "docs", "README.md"), encoding="utf-8").read()
problems = []
linked = set(re.findall(r"\]\(([A-Za-z]+\.md)\)", index))
pages = {os.path.basename(p) for p in glob.glob(os.path.join(src, "docs", "*.md"))} - {"README.md"}
for p in sorted(pages - linked):
    problems.append(f"docs/{p} is not linked from docs/README.md")
for p in sorted(linked - pages):
    problems.append(f"docs/README.md links {p}, which does not exist")
generated = set(re.findall(r"`build/(docs/[^`]+\.md)`", index))
for g in sorted(generated):
    if not os.path.exists(os.path.join(build, g)):
        problems.append(f"docs/README.md names build/{g}, which the build did not generate")
# What the build generates: each add_mlir_doc(TD NAME DIR/ ...) writes
# build/docs/DIR/NAME.md.
built = set()
cmakes = [c for top in ("include", "dialects", "passes", "lib", "docs")
          for c in glob.glob(os.path.join(src, top, "**", "CMakeLists.txt"), recursive=True)]
for cmake in cmakes:
    for name, folder in re.findall(r"add_mlir_doc\(\S+\s+(\S+)\s+(\S+?)/?\s", open(cmake).read()):
        built.add(f"docs/{folder}/{name}.md")
for g in sorted(built - generated):
    problems.append(f"the build generates {g}, which docs/README.md does not name")
for p in problems:
    print("index:", p)
if problems:
    sys.exit(1)
print(f"index: {len(pages)} pages, {len(generated)} generated references, all present")
