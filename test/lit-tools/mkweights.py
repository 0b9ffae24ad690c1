#!/usr/bin/python3
"""Writes the weights file a test model names, from its metadata.

    mkweights.py MODEL.json [--normal] [--truncate N] [--header-len N] [--bad-header]
                 [--overlap] [--wrong-size NAME] [--dtype NAME=DT]

The model's "metadata": {"test_weights": {NAME: [shape...]}} lists the
tensors; values are deterministic (0.01 * index, alternating sign), or given
in full by "test_values": {NAME: [values...]} (row-major). The flags
damage the file on purpose, for the importer's bad-input tests.
"""
import argparse
import json
import os
import struct

import numpy as np

DTYPES = {"F32": np.float32, "F16": np.float16, "I32": np.int32, "I64": np.int64}

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--truncate", type=int, help="drop this many bytes from the end")
p.add_argument("--header-len", type=int, help="write this header length instead")
p.add_argument("--bad-header", action="store_true", help="header is not JSON")
p.add_argument("--overlap", action="store_true", help="second tensor overlaps the first")
p.add_argument("--wrong-size", help="tensor whose byte range is one element short")
p.add_argument("--dtype", action="append", default=[], help="NAME=DT (F32, F16, BF16, I32, I64)")
p.add_argument("--positive", action="append", default=[], help="NAME whose values must be > 0 (variances)")
p.add_argument("--constant", action="append", default=[], help="NAME=V: every value of NAME is V")
p.add_argument("--normal", action="store_true",
               help="values ~ N(0, 1) / sqrt(last dim) (seeded), like an initialized layer")
p.add_argument("--raw-header", help="write this header text and --data-bytes zero bytes")
p.add_argument("--data-bytes", type=int, default=0)
args = p.parse_args()

with open(args.model) as f:
    model = json.load(f)
specs = model.get("metadata", {}).get("test_weights", {})
dtypes = dict(d.split("=") for d in args.dtype)
header, blobs, offset = {}, [], 0
for name in sorted(specs):
    shape = specs[name]
    dt = dtypes.get(name, "F32")
    n = int(np.prod(shape)) if shape else 1
    values = 0.01 * np.arange(n) * np.where(np.arange(n) % 2, -1, 1)
    if args.normal:
        rng = np.random.default_rng(sum(map(ord, name)))
        values = rng.standard_normal(n) / np.sqrt(shape[-1] if shape else 1)
    if name in args.positive:
        values = np.abs(values) + 0.5
    given = model.get("metadata", {}).get("test_values", {})
    if name in given:
        values = np.array(given[name], dtype=np.float64).reshape(-1)
        assert values.size == n, f"test_values of {name}: {values.size} values for shape {shape}"
    constants = dict(c.split("=") for c in args.constant)
    if name in constants:
        values = np.full(n, float(constants[name]))
    values = values.astype(DTYPES.get(dt, np.float32))
    if dt == "BF16":
        # bfloat16 is the upper half of a float32.
        values = (values.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    data = values.tobytes()
    end = offset + len(data)
    if name == args.wrong_size:
        end -= values.itemsize
        data = data[:-values.itemsize]
    begin = offset
    if args.overlap and header:
        begin = max(0, offset - 4)
    header[name] = {"dtype": dt, "shape": shape, "data_offsets": [begin, begin + len(data)]}
    blobs.append(data)
    offset = end if not (args.overlap and len(header) > 1) else begin + len(data)
text = b"{not json" if args.bad_header else json.dumps(header).encode()
if args.raw_header is not None:
    text, blobs = args.raw_header.encode(), [bytes(args.data_bytes)]
text += b" " * (-len(text) % 8)
out = struct.pack("<Q", args.header_len if args.header_len is not None else len(text))
out += text + b"".join(blobs)
if args.truncate:
    out = out[:-args.truncate]
with open(os.path.join(os.path.dirname(os.path.abspath(args.model)), model["weights"]), "wb") as f:
    f.write(out)
