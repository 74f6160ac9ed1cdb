"""An autoencoder with a 2-D code on the 8x8 digits, against the mean digit and 2-D PCA.

Trains the gallery's autoencoder (64 -> 128 -> 32 -> 2 -> 32 -> 128 -> 64), prints its
reconstruction error on the 360 held-out digits beside the two baselines, and writes two
pictures: the code of every test digit coloured by class, and originals beside their
reconstructions.

    python examples/gallery/autoencoder.py [--full] [--seed 0] [--epochs N] [--out DIR] [--no-plots]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tinygrad_lite import gallery


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full run (300 epochs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs")
    parser.add_argument("--out", type=Path, default=Path("gallery_out"), help="picture folder")
    parser.add_argument("--no-plots", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    exhibit = gallery.run(
        "autoencoder",
        args.out,
        full=args.full,
        seed=args.seed,
        plots=not args.no_plots,
        epochs=args.epochs,
    )
    print(exhibit.report())
    for path in exhibit.pictures:
        print(f"picture: {path}")


if __name__ == "__main__":
    main()
