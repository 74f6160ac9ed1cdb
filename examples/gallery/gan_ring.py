"""A GAN on a ring of 8 Gaussians in 2-D: how many of the 8 modes its samples cover.

Trains the gallery's GAN (an MLP generator from 4-D noise, an MLP discriminator, Adam with
betas (0.5, 0.999), the non-saturating generator loss), counts the modes its samples cover (a
sample counts for its nearest mode within 3 standard deviations; a mode is covered with at
least 1% of the samples), prints the share of samples in no mode, and writes the picture of
the generator's samples over the ring at five points of training.

    python examples/gallery/gan_ring.py [--full] [--seed 0] [--out DIR] [--no-plots]
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("gan_ring", description=__doc__)
