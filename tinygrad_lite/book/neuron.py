"""The book's neuron on one example, as a graph of named Values.

"A Visual Introduction to Deep Learning", chapter 1: a neuron weighs its inputs and adds its
bias (``z``, the weighted sum), applies its activation (``a``: linear, so ``a = z``, or ReLU)
and is measured against the target ``y`` by the squared error:

    z = w1*i1 + w2*i2 + ... + b
    a = z  or  relu(z)       (linear or ReLU activation; both are a node, as the book draws)
    cost = (a - y)^2

The example ``examples/book_neuron.py``, the tour's drawings and the drawing tests all build
the neuron with ``neuron``, so the names on every picture are the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .. import ArgumentError, Value, weighted_sum
from ..functions import identity

Activation = Literal["linear", "relu"]


def neuron(
    i: float | Sequence[float],
    y: float,
    w: float | Value | Sequence[float | Value],
    b: float | Value,
    activation: Activation = "linear",
) -> Value:
    """The cost of the book's neuron on one example; every Value in its graph is named.

    ``i`` is one input or a list of them, ``w`` one weight per input. Inputs and the target
    ``y`` are data (``requires_grad=False``), named ``i`` (or ``i1``, ``i2`` ...) and ``y``;
    a number given for a weight or the bias becomes a parameter named ``w`` (or ``w1``,
    ``w2`` ...) and ``b``, and a Value given for one is used as it is (named so, if it has no
    name), so a training loop can update it. The parts are ``z`` (the weighted sum), ``a``
    (the activation: ``identity`` for ``"linear"``, so that ``a = z`` and ``da`` show on the
    drawings as the book draws them, or ``relu``), ``error`` (``a - y``) and the returned
    ``cost``.

    >>> cost = neuron(i=2.0, y=1.0, w=0.5, b=0.25)
    >>> cost.backward()
    >>> cost.name, cost.data
    ('cost', 0.0625)
    >>> (error,) = cost.parents
    >>> a, y = error.parents
    >>> (z,) = a.parents
    >>> [v.name for v in (error, a, z, *z.parents)], a.op, z.grad
    (['error', 'a', 'z', 'w', 'i', 'b'], 'identity', 0.5)
    """
    several = isinstance(i, Sequence)
    inputs = list(i) if isinstance(i, Sequence) else [i]
    weights = list(w) if isinstance(w, Sequence) else [w]
    if len(weights) != len(inputs) or not inputs:
        raise ArgumentError(
            f"book.neuron: {len(inputs)} input(s) and {len(weights)} weight(s); "
            "give one weight per input"
        )
    if activation not in ("linear", "relu"):
        raise ArgumentError(f"book.neuron: activation {activation!r}; use 'linear' or 'relu'")
    numbers = [str(k + 1) if several else "" for k in range(len(inputs))]
    ws = [_parameter(wk, f"w{n}") for wk, n in zip(weights, numbers)]
    bias = _parameter(b, "b")
    xs = [Value(float(x), requires_grad=False, name=f"i{n}") for x, n in zip(inputs, numbers)]
    target = Value(float(y), requires_grad=False, name="y")
    z = weighted_sum(ws, xs, bias)
    z.name = "z"
    a = z.relu() if activation == "relu" else identity(z)
    a.name = "a"
    error = a - target
    error.name = "error"
    cost = error**2
    cost.name = "cost"
    return cost


def _parameter(p: float | Value, name: str) -> Value:
    if not isinstance(p, Value):
        return Value(float(p), name=name)
    if p.name is None:
        p.name = name
    return p
