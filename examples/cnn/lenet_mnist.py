"""LeNet-5 on MNIST, from the IDX files you already have (nothing is downloaded).

LeNet-5 as benchmark W7 builds it: conv 6@5x5, ReLU, max-pool 2x2, conv 16@5x5, ReLU,
max-pool 2x2, then 256-120-84-10 with ReLU; softmax cross-entropy, Adam, batches of 64.
Give the folder with the four MNIST files (``train-images-idx3-ubyte[.gz]`` ...):

    python examples/cnn/lenet_mnist.py --idx ~/data/mnist [--epochs 3] [--limit 60000]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from common import accuracy, train

import tinygrad_lite as tl
from tinygrad_lite import data, nn
from tinygrad_lite.book.runner import arguments


def lenet5() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 6, 5),  # (N, 6, 24, 24)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 6, 12, 12)
        nn.Conv2d(6, 16, 5),  # (N, 16, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, 16, 4, 4)
        nn.Flatten(),
        nn.Linear(256, 120),
        nn.ReLU(),
        nn.Linear(120, 84),
        nn.ReLU(),
        nn.Linear(84, 10),
    )


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--idx", required=True, help="folder with the four MNIST IDX files")
    parser.add_argument("--limit", type=int, default=None, help="use the first N training images")
    parser.add_argument("--seed", type=int, default=0)


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=3, argv=argv, extra=options)
    X_train, y_train, X_test, y_test = data.mnist(args.idx)
    X_train = X_train[: args.limit].reshape(-1, 1, 28, 28)  # (N, 1, 28, 28)
    y_train = y_train[: args.limit]
    X_test = X_test.reshape(-1, 1, 28, 28)
    print(f"MNIST: {len(X_train)} training and {len(X_test)} test images of 28x28")
    tl.manual_seed(args.seed)
    model = lenet5()
    print(f"LeNet-5, {sum(p.size for p in model.parameters()):,} parameters")
    history, seconds = train(model, X_train, y_train, None, None, args.epochs, seed=args.seed)
    for epoch, cost in enumerate(history["cost"], 1):
        print(f"epoch {epoch}: training cost {cost:.4f}")
    print(
        f"test accuracy {accuracy(model, X_test, y_test):.2%} after {args.epochs} epochs "
        f"({seconds:.1f} s, {seconds / args.epochs / max(len(X_train), 1) * 1e3:.2f} ms/image)"
    )


if __name__ == "__main__":
    main()
