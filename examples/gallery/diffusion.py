"""A denoising diffusion model (DDPM) learns to draw two moons, from pure noise.

    python examples/gallery/diffusion.py [--full] [--seed 0] [--out gallery_out] [--no-plots]

Trains the noise predictor of tinygrad_lite/gallery/diffusion.py (an MLP on the noisy point
and its step), draws samples by ancestral sampling, and prints the energy distance and the MMD
between the samples and held-out data, beside the same distances between two halves of the
data (the floor) and between the data and Gaussian noise (the ceiling). Writes
diffusion_samples.png (samples beside the data) and diffusion_reverse.png (the reverse
process) into --out. The quick run takes seconds; --full trains a wider MLP four times longer.
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
        "diffusion", args.out, full=args.full, seed=args.seed, plots=not args.no_plots
    )
    print(exhibit.report())
    for picture in exhibit.pictures:
        print(f"picture: {picture}")
    return exhibit


if __name__ == "__main__":
    main()
