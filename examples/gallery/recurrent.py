"""Recurrent networks: an LSTM beside a plain RNN on the adding problem.

Both read sequences of random numbers, two of them marked, and answer the sum of the two
marked numbers after the last step; always answering 1.0 scores 0.167. Prints both
held-out errors and writes their learning curves and answers (recurrent.png): the LSTM
learns, the plain RNN forgets.

    python examples/gallery/recurrent.py [--full] [--seed 0] [--out gallery_out] [--no-plots]

The quick run uses sequences of 20 steps and 500 batches; --full uses 50 steps and 1,500.
examples/sequences/vanishing_gradient.py draws the gradient that fades.
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("recurrent", description=__doc__)
