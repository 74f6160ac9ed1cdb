"""Convolutional network: a small CNN learns the 8x8 handwritten digits.

Two 3x3 convolutions with ReLU, a 2x2 max-pool and a dense layer, Adam. Prints the test
accuracy beside its target and writes the first layer's learned filters beside the feature
maps they make of one test digit (cnn_filters.png).

    python examples/gallery/cnn.py [--full] [--seed 0] [--out gallery_out] [--no-plots]

The quick run uses 8 and 16 filters for 20 epochs; --full uses 16 and 32 for 30 epochs,
each batch shifted by up to a pixel. examples/cnn/ has the longer programs.
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("cnn", description=__doc__)
