"""Transfer learning: CNN filters learned on the digits 0-4 reused for 5-9 from 10 labels each.

A small CNN learns the digits 0-4; its convolutional layers, frozen, get a new head trained on
10 labelled images of each of 5-9. Prints its accuracy on the other images of 5-9 beside the
same network trained from scratch on the same 50 images, and draws both.

    python examples/gallery/transfer.py [--full] [--seed 0] [--out gallery_out] [--no-plots]
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("transfer", description=__doc__)
