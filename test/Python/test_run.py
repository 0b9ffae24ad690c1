"""Runtime parameters, statistics, zero-copy inputs and outputs, threads."""
import json
import subprocess
import threading
import time

import numpy as np
import pytest

import dync
from conftest import assert_matches, example_inputs, reference, save_safetensors


def skip_mlp(examples, compiled, batch=8, seed=0):
    model_json = json.loads((examples / "skip_mlp.json").read_text())
    return dync.load(compiled("skip_mlp")), example_inputs(model_json, {"B": batch}, seed)


@pytest.mark.parametrize("threshold", [0.0, 0.5, 2.0])
def test_params_change_decisions_as_in_the_reference(threshold, examples, compiled):
    m, inputs = skip_mlp(examples, compiled)
    got = m.run(inputs, params={"gate_threshold": threshold})
    want = reference(examples / "skip_mlp.json", inputs, {"gate_threshold": threshold})
    for name in want:
        assert_matches(got[name], want[name])
    # The counter is counted where block 0 runs; the reference decides which
    # samples that is.
    assert m.stats["blk0.samples_run"] == int(want["ran0"].sum())
    assert m.stats["blk0.samples"] == 8


def test_params_apply_to_one_run(examples, compiled):
    m, inputs = skip_mlp(examples, compiled)
    m.run(inputs, params={"gate_threshold": 2.0})
    assert m.stats["blk0.samples_run"] == 0
    default = m.run(inputs)
    want = reference(examples / "skip_mlp.json", inputs)  # the default, 0.5
    np.testing.assert_array_equal(default["ran0"], want["ran0"])


def test_stats_are_dync_runs_counters(examples, compiled, tmp_path):
    """m.stats holds the counters `dync-run --stats-json` reports for the same run."""
    m, inputs = skip_mlp(examples, compiled, seed=3)
    m.run(inputs)
    np.save(tmp_path / "x.npy", inputs["x"])
    dync_run = dync._compile.compiler_path().parent / "dync-run"
    subprocess.run([str(dync_run), str(compiled("skip_mlp")), "--input", f"x={tmp_path / 'x.npy'}",
                    "--stats-json", str(tmp_path / "stats.json")], check=True,
                   stdout=subprocess.DEVNULL)
    cli = json.loads((tmp_path / "stats.json").read_text())
    counters = cli["counters"] if "counters" in cli else cli
    ours = {k: v for k, v in m.stats.items() if not k.startswith("time_ns.")}
    theirs = {k: v for k, v in counters.items() if not k.startswith("time_ns.")}
    assert ours and ours == theirs


def test_stats_before_any_run_are_zero(compiled):
    m = dync.load(compiled("skip_mlp"))
    assert m.stats and set(m.stats.values()) == {0}


def test_moe_stats_count_tokens_per_expert(examples, compiled):
    """Tokens per expert, counted inside each expert's loop, are the
    reference's routing (its counts0 output) and add up to top-2 x tokens."""
    model_json = json.loads((examples / "moe_lm.json").read_text())
    m = dync.load(compiled("moe_lm"))
    inputs = example_inputs(model_json, {"B": 3})
    m.run(inputs)
    want = reference(examples / "moe_lm.json", inputs)
    blk0 = [m.stats[f"blk0.moe.expert_tokens[{e}]"] for e in range(4)]
    blk1 = [m.stats[f"blk1.moe.expert_tokens[{e}]"] for e in range(4)]
    assert blk0 == [int(c) for c in want["counts0"]]
    assert sum(blk0) == sum(blk1) == 2 * 3 * 16
    assert m.stats["blk0.moe.tokens"] == 48


# --- zero copy -------------------------------------------------------------


def test_contiguous_numpy_input_is_not_copied(compiled):
    m = dync.load(compiled("static_mlp"))
    x = np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32)
    y = m(x)
    assert m.session.last_input_addresses == [x.ctypes.data]
    # The output is the run's own allocation, not a copy of it.
    assert m.session.last_output_addresses == [y.ctypes.data]


def test_non_contiguous_input_is_copied_first(compiled):
    """The check above can fail: an input that needs converting is copied."""
    m = dync.load(compiled("static_mlp"))
    x = np.random.default_rng(0).standard_normal((32, 64)).astype(np.float32).T
    assert not x.flags.c_contiguous
    y = m(x)
    assert m.session.last_input_addresses != [x.ctypes.data]
    np.testing.assert_allclose(y, m(np.ascontiguousarray(x)))
    x64 = x.astype(np.float64)
    m(x64)
    assert m.session.last_input_addresses != [x64.ctypes.data]


def test_torch_tensor_input_is_not_copied(compiled):
    torch = pytest.importorskip("torch")
    m = dync.load(compiled("static_mlp"))
    t = torch.randn(16, 32, requires_grad=True)
    y = m(t)
    assert m.session.last_input_addresses == [t.data_ptr()]
    np.testing.assert_allclose(y, m(t.detach().numpy().copy()))


def test_large_input_is_not_copied(tmp_path):
    """64 MiB in: the runtime reads the caller's buffer."""
    model = {"format": "dync-model", "version": 1, "name": "big", "weights": "big.safetensors",
             "dims": {"B": {"min": 1, "max": 65536}},
             "inputs": [{"name": "x", "dtype": "f32", "shape": ["B", 256]}],
             "outputs": ["s"],
             "nodes": [{"name": "sum", "op": "reduce_sum", "inputs": ["x"], "outputs": ["s"],
                        "attrs": {"axes": [1]}}]}
    (tmp_path / "big.json").write_text(json.dumps(model))
    save_safetensors(tmp_path / "big.safetensors", {})
    m = dync.load(dync.compile(tmp_path / "big.json", tmp_path / "big.so"))
    x = np.ones((65536, 256), np.float32)
    s = m(x)
    assert m.session.last_input_addresses == [x.ctypes.data]
    np.testing.assert_array_equal(s, np.full(65536, 256, np.float32))


def test_packed_weights_are_reported_and_correct(tmp_path):
    """A Linear weight of 64 rows is packed at load (64 x 16 f32: 4096 bytes
    copied); one of 10 rows is read where the file is mapped."""
    model = {"format": "dync-model", "version": 1, "name": "two", "weights": "two.safetensors",
             "dims": {"B": {"min": 1, "max": 32}},
             "inputs": [{"name": "x", "dtype": "f32", "shape": ["B", 16]}],
             "outputs": ["y"],
             "nodes": [{"name": "a", "op": "linear", "inputs": ["x"], "outputs": ["h"],
                        "weights": {"weight": "wa"}},
                       {"name": "b", "op": "linear", "inputs": ["h"], "outputs": ["y"],
                        "weights": {"weight": "wb"}}]}
    (tmp_path / "two.json").write_text(json.dumps(model))
    rng = np.random.default_rng(0)
    wa = rng.standard_normal((64, 16)).astype(np.float32)
    wb = rng.standard_normal((10, 64)).astype(np.float32)
    save_safetensors(tmp_path / "two.safetensors", {"wa": wa, "wb": wb})
    m = dync.load(dync.compile(tmp_path / "two.json", tmp_path / "two.so"))
    assert m.weight_copy_bytes == 64 * 16 * 4
    x = rng.standard_normal((7, 16)).astype(np.float32)
    np.testing.assert_allclose(m(x), (x @ wa.T) @ wb.T, rtol=1e-5, atol=1e-5)


def test_outputs_outlive_the_model(compiled):
    m = dync.load(compiled("static_mlp"))
    x = np.random.default_rng(1).standard_normal((4, 32)).astype(np.float32)
    y = m(x)
    want = y.copy()
    del m
    import gc
    gc.collect()
    np.testing.assert_array_equal(y, want)


# --- threads -----------------------------------------------------------------


def test_concurrent_python_threads(examples, compiled):
    """Four threads call one model at once (a session each); every result is
    the reference's."""
    model_json = json.loads((examples / "moe_lm.json").read_text())
    m = dync.load(compiled("moe_lm"))
    cases = [example_inputs(model_json, {"B": 1 + i % 3}, seed=i) for i in range(8)]
    wants = [reference(examples / "moe_lm.json", c) for c in cases]
    errors = []

    def work(k):
        try:
            for rep in range(5):
                i = (k + rep) % len(cases)
                got = m.run(cases[i])
                for name in wants[i]:
                    assert_matches(got[name], wants[i][name])
        except Exception as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_shared_session_serializes_runs(examples, compiled):
    """Threads that share one session wait for each other instead of racing."""
    model_json = json.loads((examples / "skip_mlp.json").read_text())
    m = dync.load(compiled("skip_mlp"))
    session = m.session
    inputs = example_inputs(model_json, {"B": 8})
    want = reference(examples / "skip_mlp.json", inputs)
    results = []

    def work():
        for _ in range(20):
            results.append(session.run([inputs["x"]], {}))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 60
    for y, ran0 in results:
        assert_matches(y, want["y"])
        np.testing.assert_array_equal(ran0, want["ran0"])


def test_gil_is_released_during_a_run(tmp_path):
    """While one thread runs a long model, another runs Python code: the
    longest pause it sees is far shorter than the run."""
    width, layers = 512, 6
    rng = np.random.default_rng(0)
    weights = {f"w{i}": rng.standard_normal((width, width)).astype(np.float32) * 0.05
               for i in range(layers)}
    nodes, prev = [], "x"
    for i in range(layers):
        nodes.append({"name": f"fc{i}", "op": "linear", "inputs": [prev], "outputs": [f"h{i}"],
                      "weights": {"weight": f"w{i}"}})
        prev = f"h{i}"
    model = {"format": "dync-model", "version": 1, "name": "long", "weights": "long.safetensors",
             "dims": {"B": {"min": 1, "max": 4096}},
             "inputs": [{"name": "x", "dtype": "f32", "shape": ["B", width]}],
             "outputs": [prev], "nodes": nodes}
    (tmp_path / "long.json").write_text(json.dumps(model))
    save_safetensors(tmp_path / "long.safetensors", weights)
    m = dync.load(dync.compile(tmp_path / "long.json", tmp_path / "long.so"), threads=1)
    x = rng.standard_normal((4096, width)).astype(np.float32)
    m(x)  # warm
    done = threading.Event()
    span = []

    def run():
        t0 = time.perf_counter()
        m(x)
        span.append(time.perf_counter() - t0)
        done.set()

    worker = threading.Thread(target=run)
    last = time.perf_counter()
    longest = 0.0
    worker.start()
    while not done.is_set():
        now = time.perf_counter()
        longest = max(longest, now - last)
        last = now
    worker.join()
    assert span[0] > 0.05, f"the run took {span[0]:.3f} s, too short to tell"
    assert longest < span[0] / 3, f"Python paused {longest:.3f} s of a {span[0]:.3f} s run"


def test_threads_setting(compiled):
    m = dync.load(compiled("static_mlp"), threads=2)
    assert m.threads == 2
    m.threads = 1
    assert m.threads == 1
    with pytest.raises(dync.InvalidArgumentError, match="threads must be between 1 and 1024, got 0"):
        m.threads = 0
    with pytest.raises(dync.InvalidArgumentError, match="threads must be at least 1, got 0"):
        dync.load(compiled("static_mlp"), threads=0)
