"""Deep Learning Illustrated's perceptron: hot dog or not hot dog?

Three binary inputs (is there ketchup? mustard? a bun?), one weight each, and a threshold:
the perceptron answers 1 ("hot dog") when the weighted sum of its inputs exceeds the
threshold. Weights 3 (ketchup), 2 (mustard), 6 (bun), threshold 4.

The same neuron is then written the modern way, with a bias b = -threshold and an
activation on z = w . x + b: the step function gives the perceptron's answers, the sigmoid
a smooth version of them that gradient descent can learn from.

    python examples/perceptron_hotdog.py
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import tinygrad_lite as tl
from tinygrad_lite.book.runner import arguments

INPUTS = ("ketchup", "mustard", "bun")
WEIGHTS = (3.0, 2.0, 6.0)
THRESHOLD = 4.0


def perceptron(x: Sequence[float]) -> int:
    """1 if the weighted sum of the inputs is above the threshold, else 0."""
    total = sum(w * xi for w, xi in zip(WEIGHTS, x))
    return int(total > THRESHOLD)


def main(argv: Sequence[str] | None = None) -> None:
    arguments(__doc__, epochs=0, argv=argv)  # only --help matters here
    w = [tl.Value(v, name=f"w_{n}") for n, v in zip(INPUTS, WEIGHTS)]
    b = tl.Value(-THRESHOLD, name="b")
    print(f"{'ketchup':>8}{'mustard':>8}{'bun':>5}   w.x   answer   z = w.x + b   sigmoid(z)")
    for x in itertools.product((0.0, 1.0), repeat=3):
        z = tl.weighted_sum(w, x, b)  # one node: w . x + b, as the book draws it
        answer = perceptron(x)
        assert answer == int(z.data > 0)  # the bias form gives the same answers
        label = "hot dog" if answer else "not"
        print(
            f"{x[0]:>8.0f}{x[1]:>8.0f}{x[2]:>5.0f}{z.data + THRESHOLD:>6.0f}   {label:<7}"
            f"{z.data:>12.0f}{z.sigmoid().data:>13.3f}"
        )

    # A sigmoid neuron has a gradient: how would each weight change its output?
    x = (1.0, 1.0, 0.0)  # ketchup and mustard, no bun: 5 > 4, a hot dog, but only just
    y = tl.weighted_sum(w, x, b).sigmoid()
    y.backward()
    grads = ", ".join(f"{p.name} {p.grad:.3f}" for p in (*w, b))
    print(f"\nketchup and mustard, no bun: sigmoid(z) = {y.data:.3f}; gradients: {grads}")
    print("(the bun's weight gets no gradient from this example: its input is 0)")


if __name__ == "__main__":
    main()
