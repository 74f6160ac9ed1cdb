"""Elementwise rows: ``+ - * / **``, the activations, ``erf``, ``clip`` and ``where``.

Their inputs broadcast against each other like NumPy's; a rule returns gradients in the
output's shape and the engine sums the broadcast axes away (``shapes.fit_grad``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .modes import data_of, div, is_raw
from .row import Op, number, scratch, scratch_like, temporary

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


# erf for arrays: NumPy has none, so W. J. Cody's rational approximations ("Rational Chebyshev
# approximations for the error function", Math. Comp. 23, 1969; his CALERF routine), accurate
# to a few units in the last place of a float64. Three ranges of |x|: erf itself near 0, then
# erfc(|x|) = exp(-x^2) R(|x|) and, past 4, exp(-x^2) / |x| (1/sqrt(pi) + R(1/x^2) / x^2).
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)  # fmt: skip
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)  # fmt: skip
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
           2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)  # fmt: skip
_ERFC_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip
_INV_SQRT_PI = 0.56418958354775628695
_TWO_OVER_SQRT_PI = 2.0 * _INV_SQRT_PI


def _put(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
    np.copyto(dst, src)
    return dst


def _ratio(
    num: tuple[float, ...],
    den: tuple[float, ...],
    t: np.ndarray,
    top: np.ndarray | None = None,
    bottom: np.ndarray | None = None,
) -> np.ndarray:
    """Cody's rational function of the array ``t``: the last numerator coefficient is the
    leading one, the denominator is monic, and both end on their constant term. Horner's
    scheme, in place: two arrays however long the polynomials (``top`` and ``bottom`` if
    given, else new ones)."""
    top = np.multiply(num[-1], t, out=top)
    bottom = t.copy() if bottom is None else _put(bottom, t)
    for a, b in zip(num[: len(den) - 1], den[: len(den) - 1]):
        top += a
        top *= t
        bottom += b
        bottom *= t
    top += num[len(den) - 1]
    bottom += den[-1]
    top /= bottom
    return top


def _erfc_tail(
    y: np.ndarray, r: np.ndarray, s: np.ndarray, rest: np.ndarray, spare: np.ndarray
) -> np.ndarray:
    """exp(-y^2) r, with y^2 split as s^2 + (y - s)(y + s), s = y rounded down to 1/16: s^2
    is exact, and the two exponentials keep the digits that rounding the sum would lose.
    Written into ``s``; ``rest`` and ``spare`` are temporaries of y's size."""
    np.multiply(y, 16.0, out=s)
    np.trunc(s, out=s)
    s /= 16.0
    np.subtract(y, s, out=rest)
    rest *= np.add(y, s, out=spare)
    s *= s
    np.negative(s, out=s)  # -(s s): the bits of s (-s), without an array for -s
    np.exp(s, out=s)
    np.negative(rest, out=rest)
    np.exp(rest, out=rest)
    s *= rest
    s *= r
    return s


def erf_array(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """erf of every element of a float array, computed in float64, in ``x``'s dtype (written
    into ``out`` if given: a replay form's array, whose temporaries are then scratch arrays
    kept with it).

    Every range's formula runs on the whole array and the right one is kept per element:
    selecting the elements of each range first (boolean indexing) is slower for arrays whose
    values fall in all of them, as activations do.
    """

    def space(name: str, dtype: Any = np.float64) -> np.ndarray:
        return temporary(out, name, (x.size,), dtype)

    x64 = x.reshape(-1)  # 1-d: in-place ufuncs need arrays, not 0-d
    if x64.dtype != np.float64:
        x64 = _put(space("erf x"), x64)
    y = np.abs(x64, out=space("erf y"))
    # from 8 on, erfc(|x|) < 1e-28 is far below half a unit in the last place of 1: clamping
    # keeps inf out of the formulas and changes no result (nan stays nan)
    np.minimum(y, 8.0, out=y)
    top, bottom = space("erf top"), space("erf bottom")
    r = _ratio(_ERFC_C, _ERFC_D, y, top, bottom)  # erfc(|x|) exp(x^2), for 0.46875 < |x| <= 4
    far = np.greater(y, 4.0, out=space("erf far", np.bool_))
    if far.any():  # rare in practice: only those elements
        yf = y[far]
        t = 1.0 / (yf * yf)
        r[far] = (_INV_SQRT_PI - t * _ratio(_ERFC_P, _ERFC_Q, t)) / yf
    e = _erfc_tail(y, r, space("erf"), bottom, space("erf spare"))  # erfc(|x|)
    np.subtract(1.0, e, out=e)
    np.copysign(e, x64, out=e)  # erf is odd
    near = np.less_equal(y, 0.46875, out=space("erf near", np.bool_))
    y *= y
    small = _ratio(_ERF_A, _ERF_B, y, top, bottom)  # erf(x) / x, for |x| <= 0.46875
    small *= x64
    np.copyto(e, small, where=near)
    e = e.reshape(x.shape)
    if out is not None:  # rounded to out's dtype as astype rounds
        return _put(out, e)
    return e if x.dtype == np.float64 else e.astype(x.dtype)


def _erf(static: Any, x: Any) -> Any:
    return math.erf(x) if type(x) is float else erf_array(x)


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


# ---------------------------------------------------------------- replay forms (tl.jit)
# The rules above, writing into arrays a traced step allocated once; each computes exactly
# what its plain rule computes, in the same order (core/ops/row.py).


def _binary_into(ufunc: Any) -> Any:
    return lambda need, out, a, b: ufunc(a, b, out=out)


def _unary_into(ufunc: Any) -> Any:
    return lambda static, out, x: ufunc(x, out=out)


def sigmoid_into(static: Any, out: Any, x: Any) -> Any:
    # (a replay gives arrays of one dimension or more: _sigmoid's 0-d case never comes here)
    np.negative(x, out=out)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1
    return np.reciprocal(out, out=out)


def _sigmoid_grads_into(static: Any, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    local = np.subtract(1.0, o, out=bufs[0])
    local *= o
    local *= g
    return (local,)


def _tanh_grads_into(static: Any, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    local = np.multiply(o, o, out=bufs[0])  # g * (1 - o * o)
    np.subtract(1.0, local, out=local)
    return (np.multiply(g, local, out=local),)


def _relu_grads_into(static: Any, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    if bufs[0] is None:
        return (g * (x > 0),)
    # the mask written as 1.0 and 0.0 into the gradient's array, not as a new bool array:
    # g times it is g times the bool, which NumPy casts to the same 1.0 and 0.0
    mask = np.greater(x, 0, out=bufs[0])
    return (np.multiply(g, mask, out=mask),)


def _mul_grads_into(need: Need, g: Any, out: Any, bufs: Any, a: Any, b: Any) -> Any:
    # into the input's array where it has the output's shape; for an input that was broadcast
    # (a layer norm's scale), g times the other input is summed down later, by the engine:
    # the product goes into a scratch array laid out as g, as NumPy would lay out a new one
    ga = gb = None
    if need[0]:
        ga = _mul_product(g, b, bufs[0] if a.shape == g.shape else None, out, "mul' g*b")
    if need[1]:
        gb = _mul_product(g, a, bufs[1] if b.shape == g.shape else None, out, "mul' g*a")
    return ga, gb


def _mul_product(g: Any, other: Any, buf: Any, owner: Any, name: str) -> Any:
    if buf is None and np.result_type(g, other) == g.dtype and g.ndim:
        buf = scratch_like(owner, name, g)
    return np.multiply(g, other, out=buf)


# In the forms below ``out=bufs[k]`` is None where the engine gave no array (an input that was
# broadcast, a 0-d gradient): the ufunc then makes a new array, as the plain rule does.


def _power_into(out: Any, a: Any, b: Any) -> Any:
    """``a ** b`` written into ``out`` through the operator itself (``**=``), so that NumPy
    takes the shortcuts it takes for ``a ** b`` (``x ** 0.5`` is ``sqrt(x)``, which warns as
    sqrt does)."""
    np.copyto(out, a)
    out **= b
    return out


def _sub_grads_into(need: Need, g: Any, out: Any, bufs: Any, a: Any, b: Any) -> Any:
    return g, np.negative(g, out=bufs[1])  # g itself, as the plain rule sends it


def _first_steps(bufs: Any, k: int, out: Any, name: str, g: Any, other: Any) -> Any:
    """Where a gradient is a chain of products starting with ``g`` and ``other``: the array
    for its first steps, the buffer if given, else a scratch array in their product's dtype
    (the last step then makes the new array the plain rule makes)."""
    if bufs[k] is not None:
        return bufs[k]
    return scratch(out, name, g.shape, np.result_type(g, other))


def _div_grads_into(need: Need, g: Any, out: Any, bufs: Any, a: Any, b: Any) -> Any:
    ga = np.divide(g, b, out=bufs[0]) if need[0] else None
    gb = None
    if need[1]:  # -g * out / b
        gb = np.negative(g, out=_first_steps(bufs, 1, out, "div' -g*out", g, out))
        np.multiply(gb, out, out=gb)
        gb = np.divide(gb, b, out=bufs[1])
    return ga, gb


def _pow_grads_into(need: Need, g: Any, out: Any, bufs: Any, a: Any, b: Any) -> Any:
    # the power and the logarithm go to scratch arrays, in the order the plain rule makes them
    ga = gb = None
    if need[0]:  # g * b * a ** (b - 1)
        ga = np.multiply(g, b, out=_first_steps(bufs, 0, out, "pow' g*b", g, b))
        if type(b) is np.ndarray:
            e = np.subtract(b, 1.0, out=scratch(out, "pow' b-1", b.shape, b.dtype))
        else:
            e = b - 1.0
        p = _power_into(scratch(out, "pow' a^(b-1)", out.shape, out.dtype), a, e)
        ga = np.multiply(ga, p, out=bufs[0])
    if need[1]:  # g * out * log(a)
        gb = np.multiply(g, out, out=_first_steps(bufs, 1, out, "pow' g*out", g, out))
        if type(a) is np.ndarray:
            log_a = np.log(a, out=scratch(out, "pow' log a", a.shape, a.dtype))
        else:
            log_a = _log(None, a)
        gb = np.multiply(gb, log_a, out=bufs[1])
    return ga, gb


def _copy_into(static: Any, out: Any, x: Any) -> Any:
    np.copyto(out, x)
    return out


def _sqrt_grads_into(static: Any, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    local = np.multiply(g, 0.5, out=bufs[0])
    return (np.divide(local, o, out=bufs[0]),)


def _abs_grads_into(static: Any, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    # sign(x) is -1, 0, 1 or nan: exact in the gradient's dtype, so it can go to its buffer
    return (np.multiply(g, np.sign(x, out=bufs[0]), out=bufs[0]),)


def _erf_grads_into(static: Any, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    local = np.multiply(x, x, out=bufs[0])  # g * (2/sqrt(pi) exp(-(x * x)))
    np.negative(local, out=local)
    np.exp(local, out=local)
    np.multiply(_TWO_OVER_SQRT_PI, local, out=local)
    return (np.multiply(g, local, out=bufs[0]),)


def _leaky_relu_into(slope: float, out: Any, x: Any) -> Any:
    # np.where(x > 0, x, x * slope), written in two steps
    positive = np.greater(x, 0, out=scratch(out, "leaky_relu x>0", x.shape, np.bool_))
    np.multiply(x, slope, out=out)
    np.copyto(out, x, where=positive)
    return out


def _leaky_relu_grads_into(slope: float, g: Any, o: Any, bufs: Any, x: Any) -> Any:
    # the local slopes 1 or slope in x's dtype, as _leaky_slope rounds them
    positive = np.greater(x, 0, out=scratch(o, "leaky_relu' x>0", x.shape, np.bool_))
    local = scratch(o, "leaky_relu' slope", x.shape, x.dtype)
    local.fill(slope)
    np.copyto(local, 1.0, where=positive)
    return (np.multiply(g, local, out=bufs[0]),)


def _clip_grads_into(
    bounds: tuple[float | None, float | None], g: Any, o: Any, bufs: Any, x: Any
) -> Any:
    lo, hi = bounds
    inside = scratch(o, "clip' inside", x.shape, np.bool_)
    np.greater_equal(x, -math.inf if lo is None else lo, out=inside)
    below = np.less_equal(
        x, math.inf if hi is None else hi, out=scratch(o, "clip' <=hi", x.shape, np.bool_)
    )
    inside &= below
    return (np.multiply(g, inside, out=bufs[0]),)


def _where_into(cond: Any, out: Any, a: Any, b: Any) -> Any:
    np.copyto(out, b)
    np.copyto(out, a, where=cond)
    return out


def _where_grads_into(cond: Any, g: Any, o: Any, bufs: Any, a: Any, b: Any) -> Any:
    other = np.logical_not(cond, out=scratch(o, "where' not", cond.shape, np.bool_))
    return np.multiply(g, cond, out=bufs[0]), np.multiply(g, other, out=bufs[1])


# ---------------------------------------------------------------- the rows

BINARY = [
    Op(
        "add",
        lambda s, a, b: a + b,
        lambda need, g, o, a, b: (g, g),
        "x 1",
        partial=True,
        reads_data=False,
        into=_binary_into(np.add),
        ufunc=np.add,
        grads_into=lambda need, g, o, bufs, a, b: (g, g),  # g itself: nothing to write
    ),
    Op(
        "sub",
        lambda s, a, b: a - b,
        lambda need, g, o, a, b: (g, -g),
        ("x 1", "x -1"),
        partial=True,
        reads_data=False,
        into=_binary_into(np.subtract),
        ufunc=np.subtract,
        grads_into=_sub_grads_into,
    ),
    Op(
        "mul",
        lambda s, a, b: a * b,
        _mul_backward,
        ("x {1}", "x {0}"),
        partial=True,
        into=_binary_into(np.multiply),
        ufunc=np.multiply,
        grads_into=_mul_grads_into,
    ),
    Op(
        "div",
        lambda s, a, b: div(a, b),
        _div_backward,
        ("x 1/{1}", "x -{0}/{1}^2"),
        partial=True,
        into=_binary_into(np.divide),
        ufunc=np.divide,
        grads_into=_div_grads_into,
    ),
    Op(
        "pow",
        _pow,
        _pow_backward,
        _pow_label,
        partial=True,
        into=lambda need, out, a, b: _power_into(out, a, b),
        grads_into=_pow_grads_into,
    ),
]

ROWS = [
    *BINARY,
    Op(
        "neg",
        lambda s, x: -x,
        lambda s, g, o, x: (-g,),
        "x -1",
        reads_data=False,
        into=_unary_into(np.negative),
        ufunc=np.negative,
        grads_into=lambda s, g, o, bufs, x: (np.negative(g, out=bufs[0]),),
    ),
    # the books' linear activation, a = z, as a node of its own so a drawing shows a and da
    # (a copy of an array: the two Values must not share a buffer that one may update)
    Op(
        "identity",
        lambda s, x: x if type(x) is float else x.copy(),
        lambda s, g, o, x: (g,),  # g itself: no replay form needed
        "x 1",
        into=_copy_into,
    ),
    Op(
        "exp",
        _exp,
        lambda s, g, o, x: (g * o,),
        "x exp({0})",
        reads_inputs=False,
        into=_unary_into(np.exp),
        ufunc=np.exp,
        grads_into=lambda s, g, o, bufs, x: (np.multiply(g, o, out=bufs[0]),),
    ),
    Op(
        "log",
        _log,
        lambda s, g, o, x: (div(g, x),),
        "x 1/{0}",
        into=_unary_into(np.log),
        ufunc=np.log,
        grads_into=lambda s, g, o, bufs, x: (np.divide(g, x, out=bufs[0]),),
    ),
    Op(
        "sqrt",
        _sqrt,
        lambda s, g, o, x: (div(g * 0.5, o),),
        "x 1/(2 sqrt({0}))",
        into=_unary_into(np.sqrt),
        ufunc=np.sqrt,
        grads_into=_sqrt_grads_into,
    ),
    Op(
        "abs",
        lambda s, x: abs(x),
        lambda s, g, o, x: (g * sign(x),),
        "x sign({0})",
        into=_unary_into(np.absolute),
        ufunc=np.absolute,
        grads_into=_abs_grads_into,
    ),
    Op(
        "tanh",
        _tanh,
        lambda s, g, o, x: (g * (1.0 - o * o),),
        "x (1-tanh^2)",
        reads_inputs=False,
        into=_unary_into(np.tanh),
        ufunc=np.tanh,
        grads_into=_tanh_grads_into,
    ),
    Op(
        "sigmoid",
        _sigmoid,
        _sigmoid_backward,
        "x sigmoid(1-sigmoid)",
        reads_inputs=False,
        into=sigmoid_into,
        grads_into=_sigmoid_grads_into,
    ),
    # erf'(x) = 2/sqrt(pi) exp(-x^2), written with rows: differentiable again
    Op(
        "erf",
        _erf,
        lambda s, g, o, x: (g * (_TWO_OVER_SQRT_PI * exp(-(x * x))),),
        "x 2/sqrt(pi) exp(-{0}^2)",
        into=lambda s, out, x: erf_array(x, out=out),
        grads_into=_erf_grads_into,
    ),
    # relu'(0) = 0
    Op(
        "relu",
        _relu,
        lambda s, g, o, x: (g * (data_of(x) > 0),),
        "x relu'({0})",
        into=lambda s, out, x: np.maximum(x, 0, out=out),
        grads_into=_relu_grads_into,
    ),
    Op(
        "leaky_relu",
        _leaky_relu,
        lambda slope, g, o, x: (g * _leaky_slope(slope, x),),
        "x leaky_relu'({0})",
        into=_leaky_relu_into,
        grads_into=_leaky_relu_grads_into,
    ),
    Op(
        "clip",
        _clip,
        lambda bounds, g, o, x: (g * _inside(bounds, x),),
        "x [{0} inside the bounds]",
        into=lambda bounds, out, x: np.clip(x, *bounds, out=out),
        grads_into=_clip_grads_into,
    ),
    # the condition is the row's static argument: a constant with no gradient
    Op(
        "where",
        lambda cond, a, b: np.where(cond, a, b),
        lambda cond, g, o, a, b: (g * cond, g * ~cond),
        ("x condition", "x (not condition)"),
        into=_where_into,
        grads_into=_where_grads_into,
    ),
]
