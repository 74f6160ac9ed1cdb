"""A small convolutional GAN (DCGAN-style) on the 8x8 digits: a grid of generated digits.

Trains the gallery's GAN (generator: Linear -> Unflatten -> twice Upsample + Conv2d -> Tanh;
discriminator: two strided Conv2d with LeakyReLU -> Linear) on scikit-learn's digits scaled to
[-1, 1], prints how a softmax regression trained on real digits reads the generated ones (how
many classes it reads confidently, and how often) and their energy distance to held-out
digits beside real digits, independent pixels and noise, and writes 64 generated digits
beside 64 real ones.

    python examples/gallery/gan_digits.py [--full] [--seed 0] [--out DIR] [--no-plots]
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("gan_digits", description=__doc__)
