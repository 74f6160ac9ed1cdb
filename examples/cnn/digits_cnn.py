"""A small CNN on the 8x8 digits, and what its first filters see.

Two 3x3 convolutions (16 and 32 filters) with ReLU, a 2x2 max-pool, then a dense layer of 64:
the pattern of the books' "bigger picture" (filters that scan the image, pooling, then a
standard layer). Trained with Adam on 1,437 images, with each batch shifted by up to one
pixel (augmentation), and tested on the 360 it never saw. Prints the test accuracy per epoch
and saves two pictures: the training curves, and the first layer's 16 filters beside the
feature maps they make of one test digit.

    python examples/cnn/digits_cnn.py [--epochs 30] [--seed 0]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from common import accuracy, digit_images, small_cnn, train

import tinygrad_lite as tl
from tinygrad_lite import data
from tinygrad_lite.book import plots
from tinygrad_lite.book.runner import Plotter, arguments, figure
from tinygrad_lite.book.runner import save_figure as save

TARGET = 0.985  # the test accuracy this network should reach


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lr", type=float, default=2e-3)


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=30, argv=argv, extra=options)
    X_train, y_train, X_test, y_test = digit_images(args.seed)
    print(f"8x8 digits: {len(X_train)} training images, {len(X_test)} test images")
    tl.manual_seed(args.seed)
    model = small_cnn()
    n_params = sum(p.size for p in model.parameters())
    print(f"{model}\n{n_params:,} parameters")
    shift = data.RandomCrop(8, padding=1)  # each batch moved by up to a pixel
    history, seconds = train(
        model,
        X_train,
        y_train,
        X_test,
        y_test,
        args.epochs,
        lr=args.lr,
        seed=args.seed,
        transform=shift,
    )
    for epoch, (cost, acc) in enumerate(zip(history["cost"], history["val_accuracy"]), 1):
        if epoch in (1, 2, 5) or epoch % 10 == 0 or epoch == args.epochs:
            print(f"epoch {epoch:>3}: training cost {cost:.4f}   test accuracy {acc:.2%}")
    final = accuracy(model, X_test, y_test)
    verdict = "reached" if final >= TARGET else "missed"
    print(
        f"\ntest accuracy {final:.2%} after {args.epochs} epochs in {seconds:.1f} s "
        f"(target {TARGET:.1%}: {verdict})"
    )

    plot = Plotter(args.out, not args.no_plots)
    plot(
        plots.cost_per_epoch,
        "cnn_digits_accuracy.png",
        history,
        names=("accuracy", "val_accuracy"),
        ylabel="accuracy",
        title="A small CNN on the 8x8 digits",
        val_label="test",
    )
    plot(what_the_filters_see, "cnn_digits_filters.png", model, X_test[0])
    plot.report()


def what_the_filters_see(model: Any, image: np.ndarray, path: Path) -> Path:
    """The first conv layer's filters (top row) and the feature map each makes of ``image``
    after the ReLU (bottom row): bright where the filter's pattern is found."""
    conv = model[0]
    with tl.no_grad():
        maps = model[1](conv(tl.Value(image[None], requires_grad=False))).data[0]  # (16, 8, 8)
    filters = conv.weight.data[:, 0]  # (16, 3, 3)
    n = len(filters)
    fig = figure(1.1 * n, 3.6)
    axes = fig.subplots(3, n)
    for ax in axes.ravel():
        ax.set_axis_off()
    axes[0, 0].imshow(image[0], cmap="gray_r")
    axes[0, 0].set_title("the digit", fontsize=8)
    for k in range(n):
        axes[1, k].imshow(
            filters[k], cmap="RdBu_r", vmin=-abs(filters).max(), vmax=abs(filters).max()
        )
        axes[1, k].set_title(f"filter {k}", fontsize=7)
        axes[2, k].imshow(maps[k], cmap="viridis")
    fig.suptitle("first layer: 3x3 filters (red +, blue -) and the feature maps they make")
    return save(fig, path)


if __name__ == "__main__":
    main()
