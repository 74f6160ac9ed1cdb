"""The vanishing gradient, drawn: a plain RNN and an LSTM on the adding problem.

The adding problem (``data.adding_problem``): each step of a sequence holds a random number
and a marker; two steps are marked, one in each half, and the target is the sum of their two
numbers. The network reads the whole sequence and answers at the end, so it must carry the
first marked number across tens of steps. Always answering 1.0 scores a mean squared error
of about 0.167: the bar to beat.

1. How far back does the gradient reach? For one batch of long sequences, the size of
   d answer / d x_t, the gradient of the network's answer with respect to the input at
   each step t (the loss's gradient is this times the error), for a plain RNN (tanh) and
   an LSTM, before training and after. Before training both shrink by a near-constant
   factor per step back (exponentially: a straight line on a log scale). With PyTorch's
   initialisation the LSTM's forget gates sit near sigmoid(0) = 0.5, so it forgets about
   as fast as the RNN; raising their bias by 1 (a common initialisation) slows the decay
   at once. After training the LSTM's gradient stays large all the way back: it has
   learned to hold its forget gates open. The RNN has no such gate.
2. Which one learns the task? Both are trained with Adam on the same batches; the LSTM
   drops far below 0.167, the RNN stays near it.

Prints both tables and saves two plots: the gradient per step, and the learning curves.

    python examples/sequences/vanishing_gradient.py [--steps 1200] [--length 50] [--seed 0]

The matrices are small: on a busy machine, OPENBLAS_NUM_THREADS=1 (one BLAS thread) can run
it twice as fast (measured on a shared 2-core machine: 2 minutes instead of 4.5).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.book.runner import figure as _figure
from tinygrad_lite.book.runner import save_figure as _save
from tinygrad_lite.nn import functional as F
from tinygrad_lite.optional import MissingDependencyError

BASELINE = 1 / 6  # the mean squared error of always answering 1.0 (the variance of y)
LEARNED = 0.05  # a model below this error has learned the task


class Regressor(nn.Module):
    """A recurrent layer reads the (N, L, 2) sequence; a linear layer maps its last state to
    the answer."""

    def __init__(self, kind: str, hidden: int) -> None:
        super().__init__()
        layers = {"RNN": nn.RNN, "LSTM": nn.LSTM}
        self.rnn = layers[kind](2, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: Any) -> tl.Value:
        states, _ = self.rnn(x)  # (N, L, H): the state after every step
        return self.head(states[:, -1]).reshape(states.shape[0])  # (N,)


def gradient_per_step(model: nn.Module, X: np.ndarray) -> np.ndarray:
    """How much the answer feels each step's input: the norm of d answer / d x_t at every
    step t, averaged over the batch, (L,).

    The loss's gradient d loss / d x_t is this times the error (times 2/N for the mean
    squared error), so it has the same shape along t; the answer's own gradient does not
    shrink merely because a trained model's error did.
    """
    x = tl.Value(X, requires_grad=True)  # the input itself gets a gradient
    model(x).sum().backward()  # the rows are independent: row n's gradient is its own
    model.zero_grad()
    grad = np.asarray(x.grad, dtype=np.float64)  # float64: the squares of 1e-25 underflow
    return np.linalg.norm(grad, axis=2).mean(axis=0)  # (N, L, 2) -> (L,)


def with_forget_bias(lstm: Regressor, hidden: int, shift: float) -> Regressor:
    """A copy of ``lstm`` whose forget gates' bias is raised by ``shift`` (torch's gate order
    i, f, g, o: the second block of ``hidden`` rows)."""
    copy = Regressor("LSTM", hidden)
    copy.load_state_dict(lstm.state_dict())  # writes into the copy's own arrays
    copy.rnn.bias_hh_l0.data[hidden : 2 * hidden] += shift
    return copy


def decay_per_step(norms: np.ndarray) -> float:
    """The factor the gradient shrinks by per step back, fitted over the sequence's middle
    half (away from the last steps and from the markers' own effect at the start)."""
    length = len(norms)
    t = np.arange(length // 4, 3 * length // 4)
    slope = np.polyfit(t, np.log(np.maximum(norms[t], 1e-300)), 1)[0]
    return float(np.exp(-slope))


def train(
    model: nn.Module, args: argparse.Namespace, X_val: np.ndarray, y_val: np.ndarray
) -> tuple[list[int], list[float], float]:
    """Adam on fresh batches; the held-out error every ``eval_every`` steps and the seconds."""
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    gen = np.random.default_rng(args.seed)  # the same batches for every model
    steps, errors = [0], [evaluate(model, X_val, y_val)]
    start = time.perf_counter()
    for step in range(1, args.steps + 1):
        X, y = data.adding_problem(args.batch_size, args.length, seed=gen)
        loss = F.mse_loss(model(X), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % args.eval_every == 0 or step == args.steps:
            steps.append(step)
            errors.append(evaluate(model, X_val, y_val))
    return steps, errors, time.perf_counter() - start


def evaluate(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    with tl.no_grad():
        return F.mse_loss(model(X), y).item()


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tour_out"), help="folder for the plots")
    parser.add_argument("--no-plots", action="store_true", help="print the numbers only")
    parser.add_argument("--length", type=int, default=50, help="sequence length for training")
    parser.add_argument(
        "--probe-length", type=int, default=100, help="sequence length for the gradient picture"
    )
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--steps", type=int, default=1200, help="Adam steps per model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--eval-every", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = options().parse_args(argv)
    X_probe, _ = data.adding_problem(args.batch_size, args.probe_length, seed=args.seed + 1)
    X_val, y_val = data.adding_problem(500, args.length, seed=args.seed + 2)
    print(
        f"adding problem: train on length {args.length}, {args.steps} steps of "
        f"{args.batch_size}; always answering 1.0 scores {BASELINE:.3f}"
    )
    tl.manual_seed(args.seed)
    models = {kind: Regressor(kind, args.hidden) for kind in ("RNN", "LSTM")}
    # the same LSTM with its forget gates' bias raised by 1 (sigmoid(1) = 0.73 instead of
    # about 0.5): a common initialisation, probed before training only
    opened = with_forget_bias(models["LSTM"], args.hidden, 1.0)
    gradients = {
        "RNN, before training": gradient_per_step(models["RNN"], X_probe),
        "LSTM, before training": gradient_per_step(models["LSTM"], X_probe),
        "LSTM, forget bias +1, before training": gradient_per_step(opened, X_probe),
    }
    curves: dict[str, tuple[list[int], list[float]]] = {}
    seconds: dict[str, float] = {}
    for kind, model in models.items():
        steps, errors, seconds[kind] = train(model, args, X_val, y_val)
        curves[kind] = (steps, errors)
        gradients[f"{kind}, after training"] = gradient_per_step(model, X_probe)

    last = args.probe_length - 1
    print(
        f"\nsize of d answer / d x_t on sequences of {args.probe_length} steps "
        "(mean over a batch), and the factor it shrinks by per step back"
    )
    print(f"{'model':<38}{'t = last':>10}{'t = last-25':>13}{'t = 0':>10}{'per step':>10}")
    for label, norms in gradients.items():
        print(
            f"{label:<38}{norms[last]:>10.1e}{norms[max(last - 25, 0)]:>13.1e}"
            f"{norms[0]:>10.1e}{decay_per_step(norms):>10.2f}"
        )

    print(f"\nheld-out mean squared error on length {args.length} (baseline {BASELINE:.3f})")
    print(f"{'model':<8}{'start':>8}{'best':>8}{'final':>8}{'seconds':>9}  learned the task?")
    for kind, (_, errors) in curves.items():
        learned = "yes" if errors[-1] < LEARNED else "no, near the baseline"
        print(
            f"{kind:<8}{errors[0]:>8.3f}{min(errors):>8.3f}{errors[-1]:>8.3f}"
            f"{seconds[kind]:>9.1f}  {learned}"
        )

    if not args.no_plots:
        try:
            saved = [
                plot_gradients(gradients, args.out / "vanishing_gradient.png"),
                plot_curves(curves, args.out / "adding_problem_curves.png"),
            ]
            print(f"plots saved in {args.out}/: {', '.join(p.name for p in saved)}")
        except MissingDependencyError as e:
            print(f"(no plots: {e})")


def plot_gradients(gradients: dict[str, np.ndarray], path: Path) -> Path:
    """One line per model and moment: the gradient reaching each step, on a log scale."""
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot()
    for label, norms in gradients.items():
        color = "tab:red" if label.startswith("RNN") else "tab:blue"
        if "forget bias" in label:
            color = "tab:cyan"
        style = ":" if "before" in label else "-"
        ax.semilogy(norms, style, color=color, label=label)
    ax.set(
        xlabel="time step t (the answer is read after the last step)",
        ylabel="mean size of d answer / d x_t",
        title="How far back the gradient reaches",
    )
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_curves(curves: dict[str, tuple[list[int], list[float]]], path: Path) -> Path:
    """Held-out error against training steps for each model, with the baseline."""
    fig = _figure(6.0, 3.6)
    ax = fig.add_subplot()
    colors = {"RNN": "tab:red", "LSTM": "tab:blue"}
    for kind, (steps, errors) in curves.items():
        ax.semilogy(steps, errors, color=colors[kind], label=kind)
    ax.axhline(BASELINE, color="gray", linestyle=":", label="always 1.0 (0.167)")
    ax.set(
        xlabel="training step",
        ylabel="held-out mean squared error",
        title="The adding problem: who learns it",
    )
    ax.legend(fontsize=8)
    return _save(fig, path)


if __name__ == "__main__":
    main()
