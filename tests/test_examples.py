"""Every example program runs from the command line (few epochs, plots in a temporary folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"

# (script, flags for a quick run, text the output must contain, plots it must save)
CASES = [
    ("book/ch1_linear_regression.py", [], "144.5       144.5  matches", ["ch1_cost.png"]),
    (
        "book/ch2_nonlinear_regression.py",
        ["--epochs", "30", "--seeds", "2"],
        "2 seeds",
        ["ch2_relu_predictions.png"],
    ),
    (
        "book/ch3_binary.py",
        ["--epochs", "20", "--seeds", "2"],
        "confusion matrix",
        ["ch3_small_regions.png"],
    ),
    (
        "book/ch4_multiclass.py",
        ["--epochs", "20", "--seeds", "2"],
        "bronze, silver, gold",
        ["ch4_bigger_regions.png"],
    ),
    (
        "book/fraud_metrics.py",
        [],
        "precision               40%         40%  matches",
        ["fraud_metrics.png"],
    ),
    (
        "book/hyperparameters.py",
        ["--epochs", "5"],
        "diverged: learning rates [1.05]",
        ["hp_learning_rates.png"],
    ),
    ("digits_shallow_net.py", ["--epochs", "3"], "epoch 3/3", ["digits_accuracy.png"]),
    ("moons_mlp.py", ["--epochs", "3"], "x faster", ["moons.png"]),
    ("perceptron_hotdog.py", [], "hot dog", []),
    ("stepper_page.py", [], "22 backward steps", []),
]


def run(script: str, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *flags],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


@pytest.mark.parametrize(("script", "flags", "expected", "plots"), CASES, ids=[c[0] for c in CASES])
def test_example_runs(
    script: str, flags: list[str], expected: str, plots: list[str], tmp_path: Path
) -> None:
    if plots:
        pytest.importorskip("matplotlib", reason="the examples save plots with matplotlib")
    if script.startswith("digits"):
        pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    done = run(script, *flags, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout
    for name in plots:
        assert (tmp_path / name).stat().st_size > 1000, f"{name} was not saved"


def test_examples_without_plots_save_nothing(tmp_path: Path) -> None:
    done = run("book/ch1_linear_regression.py", "--no-plots", "--out", str(tmp_path / "none"))
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "none").exists()


def test_every_example_is_smoke_tested() -> None:
    scripts = {str(p.relative_to(EXAMPLES)) for p in EXAMPLES.rglob("*.py")}
    mine = {c[0] for c in CASES}
    missing = {s for s in mine if s not in scripts}
    assert not missing, f"listed but missing: {missing}"
    book_scripts = {s for s in scripts if s.startswith("book/")}
    assert book_scripts <= mine, f"book examples without a smoke test: {book_scripts - mine}"
