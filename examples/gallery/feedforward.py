"""Feedforward: a multilayer perceptron learns the 8x8 handwritten digits.

64 pixels -> 64 ReLU -> 64 ReLU -> 10 scores, Adam, batches of 64. Prints the test accuracy
beside its target and writes the accuracy per epoch with the test digits it still gets
wrong (feedforward.png).

    python examples/gallery/feedforward.py [--full] [--seed 0] [--out gallery_out] [--no-plots]

The quick run trains 20 epochs; --full trains a wider net (128 units) for 40.
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("feedforward", description=__doc__)
