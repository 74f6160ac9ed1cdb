"""The local rule each backward arrow applies, in the books' words.

An arrow ``dz -> dw`` of the backward graph carries ``dw += dz x (dz/dw)``; its label is the
local factor, named after the operands: ``x i`` for ``z = w i``, ``x relu'(z)`` for
``a = relu(z)``, ``x (1-tanh^2)`` for ``tanh``. Where the input was broadcast, the label adds
``sum over broadcast axes`` (the engine sums those axes away in ``shapes.fit_grad``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine import Value
from .labels import number, op_label, operands, slot

Namer = Callable[[Value], str]

# ops whose output has the broadcast shape of their inputs
_ELEMENTWISE = {"add", "sub", "mul", "div", "pow", "where"}

_UNARY: dict[str, str] = {
    "neg": "x -1",
    "exp": "x exp({0})",
    "log": "x 1/{0}",
    "sqrt": "x 1/(2 sqrt({0}))",
    "abs": "x sign({0})",
    "tanh": "x (1-tanh^2)",
    "sigmoid": "x sigmoid(1-sigmoid)",
    "relu": "x relu'({0})",
    "leaky_relu": "x leaky_relu'({0})",
    "clip": "x [{0} inside the bounds]",
    "sum": "copy to every summed element",
    "max": "to the maximum (ties share)",
    "softmax": "x softmax Jacobian",
    "log_softmax": "x (1 - softmax)",
    "reshape": "reshape back",
    "transpose": "transpose back",
    "getitem": "scatter into zeros",
    "scatter": "gather at the index",
    "broadcast_to": "sum over broadcast axes",
    "sum_to": "broadcast back",
    "concat": "slice {1}",
}


def rule_label(node: Value, j: int, name: Namer) -> str:
    """The label of the backward arrow from ``d(node)`` to ``d(node.parents[j])``."""

    def text(x: Any) -> str:
        return number(x) if isinstance(x, float) else name(x)

    label = _local(node, slot(node, j), operands(node), text)
    parent = node.parents[j]
    if node.op in _ELEMENTWISE and parent.shape != node.shape:
        label += ", sum over broadcast axes"
    elif node.op == "matmul" and parent.shape[:-2] != node.shape[:-2]:
        label += ", sum over batch axes"
    return label


def _local(node: Value, k: int, xs: list[Any], text: Callable[[Any], str]) -> str:
    """The local factor for operand ``k`` of ``node``, whose operands are ``xs``."""
    op = node.op
    if op in _UNARY:
        arg = text(xs[0])
        if arg.startswith("(") and arg.endswith(")"):
            arg = arg[1:-1]  # relu'(add), not relu'((add))
        return _UNARY[op].format(arg, k)
    if op == "add":
        return "x 1"
    if op == "sub":
        return "x 1" if k == 0 else "x -1"
    if op == "mul":
        return f"x {text(xs[1 - k])}"
    if op == "div":
        return f"x 1/{text(xs[1])}" if k == 0 else f"x -{text(xs[0])}/{text(xs[1])}^2"
    if op == "pow":
        return _pow_rule(node, k, xs, text)
    if op == "matmul":
        return f"@ {text(xs[1])}\u1d40" if k == 0 else f"{text(xs[0])}\u1d40 @"
    if op == "where":
        return "x condition" if k == 0 else "x (not condition)"
    if op == "weighted_sum":
        n = node._ctx  # the op's static argument: the number of weights
        if k < n:
            return f"x {text(xs[n + k])}"  # dz/dw_k = x_k
        return f"x {text(xs[k - n])}" if k < 2 * n else "x 1"  # dz/dx_k = w_k, dz/db = 1
    if op == "function":
        return f"{op_label(node)}.backward"
    return f"{op}'"  # an op added to the table without a label here


def _pow_rule(node: Value, k: int, xs: list[Any], text: Callable[[Any], str]) -> str:
    base, exponent = xs
    if k == 1:
        return f"x {text(node)} ln({text(base)})"
    if isinstance(exponent, float):
        if exponent == 2.0:
            return f"x 2\u00b7{text(base)}"
        return f"x {number(exponent)}\u00b7{text(base)}^{number(exponent - 1.0)}"
    return f"x {text(exponent)}\u00b7{text(base)}^({text(exponent)}-1)"
