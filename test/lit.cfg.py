# -*- Python -*-
import os
import shutil

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "DYNC"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.dync_obj_root, "test")
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Inputs", "lit-tools"]

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%dync_src", config.dync_src_root))
config.substitutions.append(("%dync_bin", config.dync_tools_dir))
config.substitutions.append(("%dync_lib", os.path.join(config.dync_obj_root, "lib")))
# Test helpers run on Debian's python3, where python3-numpy is installed.
config.substitutions.append(("%python", "/usr/bin/python3"))
config.substitutions.append(
    ("%mkweights", "/usr/bin/python3 " + os.path.join(config.dync_src_root, "test", "lit-tools", "mkweights.py")))
config.substitutions.append(
    ("%e2e", "/usr/bin/python3 " + os.path.join(config.dync_src_root, "test", "lit-tools", "e2e.py")
     + " --dync " + os.path.join(config.dync_tools_dir, "dync")
     + " --dync-run " + os.path.join(config.dync_tools_dir, "dync-run")))
config.substitutions.append(
    ("%computed", "/usr/bin/python3 " + os.path.join(config.dync_src_root, "test", "lit-tools", "computed.py")))
config.substitutions.append(
    ("%genexamples", "/usr/bin/python3 " + os.path.join(config.dync_src_root, "examples", "generate.py")))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.dync_tools_dir, config.llvm_tools_dir]
tools = [ToolSubst("dync-opt", unresolved="fatal"), ToolSubst("dync", unresolved="fatal"),
         ToolSubst("split-file", unresolved="fatal"), ToolSubst("not", unresolved="fatal"),
         ToolSubst("dync-run", unresolved="fatal")]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# ./dev installs valgrind; the race-detector tests need it. Valgrind cannot
# run a sanitized build (./dev test's second build), which checks the same
# things itself.
# Programs the tests link against libdyncrt: in a sanitized build with
# clang and the same sanitizers, so the runtime's instrumentation resolves.
sanitizer_flags = {"Address;Undefined": "-fsanitize=address,undefined",
                   "Thread": "-fsanitize=thread"}.get(config.llvm_use_sanitizer, "")
config.substitutions.append(
    ("%cc", os.path.join(config.llvm_tools_dir, "clang") + " " + sanitizer_flags
     if sanitizer_flags else "cc"))
if config.llvm_use_sanitizer:
    config.available_features.add("sanitized")
elif shutil.which("valgrind"):
    config.available_features.add("valgrind")

# ONNX tests build models with Debian's python3-onnx and compare with ONNX
# Runtime, which runs in its own venv (PyPI's onnxruntime needs numpy 2;
# Debian's python3-onnx is built against numpy 1). ./dev test creates the
# venv and sets DYNC_ORT_PYTHON and DYNC_REQUIRE_ORT, so that CI cannot skip
# these tests silently.
import subprocess


def _python_has(python, module):
    try:
        return subprocess.run([python, "-c", "import " + module], capture_output=True,
                              timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


if _python_has("/usr/bin/python3", "onnx"):
    config.available_features.add("onnx")
if _python_has("/usr/bin/python3", "torch"):
    config.available_features.add("torch")
ort_python = os.environ.get("DYNC_ORT_PYTHON", os.path.join(config.dync_obj_root, "ort-venv", "bin", "python"))
if os.path.exists(ort_python) and _python_has(ort_python, "onnxruntime"):
    config.available_features.add("onnxruntime")
    config.substitutions.append(("%ort_python", ort_python))
if os.environ.get("DYNC_REQUIRE_ORT") and not {"onnx", "onnxruntime", "torch"} <= config.available_features:
    lit_config.fatal("DYNC_REQUIRE_ORT is set but python3-onnx, python3-torch or the onnxruntime venv ("
                     + ort_python + ") is missing")
config.substitutions.append(
    ("%onnx_check", "/usr/bin/python3 " + os.path.join(config.dync_src_root, "test", "lit-tools", "onnx_check.py")
     + " --dync " + os.path.join(config.dync_tools_dir, "dync")
     + " --dync-run " + os.path.join(config.dync_tools_dir, "dync-run")))

# The CUDA target's tests need the toolkit's ptxas and fatbinary (found as
# `dync --target=cuda` finds them), and, to execute, a driver with a device.
def _cuda_tool(name):
    for root in [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"]:
        if root and os.access(os.path.join(root, "bin", name), os.X_OK):
            return os.path.join(root, "bin", name)
    return shutil.which(name)


if _cuda_tool("ptxas") and _cuda_tool("fatbinary"):
    config.available_features.add("cuda-toolkit")
    config.substitutions.append(("%ptxas", _cuda_tool("ptxas")))


def _cuda_devices():
    import ctypes
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
        count = ctypes.c_int(0)
        if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
            return 0
        return count.value
    except OSError:
        return 0


if _cuda_devices() > 0:
    config.available_features.add("cuda-device")
config.substitutions.append(
    ("%cuda_check", "/usr/bin/python3 " + os.path.join(config.dync_src_root, "test", "lit-tools", "cuda_check.py")))
config.substitutions.append(
    ("%fake_cuda_src", os.path.join(config.dync_src_root, "test", "lit-tools", "fake_cuda.c")))

# --explain=svg renders with Graphviz (./dev installs it).
if shutil.which("dot"):
    config.available_features.add("graphviz")

# An x86 feature this CPU lacks (the /proc/cpuinfo spelling differs from
# LLVM's for some), for the test that a model compiled for it is refused at
# load instead of faulting; AVX-512 machines use a later extension.
try:
    _flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith("flags")), [])
except OSError:
    _flags = []
for _llvm, _proc in (("avx512f", "avx512f"), ("avx512fp16", "avx512_fp16"), ("avx512vbmi", "avx512vbmi")):
    if _flags and _proc not in _flags:
        config.available_features.add("missing-cpu-feature")
        config.substitutions.append(("%missing_cpu_feature", _llvm))
        break
