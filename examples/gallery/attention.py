"""Attention: a one-layer transformer learns to write a row of symbols backwards.

Token and position embeddings, one transformer encoder layer, a linear head. Prints the
held-out exact match (every symbol of a row right) and writes the attention weights of one
row (attention.png): each position reads the one mirrored across the row.

    python examples/gallery/attention.py [--full] [--seed 0] [--out gallery_out] [--no-plots]

The quick run reverses rows of 10 symbols (10 kinds) after 150 batches; --full rows of 20
(20 kinds) with two heads after 600. examples/sequences/transformer_addition.py has a
bigger transformer.
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("attention", description=__doc__)
