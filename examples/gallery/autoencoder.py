"""An autoencoder with a 2-D code on the 8x8 digits, against the mean digit and 2-D PCA.

Trains the gallery's autoencoder (64 -> 128 -> 32 -> 2 -> 32 -> 128 -> 64), prints its
reconstruction error on the 360 held-out digits beside the two baselines, and writes two
pictures: the code of every test digit coloured by class, and originals beside their
reconstructions.

    python examples/gallery/autoencoder.py [--full] [--seed 0] [--epochs N] [--out DIR] [--no-plots]
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("autoencoder", description=__doc__)
