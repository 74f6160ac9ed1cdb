"""A small convolutional GAN (DCGAN-style) on the 8x8 digits: a grid of generated digits.

Trains the gallery's GAN (generator: Linear -> Unflatten -> twice Upsample + Conv2d -> Tanh;
discriminator: two strided Conv2d with LeakyReLU -> Linear) on scikit-learn's digits scaled to
[-1, 1], prints how a softmax regression trained on real digits reads the generated ones (how
many classes it reads confidently, and how often) and their energy distance to held-out
digits beside real digits, independent pixels and noise, and writes 64 generated digits
beside 64 real ones.

    python examples/gallery/gan_digits.py [--full] [--seed 0] [--out DIR] [--no-plots]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tinygrad_lite import gallery


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full run (3000 steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("gallery_out"), help="picture folder")
    parser.add_argument("--no-plots", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    exhibit = gallery.run(
        "gan_digits", args.out, full=args.full, seed=args.seed, plots=not args.no_plots
    )
    print(exhibit.report())
    for path in exhibit.pictures:
        print(f"picture: {path}")


if __name__ == "__main__":
    main()
