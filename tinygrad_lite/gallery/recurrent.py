"""Recurrent networks: an LSTM beside a plain RNN on the adding problem.

Each sequence step holds a random number and a marker; two steps are marked, one in each
half, and the answer, read after the last step, is the sum of the two marked numbers
(``data.adding_problem``). The network must carry the first number across the rest of the
sequence. Always answering 1.0 scores a mean squared error of about 0.167: the bar to beat.
Both networks see the same batches; the LSTM's gates let it hold the number, the plain RNN's
gradient fades a little at every step back and it stays near the bar. The picture: the
held-out error of both during training, and each one's answers against the true sums.
(``examples/sequences/vanishing_gradient.py`` draws the fading gradient itself.)

    from tinygrad_lite import gallery
    print(gallery.run("recurrent", "gallery_out").report())
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.book.runner import figure, save_figure
from tinygrad_lite.nn import functional as F

from . import Exhibit


@dataclass(frozen=True)
class Size:
    """How big a run is: quick (the tour) or full."""

    length: int  # steps per sequence: the gap the first number must cross
    hidden: int
    steps: int  # batches of training
    lr: float


BASELINE = 1 / 6  # the mean squared error of always answering 1.0 (the variance of the sum)
LEARNED = 0.05  # below this the network has learned the task
QUICK = Size(length=20, hidden=16, steps=500, lr=0.02)  # about 10 s for both networks
FULL = Size(length=50, hidden=32, steps=1500, lr=0.01)
BATCH = 64
FORGET_BIAS = 1.0  # the LSTM's forget gates start at sigmoid(1) = 0.73: remember by default

BOOK = (
    "Recurrent networks read a sequence one step at a time and carry a state from step to "
    "step, the same weights at every step. The books warn that a plain RNN forgets: the "
    "gradient that reaches an early step is multiplied once per step and fades away, so it "
    "cannot learn what depends on something long ago. The LSTM adds a cell and gates that "
    "decide what to keep, what to forget and what to output, and carries information (and "
    "gradient) across long gaps."
)


class Regressor(nn.Module):
    """A recurrent layer reads the (N, L, 2) sequences; a linear layer maps its last state to
    the answer (N,)."""

    def __init__(self, kind: str, hidden: int) -> None:
        super().__init__()
        layers = {"RNN": nn.RNN, "LSTM": nn.LSTM}
        self.rnn = layers[kind](2, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: Any) -> tl.Value:
        states, _ = self.rnn(x)  # (N, L, H): the state after every step
        return self.head(states[:, -1]).reshape(states.shape[0])  # (N,)


def open_forget_gates(model: Regressor, hidden: int, shift: float = FORGET_BIAS) -> None:
    """Raise the LSTM's forget-gate bias by ``shift`` (torch's gate order i, f, g, o: the
    second block of ``hidden`` rows), a common initialisation that speeds up learning."""
    model.rnn.bias_hh_l0.data[hidden : 2 * hidden] += shift


def held_out_error(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with tl.no_grad():
        return F.mse_loss(model(X), y).item()


def train(
    model: nn.Module, size: Size, seed: int, X_val: np.ndarray, y_val: np.ndarray
) -> tuple[list[int], list[float]]:
    """Adam on fresh batches (the same ones for every model: drawn from ``seed``); the
    held-out error every 50 steps."""
    optimizer = optim.Adam(model.parameters(), lr=size.lr)
    gen = np.random.default_rng(seed)
    steps, errors = [0], [held_out_error(model, X_val, y_val)]
    for step in range(1, size.steps + 1):
        X, y = data.adding_problem(BATCH, size.length, seed=gen)
        loss = F.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 50 == 0 or step == size.steps:
            steps.append(step)
            errors.append(held_out_error(model, X_val, y_val))
    return steps, errors


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train an LSTM and a plain RNN on the same batches; their held-out errors and curves."""
    size = FULL if full else QUICK
    X_val, y_val = data.adding_problem(500, size.length, seed=seed + 1_000)
    tl.manual_seed(seed)
    models = {kind: Regressor(kind, size.hidden) for kind in ("LSTM", "RNN")}
    open_forget_gates(models["LSTM"], size.hidden)
    curves, final, answers = {}, {}, {}
    start = time.perf_counter()
    for kind, model in models.items():
        curves[kind] = train(model, size, seed, X_val, y_val)
        final[kind] = curves[kind][1][-1]
        with tl.no_grad():
            answers[kind] = model(X_val).data
    seconds = time.perf_counter() - start
    pictures = []
    if plots:
        pictures.append(plot_curves_and_answers(curves, answers, y_val, out / "recurrent.png"))
    return Exhibit(
        architecture="recurrent networks (RNN and LSTM)",
        title=f"an LSTM beside a plain RNN on the adding problem ({size.length} steps)",
        figures=[
            ("LSTM held-out MSE", f"{final['LSTM']:.4f}", f"< {LEARNED} (always 1.0: 0.167)"),
            ("plain RNN held-out MSE", f"{final['RNN']:.3f}", "near 0.167: it forgets"),
        ],
        pictures=pictures,
        book=BOOK,
        command="python examples/gallery/recurrent.py --full",
        notes=[
            f"sequences of {size.length} steps, hidden state {size.hidden}; Adam "
            f"(lr {size.lr}), {size.steps} batches of {BATCH} fresh sequences, the same "
            f"for both; the LSTM's forget-gate bias starts at +{FORGET_BIAS:g}; error measured "
            f"on 500 held-out sequences; both networks: {seconds:.1f} s"
            + (
                ""
                if full
                else f" (quick mode; --full: {FULL.length} steps, hidden "
                f"{FULL.hidden}, {FULL.steps} batches)"
            ),
        ],
        model=models["LSTM"],
        example_input=tl.Value(X_val[:2, :6], requires_grad=False),  # 2 short sequences
    )


def plot_curves_and_answers(
    curves: dict[str, tuple[list[int], list[float]]],
    answers: dict[str, np.ndarray],
    truth: np.ndarray,
    path: Path,
) -> Path:
    """Left: held-out error per training step, with always-1.0's bar. Right: each model's
    answer against the true sum of held-out sequences (the diagonal is perfect)."""
    colors = {"RNN": "tab:red", "LSTM": "tab:blue"}
    fig = figure(9.0, 3.6, "the gallery's pictures")
    left, right = fig.subplots(1, 2)
    for kind, (steps, errors) in curves.items():
        left.semilogy(steps, errors, color=colors[kind], label=kind)
    left.axhline(BASELINE, color="gray", linestyle=":", label="always 1.0 (0.167)")
    left.set(xlabel="training step", ylabel="held-out mean squared error", title="who learns")
    left.legend(fontsize=8)
    for kind, answer in answers.items():
        right.scatter(truth, answer, s=6, alpha=0.5, color=colors[kind], label=kind)
    right.plot([0, 2], [0, 2], color="gray", linestyle=":")
    right.set(xlabel="true sum", ylabel="the network's answer", title="answers, held out")
    right.legend(fontsize=8)
    return save_figure(fig, path)
