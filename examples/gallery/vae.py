"""A variational autoencoder with a 2-D latent on the 8x8 digits: its ELBO on held-out digits.

Trains the gallery's VAE (Bernoulli pixels on the digits binarized at half intensity; encoder
64 -> 128 -> 64 -> mean and log-variance of a 2-D Gaussian; decoder 2 -> 64 -> 128 -> 64),
prints the evidence lower bound on the 360 held-out digits in nats per digit, before and after
training and beside independent pixels, and writes two pictures: digits decoded from a 15x15
grid of the latent plane, and the ELBO per epoch beside the latent means of the test digits.

    python examples/gallery/vae.py [--full] [--seed 0] [--epochs N] [--out DIR] [--no-plots]
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("vae", description=__doc__)
