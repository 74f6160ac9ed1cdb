"""Elementwise rows: ``+ - * / **``, the activations, ``clip`` and ``where``.

Their inputs broadcast against each other like NumPy's; a rule returns gradients in the
output's shape and the engine sums the broadcast axes away (``shapes.fit_grad``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .modes import data_of, div, is_raw
from .row import Op, number

Need = tuple[bool, bool]  # which of the two inputs need a gradient (rows marked partial)


# ---------------------------------------------------------------- forward rules on floats
# Python floats follow IEEE 754 as NumPy and torch do: 1/0 is inf, log(0) is -inf, no raise
# (``modes.div`` does it for division, forward and backward).


def _pow(static: Any, a: Any, b: Any) -> Any:
    if type(a) is not float or type(b) is not float:
        return a**b
    try:
        r = a**b
    except (ZeroDivisionError, OverflowError):
        with np.errstate(all="ignore"):
            return float(np.float64(a) ** b)
    return r if type(r) is float else math.nan  # (-8.0) ** (1/3) is complex in Python


def _exp(static: Any, x: Any) -> Any:
    if type(x) is not float:
        return np.exp(x)
    try:
        return math.exp(x)
    except OverflowError:
        return math.inf


def _log(static: Any, x: Any) -> Any:
    if type(x) is not float:
        return np.log(x)
    return math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)


def _sqrt(static: Any, x: Any) -> Any:
    if type(x) is not float:
        return np.sqrt(x)
    return math.sqrt(x) if x >= 0 else math.nan


def _tanh(static: Any, x: Any) -> Any:
    return math.tanh(x) if type(x) is float else np.tanh(x)


def _sigmoid(static: Any, x: Any) -> Any:
    # exp of minus |x| never overflows; the two branches are the same function
    if type(x) is float:
        if x >= 0:
            return 1.0 / (1.0 + math.exp(-x))
        e = math.exp(x)
        return e / (1.0 + e)
    if x.ndim == 0:
        with np.errstate(over="ignore"):  # exp(-x) = inf for very negative x: 1 / inf = 0
            return 1 / (1 + np.exp(-x))
    e = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    e += 1
    return np.reciprocal(e, out=e)  # in place: one array instead of four


def _relu(static: Any, x: Any) -> Any:
    if type(x) is float:
        return x if x > 0.0 else 0.0
    return np.maximum(x, 0)


def _leaky_relu(slope: float, x: Any) -> Any:
    if type(x) is float:
        return x if x > 0.0 else slope * x
    return np.where(x > 0, x, x * slope)


def _clip(bounds: tuple[float | None, float | None], x: Any) -> Any:
    lo, hi = bounds
    if type(x) is float:
        if lo is not None and x < lo:
            return float(lo)
        return float(hi) if hi is not None and x > hi else x
    return np.clip(x, lo, hi)


# ---------------------------------------------------------------- helpers for both modes


def exp(x: Any) -> Any:
    return _exp(None, x) if is_raw(x) else x.exp()


def log(x: Any) -> Any:
    return _log(None, x) if is_raw(x) else x.log()


def sigmoid(x: Any) -> Any:
    return _sigmoid(None, x) if is_raw(x) else x.sigmoid()


def power(a: Any, b: Any) -> Any:
    return _pow(None, a, b) if is_raw(a) and is_raw(b) else a**b


def sign(x: Any) -> Any:
    d = data_of(x)
    return float((d > 0) - (d < 0)) if type(d) is float else np.sign(d)


# ---------------------------------------------------------------- backward rules


def _mul_backward(need: Need, g: Any, out: Any, a: Any, b: Any) -> Any:
    return (g * b if need[0] else None, g * a if need[1] else None)


def _div_backward(need: Need, g: Any, out: Any, a: Any, b: Any) -> Any:
    # d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b
    return (div(g, b) if need[0] else None, div(-g * out, b) if need[1] else None)


def _pow_backward(need: Need, g: Any, out: Any, a: Any, b: Any) -> Any:
    ga = g * b * power(a, b - 1.0) if need[0] else None
    gb = g * out * log(a) if need[1] else None
    return ga, gb


def _sigmoid_backward(static: Any, g: Any, o: Any, x: Any) -> Any:
    # g * o * (1 - o), written into one new array: ``*=`` is in place on an ndarray and an
    # ordinary product on a Value or a float, so the rule still runs in both modes
    local = 1.0 - o
    local *= o
    local *= g
    return (local,)


def _leaky_slope(slope: float, x: Any) -> Any:
    d = data_of(x)
    if type(d) is float:
        return 1.0 if d > 0.0 else slope
    return np.where(d > 0, 1.0, slope).astype(d.dtype)


def _inside(bounds: tuple[float | None, float | None], x: Any) -> Any:
    lo, hi = bounds
    d = data_of(x)
    inside = (d >= (-math.inf if lo is None else lo)) & (d <= (math.inf if hi is None else hi))
    return float(inside) if type(d) is float else inside


def _pow_label(node: Any, k: int, xs: list[Any], text: Any) -> str:
    base, exponent = xs
    if k == 1:
        return f"x {text(node)} ln({text(base)})"
    if isinstance(exponent, float):
        if exponent == 2.0:
            return f"x 2\u00b7{text(base)}"
        return f"x {number(exponent)}\u00b7{text(base)}^{number(exponent - 1.0)}"
    return f"x {text(exponent)}\u00b7{text(base)}^({text(exponent)}-1)"


# ---------------------------------------------------------------- the rows

BINARY = [
    Op("add", lambda s, a, b: a + b, lambda need, g, o, a, b: (g, g), "x 1", partial=True),
    Op(
        "sub",
        lambda s, a, b: a - b,
        lambda need, g, o, a, b: (g, -g),
        ("x 1", "x -1"),
        partial=True,
    ),
    Op("mul", lambda s, a, b: a * b, _mul_backward, ("x {1}", "x {0}"), partial=True),
    Op("div", lambda s, a, b: div(a, b), _div_backward, ("x 1/{1}", "x -{0}/{1}^2"), partial=True),
    Op("pow", _pow, _pow_backward, _pow_label, partial=True),
]

ROWS = [
    *BINARY,
    Op("neg", lambda s, x: -x, lambda s, g, o, x: (-g,), "x -1"),
    # the books' linear activation, a = z, as a node of its own so a drawing shows a and da
    # (a copy of an array: the two Values must not share a buffer that one may update)
    Op(
        "identity", lambda s, x: x if type(x) is float else x.copy(), lambda s, g, o, x: (g,), "x 1"
    ),
    Op("exp", _exp, lambda s, g, o, x: (g * o,), "x exp({0})"),
    Op("log", _log, lambda s, g, o, x: (div(g, x),), "x 1/{0}"),
    Op("sqrt", _sqrt, lambda s, g, o, x: (div(g * 0.5, o),), "x 1/(2 sqrt({0}))"),
    Op("abs", lambda s, x: abs(x), lambda s, g, o, x: (g * sign(x),), "x sign({0})"),
    Op("tanh", _tanh, lambda s, g, o, x: (g * (1.0 - o * o),), "x (1-tanh^2)"),
    Op("sigmoid", _sigmoid, _sigmoid_backward, "x sigmoid(1-sigmoid)"),
    # relu'(0) = 0
    Op("relu", _relu, lambda s, g, o, x: (g * (data_of(x) > 0),), "x relu'({0})"),
    Op(
        "leaky_relu",
        _leaky_relu,
        lambda slope, g, o, x: (g * _leaky_slope(slope, x),),
        "x leaky_relu'({0})",
    ),
    Op(
        "clip",
        _clip,
        lambda bounds, g, o, x: (g * _inside(bounds, x),),
        "x [{0} inside the bounds]",
    ),
    # the condition is the row's static argument: a constant with no gradient
    Op(
        "where",
        lambda cond, a, b: np.where(cond, a, b),
        lambda cond, g, o, a, b: (g * cond, g * ~cond),
        ("x condition", "x (not condition)"),
    ),
]
