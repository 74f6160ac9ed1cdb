"""micrograd's demo: a 2-16-16-1 MLP separates two moons, with scalars and with tensors.

The same network is trained twice with micrograd's recipe (SVM "max-margin" loss, L2
regularisation 1e-4, 100 steps of full-batch gradient descent, learning rate falling from
1.0 to 0.1): first with ``nn.scalar.MLP``, where every weight is its own scalar Value as in
micrograd, then with ``nn.Linear`` layers on NumPy arrays, starting from the very same
weights. The two runs compute the same numbers; the tensor one is much faster.

    python examples/moons_mlp.py [--epochs 100] [--out DIR]
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn
from tinygrad_lite.book.runner import Plotter, arguments
from tinygrad_lite.nn.scalar import MLP
from tinygrad_lite.optional import optional_import

ALPHA = 1e-4  # L2 regularisation strength


def learning_rate(step: int, steps: int) -> float:
    return 1.0 - 0.9 * step / steps


def scalar_step(model: MLP, X: np.ndarray, y: np.ndarray, lr: float) -> tuple[float, float]:
    """One step of micrograd's loop: a Value per number, a list per example."""
    scores = [model(list(row)) for row in X.tolist()]
    losses = [(1.0 - yi * si).relu() for yi, si in zip(y.tolist(), scores)]
    data_loss = sum(losses, tl.Value(0.0, requires_grad=False)) * (1.0 / len(losses))
    reg = ALPHA * sum((p * p for p in model.parameters()), tl.Value(0.0, requires_grad=False))
    total = data_loss + reg
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    accuracy = np.mean([(yi > 0) == (si.data > 0) for yi, si in zip(y, scores)])
    return total.data, float(accuracy)


def tensor_model(scalar: MLP) -> nn.Sequential:
    """The same network as nn.Linear layers, with the scalar model's weights copied in."""
    layers: list[nn.Module] = []
    for i, layer in enumerate(scalar.layers):
        linear = nn.Linear(len(layer.neurons[0].w), len(layer.neurons), dtype=np.float64)
        weights = np.array([[w.data for w in n.w] for n in layer.neurons])  # (out, in)
        linear.weight.data[...] = weights.T  # (in, out): column j holds neuron j's weights
        linear.bias.data[...] = [n.b.data for n in layer.neurons]
        layers.append(linear)
        if i < len(scalar.layers) - 1:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def tensor_step(
    model: nn.Sequential, X: np.ndarray, y: np.ndarray, lr: float
) -> tuple[float, float]:
    """The same step on whole arrays: one matrix product per layer."""
    scores = model(tl.Value(X, requires_grad=False))[:, 0]  # (N,)
    data_loss = (1.0 - y * scores).relu().mean()
    reg = sum((p * p).sum() for p in model.parameters())
    total = data_loss + ALPHA * reg
    model.zero_grad()
    total.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    accuracy = np.mean((y > 0) == (scores.data > 0))
    return total.item(), float(accuracy)


def train(
    name: str,
    step: Callable[[Any, np.ndarray, np.ndarray, float], tuple[float, float]],
    model: Any,
    X: np.ndarray,
    y: np.ndarray,
    steps: int,
) -> float:
    start = time.perf_counter()
    for k in range(steps):
        loss, accuracy = step(model, X, y, learning_rate(k, steps))
        if k % 10 == 0 or k == steps - 1:
            print(f"  {name} step {k:>3}  loss {loss:.4f}  accuracy {accuracy:.0%}")
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=100, argv=argv)
    X, labels = data.moons(100, noise=0.1, seed=1)
    y = 2.0 * labels - 1.0  # micrograd's SVM labels: -1 and +1

    random.seed(1337)  # micrograd's seed: nn.scalar draws from Python's random, as micrograd
    scalar = MLP(2, [16, 16, 1])
    tensor = tensor_model(scalar)  # same starting weights
    print(f"MLP(2, [16, 16, 1]): {len(scalar.parameters())} parameters, {args.epochs} steps")
    t_scalar = train("scalar", scalar_step, scalar, X, y, args.epochs)
    t_tensor = train("tensor", tensor_step, tensor, X, y, args.epochs)
    final = tensor_model(scalar)
    gap = max(
        float(np.abs(a.data - b.data).max())
        for a, b in zip(final.parameters(), tensor.parameters())
    )
    print(
        f"\nscalar Values: {t_scalar:.2f} s   tensors: {t_tensor:.3f} s   "
        f"({t_scalar / t_tensor:.0f}x faster)"
    )
    print(f"largest difference between the two trained networks' weights: {gap:.1e}")

    plot = Plotter(args.out, not args.no_plots)
    plot(decision_boundary, "moons.png", tensor, X, labels)
    plot.report()


def decision_boundary(model: nn.Sequential, X: np.ndarray, labels: np.ndarray, path: Any) -> Any:
    mpl_figure = optional_import("matplotlib.figure", "the plots", "matplotlib")
    fig = mpl_figure.Figure(figsize=(5, 4), layout="constrained")
    ax = fig.add_subplot()
    gx, gy = np.meshgrid(np.linspace(-2, 3, 120), np.linspace(-1.5, 2, 120))
    with tl.no_grad():
        z = model(tl.Value(np.c_[gx.ravel(), gy.ravel()], requires_grad=False)).data
    ax.contourf(
        gx,
        gy,
        (z[:, 0] > 0).reshape(gx.shape),
        levels=[-0.5, 0.5, 1.5],
        colors=["C0", "C1"],
        alpha=0.3,
    )
    ax.scatter(X[:, 0], X[:, 1], c=[f"C{c}" for c in labels], edgecolors="k")
    ax.set(title="two moons: the MLP's decision regions")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


if __name__ == "__main__":
    main()
