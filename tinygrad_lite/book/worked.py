"""The books' worked examples, computed with the engine: weighted sums, activations, softmax,
cross-entropy.

"A Visual Introduction to Deep Learning" works a few small examples by hand before it trains
anything. Each function here computes one of them with Values (so the graph behind a number
can be drawn with ``tinygrad_lite.viz`` or stepped through) and returns a ``WorkedExample``:
a table with the book's numbers beside ours, printed by ``report()``.

>>> print(weighted_sums().report())
Weighted sums: z = w1 i1 + w2 i2 + b, inputs i1 = 3.0, i2 = 2.0
neuron    w1   w2     b         w1 i1 + w2 i2 + b     z  book
1        0.5  1.5   1.0   0.5*3.0 + 1.5*2.0 + 1.0   5.5   5.5
2       -0.5  1.0  -2.0  -0.5*3.0 + 1.0*2.0 - 2.0  -1.5  -1.5

The cross-entropies differ from the book's by a constant factor: the book takes logarithms
to base 10, the library (like PyTorch) the natural logarithm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import ArgumentError, Value, weighted_sum
from ..data import CATEGORIES
from ..functions import identity
from ..nn import functional as F

LOG_BASE_NOTE = (
    "the book uses log base 10; the library, like PyTorch, uses the natural log. "
    "ln p = log10 p x ln 10, so the library's cross-entropy is ln 10 = 2.30 times the "
    "book's: the same minimum, and gradients in the same direction"
)


@dataclass
class WorkedExample:
    """A worked example: a title, a table (``header`` and ``rows`` of strings) and notes.

    ``values`` holds the numbers and Values behind the table (for tests and drawings).

    >>> w = WorkedExample("t", ["x", "y"], [["a", "1.0"]], notes=["n"])
    >>> print(w.report())
    t
    x    y
    a  1.0
    n
    """

    title: str
    header: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    def table_rows(self) -> list[list[str]]:
        """The header and the rows, as the tour's report takes a table."""
        return [self.header, *self.rows]

    def report(self) -> str:
        """The title, the table (first column to the left, the others to the right), notes."""
        table = self.table_rows()
        widths = [max(len(r[k]) for r in table) for k in range(len(self.header))]
        lines = []
        for r in table:
            cells = [r[0].ljust(widths[0])]
            cells += [c.rjust(w) for c, w in zip(r[1:], widths[1:])]
            lines.append("  ".join(cells).rstrip())
        return "\n".join([self.title, *lines, *self.notes])


def _f(x: float, decimals: int = 2) -> str:
    return f"{x:.{decimals}f}"


def weighted_sums(
    inputs: Sequence[float] = (3.0, 2.0),
    neurons: Sequence[tuple[Sequence[float], float]] = (((0.5, 1.5), 1.0), ((-0.5, 1.0), -2.0)),
    book: Sequence[float | None] = (5.5, -1.5),
) -> WorkedExample:
    """The book's two weighted sums ``z = w1 i1 + w2 i2 + b`` of two neurons on one input.

    Each ``z`` is a Value made by ``weighted_sum`` from named Values (``i1``, ``i2``, ``w1``,
    ``w2``, ``b``): ``values["z"]`` holds them, ready to draw or to backpropagate.

    >>> z1, z2 = weighted_sums().values["z"]
    >>> z1.data, z2.data
    (5.5, -1.5)
    >>> z1.backward()
    >>> [(p.name, p.grad) for p in z1.parents if p.requires_grad]
    [('w1', 3.0), ('w2', 2.0), ('b', 1.0)]
    """
    if len(book) != len(neurons):
        raise ArgumentError(
            f"book.weighted_sums: {len(neurons)} neurons but {len(book)} book values; "
            "give one per neuron (None where the book has none)"
        )
    names = [f"i{k + 1}" for k in range(len(inputs))]
    formula = " + ".join(f"w{k + 1} {n}" for k, n in enumerate(names)) + " + b"
    zs = []
    header = ["neuron", *(f"w{k + 1}" for k in range(len(inputs))), "b", formula, "z", "book"]
    rows = []
    for number, (weights, bias) in enumerate(neurons, start=1):
        if len(weights) != len(inputs):
            raise ArgumentError(
                f"book.weighted_sums: neuron {number} has {len(weights)} weights for "
                f"{len(inputs)} inputs; give one weight per input"
            )
        xs = [Value(float(x), requires_grad=False, name=n) for x, n in zip(inputs, names)]
        ws = [Value(float(w), name=f"w{k + 1}") for k, w in enumerate(weights)]
        b = Value(float(bias), name="b")
        z = weighted_sum(ws, xs, b)
        z.name = "z"
        zs.append(z)
        terms = " + ".join(f"{w:.1f}*{x:.1f}" for w, x in zip(weights, inputs))
        sign = "-" if bias < 0 else "+"
        expression = f"{terms} {sign} {abs(bias):.1f}".replace("+ -", "- ")
        theirs = book[number - 1]
        rows.append(
            [
                str(number),
                *(f"{w:.1f}" for w in weights),
                f"{bias:.1f}",
                expression,
                f"{z.data:.1f}",
                "-" if theirs is None else f"{theirs:.1f}",
            ]
        )
    given = ", ".join(f"{n} = {x:.1f}" for n, x in zip(names, inputs))
    title = f"Weighted sums: z = {formula}, inputs {given}"
    return WorkedExample(title, header, rows, values={"z": zs})


# z -> the book's sigmoid and exp of it (two decimals; exp(3) to one, as the book prints it)
BOOK_ACTIVATIONS = {
    -3.0: {"sigmoid": 0.05, "exp": 0.05},
    2.0: {"sigmoid": 0.88, "exp": 7.39},
    -1.5: {"sigmoid": 0.18, "exp": 0.22},
    3.0: {"sigmoid": 0.95, "exp": 20.1},
}


def activation_table(inputs: Sequence[float] = tuple(BOOK_ACTIVATIONS)) -> WorkedExample:
    """Linear, ReLU, sigmoid and exp of a few weighted sums, the book's values beside ours.

    The book prints sigmoid and exp of z = -3, 2, -1.5, 3 (2 decimals): ours agree at its
    precision. ``values`` holds each activation's array, computed on one Value of all the
    inputs.

    >>> t = activation_table()
    >>> t.values["sigmoid"].round(2).tolist(), t.values["exp"].round(2).tolist()
    ([0.05, 0.88, 0.18, 0.95], [0.05, 7.39, 0.22, 20.09])
    """
    z = Value(np.array(inputs, dtype=np.float64), requires_grad=False, name="z")
    results = {
        "linear": identity(z),
        "ReLU": z.relu(),
        "sigmoid": z.sigmoid(),
        "exp": z.exp(),
    }
    arrays = {name: np.asarray(a.data) for name, a in results.items()}
    header = ["z", "linear", "ReLU", "sigmoid", "book", "exp", "book"]
    rows = []
    agree = True
    for k, x in enumerate(inputs):
        theirs = BOOK_ACTIVATIONS.get(float(x), {})
        row = [_f(x, 1), _f(arrays["linear"][k], 1), _f(arrays["ReLU"][k], 1)]
        for name in ("sigmoid", "exp"):
            ours = float(arrays[name][k])
            book = theirs.get(name)
            row.append(_f(ours))
            row.append("-" if book is None else str(book))
            if book is not None:
                decimals = len(str(book).split(".")[1])
                agree = agree and round(ours, decimals) == book
        rows.append(row)
    notes = [
        "linear: a = z; ReLU: a = max(0, z); sigmoid: a = 1 / (1 + exp(-z)), between 0 and 1; "
        "exp: what softmax raises each output to"
    ]
    if agree:
        notes.append("every value the book prints matches ours at the book's precision")
    return WorkedExample(
        "Activation functions on a few weighted sums z",
        header,
        rows,
        notes,
        {**arrays, "z": np.asarray(inputs, dtype=np.float64), "agrees_with_book": agree},
    )


def softmax_example(
    outputs: Sequence[float] = (1.0, 2.1, 2.8),
    actual: str = "silver",
    classes: Sequence[str] = CATEGORIES,
) -> WorkedExample:
    """Softmax of the chapter-4 network's three outputs for one hotel, and the actual class.

    ``softmax(z)_k = exp(z_k) / sum_j exp(z_j)``: positive, summing to 1. The default outputs
    give the probabilities 0.10, 0.30 and 0.60 (to 2 decimals) that the cross-entropy example
    starts from; the hotel is silver, so the probability of the actual class is 0.30.

    >>> s = softmax_example()
    >>> s.values["predicted"].round(2).tolist(), s.values["actual"].tolist()
    ([0.1, 0.3, 0.6], [0.0, 1.0, 0.0])
    """
    if len(outputs) != len(classes):
        raise ArgumentError(
            f"book.softmax_example: {len(outputs)} outputs for {len(classes)} classes "
            f"{list(classes)}; give one output per class"
        )
    if actual not in classes:
        raise ArgumentError(
            f"book.softmax_example: actual={actual!r} is not a class; use one of {list(classes)}"
        )
    z = Value(np.array(outputs, dtype=np.float64), name="z")
    e = z.exp()
    p = z.softmax()
    p.name = "p"
    predicted = np.asarray(p.data)
    target = np.array([float(c == actual) for c in classes])
    rows = [
        [c, _f(zk), _f(ek), _f(pk), f"{tk:.0f}"]
        for c, zk, ek, pk, tk in zip(classes, z.data, e.data, predicted, target)
    ]
    rows.append(["sum", "", _f(float(np.sum(e.data))), _f(float(predicted.sum())), "1"])
    notes = [
        "predicted = exp(z) / sum of exp(z): the network's outputs turned into probabilities; "
        f"actual: the one-hot label (the hotel is {actual})"
    ]
    return WorkedExample(
        "Softmax: the outputs z of one hotel as probabilities, beside the actual class",
        ["class", "output z", "exp(z)", "predicted", "actual"],
        rows,
        notes,
        {"z": z, "softmax": p, "predicted": predicted, "actual": target},
    )


# the book's two examples: the predicted probabilities (bronze, silver, gold), the actual class
CROSS_ENTROPY_EXAMPLES = (((0.1, 0.3, 0.6), "silver"), ((0.1, 0.6, 0.3), "silver"))
BOOK_CROSS_ENTROPY = (0.52, 0.22)  # -log10 of 0.3 and of 0.6


def cross_entropy_examples(
    examples: Sequence[tuple[Sequence[float], str]] = CROSS_ENTROPY_EXAMPLES,
    book: Sequence[float | None] = BOOK_CROSS_ENTROPY,
    classes: Sequence[str] = CATEGORIES,
) -> WorkedExample:
    """Categorical cross-entropy of predicted probabilities against the actual class.

    ``-sum_k actual_k log(predicted_k)``: with a one-hot label, minus the log of the
    probability given to the actual class. The library's ``cross_entropy`` (natural log,
    as PyTorch's) computes it; the book's figures (0.52 and 0.22 for 0.3 and 0.6) use log
    base 10, so both are shown.

    >>> ce = cross_entropy_examples()
    >>> [round(x, 2) for x in ce.values["natural"]], [round(x, 2) for x in ce.values["base10"]]
    ([1.2, 0.51], [0.52, 0.22])
    """
    if len(book) != len(examples):
        raise ArgumentError(
            f"book.cross_entropy_examples: {len(examples)} examples but {len(book)} book "
            "values; give one per example (None where the book has none)"
        )
    header = ["example", "predicted", "actual", "p(actual)", "ln (library)", "log10", "book"]
    rows, natural, base10, losses = [], [], [], []
    for number, ((probabilities, actual), theirs) in enumerate(zip(examples, book), start=1):
        p = np.asarray(probabilities, dtype=np.float64)
        if p.shape != (len(classes),) or np.any(p <= 0) or abs(p.sum() - 1.0) > 1e-9:
            raise ArgumentError(
                f"book.cross_entropy_examples: example {number} predicts {list(probabilities)}; "
                f"give {len(classes)} positive probabilities that sum to 1"
            )
        if actual not in classes:
            raise ArgumentError(
                f"book.cross_entropy_examples: example {number}'s actual class {actual!r} is "
                f"not one of {list(classes)}"
            )
        label = list(classes).index(actual)
        # softmax(log p) = p when p sums to 1: these logits make the network predict p
        logits = Value(np.log(p)[None, :], name="z")  # (1, classes)
        loss = F.cross_entropy(logits, [label])
        loss.name = "cost"
        losses.append(loss)
        natural.append(loss.item())
        base10.append(loss.item() / math.log(10.0))
        shown = "(" + ", ".join(_f(x) for x in p) + ")"
        onehot = "(" + ", ".join("1" if k == label else "0" for k in range(len(classes))) + ")"
        rows.append(
            [
                str(number),
                shown,
                f"{actual} {onehot}",
                _f(p[label]),
                _f(natural[-1]),
                _f(base10[-1]),
                "-" if theirs is None else _f(theirs),
            ]
        )
    return WorkedExample(
        "Categorical cross-entropy: -log of the probability predicted for the actual class",
        header,
        rows,
        [f"predicted: the probabilities of {', '.join(classes)}", LOG_BASE_NOTE],
        {"natural": natural, "base10": base10, "losses": losses},
    )
