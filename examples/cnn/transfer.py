"""Transfer learning: reuse the filters learned on digits 0-4 to learn 5-9 from 20 examples each.

1. Train the small CNN on every training image of the digits 0-4.
2. Freeze its convolutional layers (``requires_grad_(False)``), give it a new dense head for
   the five classes 5-9, and train only the head on 20 examples of each of those digits.
3. Beside it, train the same network from scratch on the same 100 examples.

The table prints both accuracies on every test image of 5-9: the filters learned on other
digits (edges, strokes, corners) carry over.

    python examples/cnn/transfer.py [--epochs 40] [--per-class 20] [--seed 0]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
from common import accuracy, digit_images, small_cnn, train

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.book.runner import arguments


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-class", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)


def few(X: np.ndarray, y: np.ndarray, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` examples of each class in ``y``, drawn with ``seed``."""
    gen = np.random.default_rng(seed)
    pick = np.concatenate(
        [gen.choice(np.flatnonzero(y == c), per_class, replace=False) for c in np.unique(y)]
    )
    return X[pick], y[pick]


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=40, argv=argv, extra=options)
    X_train, y_train, X_test, y_test = digit_images(args.seed)
    first, second = y_train < 5, y_train >= 5
    test_second = y_test >= 5
    X_few, y_few = few(X_train[second], y_train[second] - 5, args.per_class, args.seed)
    X_eval, y_eval = X_test[test_second], y_test[test_second] - 5

    tl.manual_seed(args.seed)
    base = small_cnn(classes=5)
    train(base, X_train[first], y_train[first], None, None, 10, seed=args.seed)
    print(
        f"1. trained on digits 0-4 ({first.sum()} images): "
        f"test accuracy on 0-4 {accuracy(base, X_test[~test_second], y_test[~test_second]):.2%}"
    )

    features = base[:5].requires_grad_(False)  # the two conv layers and the pooling, frozen
    before = [p.data.copy() for p in features.parameters()]
    head = nn.Sequential(nn.Flatten(), nn.Linear(32 * 16, 64), nn.ReLU(), nn.Linear(64, 5))
    transferred = nn.Sequential(features, head)
    train(
        transferred,
        X_few,
        y_few,
        None,
        None,
        args.epochs,
        lr=3e-3,
        seed=args.seed,
        params=head.parameters(),
    )
    unchanged = all(np.array_equal(a, p.data) for a, p in zip(before, features.parameters()))
    tl.manual_seed(args.seed + 1)
    scratch = small_cnn(classes=5)
    train(scratch, X_few, y_few, None, None, args.epochs, lr=3e-3, seed=args.seed)

    n = len(y_few)
    print(f"2. 5-9 from {args.per_class} examples each ({n} images), tested on {len(y_eval)}:\n")
    print(f"{'network':<36} {'test accuracy on 5-9':>20}")
    print(
        f"{'frozen filters from 0-4 + new head':<36} {accuracy(transferred, X_eval, y_eval):>20.2%}"
    )
    print(f"{'the same network from scratch':<36} {accuracy(scratch, X_eval, y_eval):>20.2%}")
    print(f"\nthe frozen convolutional layers are unchanged by the fine-tuning: {unchanged}")


if __name__ == "__main__":
    main()
