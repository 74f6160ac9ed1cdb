"""Deep Learning Illustrated's shallow net: handwritten digits with one hidden layer.

The book's network, Keras-style: Dense(64, sigmoid) -> Dense(10, softmax), mean squared
error on the one-hot labels, plain SGD, batches of 128, 200 epochs, validation accuracy
printed after every epoch. The book trains on MNIST (60,000 images of 28x28, learning rate
0.01: 469 steps per epoch) and reaches about 86% after 200 epochs. Here it trains on
scikit-learn's bundled 8x8 digits (1,437 training images, 360 for validation): only 12
steps per epoch, so the learning rate is raised to 5.0 to take a comparable stride per
epoch. ``--idx DIR`` trains on MNIST IDX files you already have, with the book's settings.

    python examples/digits_shallow_net.py [--epochs 200] [--lr 5.0] [--loss mse]
    python examples/digits_shallow_net.py --idx ~/data/mnist --lr 0.01
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.book import plots
from tinygrad_lite.book.runner import Plotter, arguments
from tinygrad_lite.nn import functional as F
from tinygrad_lite.train import fit

BOOK = {1: 0.10, 10: 0.365, 200: 0.86}  # the book's validation accuracy after these epochs


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--lr", type=float, default=None, help="5.0 on digits, 0.01 on MNIST")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--loss", choices=["mse", "cross_entropy"], default="mse")
    parser.add_argument("--idx", type=str, default=None, help="folder with MNIST IDX files")
    parser.add_argument("--seed", type=int, default=0)


def mse_of_softmax(logits: tl.Value, one_hot: Any) -> tl.Value:
    """The book's cost: softmax outputs against one-hot labels, mean squared error."""
    return F.mse_loss(logits.softmax(axis=-1), one_hot)


def load(idx: str | None, seed: int) -> tuple[np.ndarray, ...]:
    if idx is not None:
        X_train, y_train, X_val, y_val = data.mnist(idx)
    else:
        X, y = data.digits()
        X_train, X_val, y_train, y_val = data.train_test_split(
            X.astype(np.float32), y, test_size=0.2, seed=seed
        )
    return X_train, data.one_hot(y_train, 10), X_val, data.one_hot(y_val, 10)


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=200, argv=argv, extra=options)
    lr = args.lr if args.lr is not None else (0.01 if args.idx else 5.0)
    X_train, Y_train, X_val, Y_val = load(args.idx, args.seed)
    source = "MNIST" if args.idx else "8x8 digits"
    print(f"{source}: {len(X_train)} training and {len(X_val)} validation images")

    tl.manual_seed(args.seed)
    pixels = X_train.shape[1]
    model = nn.Sequential(nn.Linear(pixels, 64), nn.Sigmoid(), nn.Linear(64, 10))
    loss = mse_of_softmax if args.loss == "mse" else F.cross_entropy
    print(f"{pixels}-64(sigmoid)-10(softmax), {args.loss}, SGD lr {lr:g}, batch {args.batch_size}")
    start = time.perf_counter()
    history = fit(
        model,
        loss,
        optim.SGD(model.parameters(), lr=lr),
        (X_train, Y_train.astype(np.float32)),
        epochs=args.epochs,
        batch_size=args.batch_size,
        validation_data=(X_val, Y_val.astype(np.float32)),
        metrics=["accuracy"],
        seed=args.seed,
        verbose=True,
    )
    seconds = time.perf_counter() - start

    accuracy = history["val_accuracy"]
    print(f"\ntrained {len(accuracy)} epochs in {seconds:.1f} s")
    for epoch, book in BOOK.items():
        if epoch <= len(accuracy):
            print(
                f"validation accuracy after {epoch:>3} epochs: {accuracy[epoch - 1]:6.1%}"
                f"   (book, MNIST: {book:.1%})"
            )
    reached = next((i + 1 for i, a in enumerate(accuracy) if a >= 0.95), None)
    print(f"first epoch at >= 95%: {reached or 'not reached'}; final {accuracy[-1]:.1%}")

    plot = Plotter(args.out, not args.no_plots)
    plot(
        plots.cost_per_epoch,
        "digits_accuracy.png",
        history,
        names=("accuracy", "val_accuracy"),
        ylabel="accuracy",
        title=f"Shallow net on {source}",
        val_label="validation",
    )
    plot.report()


if __name__ == "__main__":
    main()
