#!/usr/bin/python3
"""Checks of the CUDA target's output that need no GPU.

    cuda_check.py ptx FILE.ptx --ptxas PTXAS --arch sm_80 [--arch ...] [--no-spills]
    cuda_check.py so MODEL.so --ptx FILE.ptx --arch sm_80 [--arch ...]

`ptx`: assembles the PTX with `ptxas -v` for each architecture and prints
'ARCH sm_NN kernels K spilling S' (S kernels with spill stores or loads);
exits 1 if ptxas fails, or with --no-spills if any kernel spills.

`so`: finds the fatbin in the model library (its magic 0xBA55ED50), the
CUDA ELF images (cubins) in it, and prints 'CUBIN sm_NN kernels K' for each,
K being how many of the PTX's entry points the cubin names; exits 1 unless
there is one cubin per architecture, each with every kernel. (The toolkit
here has no cuobjdump; the cubins are read as ELF files.)
"""
import argparse
import re
import struct
import subprocess
import sys

p = argparse.ArgumentParser()
p.add_argument("mode", choices=["ptx", "so"])
p.add_argument("file")
p.add_argument("--ptxas")
p.add_argument("--ptx")
p.add_argument("--arch", action="append", required=True)
p.add_argument("--no-spills", action="store_true")
args = p.parse_args()


def entries(ptx_path):
    return re.findall(r"^\.visible \.entry (\w+)\(", open(ptx_path).read(), re.M)


ok = True
if args.mode == "ptx":
    kernels = entries(args.file)
    if not kernels:
        sys.exit("no kernels in " + args.file)
    for arch in args.arch:
        r = subprocess.run([args.ptxas, "-v", "-arch=" + arch, args.file, "-o", "/dev/null"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(r.stderr)
            sys.exit("ptxas failed for " + arch)
        # ptxas -v: "Function properties for K" then "N bytes stack frame, S bytes spill
        # stores, L bytes spill loads".
        spills = re.findall(r"Function properties for (\w+)\n\s+\d+ bytes stack frame, (\d+) bytes "
                            r"spill stores, (\d+) bytes spill loads", r.stderr)
        compiled = set(re.findall(r"Compiling entry function '(\w+)'", r.stderr))
        spilling = [k for k, s, l in spills if k in compiled and (int(s) or int(l))]
        print("ARCH %s kernels %d spilling %d" % (arch, len(compiled), len(spilling)))
        ok &= compiled == set(kernels)
        if args.no_spills and spilling:
            print("SPILLS " + " ".join(sorted(spilling)))
            ok = False
else:
    kernels = entries(args.ptx)
    data = open(args.file, "rb").read()
    start = data.find(struct.pack("<I", 0xBA55ED50))
    if start < 0:
        sys.exit("no fatbin in " + args.file)
    found = {}
    for m in re.finditer(b"\x7fELF", data[start:]):
        o = start + m.start()
        if struct.unpack_from("<H", data, o + 18)[0] != 190:  # EM_CUDA
            continue
        flags = struct.unpack_from("<I", data, o + 48)[0]
        shoff = struct.unpack_from("<Q", data, o + 40)[0]
        shentsize, shnum = struct.unpack_from("<HH", data, o + 58)
        image = data[o:o + shoff + shentsize * shnum]
        arch = "sm_%d" % ((flags >> 8) & 0xFF)
        named = sum(1 for k in kernels if re.search(rb"\x00" + k.encode() + rb"\x00", image))
        found[arch] = named
        print("CUBIN %s kernels %d" % (arch, named))
    ok = sorted(found) == sorted(args.arch) and all(n == len(kernels) for n in found.values())
sys.exit(0 if ok else 1)
