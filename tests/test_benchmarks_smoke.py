"""Smoke test of the benchmark suite (benchmarks/run.py): it runs, checks the engines agree,
prints every row; the hand-written NumPy net has the right gradients; compare.py measures two
commits.

Timings are never asserted (they depend on the machine and its load); only that the suite
works end to end, skips competitors that are not installed and says so, and judges targets
and memory growth by its stated rules.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
RUN = BENCH_DIR / "run.py"
COMPARE = BENCH_DIR / "compare.py"
ALL_WORKLOADS = ["W1", "W2", "W3", "W4", "W5", "W7", "W8", "W9", "MEM"]


def _run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=600,  # the whole --quick suite on a busy 2-core machine
        cwd=BENCH_DIR.parent,
    )


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _table_rows(stdout: str, prefix: str = "| W") -> list[list[str]]:
    """The cells of each body row of a markdown table whose rows start with ``prefix``."""
    lines = [line for line in stdout.splitlines() if line.startswith(prefix)]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def _engines(rows: list[list[str]]) -> set[tuple[str, str]]:
    return {(cells[0].split()[0], cells[1]) for cells in rows}


@pytest.fixture(scope="module")
def quick() -> subprocess.CompletedProcess[str]:
    return _run(RUN, "--quick")


@pytest.fixture(scope="module")
def bench() -> tuple[ModuleType, ModuleType, ModuleType]:
    """run.py, nets.py and workloads.py imported as modules (their directory on sys.path)."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        spec = importlib.util.spec_from_file_location("run", RUN)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["run"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module, sys.modules["nets"], sys.modules["workloads"]
    finally:
        sys.path.remove(str(BENCH_DIR))


# ---------------------------------------------------------------- the whole suite, quick


def test_quick_run_prints_a_row_for_every_engine_and_workload(quick):
    assert quick.returncode == 0, quick.stderr
    rows = _table_rows(quick.stdout)
    expected = {
        ("W1", "tinygrad_lite nn.scalar.MLP"),
        ("W1", "tinygrad_lite op-by-op"),
        ("W1", "tinygrad_lite nn.scalar.MLP, tl.jit"),
        ("W2", "hand-written NumPy"),
        ("W3", "hand-written NumPy"),
        ("W4", "hand-written NumPy"),
        ("W5", "tinygrad_lite"),
        ("W7", "hand-written NumPy im2col"),
        ("W8", "hand-written NumPy"),
        ("W9", "hand-written NumPy"),
    }
    for w in ("W2", "W3", "W4", "W7", "W8", "W9"):  # eager and traced
        expected |= {(w, "tinygrad_lite"), (w, "tinygrad_lite, tl.jit")}
    if _installed("micrograd"):
        expected |= {("W1", "micrograd"), ("W5", "micrograd")}
    if _installed("torch"):
        expected |= {(w, "torch (2 threads)") for w in ("W2", "W3", "W4", "W7", "W8", "W9")}
    assert _engines(rows) == expected
    for cells in rows:  # every row was measured: a time with its unit, and a repeat count
        assert cells[2].split()[-1] in {"ms/step", "ms/pass", "µs/op", "µs/add"}, cells
        assert cells[5] == "3", cells


def test_quick_run_samples_memory_for_every_engine(quick):
    rows = _table_rows(quick.stdout, "| MEM")
    expected = {
        ("MEM", "hand-written NumPy"),
        ("MEM", "tinygrad_lite"),
        ("MEM", "tinygrad_lite, tl.jit"),
    }
    if _installed("torch"):
        expected.add(("MEM", "torch (2 threads)"))
    assert _engines(rows) == expected
    for cells in rows:  # before, at settle, at the end, peak sampled, 2 growths, process peak
        assert all(cell.endswith("MiB") for cell in cells[2:9]), cells
        assert float(cells[9]) >= 0 and cells[10].endswith(" s"), cells  # faults, time
    ours = next(cells for cells in rows if cells[1] == "tinygrad_lite")
    assert ours[11].startswith("flat after step") and ours[12] == "n/a (quick sizes)"


def test_quick_run_reports_the_machine_and_the_checks(quick):
    out = quick.stdout
    for fact in ("logical CPUs", "python", "numpy", "torch", "micrograd", "date", "BLAS"):
        assert fact in out
    checks = [line for line in out.splitlines() if line.startswith(("- W", "- MEM"))]
    assert [line[2:].split(":")[0] for line in checks] == ALL_WORKLOADS
    assert not any("FAILED" in line for line in checks)
    assert "The whole run took" in out


def test_tinygrad_lite_rows_have_a_ratio_against_each_installed_competitor(quick):
    competitors = {
        "W1": ["micrograd"],
        "W2": ["torch", "NumPy"],
        "W3": ["torch", "NumPy"],
        "W4": ["torch", "NumPy"],
        "W5": ["micrograd"],
        "W7": ["torch", "NumPy"],
        "W8": ["torch", "NumPy"],
        "W9": ["torch", "NumPy"],
    }
    for cells in _table_rows(quick.stdout):
        if not cells[1].startswith("tinygrad_lite"):
            assert cells[6] == "", cells
            continue
        workload = cells[0].split()[0]
        wanted = [c for c in competitors[workload] if c == "NumPy" or _installed(c)]
        if workload == "W1" and cells[1].endswith("tl.jit"):  # its target: half of eager
            wanted.append("tl-scalar")
        ratios = cells[6].split(" · ") if cells[6] else []  # none when no competitor is installed
        assert [ratio.split("x ")[-1] for ratio in ratios] == wanted, cells


def test_only_the_engine_micro_benchmarks_with_repeats_and_no_gc():
    done = _run(RUN, "--only", "W1,W4,W5", "--quick", "--repeats", "2", "--no-gc")
    assert done.returncode == 0, done.stderr
    rows = _table_rows(done.stdout)
    assert {cells[0].split()[0] for cells in rows} == {"W1", "W4", "W5"}
    assert {cells[5] for cells in rows} == {"2"}
    assert "garbage collector is OFF" in done.stdout
    assert "| MEM" not in done.stdout


def test_rounds_take_turns_and_pool_every_rounds_repeats():
    done = _run(RUN, "--only", "W4,MEM", "--quick", "--repeats", "2", "--rounds", "3")
    assert done.returncode == 0, done.stderr
    rows = _table_rows(done.stdout)
    assert {cells[0].split()[0] for cells in rows} == {"W4"}
    assert {cells[5] for cells in rows} == {"6"}  # 2 repeats in each of 3 rounds
    assert "in each of 3 rounds" in done.stdout
    # each row ran once per round, in turn; the memory profile once
    started = [line for line in done.stderr.splitlines() if line.startswith("running")]
    w4 = [line for line in started if line.startswith("running W4")]
    assert len(w4) == 3 * len(rows) and w4[: len(rows)] == w4[len(rows) : 2 * len(rows)]
    assert sum(line.startswith("running MEM") for line in started) == len(started) - len(w4)
    assert len(started) - len(w4) == len(_table_rows(done.stdout, "| MEM"))


def test_a_row_pooled_over_rounds_keeps_each_rounds_samples_or_its_error(bench):
    run = bench[0]
    first = {"phases": {"forward": [1.0, 2.0], "backward": [3.0, 4.0]}, "units": 1}
    second = {"phases": {"forward": [5.0], "backward": [6.0]}, "units": 1}
    pooled = run.merged(run.merged(None, first), second)
    assert pooled == {
        "phases": {"forward": [1.0, 2.0, 5.0], "backward": [3.0, 4.0, 6.0]},
        "units": 1,
    }
    assert run.summarise(pooled).repeats == 3
    assert run.merged(first, {"error": "timed out"}) == {"error": "timed out"}
    assert run.merged({"error": "timed out"}, second) == {"error": "timed out"}


def test_alternate_times_the_engines_in_turn_in_one_process():
    done = _run(BENCH_DIR / "alternate.py", "--only", "W4,W8", "--quick", "--rounds", "3")
    assert done.returncode == 0, done.stderr
    rows = _table_rows(done.stdout)
    assert {(cells[0], cells[1]) for cells in rows} >= {
        ("W4", "numpy"),
        ("W4", "tinygrad_lite"),
        ("W8", "numpy"),
        ("W8", "tinygrad_lite"),
        ("W8", "tinygrad_lite-jit"),
    }
    assert {cells[4] for cells in rows} == {"3"}
    ours = next(cells for cells in rows if cells[:2] == ["W8", "tinygrad_lite"])
    assert "x numpy (" in ours[5] and "fastest" in ours[5]
    assert "the engines taking turns in one process, 3 rounds" in done.stdout


def test_unknown_workload_is_a_usage_error():
    done = _run(RUN, "--only", "W6")
    assert done.returncode == 2
    assert "unknown workload" in done.stderr and "W1,W2,W3,W4,W5,W7,W8,W9,MEM" in done.stderr


def test_worker_prints_one_json_line_of_per_unit_samples():
    done = _run(RUN, "--worker", "W2", "numpy", "8", "--repeats", "2", "--threads", "1")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["units"] == 100  # SGD steps per repeat
    assert set(result["phases"]) == {"forward", "backward", "update"}
    assert all(len(s) == 2 and min(s) > 0 for s in result["phases"].values())


def test_json_has_the_median_of_every_timed_row(tmp_path):
    out = tmp_path / "run.json"
    done = _run(RUN, "--only", "W4,MEM", "--quick", "--json", str(out))
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    ours = [row for row in result["rows"] if row["ours"]]
    assert [(row["workload"], row["engine"]) for row in ours] == [
        ("W4", "tinygrad_lite"),
        ("W4", "tinygrad_lite-jit"),
    ]
    assert ours[0]["unit"] == "µs/op" and ours[0]["median"] > 0 and ours[0]["repeats"] == 3
    assert result["commit"] in done.stdout  # the commit the machine lines name


# ---------------------------------------------------------------- comparing two commits


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=BENCH_DIR.parent, capture_output=True, text=True)


def test_run_measures_the_tinygrad_lite_that_pythonpath_names(bench, monkeypatch, tmp_path):
    run, _, _ = bench
    monkeypatch.delenv("PYTHONPATH", raising=False)
    assert run.package_root() == BENCH_DIR.parent
    (tmp_path / "tinygrad_lite").mkdir()
    (tmp_path / "tinygrad_lite" / "__init__.py").touch()
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path.parent}:{tmp_path}")
    assert run.package_root() == tmp_path


def test_compare_alternates_two_commits_in_worktrees_it_removes():
    if shutil.which("git") is None:
        pytest.skip(reason="git is not installed")
    if _git("rev-parse", "--verify", "--quiet", "HEAD~1^{commit}").returncode != 0:
        pytest.skip(reason="not a git checkout with a parent commit (a shallow clone?)")
    before = _git("worktree", "list", "--porcelain")
    if before.returncode != 0:
        pytest.skip(reason=f"this git has no worktrees: {before.stderr.strip()}")
    done = _run(COMPARE, "HEAD~1", "HEAD", "--only", "W4", "--quick", "--rounds", "2")
    assert done.returncode == 0, done.stderr
    base, head = (_git("rev-parse", "--short=7", ref).stdout.strip() for ref in ("HEAD~1", "HEAD"))
    assert f"- base: {base}" in done.stdout and f"- head: {head}" in done.stdout
    rounds = [line for line in done.stderr.splitlines() if line.startswith("round")]
    assert rounds == [f"round {n}/2: {side} ..." for n in (1, 2) for side in ("base", "head")]
    rows = _table_rows(done.stdout)
    assert [(cells[0].split()[0], cells[1]) for cells in rows] == [
        ("W4", "tinygrad_lite"),
        ("W4", "tinygrad_lite, tl.jit"),
    ]
    for medians in rows[0][2:4]:  # one median per round
        assert medians.endswith(" µs/op") and len(medians.split(", ")) == 2, rows
    assert float(rows[0][4].removesuffix("x")) > 0
    assert _git("worktree", "list", "--porcelain").stdout == before.stdout


def test_compare_refuses_the_memory_workload():
    done = _run(COMPARE, "HEAD", "--only", "W4,MEM")
    assert done.returncode == 2 and "MEM measures memory" in done.stderr


# ---------------------------------------------------------------- planning and judging


def test_competitors_that_are_not_installed_are_left_out(bench):
    run, _, _ = bench
    rows = run.plan(ALL_WORKLOADS, True, installed=[])
    assert {r.engine.name for r in rows} == {
        "tl-scalar",
        "tl-opbyop",
        "tl-scalar-jit",
        "tinygrad_lite",
        "tinygrad_lite-jit",
        "numpy",
    }
    with_torch = run.plan(["W2"], True, installed=["torch"])
    assert [r.engine.name for r in with_torch] == [
        "torch",
        "numpy",
        "tinygrad_lite",
        "tinygrad_lite-jit",
    ]


def test_missing_competitors_are_named_in_the_output(bench):
    run, _, _ = bench
    notes = run.missing_notes(["torch"])
    assert len(notes) == 1 and "micrograd is not installed" in notes[0]
    assert run.missing_notes(["micrograd", "torch"]) == []


def _stats(run: ModuleType, seconds: float) -> object:
    return run.Stats(total=seconds, low=seconds, high=seconds, phases={}, repeats=7)


def test_every_ratio_target_must_pass_and_missing_ones_are_unchecked(bench):
    run, _, _ = bench
    ours = next(r for r in run.plan(["W2"], False, ["torch"]) if r.engine.name == "tinygrad_lite")
    stats = _stats(run, 1e-3)
    assert run.status(ours, stats, {"torch": 0.8, "numpy": 1.05}, quick=False) == "PASS"
    assert run.status(ours, stats, {"torch": 0.8, "numpy": 1.2}, quick=False) == "MISS"
    assert run.status(ours, stats, {"torch": 0.9, "numpy": 1.0}, quick=False) == "MISS"
    assert run.status(ours, stats, {"numpy": 1.0}, quick=False) == (
        "PASS (torch not run: ratio unchecked)"
    )
    assert run.status(ours, "MemoryError", {}, quick=False) == "MISS (failed)"
    assert run.status(ours, stats, {"torch": 9.0}, quick=True) == "n/a (quick sizes)"


def test_a_time_target_and_a_minimum_size(bench):
    run, _, _ = bench
    w4 = next(r for r in run.plan(["W4"], False, []) if r.engine.name == "tinygrad_lite")
    assert run.status(w4, _stats(run, 2.0e-6), {"torch": 0.4}, quick=False) == "PASS"
    assert run.status(w4, _stats(run, 3.0e-6), {"torch": 0.4}, quick=False) == "MISS"
    small_w5 = [r for r in run.plan(["W5"], False, []) if r.size < 1_000_000]
    assert small_w5 and all(r.target is None for r in small_w5)  # only the million-node chain
    big_w5 = next(r for r in run.plan(["W5"], False, []) if r.size == 1_000_000)
    assert run.repeats_for(big_w5, 7) == 3 and run.repeats_for(small_w5[0], 7) == 7


def test_memory_is_flat_within_the_tolerance_after_it_settles(bench):
    run, _, _ = bench
    ours = next(r for r in run.plan(["MEM"], False, []) if r.engine.name == "tinygrad_lite")
    mib = 1 << 20
    steps = [0, 50, 100, 150, 200]

    def judged(rss_mib: list[float]) -> tuple[object, str]:
        rss = [int(m * mib) for m in rss_mib]
        result = {"steps": steps, "rss": rss, "faults": [0, 900, 910, 920, 930], "seconds": 1.0}
        stats = run.memory_stats({**result, "peak": 200 * mib}, settle=50)
        return stats, run.memory_status(ours, stats, quick=False)

    # the jump before step 50 (buffers, caches) is allowed; later growth is judged
    stats, verdict = judged([40, 100, 101, 101.5, 100.5])
    assert verdict == "PASS" and stats.growth == int(101.5 * mib) - 100 * mib
    assert stats.late_growth == int(101.5 * mib) - 101 * mib  # from step 100 (half of 200) on
    assert stats.faults_per_step == 30 / 150  # faults after step 50 only
    assert judged([40, 100, 101, 103, 104])[1] == "MISS"  # 4 MiB > max(2 MiB, 2% of 100)
    assert judged([40, 200, 202, 203, 203.9])[1] == "PASS"  # 3.9 MiB <= 2% of 200 MiB
    assert judged([40, 100, 130, 100, 100])[1] == "MISS"  # a peak counts even if it falls


# ---------------------------------------------------------------- the checks


def test_checks_run_without_competitors(bench):
    run, _, _ = bench
    w1 = run.check("W1", [])
    assert "tl-scalar = tl-opbyop" in w1 and "tl-scalar-jit = tl-scalar exactly" in w1
    assert run.check("W4", []).startswith("W4: tinygrad_lite and tinygrad_lite-jit and numpy match")
    for w in ("W2", "W8", "W9"):
        assert run.check(w, []).startswith(
            f"{w}: numpy = tinygrad_lite = tinygrad_lite-jit from identical weights"
        )


def test_w1_check_catches_a_traced_step_that_differs_from_eager(bench, monkeypatch):
    run, _, workloads = bench
    make = workloads.w1_jit_step

    def off_by_a_little(n_points):  # the traced model starts from other weights
        model, step = make(n_points)
        model.parameters()[0].data += 1e-9
        return model, step

    monkeypatch.setattr(workloads, "w1_jit_step", off_by_a_little)
    with pytest.raises(workloads.CheckFailed, match="tl-scalar-jit"):
        run.check("W1", [])


def test_w1_check_catches_models_that_disagree(bench, monkeypatch):
    run, _, workloads = bench
    copy = workloads.copy_weights

    def copy_then_nudge(source, target):  # the models no longer start from the same weights
        copy(source, target)
        target[0].data += 1e-6

    monkeypatch.setattr(workloads, "copy_weights", copy_then_nudge)
    with pytest.raises(workloads.CheckFailed, match="disagrees"):
        run.check("W1", [])


@pytest.mark.parametrize("fault", ["no update", "loss off by 0.1%"])
def test_net_check_catches_an_engine_that_disagrees(bench, monkeypatch, fault):
    run, nets, _ = bench
    if fault == "no update":  # first loss and gradients agree; the loss after 5 steps not
        monkeypatch.setattr(nets.TinygradLiteNet, "update", lambda self: None)
    else:
        forward = nets.TinygradLiteNet.forward
        monkeypatch.setattr(
            nets.TinygradLiteNet, "forward", lambda self, x, y: forward(self, x, y) * 1.001
        )
    with pytest.raises(nets.CheckFailed, match="W2: tinygrad_lite disagrees"):
        run.check("W2", [])


def test_net_check_catches_a_traced_engine_that_disagrees(bench, monkeypatch):
    run, nets, _ = bench

    # a traced step that never updates: its first loss and gradients agree, later ones not
    def no_update(self, x, y):
        loss = self.inner.forward(x, y)
        self.inner.backward(loss)
        return loss

    monkeypatch.setattr(nets.Traced, "forward", no_update)
    with pytest.raises(nets.CheckFailed, match="W2: tinygrad_lite-jit disagrees"):
        run.check("W2", [])


# ---------------------------------------------------------------- the hand-written floor


def _numerical_grads(mlp: object, x: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    """Central differences of the loss for every parameter element (float64)."""
    grads = []
    for p in mlp.params:
        g = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            keep = p[i]
            p[i] = keep + 1e-6
            up = float(mlp.forward(x, labels))
            p[i] = keep - 1e-6
            down = float(mlp.forward(x, labels))
            p[i] = keep
            g[i] = (up - down) / 2e-6
        grads.append(g)
    return grads


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_hand_written_gradients_match_finite_differences(bench, activation):
    _, nets, _ = bench
    net = nets.Net((5, 4, 3, 3), activation, batch=6, steps=1)
    weights = [w.astype(np.float64) for w in nets.initial_weights(net)]
    mlp = nets.HandWrittenMLP(net, weights)
    x, labels = nets.batch_of(net, 6)
    x = x.astype(np.float64) - 0.5  # both signs: the ReLU units switch on and off
    numerical = _numerical_grads(mlp, x, labels)
    mlp.backward(mlp.forward(x, labels))
    for got, want in zip(mlp.gradients(), numerical, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-8)


def test_hand_written_sgd_step_moves_each_weight_against_its_gradient(bench):
    _, nets, _ = bench
    net = nets.Net((5, 4, 3), "sigmoid", batch=6, steps=1, lr=0.5)
    mlp = nets.HandWrittenMLP(net, nets.initial_weights(net))
    before = [p.copy() for p in mlp.params]
    x, labels = nets.batch_of(net, 6)
    mlp.backward(mlp.forward(x, labels))
    grads = [g.copy() for g in mlp.gradients()]
    mlp.update()
    for p, b, g in zip(mlp.params, before, grads, strict=True):
        np.testing.assert_allclose(p, b - 0.5 * g, rtol=1e-6, atol=1e-7)
        assert p.dtype == np.float32


# ---------------------------------------------------------------- benchmarks/conv_layer.py


def test_conv_layer_benchmark_checks_the_engines_then_prints_a_row_each():
    done = _run(BENCH_DIR / "conv_layer.py", "--rounds", "1", "--repeats", "2", "--threads", "1")
    assert done.returncode == 0, done.stderr
    rows = [line.split()[0] for line in done.stdout.splitlines()[2:] if line.strip()]
    engines = ["numpy", "tinygrad_lite"] + (["torch"] if _installed("torch") else [])
    assert rows[: len(engines)] == engines


def test_hand_written_conv_gradients_match_tinygrad_lite():
    spec = importlib.util.spec_from_file_location("conv_layer", BENCH_DIR / "conv_layer.py")
    assert spec is not None and spec.loader is not None
    conv_layer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv_layer)
    p = {k: v.astype(np.float64) for k, v in conv_layer.problem().items()}
    p["x"], p["grad"] = p["x"][:2], p["grad"][:2]
    ours = conv_layer.tinygrad_lite_step(p)()
    by_hand = conv_layer.HandWrittenConv(p["weight"], p["bias"]).step(p["x"], p["grad"])
    for a, b in zip(ours, by_hand):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


# ---------------------------------------------------------------- W8 and W9, the sequence models


def test_lstm_check_catches_an_engine_that_does_not_update(bench, monkeypatch):
    run, _, _ = bench
    lstm = sys.modules["lstm"]
    monkeypatch.setattr(lstm.TinygradLiteLSTM, "update", lambda self: None)
    with pytest.raises(sys.modules["nets"].CheckFailed, match="W8: tinygrad_lite disagrees"):
        run.check("W8", [])


def test_encoder_check_catches_a_wrong_gradient(bench, monkeypatch):
    run, _, _ = bench
    encoder = sys.modules["encoder"]
    backward = encoder.TinygradLiteEncoderLayer.backward
    monkeypatch.setattr(  # a gradient 0.1% too large: the output agrees, the gradients not
        encoder.TinygradLiteEncoderLayer,
        "backward",
        lambda self, out, grad: backward(self, out, grad * 1.001),
    )
    with pytest.raises(encoder.CheckFailed, match="W9: tinygrad_lite disagrees"):
        run.check("W9", [])
