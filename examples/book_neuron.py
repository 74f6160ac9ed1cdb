"""The book's single neuron, one training step, with every value and gradient printed.

"A Visual Introduction to Deep Learning" trains a neuron in a cycle of four steps: predict
(the forward pass), measure (the cost), feedback (the backward pass: the gradients) and adjust
(gradient descent). Here one neuron reads two hotel features, distance and rating, and predicts
the price (``tinygrad_lite.book.neuron``, the neuron the tour draws); we do one cycle by hand on
one hotel and print each number the book draws:

    z = w1*i1 + w2*i2 + b      the weighted sum
    a = z                      a linear activation (regression)
    cost = (a - y)^2           squared error
    dcost/da = 2(a - y),  dz = da,  dw_k = i_k * dz,  db = dz

Run: python examples/book_neuron.py
"""

from __future__ import annotations

from tinygrad_lite import Value, book

LEARNING_RATE = 0.08  # the book's


def main() -> None:
    # one hotel, its features and price already standardized (mean 0, standard deviation 1)
    i1, i2, y = -0.9, -1.2, 0.3  # distance, rating, price
    w1 = Value(0.5, name="w1")
    w2 = Value(-0.4, name="w2")
    b = Value(0.1, name="b")

    # predict and measure: the neuron's graph, cost = (a - y)^2 with a = z (linear)
    cost = book.neuron([i1, i2], y, [w1, w2], b)
    (error,) = cost.parents  # walking back the graph: cost = error^2
    a, _ = error.parents  # error = a - y
    (z,) = a.parents  # a = z, the linear activation (a node of its own, as the book draws it)
    print("predict:  z = w1*i1 + w2*i2 + b")
    print(f"          = {w1.data}*{i1} + {w2.data}*{i2} + {b.data} = {z.data:.4f}")
    print(f"measure:  cost = (a - y)^2 = ({a.data:.4f} - {y})^2 = {cost.data:.4f}")

    # feedback
    cost.backward()
    print("feedback: the gradients, from the cost back to the weights")
    print(f"          dcost/dz = 2(a - y)          = {z.grad:.4f}")
    print(f"          dcost/dw1 = i1 * dz          = {i1} * {z.grad:.4f} = {w1.grad:.4f}")
    print(f"          dcost/dw2 = i2 * dz          = {i2} * {z.grad:.4f} = {w2.grad:.4f}")
    print(f"          dcost/db = dz                = {b.grad:.4f}")

    # adjust
    for p in (w1, w2, b):
        p.data -= LEARNING_RATE * p.grad
    print(f"adjust:   w <- w - {LEARNING_RATE} * dw")
    print(f"          w1 = {w1.data:.4f}, w2 = {w2.data:.4f}, b = {b.data:.4f}")
    new_cost = book.neuron([i1, i2], y, [w1, w2], b)
    print(f"predict again: cost {cost.data:.4f} -> {new_cost.data:.4f}")


if __name__ == "__main__":
    main()
