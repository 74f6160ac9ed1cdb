"""Every example program runs from the command line (few epochs, plots in a temporary folder)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
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
    (
        "cnn/digits_cnn.py",
        ["--epochs", "2"],
        "test accuracy",
        ["cnn_digits_accuracy.png", "cnn_digits_filters.png"],
    ),
    ("cnn/residual.py", ["--epochs", "1"], "residual", ["cnn_residual.png"]),
    ("cnn/transfer.py", ["--epochs", "2", "--per-class", "3"], "fine-tuning: True", []),
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
    if script.startswith(("digits", "cnn/")):
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
    programs = {s for s in scripts if s.startswith("cnn/") and s != "cnn/common.py"}
    tested = mine | {"cnn/lenet_mnist.py"}  # run on generated IDX files below
    assert programs <= tested, f"CNN examples without a smoke test: {programs - tested}"


def test_lenet_trains_on_mnist_idx_files_the_user_has(tmp_path: Path) -> None:
    # four small IDX files written from the format's definition (nothing is downloaded)
    gen = np.random.default_rng(0)
    parts = {"train": 64, "t10k": 16}
    for part, n in parts.items():
        images = gen.integers(0, 256, (n, 28, 28)).astype(np.uint8)
        labels = gen.integers(0, 10, n).astype(np.uint8)
        for kind, array, dims in (("images", images, 3), ("labels", labels, 1)):
            header = bytes([0, 0, 0x08, dims]) + struct.pack(f">{dims}I", *array.shape)
            (tmp_path / f"{part}-{kind}-idx{dims}-ubyte").write_bytes(header + array.tobytes())
    done = run("cnn/lenet_mnist.py", "--idx", str(tmp_path), "--epochs", "1", "--no-plots")
    assert done.returncode == 0, done.stderr
    assert "MNIST: 64 training and 16 test images of 28x28" in done.stdout
    assert "LeNet-5, 44,426 parameters" in done.stdout and "test accuracy" in done.stdout


# ---------------------------------------------------------------- sequence examples


def _table_row(stdout: str, label: str) -> list[str]:
    """The cells after ``label`` on the first output line that starts with it."""
    line = next(ln for ln in stdout.splitlines() if ln.startswith(label))
    return line[len(label) :].split()


def test_sentiment_negation_example(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the example saves its plot with matplotlib")
    flags = ["--train", "400", "--test", "200", "--steps", "120", "--dim", "8", "--hidden", "16"]
    done = run("sequences/sentiment_negation.py", *flags, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "200 held-out ones that differ from all of them" in done.stdout
    table = {name: _table_row(done.stdout, name + "  ") for name in ("bag of words", "LSTM")}
    accuracy = {name: [float(c.rstrip("%")) / 100 for c in cells] for name, cells in table.items()}
    plain, negated, overall = zip(*accuracy.values(), strict=True)  # (bag, LSTM) each
    assert 0.0 <= min(plain + negated + overall) and max(plain + negated + overall) <= 1.0
    # word order decides: the LSTM reads it, a bag of words (linear in the words) cannot
    assert negated[1] > 0.9 and overall[1] > 0.9, done.stdout
    assert overall[0] < 0.7 and negated[1] > negated[0] + 0.3, done.stdout
    assert (tmp_path / "sentiment_negation.png").stat().st_size > 1000


def test_vanishing_gradient_example(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the example saves its plots with matplotlib")
    flags = ["--steps", "20", "--length", "10", "--probe-length", "30", "--batch-size", "8"]
    flags += ["--hidden", "8", "--eval-every", "10", "--out", str(tmp_path)]
    done = run("sequences/vanishing_gradient.py", *flags)
    assert done.returncode == 0, done.stderr
    per_step = {
        label: float(_table_row(done.stdout, label)[-1])
        for label in ("RNN, before training", "LSTM, forget bias +1, before training")
    }
    # the gradient shrinks by a factor below 1 per step back; an LSTM whose forget gates
    # start open (bias +1) loses it more slowly than the tanh RNN
    assert 0 < per_step["RNN, before training"] < 1
    assert per_step["LSTM, forget bias +1, before training"] > per_step["RNN, before training"]
    for kind in ("RNN", "LSTM"):  # start, best and final error, seconds, learned or not
        cells = _table_row(done.stdout, f"{kind}  ")
        assert all(float(c) >= 0 for c in cells[:4]) and cells[4] in ("yes", "no,")
    for name in ("vanishing_gradient.png", "adding_problem_curves.png"):
        assert (tmp_path / name).stat().st_size > 1000, f"{name} was not saved"
