"""Contrastive self-supervised learning (SimCLR) on the 8x8 digits, then 10 labels per class.

    python examples/gallery/contrastive.py [--full] [--seed 0] [--out gallery_out] [--no-plots]

Trains the encoder of tinygrad_lite/gallery/contrastive.py without labels (NT-Xent on two
random views of each digit), then fits a logistic regression on its features with 10 labels
per class, beside the same classifier on the raw pixels, and prints both accuracies on
held-out digits. Writes contrastive_accuracy.png (the accuracies and a PCA map of the learned
features) and contrastive_views.png (digits and their random views) into --out.
"""

from tinygrad_lite import gallery

if __name__ == "__main__":
    gallery.main("contrastive", description=__doc__)
