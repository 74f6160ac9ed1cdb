"""Every example program runs from the command line (few epochs, plots in a temporary folder)."""

from __future__ import annotations

import os
import re
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
    (
        "cnn/transfer.py",
        ["--epochs", "2", "--per-class", "3", "--pretrain-epochs", "2"],
        "fine-tuning: True",
        [],
    ),
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
    # the sequence examples have a test function each below, which names the script it runs
    source = Path(__file__).read_text()
    sequences = {s for s in scripts if s.startswith("sequences/")}
    untested = {s for s in sequences if f'"{s}"' not in source}
    assert len(sequences) >= 5 and not untested, f"sequence examples without a test: {untested}"


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


# ---------------------------------------------------------------- transformer_addition.py


def _addition_example():  # the example's module, for its helpers
    import doctest
    import importlib.util

    path = EXAMPLES / "sequences" / "transformer_addition.py"
    spec = importlib.util.spec_from_file_location("transformer_addition", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert doctest.testmod(module).failed == 0
    return module


def test_transformer_addition_runs_and_learns(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the example saves plots with matplotlib")
    flags = ["--digits", "2", "--steps", "40", "--batch-size", "32", "--d-model", "16"]
    flags += ["--heads", "2", "--layers", "1", "--test-size", "50", "--lr", "3e-3"]
    done = run("sequences/transformer_addition.py", *flags, "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    losses = [float(line.split()[-1]) for line in done.stdout.splitlines() if "loss on" in line]
    assert len(losses) >= 3 and losses[-1] < 0.9 * losses[0], done.stdout
    assert "held-out exact match" in done.stdout and "reversed" in done.stdout
    for name in ("transformer_addition_loss.png", "transformer_addition_attention.png"):
        assert (tmp_path / name).stat().st_size > 1000, f"{name} was not saved"


def test_addition_sums_are_written_and_read_back() -> None:
    T = _addition_example()
    assert T.write_sum(7, 95, 2) == "07+95=201"  # 102, least significant digit first
    assert T.write_sum(7, 95, 2, reverse=False) == "07+95=102"
    assert T.read_answer("201") == 102 and T.read_answer("102", reverse=False) == 102
    assert T.read_answer("2=1") is None
    assert T.pairs_of(["12+345=357", "0+1=1"]).tolist() == [[12, 345], [0, 1]]


def test_addition_training_never_sees_a_held_out_pair() -> None:
    T = _addition_example()
    test = T.held_out_pairs(300, digits=1, seed=0)  # 1 digit: only 100 pairs exist
    assert len(test) == len(np.unique(test, axis=0)) <= 100
    held = T.held_out_pairs(40, digits=1, seed=0)
    sums = T.TrainingSums(1, held, seed=0)
    seen = {tuple(p) for _ in range(20) for p in sums.batch(50).tolist()}
    assert len(seen) == 100 - 40  # every other pair turns up, no held-out one does
    assert not seen & {tuple(p) for p in held.tolist()}


def test_addition_loss_counts_the_answer_positions_only() -> None:
    import tinygrad_lite as tl
    from tinygrad_lite.nn import functional as F

    T = _addition_example()
    gen = np.random.default_rng(0)
    logits = tl.Value(gen.normal(size=(3, 7, 5)).astype(np.float32))  # (N, T, vocab)
    targets = gen.integers(0, 5, (3, 7))
    mask = T.answer_mask(8, prompt_length=5)  # targets 4, 5, 6 are the answer's
    assert mask.tolist() == [False] * 4 + [True] * 3
    loss = T.masked_next_token_loss(logits, targets, mask)
    answer_only = F.cross_entropy(logits.data[:, 4:], targets[:, 4:])
    np.testing.assert_allclose(loss.data, answer_only.data, rtol=1e-6)
    loss.backward()
    assert not logits.grad[:, :4].any()  # the prompt's predictions get no gradient
    assert np.abs(logits.grad[:, 4:]).min() > 0


def test_addition_greedy_decoding_appends_the_most_likely_character() -> None:
    import tinygrad_lite as tl

    T = _addition_example()

    def next_id_plus_one(ids: np.ndarray) -> tl.Value:  # scores id (last + 1) % 5 highest
        logits = np.zeros((*ids.shape, 5), dtype=np.float32)
        np.put_along_axis(logits, ((ids + 1) % 5)[..., None], 1.0, axis=-1)
        return tl.Value(logits)

    prompts = np.array([[0, 3], [1, 1]])
    assert T.greedy_answers(next_id_plus_one, prompts, 4).tolist() == [
        [4, 0, 1, 2],
        [2, 3, 4, 0],
    ]


def test_addition_attention_weights_are_causal() -> None:
    import tinygrad_lite as tl

    T = _addition_example()
    tl.manual_seed(0)
    model = T.Decoder(vocab=13, length=8, d_model=16, heads=2, layers=2)
    maps = model.attention_weights(np.array([[1, 2, 3, 11, 4, 5]]))
    assert [m.shape for m in maps] == [(1, 2, 6, 6)] * 2  # per layer (N, heads, L, L)
    for m in maps:
        np.testing.assert_allclose(m.sum(axis=-1), 1.0, rtol=1e-5)
        assert not np.triu(m[0, 0], k=1).any()  # nothing attends to a later character


def _numbers(pattern: str, text: str) -> list[float]:
    """Every number the groups of ``pattern`` capture in ``text``, in order."""
    found = re.findall(pattern, text)
    return [float(n) for m in found for n in (m if isinstance(m, tuple) else (m,))]


def test_char_lstm_learns_python_better_than_the_baselines(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the example saves its plot with matplotlib")
    done = run(
        "sequences/char_lstm.py",
        *(
            "--files",
            "12",
            "--held-out",
            "0.25",
            "--steps",
            "40",
            "--eval-every",
            "20",
            "--hidden",
            "48",
        ),
        *("--embed", "8", "--seq-len", "32", "--batch", "8", "--eval-chars", "4000"),
        *("--curve-chars", "1000", "--samples", "1", "--sample-chars", "40"),
        *("--out", str(tmp_path)),
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    (uniform,) = _numbers(r"uniform over \d+ characters\s+([\d.]+)", out)
    (unigram,) = _numbers(r"unigram \(character frequencies\)\s+([\d.]+)", out)
    (lstm,) = _numbers(r"  LSTM\s+([\d.]+)", out)
    train = _numbers(r"train ([\d.]+) bits/char", out)
    assert len(train) == 2 and train[-1] < train[0], out  # the training loss fell
    assert unigram < uniform and lstm < uniform, out  # even 40 steps beat guessing
    assert "samples (temperature 0.8):\n--- 1\ndef " in out  # seeded with "def "
    assert (tmp_path / "char_lstm_bits.png").stat().st_size > 1000


def test_word2vec_trains_and_prints_neighbours(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the example saves its plot with matplotlib")
    done = run(
        "sequences/word2vec.py",
        *("--files", "20", "--steps", "60", "--batch", "256", "--dim", "16"),
        *("--queries", "self", "return", "--out", str(tmp_path)),
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    first, last = _numbers(r"loss ([\d.]+) -> ([\d.]+)", out)
    assert last < first, out
    assert "\n      self: " in out and "\n    return: " in out
    assert (tmp_path / "word2vec.png").stat().st_size > 1000


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
