"""Gradient checks: analytic gradients (``tl.grad``) against central finite differences.

A backward rule is right when, for every input element ``x_j``, the analytic gradient equals

    (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)

up to the error of that formula. ``gradcheck`` computes both in float64 on private copies of
the inputs (the inputs themselves, their dtype and their ``.grad`` are never touched) and
raises :class:`~tinygrad_lite.testing.GradcheckError` naming the worst element when they differ.
``gradgradcheck`` does the same one order higher, so a backward rule that cuts the graph (one
that uses ``.data`` or raw NumPy) is caught too.

A non-scalar output ``y`` is projected onto a fixed random cotangent ``v`` (seeded: the same
call checks the same thing every time), and what is checked is the vector-Jacobian product
``d<v, y>/dx``: one backward pass gives all of it, and a wrong Jacobian entry changes it for
almost every ``v``. The same idea, checking along random directions, is used for inputs too
big to perturb one element at a time (see ``MAX_ELEMENTWISE``), as JAX's ``check_grads`` and
HIPS autograd do.

>>> import tinygrad_lite as tl
>>> from tinygrad_lite.testing import gradcheck, gradgradcheck
>>> x, y = tl.Value(0.3, name="x"), tl.Value(-1.2, name="y")
>>> gradcheck(lambda a, b: (a * b).tanh() + a / b, [x, y])
True
>>> gradgradcheck(lambda a, b: (a * b).tanh() + a / b, [x, y])
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core import (
    ArgumentError,
    GradientError,
    ShapeError,
    TinygradLiteError,
    Value,
    enable_grad,
    grad,
)
from ..core.shapes import as_data
from ..functions import concat
from .common import Fn, call, float64_copies
from .explain import explain as explain_rules  # (gradcheck's own argument is called explain)


class GradcheckError(TinygradLiteError, RuntimeError):
    """Analytic and numerical gradients disagree (raised by ``testing.gradcheck``)."""


SEED = 0  # seeds the cotangents and the random directions: a check is reproducible
MAX_ELEMENTWISE = 2000  # an input with more elements is checked along random directions
DIRECTIONS = 8  # how many random directions such an input is checked along


@dataclass(frozen=True)
class _Tolerance:
    eps: float
    atol: float
    rtol: float

    def __post_init__(self) -> None:
        for what, x, lowest in (
            ("eps", self.eps, 0.0),
            ("atol", self.atol, 0.0),
            ("rtol", self.rtol, 0.0),
        ):
            ok = isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)
            finite = ok and (abs(x) < 2**1023 if isinstance(x, int) else math.isfinite(x))
            if not finite or x < lowest or (what == "eps" and x == 0):
                need = "a number > 0" if what == "eps" else "a number >= 0"
                raise ArgumentError(f"gradcheck: {what}={x!r} must be {need}")


@dataclass(frozen=True)
class _Mismatch:
    """The worst disagreement found for one input."""

    where: str  # "element (1, 0)", or "random direction 3 of 8"
    analytic: float
    numerical: float


def gradcheck(
    fn: Fn,
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    explain: bool = False,
) -> bool:
    """Check the gradients of ``fn`` at ``inputs`` against central finite differences.

    ``fn`` maps Values to one Value of any shape. ``inputs`` are Values (those with
    ``requires_grad`` are checked) or plain numbers and arrays (all checked). Everything runs
    in float64 on copies of the inputs: their data, dtype and ``.grad`` stay as they were.

    The analytic gradient comes from ``tl.grad``. A non-scalar output is projected onto a
    fixed random cotangent ``v`` and the vector-Jacobian product ``d<v, fn(x)>/dx`` is checked
    element by element; an input with more than ``MAX_ELEMENTWISE`` (2000) elements is checked
    along ``DIRECTIONS`` (8) random unit directions instead, which costs 16 calls of ``fn``
    rather than two per element. An element passes when
    ``|analytic - numerical| <= atol + rtol * |numerical|``.

    Returns True, or raises :class:`~tinygrad_lite.testing.GradcheckError` naming the input,
    the worst element, both values, the errors, the tolerance and the op that made the output
    (with ``raise_exception=False``: returns False). With ``explain=True`` a failure also
    checks every node's own backward rule (``testing.explain``) and the error names the first
    node whose rule disagrees with finite differences: where the gradient goes wrong.

    >>> import numpy as np
    >>> import tinygrad_lite as tl
    >>> w = tl.Value(np.array([[0.5, -1.0], [2.0, 0.3]]), name="w")
    >>> gradcheck(lambda w, x: (x @ w).sigmoid(), [w, np.array([1.0, 2.0])])
    True
    """
    args = float64_copies(inputs, "gradcheck")
    check = _Checker("gradcheck", "gradient", _Tolerance(eps, atol, rtol))
    if not explain:
        return check(fn, args, raise_exception)
    try:
        return check(fn, args, True)
    except GradcheckError as e:
        why = explain_rules(fn, inputs, eps=eps, atol=atol, rtol=rtol)
        if not raise_exception:
            return False
        raise GradcheckError(f"{e}\n{why}") from None


def gradgradcheck(
    fn: Fn,
    inputs: Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
) -> bool:
    """Check second derivatives: gradcheck of ``x -> tl.grad(<v, fn(x)>, x, create_graph=True)``.

    ``v`` is a fixed random cotangent (1 for a scalar output). The first derivative is built
    as a graph by the backward rules themselves, so this catches a backward rule whose own
    derivative is wrong, or that cuts the graph by computing on ``.data`` or raw NumPy.
    Arguments and result are those of :func:`gradcheck`.

    >>> import tinygrad_lite as tl
    >>> gradgradcheck(lambda x: x.exp() * x.tanh(), [tl.Value(0.7)])
    True
    """
    who = "gradgradcheck"
    args = float64_copies(inputs, who)
    wrt = _wanted(args, who)
    check = _Checker(who, "second derivative", _Tolerance(eps, atol, rtol))
    out = call(fn, args, who)
    cotangent = check.cotangent(out)

    def first_derivative(*xs: Value) -> Value:
        with enable_grad():
            y = call(fn, xs, who)
            ins = [xs[i] for i in wrt]
            if not y.requires_grad:
                return _joined([None] * len(ins), ins)
            grads = grad(y, ins, grad_outputs=cotangent, create_graph=True, allow_unused=True)
            return _joined(grads, ins)

    return check(first_derivative, args, raise_exception, op=out.op)


def numerical_grad(
    fn: Fn, inputs: Sequence[Any], eps: float = 1e-6, grad_output: Any = None
) -> list[Any]:
    """The central-difference gradient of ``fn`` at ``inputs``, in float64.

    Returns one entry per input, in order: a float64 array of the input's shape (a Python
    float for a scalar input), or None for a Value with ``requires_grad=False``. A non-scalar
    output needs ``grad_output``, the cotangent it is projected onto (as ``tl.grad`` does):
    the result is then the gradient of ``sum(grad_output * fn(x))``. Costs two calls of
    ``fn`` per input element.

    >>> import numpy as np
    >>> (g,) = numerical_grad(lambda x: (x ** 3).sum(), [np.array([1.0, 2.0])])
    >>> np.round(g, 6)
    array([ 3., 12.])
    """
    who = "numerical_grad"
    args = float64_copies(inputs, who)
    wrt = _wanted(args, who)
    out = call(fn, args, who)
    cotangent = _given_cotangent(out, grad_output, who)
    result: list[Any] = [None] * len(args)
    for i in wrt:
        g = _numerical(fn, args, i, cotangent, eps, who)
        result[i] = float(g) if type(args[i].data) is float else g
    return result


# ---------------------------------------------------------------- the check itself


class _Checker:
    """One gradient check: its name, what it checks, its tolerance and its seeded generator."""

    def __init__(self, who: str, what: str, tol: _Tolerance) -> None:
        self.who, self.what, self.tol = who, what, tol
        self.rng = np.random.default_rng(SEED)

    def cotangent(self, out: Value) -> Any:
        """Ones for a single-number output, else a fixed random array of the output's shape."""
        if out.size == 1:
            return _given_cotangent(out, None, self.who)
        return self.rng.standard_normal(out.shape)

    def __call__(
        self, fn: Fn, args: list[Value], raise_exception: bool, op: str | None = None
    ) -> bool:
        wrt = _wanted(args, self.who)
        out = call(fn, args, self.who)
        cotangent = self.cotangent(out)
        analytic = _analytic(out, [args[i] for i in wrt], cotangent)
        for i, a in zip(wrt, analytic):
            mismatch = self.compare(fn, args, i, a, cotangent)
            if mismatch is None:
                continue
            if raise_exception:
                raise GradcheckError(self.message(i, args[i], mismatch, op or out.op))
            return False
        return True

    def compare(
        self, fn: Fn, args: list[Value], i: int, analytic: np.ndarray, cotangent: Any
    ) -> _Mismatch | None:
        """The worst element (or direction) of input ``i`` outside the tolerance, if any."""
        x, eps = args[i], self.tol.eps
        if x.size <= MAX_ELEMENTWISE:
            numerical = _numerical(fn, args, i, cotangent, eps, self.who).reshape(-1)
            analytic = analytic.reshape(-1)
            place = lambda j: _element(j, x.shape)
        else:
            directions = [_unit(self.rng.standard_normal(x.shape)) for _ in range(DIRECTIONS)]
            numerical = np.array(
                [_along(fn, args, i, d, cotangent, eps, self.who) for d in directions]
            )
            analytic = np.array([np.sum(analytic * d) for d in directions])
            place = lambda j: (
                f"random direction {j + 1} of {DIRECTIONS} (the input has {x.size} elements, "
                f"more than {MAX_ELEMENTWISE}: it is checked along random unit directions)"
            )
        error = np.abs(analytic - numerical)
        allowed = self.tol.atol + self.tol.rtol * np.abs(numerical)
        bad = ~(error <= allowed)  # NaN is bad too
        if not bad.any():
            return None
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(np.isnan(error), np.inf, error / allowed)
        worst = int(np.argmax(np.where(bad, ratio, -1.0)))
        return _Mismatch(place(worst), float(analytic[worst]), float(numerical[worst]))

    def message(self, i: int, x: Value, m: _Mismatch, op: str | None) -> str:
        error = abs(m.analytic - m.numerical)
        relative = error / max(abs(m.numerical), np.finfo(np.float64).tiny)
        allowed = self.tol.atol + self.tol.rtol * abs(m.numerical)
        name = f" ({x.name!r})" if x.name else ""
        made_by = f"op {op!r}" if op else "no op (fn returned an input unchanged)"
        return (
            f"{self.who}: the {self.what} of input {i}{name}, shape {x.shape}, disagrees with "
            "central finite differences\n"
            f"  worst {m.where}: analytic {m.analytic:.8g}, numerical {m.numerical:.8g}\n"
            f"  abs error {error:.3g}, rel error {relative:.3g}; tolerance {allowed:.3g} "
            f"(atol={self.tol.atol:g} + rtol={self.tol.rtol:g} * |numerical|, "
            f"eps={self.tol.eps:g})\n"
            f"  the output was made by {made_by}: check the backward rule of that op and of the "
            "ops before it, or move the inputs away from kinks and ties where fn has no derivative"
        )


# ---------------------------------------------------------------- the pieces


def _wanted(args: list[Value], who: str) -> list[int]:
    wrt = [i for i, x in enumerate(args) if x.requires_grad]
    if not wrt:
        raise GradientError(
            f"{who}: none of the {len(args)} input(s) needs a gradient (all are Values with "
            "requires_grad=False), so there is nothing to check; make the inputs to check "
            "with Value(..., requires_grad=True), or pass them as plain numbers or arrays"
        )
    return wrt


def _given_cotangent(out: Value, grad_output: Any, who: str) -> Any:
    """The cotangent ``numerical_grad`` projects onto: given, or 1 for a single number."""
    if grad_output is None:
        if out.size != 1:
            raise GradientError(
                f"{who}: fn returned shape {out.shape}, not a single number; pass "
                "grad_output= an array of that shape (the output is projected onto it)"
            )
        return 1.0 if type(out.data) is float else np.ones(out.shape)
    g = as_data(grad_output.data if isinstance(grad_output, Value) else grad_output, who)
    if np.shape(g) != out.shape:
        raise ShapeError(
            f"{who}: grad_output has shape {np.shape(g)} but fn returned shape {out.shape}"
        )
    return g if type(g) is float else np.asarray(g, dtype=np.float64)


def _project(out: Value, cotangent: Any, who: str) -> float:
    if out.shape != np.shape(cotangent):
        raise ShapeError(
            f"{who}: fn returned shape {out.shape} for perturbed inputs but "
            f"{np.shape(cotangent)} at the inputs; its output shape must not depend on values"
        )
    return float(np.sum(np.asarray(out.data, dtype=np.float64) * cotangent))


def _along(
    fn: Fn, args: list[Value], i: int, direction: Any, cotangent: Any, eps: float, who: str
) -> float:
    """Central difference of ``<cotangent, fn(args)>`` along ``direction`` of input ``i``."""
    x = args[i]
    base = x.data
    try:
        x.data = base + eps * direction
        plus = _project(call(fn, args, who), cotangent, who)
        x.data = base - eps * direction
        minus = _project(call(fn, args, who), cotangent, who)
    finally:
        x.data = base
    return (plus - minus) / (2 * eps)


def _numerical(
    fn: Fn, args: list[Value], i: int, cotangent: Any, eps: float, who: str
) -> np.ndarray:
    """The finite-difference gradient of input ``i``, one element at a time (float64)."""
    x = args[i]
    if type(x.data) is float:
        return np.asarray(_along(fn, args, i, 1.0, cotangent, eps, who))
    result = np.empty(x.shape)
    for j in range(x.size):
        unit = np.zeros(x.shape)
        unit.flat[j] = 1.0
        result.flat[j] = _along(fn, args, i, unit, cotangent, eps, who)
    return result


def _analytic(out: Value, wrt: list[Value], cotangent: Any) -> list[np.ndarray]:
    """``d<cotangent, out>/dx`` by backpropagation; zero where ``out`` does not depend on x."""
    zeros = [np.zeros(x.shape) for x in wrt]
    if not out.requires_grad:  # fn made its output under no_grad, or from constants only
        return zeros
    grads = grad(out, wrt, grad_outputs=cotangent, allow_unused=True)
    return [z if g is None else np.asarray(g, dtype=np.float64) for g, z in zip(grads, zeros)]


def _joined(grads: Sequence[Value | None], ins: list[Value]) -> Value:
    """One Value holding the gradients of all inputs (flattened and joined if several)."""
    parts = [
        Value(np.zeros(x.shape) if x.shape else 0.0, requires_grad=False) if g is None else g
        for g, x in zip(grads, ins)
    ]
    return parts[0] if len(parts) == 1 else concat([p.reshape(-1) for p in parts])


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _element(flat: int, shape: tuple[int, ...]) -> str:
    if not shape:
        return "element (the input is a scalar)"
    return f"element {tuple(int(k) for k in np.unravel_index(flat, shape))}"
