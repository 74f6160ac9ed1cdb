"""A two-layer graph convolutional network classifies Zachary's karate club from two labels.

Only the two leaders (member 0, the instructor, and member 33, the officer) are labelled; the
network reads the friendships and places the 32 others with one side or the other. Prints the
accuracy on those 32 and draws the learned 2-D embedding on the graph.

    python examples/gallery/graph_network.py [--full] [--seed 0] [--out gallery_out] [--no-plots]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tinygrad_lite import gallery


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="20 seeds instead of 5")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="gallery_out", help="folder of the picture")
    parser.add_argument("--no-plots", action="store_true", help="write no picture")
    args = parser.parse_args(argv)
    exhibit = gallery.run(
        "graph_network", args.out, full=args.full, seed=args.seed, plots=not args.no_plots
    )
    print(exhibit.report())
    print(f"\nto reproduce the full run: {exhibit.command}")
    for picture in exhibit.pictures:
        print(f"picture: {picture}")


if __name__ == "__main__":
    main()
