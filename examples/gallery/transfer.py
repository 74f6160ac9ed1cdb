"""Transfer learning: CNN filters learned on the digits 0-4 reused for 5-9 from 10 labels each.

A small CNN learns the digits 0-4; its convolutional layers, frozen, get a new head trained on
10 labelled images of each of 5-9. Prints its accuracy on the other images of 5-9 beside the
same network trained from scratch on the same 50 images, and draws both.

    python examples/gallery/transfer.py [--full] [--seed 0] [--out gallery_out] [--no-plots]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tinygrad_lite import gallery


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--full", action="store_true", help="10 draws of the labelled images instead of 2"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="gallery_out", help="folder of the picture")
    parser.add_argument("--no-plots", action="store_true", help="write no picture")
    args = parser.parse_args(argv)
    exhibit = gallery.run(
        "transfer", args.out, full=args.full, seed=args.seed, plots=not args.no_plots
    )
    print(exhibit.report())
    print(f"\nto reproduce the full run: {exhibit.command}")
    for picture in exhibit.pictures:
        print(f"picture: {picture}")


if __name__ == "__main__":
    main()
