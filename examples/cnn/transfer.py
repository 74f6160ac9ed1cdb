"""Transfer learning: reuse the filters learned on digits 0-4 to learn 5-9 from 10 examples each.

1. Train the small CNN on 80% of the digits 0-4, each batch shifted by up to ``--shift`` pixels.
2. Freeze its convolutional layers (``requires_grad_(False)``), give it a new linear head for
   the five classes 5-9, and train only the head on ``--per-class`` examples of each digit.
3. Beside it, on the same examples: the same network from scratch, and a new head on frozen
   *random* filters (what the head alone can do).

The table prints the three accuracies on every other image of 5-9. The experiment is the
gallery's (``tinygrad_lite.gallery.transfer.compare``); ``examples/gallery/transfer.py`` runs
it with its picture. ``--shift 0`` pretrains without the shifts: the frozen filters of 0-4 are
then no better than frozen random ones.

    python examples/cnn/transfer.py [--epochs 150] [--per-class 10] [--draws 1] [--shift 1]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from tinygrad_lite.book.runner import arguments
from tinygrad_lite.gallery import transfer


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--per-class", type=int, default=10, help="labelled images of each of 5-9")
    parser.add_argument("--draws", type=int, default=1, help="draws of those labelled images")
    parser.add_argument("--pretrain-epochs", type=int, default=15, help="epochs on 0-4")
    parser.add_argument("--shift", type=int, default=1, help="pixels of shift in pretraining")
    parser.add_argument("--seed", type=int, default=0)


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=150, argv=argv, extra=options)
    result = transfer.compare(
        per_class=args.per_class,
        draws=args.draws,
        pretrain_epochs=args.pretrain_epochs,
        epochs=args.epochs,
        shift=args.shift,
        seed=args.seed,
    )
    print(f"1. trained on digits 0-4: accuracy on held-out 0-4 {result.pretrained:.2%}")
    print(
        f"2. 5-9 from {args.per_class} examples each ({result.labelled} images), tested on the "
        f"{result.tested} others (mean of {args.draws} draw(s)):\n"
    )
    print(f"{'network':<36} {'test accuracy on 5-9':>20}")
    rows = (
        ("frozen filters from 0-4 + new head", result.transfer),
        ("the same network from scratch", result.scratch),
        ("frozen random filters + new head", result.random),
    )
    for name, accuracies in rows:
        print(f"{name:<36} {np.mean(accuracies):>20.2%}")
    print(f"\nthe frozen convolutional layers are unchanged by the fine-tuning: {result.unchanged}")


if __name__ == "__main__":
    main()
