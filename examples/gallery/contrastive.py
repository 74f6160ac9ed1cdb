"""Contrastive self-supervised learning (SimCLR) on the 8x8 digits, then 10 labels per class.

    python examples/gallery/contrastive.py [--full] [--seed 0] [--out gallery_out] [--no-plots]

Trains the encoder of tinygrad_lite/gallery/contrastive.py without labels (NT-Xent on two
random views of each digit), then fits a logistic regression on its features with 10 labels
per class, beside the same classifier on the raw pixels, and prints both accuracies on
held-out digits. Writes contrastive_accuracy.png (the accuracies and a PCA map of the learned
features) and contrastive_views.png (digits and their random views) into --out.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tinygrad_lite import gallery


def main(argv: Sequence[str] | None = None) -> gallery.Exhibit:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the longer run of the docs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("gallery_out"), help="picture folder")
    parser.add_argument("--no-plots", action="store_true", help="print the numbers only")
    args = parser.parse_args(argv)
    exhibit = gallery.run(
        "contrastive", args.out, full=args.full, seed=args.seed, plots=not args.no_plots
    )
    print(exhibit.report())
    for picture in exhibit.pictures:
        print(f"picture: {picture}")
    return exhibit


if __name__ == "__main__":
    main()
