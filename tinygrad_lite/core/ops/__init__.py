"""The op table: every primitive's forward rule, backward rule and label, one row each.

The rows live by family, one file each, and read top to bottom:

* ``elementwise.py``: ``+ - * / **``, the activations, ``clip``, ``where``;
* ``reduce.py``: ``sum``, ``max``, ``softmax``, ``log_softmax``;
* ``movement.py``: reshape, transpose, indexing, broadcasting, concatenation, upsampling;
* ``linalg.py``: ``matmul``;
* ``norm.py``: ``standardize``, the normalisation of batch and layer norm (fused);
* ``fused.py``: one node for a common pattern (``linear``, a transformer's feed-forward block,
  ``weighted_sum``, the cross-entropies), each naming its plain composite;
* ``recurrent.py``: ``lstm`` and ``gru``, a whole layer's time loop in one node (fused too).
* ``conv.py``: convolutions (``conv2d`` and its two adjoints), pooling, ``pad``.

``row.py`` says what a row is and how its rules are called; ``modes.py`` holds the helpers that
let one backward rule run on raw data and on Values. Adding an op is one row here, its
entry point on ``Value`` or in ``tinygrad_lite.functions``, and its spec in ``tests/op_specs.py``.
"""

from __future__ import annotations

import numpy as np

from . import attention, conv, elementwise, fused, linalg, movement, norm, recurrent, reduce
from .row import Label, Op, Rule, number, render

__all__ = ["OPS", "WITH_CONSTANT", "Label", "Op", "Rule", "number", "render", "with_constant"]

OPS: dict[str, Op] = {
    row.name: row
    for family in (elementwise, reduce, movement, linalg, fused, norm, recurrent, conv, attention)
    for row in family.ROWS
}


# x + c, c + x, x - c, c - x, x * c, c * x written out: the two-input rules with the
# constant's gradient dropped, one call fewer per node on the scalar paths of the books' neuron
_CONSTANT_RULES: dict[tuple[str, int], Rule] = {
    ("add", 0): lambda c, g, o, x: (g,),
    ("add", 1): lambda c, g, o, x: (g,),
    ("sub", 0): lambda c, g, o, x: (-g,),
    ("sub", 1): lambda c, g, o, x: (g,),
    ("mul", 0): lambda c, g, o, x: (g * c,),
    ("mul", 1): lambda c, g, o, x: (g * c,),
}


# and their forward rules, with and without an array to write into (tl.jit's replay form)
_CONSTANT_FORWARDS: dict[tuple[str, int], tuple[Rule, Rule]] = {
    ("add", 0): (lambda c, x: c + x, lambda c, out, x: np.add(c, x, out=out)),
    ("add", 1): (lambda c, x: x + c, lambda c, out, x: np.add(x, c, out=out)),
    ("sub", 0): (lambda c, x: c - x, lambda c, out, x: np.subtract(c, x, out=out)),
    ("sub", 1): (lambda c, x: x - c, lambda c, out, x: np.subtract(x, c, out=out)),
    ("mul", 0): (lambda c, x: c * x, lambda c, out, x: np.multiply(c, x, out=out)),
    ("mul", 1): (lambda c, x: x * c, lambda c, out, x: np.multiply(x, c, out=out)),
}


# of those, the rules that send g itself on: no array to write, so no backward replay form
_SENDS_G = {("add", 0), ("add", 1), ("sub", 1)}


def with_constant(op: Op, side: int) -> Op:
    """``op`` with operand ``side`` (0 or 1) fixed to a Python number that the node keeps as
    its static argument: ``x + 1.0`` is one node with one parent, not two nodes. Same rules,
    same label, no new math; the replay forms are the row's own, given the number."""
    op_into, op_grads_into = op.into, op.grads_into
    assert op_into is not None and op_grads_into is not None  # every binary row has them
    if side == 1:
        need = (True, False)
        forward = lambda c, x: op.forward(need, x, c)
        backward = lambda c, g, o, x: op.backward(need, g, o, x, c)[:1]
        into = lambda c, out, x: op_into(need, out, x, c)
        grads_into = lambda c, g, o, bufs, x: op_grads_into(need, g, o, (bufs[0], None), x, c)[:1]
    else:
        need = (False, True)
        forward = lambda c, x: op.forward(need, c, x)
        backward = lambda c, g, o, x: op.backward(need, g, o, c, x)[1:]
        into = lambda c, out, x: op_into(need, out, c, x)
        grads_into = lambda c, g, o, bufs, x: op_grads_into(need, g, o, (None, bufs[0]), c, x)[1:]
    rule = _CONSTANT_RULES.get((op.name, side))
    if rule is not None:  # the derivative is the constant's: no data read
        forward, into = _CONSTANT_FORWARDS[op.name, side]
        sends_g = (op.name, side) in _SENDS_G
        return Op(
            op.name,
            forward,
            rule,
            op.label,
            constant=side,
            ufunc=op.ufunc,
            reads_data=False,
            into=into,
            grads_into=None if sends_g else grads_into,
        )
    return Op(
        op.name,
        forward,
        backward,
        op.label,
        constant=side,
        ufunc=op.ufunc,
        reads_data=op.reads_data,
        into=into,
        grads_into=grads_into,
    )


# ``WITH_CONSTANT[side][name]``: the elementwise binary rows with a number on that side
WITH_CONSTANT: tuple[dict[str, Op], dict[str, Op]] = (
    {op.name: with_constant(op, 0) for op in elementwise.BINARY},
    {op.name: with_constant(op, 1) for op in elementwise.BINARY},
)
