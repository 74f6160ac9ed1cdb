"""Feedforward: a multilayer perceptron on the 8x8 handwritten digits.

Dense layers only (64 pixels -> 64 ReLU -> 64 ReLU -> 10 scores), trained with Adam on the
cross-entropy, mini-batches of 64, and tested on the fifth of the digits it never saw. The
picture: the accuracy per epoch (training and test), and the test digits it still gets wrong.

    from tinygrad_lite import gallery
    print(gallery.run("feedforward", "gallery_out").report())
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
from tinygrad_lite.train import History, fit, predict

from . import Exhibit


@dataclass(frozen=True)
class Size:
    """How big a run is: quick (the tour) or full."""

    hidden: int  # units in each of the two hidden layers
    epochs: int


TARGET = 0.95  # test accuracy: a dense net beats Deep Learning Illustrated's shallow one (86%)
QUICK = Size(hidden=64, epochs=20)  # about a second of training
FULL = Size(hidden=128, epochs=40)

BOOK = (
    "The books' first network: layers of neurons, each a weighted sum of every output of the "
    "layer before followed by an activation, information flowing one way from the pixels to "
    "the scores. Deep Learning Illustrated trains a shallow one (one hidden layer of 64 "
    "sigmoid neurons) on handwritten digits and reaches about 86%; ReLU, a second hidden "
    "layer and Adam do better in far fewer epochs."
)


def mlp(hidden: int, classes: int = 10) -> nn.Sequential:
    """64 pixels -> ``hidden`` (ReLU) -> ``hidden`` (ReLU) -> ``classes`` scores."""
    return nn.Sequential(
        nn.Linear(64, hidden),  # (N, 64) -> (N, hidden)
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, classes),  # (N, classes): the scores (logits)
    )


def digit_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 1,797 digits as float32 rows of 64 pixels in [0, 1]; 80% train, 20% test."""
    X, y = data.digits()
    X_train, X_test, y_train, y_test = data.train_test_split(
        X.astype(np.float32), y, test_size=0.2, seed=seed
    )
    return X_train, y_train, X_test, y_test


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train the MLP, measure its test accuracy, draw the curves and the mistakes."""
    size = FULL if full else QUICK
    X_train, y_train, X_test, y_test = digit_split(seed)
    tl.manual_seed(seed)
    model = mlp(size.hidden)
    start = time.perf_counter()
    history = fit(
        model,
        F.cross_entropy,
        optim.Adam(model.parameters(), lr=3e-3),
        (X_train, y_train),
        epochs=size.epochs,
        batch_size=64,
        validation_data=(X_test, y_test),
        metrics=["accuracy"],
        seed=seed,
        verbose=False,
    )
    seconds = time.perf_counter() - start
    predicted = predict(model, X_test).argmax(axis=1)
    accuracy = float((predicted == y_test).mean())
    wrong = np.flatnonzero(predicted != y_test)
    pictures = []
    if plots:
        pictures.append(
            plot_accuracy_and_mistakes(
                history, X_test[wrong], y_test[wrong], predicted[wrong], out / "feedforward.png"
            )
        )
    n_params = sum(p.size for p in model.parameters())
    return Exhibit(
        architecture="feedforward network (multilayer perceptron)",
        title="an MLP classifies the 8x8 handwritten digits",
        figures=[
            ("test accuracy", f"{accuracy:.1%}", f">= {TARGET:.0%}"),
            ("test digits wrong", f"{len(wrong)} of {len(y_test)}", "-"),
        ],
        pictures=pictures,
        book=BOOK,
        command="python examples/gallery/feedforward.py --full",
        notes=[
            f"64-{size.hidden}-{size.hidden}-10 with ReLU, {n_params:,} parameters; Adam "
            f"(lr 3e-3), batches of 64, {size.epochs} epochs on {len(y_train)} digits, "
            f"tested on {len(y_test)}: {seconds:.1f} s"
            + ("" if full else f" (quick mode; --full: {FULL.hidden} units, {FULL.epochs} epochs)"),
        ],
        model=model,
        example_input=tl.Value(X_test[:2], requires_grad=False),
    )


def plot_accuracy_and_mistakes(
    history: History, images: np.ndarray, truth: np.ndarray, guess: np.ndarray, path: Path
) -> Path:
    """Left: training and test accuracy per epoch. Right: up to 12 test digits the network
    gets wrong, each titled with the truth and the network's guess."""
    fig = figure(9.0, 3.4, "the gallery's pictures")
    left, right = fig.subfigures(1, 2, width_ratios=[1.1, 1.0])
    ax = left.subplots()
    epochs = np.arange(1, len(history["accuracy"]) + 1)
    ax.plot(epochs, history["accuracy"], label="training")
    ax.plot(epochs, history["val_accuracy"], label="test")
    ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy per epoch")
    ax.legend()
    shown = min(12, len(images))
    axes: Any = right.subplots(3, 4)
    for k, cell in enumerate(axes.ravel()):
        cell.set_axis_off()
        if k < shown:
            cell.imshow(images[k].reshape(8, 8), cmap="gray_r")
            cell.set_title(f"{truth[k]} as {guess[k]}", fontsize=8)
    right.suptitle(f"test digits it gets wrong ({len(images)}), truth as guess", fontsize=9)
    return save_figure(fig, path)
