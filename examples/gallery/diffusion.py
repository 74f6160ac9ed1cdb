"""A denoising diffusion model (DDPM) learns to draw two moons, from pure noise.

    python examples/gallery/diffusion.py [--full] [--seed 0] [--out gallery_out] [--no-plots]

Trains the noise predictor of tinygrad_lite/gallery/diffusion.py (an MLP on the noisy point
and its step), draws samples by ancestral sampling, and prints the energy distance and the MMD
between the samples and held-out data, beside the same distances between two halves of the
data (the floor) and between the data and Gaussian noise (the ceiling). Writes
diffusion_samples.png (samples beside the data) and diffusion_reverse.png (the reverse
process) into --out. The quick run takes seconds; --full trains a wider MLP four times longer.
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("diffusion", description=__doc__)
