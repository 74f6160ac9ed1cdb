"""Smoke test of benchmarks/run_engine.py: it runs, checks the engines agree, prints every row.

Timings are never asserted (they depend on the machine and its load); only that the script
works end to end, skips competitors that are not installed and says so.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "benchmarks"
SCRIPT = BENCH_DIR / "run_engine.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=BENCH_DIR.parent,
    )


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _table_rows(stdout: str) -> list[list[str]]:
    """The cells of each body row of the markdown table."""
    lines = [line for line in stdout.splitlines() if line.startswith("| W")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


@pytest.fixture(scope="module")
def quick() -> subprocess.CompletedProcess[str]:
    return _run("--quick")


@pytest.fixture(scope="module")
def run_engine() -> ModuleType:
    """The script imported as a module (its directory on sys.path, as when it runs)."""
    sys.path.insert(0, str(BENCH_DIR))
    try:
        spec = importlib.util.spec_from_file_location("run_engine", SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["run_engine"] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH_DIR))


def test_quick_run_prints_a_row_for_every_engine_and_workload(quick):
    assert quick.returncode == 0, quick.stderr
    rows = _table_rows(quick.stdout)
    engines = {(cells[0].split()[0], cells[1]) for cells in rows}
    expected = {
        ("W1", "tinygrad_lite nn.scalar.MLP"),
        ("W1", "tinygrad_lite op-by-op"),
        ("W4", "tinygrad_lite"),
        ("W5", "tinygrad_lite"),
    }
    if _installed("micrograd"):
        expected |= {("W1", "micrograd"), ("W5", "micrograd")}
    if _installed("torch"):
        expected.add(("W4", "torch (2 threads)"))
    assert engines == expected
    for cells in rows:  # every row was measured: a time with its unit, and a repeat count
        assert cells[2].split()[-1] in {"ms/step", "µs/op", "µs/add"}, cells
        assert cells[5] == "3", cells


def test_quick_run_reports_the_machine_and_the_checks(quick):
    out = quick.stdout
    for fact in ("logical CPUs", "python", "numpy", "torch", "micrograd", "date"):
        assert fact in out
    checks = [line for line in out.splitlines() if line.startswith("- W")]
    assert [line.split(":")[0] for line in checks] == ["- W1", "- W4", "- W5"]
    assert not any("FAILED" in line for line in checks)


def test_tinygrad_lite_rows_have_a_ratio_against_each_installed_competitor(quick):
    for cells in _table_rows(quick.stdout):
        competitor = {"W1": "micrograd", "W4": "torch", "W5": "micrograd"}[cells[0].split()[0]]
        if cells[1].startswith("tinygrad_lite") and _installed(competitor):
            assert cells[6].endswith(f"x {competitor}"), cells


def test_only_repeats_and_no_gc_are_obeyed():
    done = _run("--quick", "--only", "W5", "--repeats", "2", "--no-gc")
    assert done.returncode == 0, done.stderr
    rows = _table_rows(done.stdout)
    assert rows and {cells[0].split()[0] for cells in rows} == {"W5"}
    assert {cells[5] for cells in rows} == {"2"}
    assert "garbage collector is OFF" in done.stdout


def test_unknown_workload_is_a_usage_error():
    done = _run("--only", "W9")
    assert done.returncode == 2
    assert "unknown workload" in done.stderr and "W1,W4,W5" in done.stderr


def test_worker_prints_one_json_line_of_per_unit_samples():
    done = _run("--worker", "W5", "tinygrad_lite", "200", "--repeats", "2", "--clock", "cpu")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["units"] == 200
    assert set(result["phases"]) == {"forward", "backward"}
    assert all(len(s) == 2 and min(s) > 0 for s in result["phases"].values())


def test_competitors_that_are_not_installed_are_left_out(run_engine):
    rows = run_engine.plan(["W1", "W4", "W5"], True, installed=[])
    assert {r.variant for r in rows} == {"tl-scalar", "tl-opbyop", "tinygrad_lite"}
    with_torch = run_engine.plan(["W4"], True, installed=["torch"])
    assert [r.variant for r in with_torch] == ["torch", "tinygrad_lite"]


def test_missing_competitors_are_named_in_the_output(run_engine):
    notes = run_engine.missing_notes(["torch"])
    assert len(notes) == 1 and "micrograd is not installed" in notes[0]
    assert run_engine.missing_notes(["micrograd", "torch"]) == []


def test_a_missing_competitor_leaves_the_ratio_unchecked(run_engine):
    row = run_engine.Row("W4", "tinygrad_lite", 1000, "torch", run_engine.TARGETS["W4"])
    stats = run_engine.Stats(total=1e-6, low=1e-6, high=1e-6, phases={}, repeats=7)
    assert run_engine.status(row, stats, None, quick=False) == (
        "PASS (torch not run: ratio unchecked)"
    )
    assert run_engine.status(row, stats, 0.9, quick=False) == "MISS"
    assert run_engine.status(row, "MemoryError", None, quick=False) == "MISS (failed)"


def test_checks_run_without_competitors(run_engine):
    assert "tl-scalar = tl-opbyop" in run_engine.check("W1", [])
    assert run_engine.check("W4", []).startswith("W4: tinygrad_lite matches")


def test_w1_check_catches_models_that_disagree(run_engine, monkeypatch):
    workloads = sys.modules["workloads"]
    copy = workloads.copy_weights

    def copy_then_nudge(source, target):  # the models no longer start from the same weights
        copy(source, target)
        target[0].data += 1e-6

    monkeypatch.setattr(workloads, "copy_weights", copy_then_nudge)
    with pytest.raises(workloads.CheckFailed, match="disagrees"):
        run_engine.check("W1", [])
