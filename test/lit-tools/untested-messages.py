#!/usr/bin/python3
"""Lists user-facing error messages of dync's sources that no test mentions.

    untested-messages.py SRC_ROOT

Finds the string literals passed to the error helpers of the compiler, the
importer, the passes, the dialect and the runtime (fail, failNode, failAt,
error, emitOpError, emitError, and the runtime's fail(code, ...)), joins
adjacent literals, and looks for each fixed fragment of each (format
specifiers, streamed values and the arms of a conditional split it) in the
test sources: every fragment must appear. Prints one
line per message that no test contains; exits 1 if there is any.

A few messages cannot be reached from a test (internal errors that checks
before them exclude, allocation failures of the runtime's own small
objects); they are listed in UNREACHABLE with the reason.
"""
import glob
import os
import re
import sys

root = sys.argv[1]
SOURCES = ["tools/*/*.cpp", "runtime/src/*.cpp", "runtime/safetensors/*.cpp",
           "lib/**/*.cpp", "passes/**/*.cpp", "dialects/**/*.cpp"]
UNREACHABLE = {
    "internal error: ": "the importer's checks run first; reported only on a dync bug",
    "internal error: the imported IR does not verify (": "as above",
    "internal error: bad subgraph role '": "roles are built by the op builders",
    "invalid pass manager options": "the options are parsed by MLIR before",
    "cannot create a temporary object file": "needs a full /tmp",
    "dyn-merge-subgraphs: cannot redirect the uses of this subgraph": "only calls use a subgraph, and a call's callee can always be replaced",
    "the module's manifest is not a JSON object": "dyn-emit-manifest always writes an object",
    "cannot create a temporary file for the graph": "needs a full /tmp",
    "Graphviz's dot failed to render the graph": "dot failing on the graph dync writes (a Graphviz bug)",
    "out of memory loading '": "allocation of the model's handle",
    "out of memory loading the linked model": "allocation of the model's handle",
    "out of memory creating a session": "allocation of the session's handle",
    "cannot copy weight '": "a misaligned weight and a failing allocation at once",
    "cannot pack weight '": "a failing allocation of a weight's packed copy while the model loads",
    "out of memory copying output '": "a strided output and a failing malloc at once",
    "cannot map: ": "mmap of a regular file that opened and was measured",
    "'nodes' must be an array": "the top level and subgraphs check their 'nodes' first",
    "per-sample outputs must keep the live batch as their first dim":
        "every op keeps the live batch first inside per-sample subgraphs",
    "missing attribute '": "the ONNX translations set every attribute their dync op reads",
    "reshape targets are resolved by the ONNX front end": "no ONNX translation emits a reshape op",
    "runtime parameters are not supported in ONNX models": "no ONNX translation makes a dync op with a parameter",
    "block selection is not supported in ONNX models": "no ONNX translation makes block-sparse attention",
    "subgraphs are not supported yet in ONNX models": "no ONNX translation makes a dync op with subgraphs",
    "early exits are not supported yet in ONNX models": "as above",
    "' is not available here": "a constant used only as a matmul weight is not read as a tensor",
    "' is not produced in the branch": "a branch output that is not defined is caught as a name the branch reads",
    "' has no value dync can use here": "every defined ONNX value is a tensor, known integers or a constant",
    "dyn-gather-kernels: launch of an unknown kernel":
        "gpu.launch_func's verifier requires its kernel to exist",
    "the second operand's axis 0 is the live batch":
        "needs an operand whose last dim is the live batch, which no op makes",
}

tests = ""
for f in glob.glob(os.path.join(root, "test", "**", "*"), recursive=True):
    if os.path.isfile(f) and not f.endswith(".py"):
        with open(f, errors="ignore") as fh:
            tests += fh.read()
tests = re.sub(r"\s+", " ", tests)

call = re.compile(r'\b(fail|failNode|failAt|error|emitOpError|emitError)\s*\(([^;]*?)(\);|\) \{|\) <<)', re.S)
literal = re.compile(r'"((?:[^"\\]|\\.)*)"')
missing = []
for pattern in SOURCES:
    for src in sorted(glob.glob(os.path.join(root, pattern), recursive=True)):
        text = open(src).read()
        for m in call.finditer(text):
            args = m.group(2)
            # Adjacent literals are one string; other arguments split it.
            pieces, current, last = [], "", None
            for lm in literal.finditer(args):
                between = args[last:lm.start()] if last is not None else ""
                if last is not None and between.strip():
                    pieces.append(current)
                    current = ""
                current += lm.group(1)
                last = lm.end()
            if current:
                pieces.append(current)
            if not pieces:
                continue
            message = " ".join(pieces)
            if any(message.startswith(u) or u in message for u in UNREACHABLE):
                continue
            frags = []
            for p in pieces:
                for f in re.split(r"%[-0-9.]*l{0,2}[a-z]|\\n|\{[0-9]\}", p):
                    f = f.replace('\\"', '"').strip(" '\"()[]:,.")
                    if len(f) >= 10:
                        frags.append(f)
            if not frags:
                continue
            absent = [f for f in frags if f not in tests]
            if absent:
                line = text[:m.start()].count("\n") + 1
                missing.append(f"{os.path.relpath(src, root)}:{line}: {message[:100]}")
for m in missing:
    print(m)
sys.exit(1 if missing else 0)
