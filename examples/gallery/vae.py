"""A variational autoencoder with a 2-D latent on the 8x8 digits: its ELBO on held-out digits.

Trains the gallery's VAE (Bernoulli pixels on the digits binarized at half intensity; encoder
64 -> 128 -> 64 -> mean and log-variance of a 2-D Gaussian; decoder 2 -> 64 -> 128 -> 64),
prints the evidence lower bound on the 360 held-out digits in nats per digit, before and after
training and beside independent pixels, and writes two pictures: digits decoded from a 15x15
grid of the latent plane, and the ELBO per epoch beside the latent means of the test digits.

    python examples/gallery/vae.py [--full] [--seed 0] [--epochs N] [--out DIR] [--no-plots]
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from tinygrad_lite import gallery


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full run (150 epochs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs")
    parser.add_argument("--out", type=Path, default=Path("gallery_out"), help="picture folder")
    parser.add_argument("--no-plots", action="store_true", help="print the figures only")
    args = parser.parse_args(argv)
    exhibit = gallery.run(
        "vae", args.out, full=args.full, seed=args.seed, plots=not args.no_plots, epochs=args.epochs
    )
    print(exhibit.report())
    for path in exhibit.pictures:
        print(f"picture: {path}")


if __name__ == "__main__":
    main()
