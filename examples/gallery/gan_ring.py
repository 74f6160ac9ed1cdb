"""A GAN on a ring of 8 Gaussians in 2-D: how many of the 8 modes its samples cover.

Trains the gallery's GAN (an MLP generator from 4-D noise, an MLP discriminator, Adam with
betas (0.5, 0.999), the non-saturating generator loss), counts the modes its samples cover (a
sample counts for its nearest mode within 3 standard deviations; a mode is covered with at
least 1% of the samples), prints the share of samples in no mode, and writes the picture of
the generator's samples over the ring at five points of training.

    python examples/gallery/gan_ring.py [--full] [--seed 0] [--out DIR] [--no-plots]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tinygrad_lite import gallery


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full run (6000 steps)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("gallery_out"), help="picture folder")
    parser.add_argument("--no-plots", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    exhibit = gallery.run(
        "gan_ring", args.out, full=args.full, seed=args.seed, plots=not args.no_plots
    )
    print(exhibit.report())
    for path in exhibit.pictures:
        print(f"picture: {path}")


if __name__ == "__main__":
    main()
