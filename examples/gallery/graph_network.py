"""A two-layer graph convolutional network classifies Zachary's karate club from two labels.

Only the two leaders (member 0, the instructor, and member 33, the officer) are labelled; the
network reads the friendships and places the 32 others with one side or the other. Prints the
accuracy on those 32 and draws the learned 2-D embedding on the graph.

    python examples/gallery/graph_network.py [--full] [--seed 0] [--out gallery_out] [--no-plots]
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("graph_network", description=__doc__)
