"""A residual network beside a plain one of the same depth, on the 8x8 digits.

Both stack the same blocks: conv 3x3 -> batch norm -> ReLU, twice per block, eight
convolutions in all. The residual network adds each block's input to its output (a skip
connection, ResNet's idea), so the gradient has a short path back to the first layers; the
plain one does not. Both train with the same optimizer from the same seed; the training
curves of both go on one plot, and the table prints the cost and accuracy of each.

    python examples/cnn/residual.py [--epochs 15] [--seed 0]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from common import accuracy, digit_images, train

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.book.runner import Plotter, arguments, figure
from tinygrad_lite.book.runner import save_figure as save

BLOCKS = 4  # two convolutions each
WIDTH = 16  # channels


class Block(nn.Module):
    """conv-BN-ReLU-conv-BN, then ReLU of (that + the input) when ``skip``."""

    def __init__(self, channels: int, skip: bool) -> None:
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.skip = skip

    def forward(self, x: tl.Value) -> tl.Value:
        h = self.bn1(self.conv1(x)).relu()  # (N, C, 8, 8)
        h = self.bn2(self.conv2(h))
        return (h + x).relu() if self.skip else h.relu()


class Net(nn.Module):
    def __init__(self, skip: bool) -> None:
        self.stem = nn.Sequential(nn.Conv2d(1, WIDTH, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(*[Block(WIDTH, skip) for _ in range(BLOCKS)])
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(WIDTH, 10))

    def forward(self, x: tl.Value) -> tl.Value:
        return self.head(self.blocks(self.stem(x)))


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=0)


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=15, argv=argv, extra=options)
    X_train, y_train, X_test, y_test = digit_images(args.seed)
    histories = {}
    print(f"{BLOCKS} blocks of two 3x3 convolutions ({WIDTH} channels), batch norm, Adam\n")
    print(f"{'network':<10} {'final cost':>11} {'train acc':>10} {'test acc':>9} {'seconds':>8}")
    for name, skip in (("plain", False), ("residual", True)):
        tl.manual_seed(args.seed)
        model = Net(skip)
        history, seconds = train(
            model, X_train, y_train, X_test, y_test, args.epochs, seed=args.seed
        )
        histories[name] = history
        test = accuracy(model.eval(), X_test, y_test)
        print(
            f"{name:<10} {history['cost'][-1]:>11.4f} {history['accuracy'][-1]:>10.2%} "
            f"{test:>9.2%} {seconds:>8.1f}"
        )
    plot = Plotter(args.out, not args.no_plots)
    plot(curves, "cnn_residual.png", histories)
    plot.report()


def curves(histories: dict[str, Any], path: Path) -> Path:
    fig = figure(8, 3.2)
    cost_ax, acc_ax = fig.subplots(1, 2)
    for name, history in histories.items():
        cost_ax.plot(range(1, len(history["cost"]) + 1), history["cost"], label=name)
        acc_ax.plot(range(1, len(history["val_accuracy"]) + 1), history["val_accuracy"], label=name)
    cost_ax.set(xlabel="epoch", ylabel="training cost (cross-entropy)", yscale="log")
    acc_ax.set(xlabel="epoch", ylabel="test accuracy")
    cost_ax.legend()
    fig.suptitle("plain vs residual network of the same depth")
    return save(fig, path)


if __name__ == "__main__":
    main()
