"""One row of the op table: a primitive's forward rule, its backward rule and its label.

A forward rule is ``forward(static, *inputs) -> output`` on raw data (Python floats or
ndarrays); ``static`` holds the op's non-Value arguments (an axis, an index, an exponent),
recorded once when the node is made and shown as ``Value.static``.

A backward rule is ``backward(static, g, out, *inputs) -> one gradient per input`` (``None``
for an input that has no gradient). It is written once and runs in two modes:

* raw mode (``backward()``, ``tl.backward_steps``): ``g``, ``out`` and the inputs are raw data;
* graph mode (``tl.grad(..., create_graph=True)``): they are Values, so the same rule builds a
  differentiable graph of the gradient, which gives higher-order derivatives for free.

Rules therefore use operators (``+ - * / ** @``), methods that Values and ndarrays share
(``.sum .reshape .transpose .shape``) and the helpers of ``modes.py``, which pick the right
implementation for each mode. Gradients come back in the shape the rule finds natural; the
engine sums broadcast axes away in one place (``shapes.fit_grad``).

The label is the local derivative as the books write it on a backward arrow: ``x i`` for the
weight of ``z = w i``, ``x relu'(z)`` for ``a = relu(z)``. ``{0}``, ``{1}`` ... stand for the
operands' names and ``{k}`` for the input's position; one template serves every input, a tuple
gives one per input, or a function ``label(node, k, operands, text)`` builds it.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

Rule = Callable[..., Any]
Label = str | tuple[str, ...] | Callable[..., str]


class Op(NamedTuple):
    name: str
    forward: Rule
    backward: Rule
    label: Label
    # the backward rule receives which inputs need a gradient (a tuple of bools) in place of
    # static arguments (such a row has none), and skips the work for the others: a matmul
    # with data on one side computes one product instead of two
    partial: bool = False
    # for a row made by ``with_constant``: which operand is the number kept in the node
    constant: int | None = None
    # for a fused row: the same op built from plain rows, ``composite(static, *values)``;
    # a test holds the two equal in value and gradient
    composite: Rule | None = None
    # whether the backward rule reads the values of its output or inputs (not only their
    # shapes): backward then checks they were not changed in place since (backward.py);
    # reads_inputs=False: of those, only the output's (tanh, exp, sigmoid)
    reads_data: bool = True
    reads_inputs: bool = True
    # replay forms (tl.jit): the same rules writing into arrays a traced step allocated once.
    # ``into(static, out, *inputs)`` is the forward rule writing its array output into ``out``
    # and returning it; ``grads_into(static, g, out, bufs, *inputs)`` the backward rule, with
    # ``bufs[k]`` an array of input k's shape and dtype (or None) to write its gradient into.
    # Each gives the plain rule's numbers bit for bit (tests/test_jit.py holds them to it); a
    # row without them replays its plain rules, which allocate their results
    into: Rule | None = None
    grads_into: Rule | None = None
    # a row whose forward returns a view of its input (reshape, transpose...) allocates
    # nothing: its plain forward rule is its replay form
    view: bool = False
    # an elementwise row whose forward replay form is this NumPy ufunc of its inputs (and of
    # the number, for a row made by ``with_constant``) written into ``out``: a replay calls
    # the ufunc itself, one Python call less per op where the ops are tiny
    ufunc: Any = None


def number(x: Any) -> str:
    """A number in at most four significant digits: ``0.25``, ``-1.5e-07``, ``nan``.

    >>> number(2.0), number(1 / 3), number(-1234567.0)
    ('2', '0.3333', '-1.235e+06')
    """
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    return f"{x + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def render(op: Op, node: Any, k: int, operands: list[Any], text: Callable[[Any], str]) -> str:
    """The label of ``node`` (made by ``op``) for operand ``k``; ``text`` names an operand."""
    if callable(op.label):
        return op.label(node, k, operands, text)
    template = op.label if isinstance(op.label, str) else op.label[k]
    names = [text(x) for x in operands]
    if len(names) == 1 and names[0].startswith("(") and names[0].endswith(")"):
        names[0] = names[0][1:-1]  # relu'(add), not relu'((add))
    return template.format(*names, k=k)


# ---------------------------------------------------------------- replay forms' scratch arrays
# A replay form that needs temporaries (a column matrix, a row's softmax, a gate's product)
# takes them from ``scratch``: arrays made on the first replay and reused by every later one,
# held for as long as their owner lives. The owner is an array the traced step keeps for its
# whole life: the ``out`` a forward form writes into, or, in a backward form, the node's output.

_SCRATCH: dict[tuple[int, str], Any] = {}


def scratch(owner: Any, name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """An uninitialised array of ``shape`` and ``dtype``, the same one each time it is asked
    for with the same ``owner`` and ``name`` (a new one if the shape or dtype changed)."""
    key = (id(owner), name)
    held = _SCRATCH.get(key)
    if held is not None and held.shape == shape and held.dtype == dtype:
        return held
    if held is None:  # forgotten with its owner, whose id a later array may reuse
        weakref.finalize(owner, _SCRATCH.pop, key, None)
    held = _SCRATCH[key] = np.empty(shape, dtype)
    return held


def scratch_like(owner: Any, name: str, like: Any) -> Any:
    """``scratch`` of ``like``'s shape and dtype, laid out in memory as ``like`` is (C or
    Fortran order, or any order of axes), as ``np.empty_like`` would: NumPy sums an axis in
    an order that depends on the layout, so a temporary summed as the plain rule's is must
    have its layout to give the same bits."""
    axes = sorted(range(like.ndim), key=lambda i: -abs(like.strides[i]))  # outermost first
    held = scratch(owner, name, tuple(like.shape[i] for i in axes), like.dtype)
    return held.transpose(tuple(int(i) for i in np.argsort(axes)))


# A rule written once for both modes takes its temporaries through these: ``owner`` None in
# the plain rule (new arrays, as eager mode makes them), the node's output in the replay form.


def temporary(owner: Any, name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """A new array in the plain rule, else ``owner``'s scratch array ``name``."""
    return np.empty(shape, dtype) if owner is None else scratch(owner, name, shape, dtype)


def reused(owner: Any, name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """The ``out=`` of an operation: None in the plain rule (the operation makes its array,
    laid out as NumPy lays it out), else ``owner``'s scratch array ``name``."""
    return None if owner is None else scratch(owner, name, shape, dtype)
