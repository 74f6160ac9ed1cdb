"""The ops the property tests walk: one declarative spec per primitive and per composite.

Each ``OpSpec`` says which primitives of ``tinygrad_lite.core.OPS`` it exercises, how to compute
it on Values, which inputs to draw (random shapes, broadcasting pairs, the domain where the op
is smooth), whether gradgradcheck applies, and what torch computes for it.
``tests/test_ops_property.py`` walks ``SPECS``; a primitive added to the op table without a
spec here makes ``test_every_primitive_has_a_spec`` fail.

Domains keep finite differences honest: log/sqrt/pow bases stay positive, divisors stay away
from 0, relu/abs/leaky_relu/clip inputs stay away from their kinks, and max/min inputs are
distinct multiples of a gap (no ties for a perturbation to cross). The last spec,
"composition", runs small random programs that reuse their intermediate results, so gradients
that fan out and add up are tested too.
"""

from __future__ import annotations

import operator
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

import tinygrad_lite as tl
import tinygrad_lite.nn.functional as F
from tinygrad_lite import Value
from tinygrad_lite.core.ops.conv import Conv
from tinygrad_lite.functions import identity
from tinygrad_lite.nn.recurrent import gru_states, lstm_states
from tinygrad_lite.nn.transformer import relu_feed_forward
from tinygrad_lite.testing import strategies as tst

Shape = tuple[int, ...]

# ---------------------------------------------------------------- what a spec is


@dataclass(frozen=True)
class Case:
    """One drawn example: the raw inputs (Python floats for scalars, float64 arrays) that
    become Values, and the static arguments (axes, indices, constants) passed by keyword."""

    args: tuple[Any, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def astype(self, dtype: Any) -> Case:
        """The same case with every float array (inputs and constants) cast to ``dtype``."""
        return Case(tuple(_cast(a, dtype) for a in self.args), _cast_params(self.params, dtype))

    def values(self) -> list[Value]:
        return [Value(a) for a in self.args]


@dataclass(frozen=True)
class OpSpec:
    """A primitive or composite op, what it covers, its inputs, and its torch equivalent.

    ``fn(*values, **case.params)`` computes the op on Values. ``torch(T, *tensors, **params)``
    computes it with the torch module ``T`` (None: no torch equivalent). ``twice_differentiable``:
    its second derivative is defined on the drawn domain (zero, off the kinks, for relu & co),
    so gradgradcheck applies. ``scalar_inputs``: cases of Python floats only, for the ops that
    take scalar Values.
    """

    name: str
    covers: tuple[str, ...]
    fn: Callable[..., Value]
    inputs: st.SearchStrategy[Case]
    torch: Callable[..., Any] | None
    twice_differentiable: bool = True
    scalar_inputs: st.SearchStrategy[Case] | None = None


@dataclass(frozen=True)
class Domain:
    """Where inputs are drawn: a range, points to keep ``margin`` away from, or a gap that
    makes elements distinct (no ties)."""

    low: float = -3.0
    high: float = 3.0
    away_from: tuple[float, ...] = ()
    margin: float = 0.05
    gap: float | None = None

    def data(self, shape: tuple[int, ...]) -> st.SearchStrategy[Any]:
        """A Python float for shape ``()``, else a float64 array."""
        if shape == ():
            return tst.finite_floats(
                self.low, self.high, away_from=self.away_from, margin=self.margin
            )
        return tst.arrays(
            shape,
            np.float64,
            min_value=self.low,
            max_value=self.high,
            away_from=self.away_from,
            margin=self.margin,
            min_gap=self.gap,
        )


ANY = Domain()
POSITIVE = Domain(0.2, 4.0)  # log, sqrt, the base of pow
EXPONENT = Domain(-2.0, 2.0)
NONZERO = Domain(away_from=(0.0,), margin=0.5)  # divisors
OFF_ZERO = Domain(away_from=(0.0,))  # relu, abs, leaky_relu: off the kink at 0
CLIP_BOUNDS = [(-1.0, 1.0), (None, 0.5), (-0.5, None), (-0.5, 1.0)]
OFF_CLIP = Domain(away_from=(-1.0, -0.5, 0.5, 1.0))  # off every bound above
SPACED = Domain(-5.0, 5.0, gap=0.125)  # max, min: no ties
SMALL = Domain(-2.0, 2.0)  # exp, softmax: moderate magnitudes


def _cast(x: Any, dtype: Any) -> Any:
    is_float_array = isinstance(x, np.ndarray) and x.dtype.kind == "f"
    return x.astype(dtype) if is_float_array else x


def _cast_params(params: dict[str, Any], dtype: Any) -> dict[str, Any]:
    return {k: _cast(v, dtype) for k, v in params.items()}


def _tensor(T: Any, c: Any) -> Any:
    """A constant for torch: arrays become float64 tensors (torch's matmul does not promote
    ints), numbers stay numbers."""
    return T.as_tensor(c, dtype=T.float64) if isinstance(c, np.ndarray) else c


# ---------------------------------------------------------------- input strategies


@st.composite
def _drawn(
    draw: st.DrawFn, shapes: st.SearchStrategy[tuple[Shape, ...]], domains: tuple[Domain, ...]
) -> Case:
    """One input per domain, of the drawn shapes (``()`` gives a Python float)."""
    return Case(tuple(draw(d.data(s)) for d, s in zip(domains, draw(shapes))))


def _scalars(n: int) -> st.SearchStrategy[tuple[Shape, ...]]:
    return st.just(((),) * n)


@st.composite
def _with_params(
    draw: st.DrawFn, inputs: st.SearchStrategy[Case], params: st.SearchStrategy[dict[str, Any]]
) -> Case:
    return replace(draw(inputs), params=draw(params))


@st.composite
def _with_constant(draw: st.DrawFn, inputs: st.SearchStrategy[Case], position: int) -> Case:
    """The input at ``position`` becomes the constant ``c``: a float or an int, or an array of
    floats or ints (ints take the float dtype of the Value they meet)."""
    case = draw(inputs)
    c = case.args[position]
    rest = case.args[:position] + case.args[position + 1 :]
    return Case(rest, {"c": _integral(c) if draw(st.booleans()) else c})


def _integral(x: Any) -> Any:
    """``x`` rounded away from zero (so it stays off 0 and inside the domain), as int(s)."""
    rounded = np.sign(x) * np.ceil(np.abs(x))
    return rounded.astype(np.int64) if isinstance(x, np.ndarray) else int(rounded)


def _matmul_shapes(vectors: bool) -> st.SearchStrategy[tuple[Shape, Shape]]:
    """Pairs with at least one matrix (``vectors=False``: the matmul primitive runs), or
    two vectors (a dot product, which the engine computes as ``(a * b).sum()``)."""
    if vectors:
        return st.integers(1, tst.MAX_SIDE).map(lambda k: ((k,), (k,)))
    return tst.matmul_shapes().filter(lambda p: len(p[0]) > 1 or len(p[1]) > 1)


@st.composite
def _reduction(draw: st.DrawFn, domain: Domain) -> Case:
    shape = draw(tst.shapes(min_dims=1))
    axis = draw(tst.axes(len(shape), tuples=True, none=True))
    return Case((draw(domain.data(shape)),), {"axis": axis, "keepdims": draw(st.booleans())})


@st.composite
def _along_axis(draw: st.DrawFn, domain: Domain) -> Case:
    shape = draw(tst.shapes(min_dims=1))
    return Case((draw(domain.data(shape)),), {"axis": draw(tst.axes(len(shape)))})


@st.composite
def _reshape(draw: st.DrawFn) -> Case:
    shape = draw(tst.shapes(min_dims=1))
    return Case((draw(ANY.data(shape)),), {"shape": draw(tst.reshape_shapes(shape))})


@st.composite
def _transpose(draw: st.DrawFn, with_axes: bool) -> Case:
    shape = draw(tst.shapes(min_dims=2))
    x = draw(ANY.data(shape))
    if not with_axes:
        return Case((x,))
    nd = len(shape)
    order = draw(tst.permutations(nd).filter(lambda p: [a % nd for a in p] != list(range(nd))))
    return Case((x,), {"axes": order})


@st.composite
def _getitem(draw: st.DrawFn) -> Case:
    shape = draw(tst.shapes(min_dims=1))
    return Case((draw(ANY.data(shape)),), {"index": draw(tst.indices(shape))})


@st.composite
def _scatter(draw: st.DrawFn) -> Case:
    shape = draw(tst.shapes(min_dims=1))
    index = draw(tst.indices(shape))
    picked = np.empty(shape)[index].shape
    return Case((draw(ANY.data(picked)),), {"shape": shape, "index": index})


@st.composite
def _broadcast_to(draw: st.DrawFn) -> Case:
    target = draw(tst.shapes(min_dims=1))
    shape = draw(tst.shapes_broadcasting_to(target).filter(lambda s: s != target))
    return Case((draw(ANY.data(shape)),), {"shape": target})


@st.composite
def _sum_to(draw: st.DrawFn) -> Case:
    shape = draw(tst.shapes(min_dims=1))
    target = draw(tst.shapes_broadcasting_to(shape).filter(lambda s: s != shape))
    return Case((draw(ANY.data(shape)),), {"shape": target})


@st.composite
def _concat(draw: st.DrawFn) -> Case:
    shape = draw(tst.shapes(min_dims=1))
    axis = draw(tst.axes(len(shape)))
    sizes = draw(st.lists(st.integers(1, 3), min_size=1, max_size=3))
    pieces = []
    for n in sizes:
        piece = list(shape)
        piece[axis] = n
        pieces.append(draw(ANY.data(tuple(piece))))
    return Case(tuple(pieces), {"axis": axis})


@st.composite
def _stack(draw: st.DrawFn) -> Case:
    shape = draw(tst.shapes(min_dims=0, max_dims=2))
    count = draw(st.integers(1, 3))
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    return Case(tuple(draw(ANY.data(shape)) for _ in range(count)), {"axis": axis})


@st.composite
def _where(draw: st.DrawFn) -> Case:
    cond_shape, sa, sb = draw(tst.broadcastable_shapes(3))
    cond = draw(tst.masks(cond_shape))
    return Case((draw(ANY.data(sa)), draw(ANY.data(sb))), {"cond": cond})


@st.composite
def _weighted_sum(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 4))
    bias = draw(st.booleans())
    args = tuple(draw(ANY.data(())) for _ in range(2 * n + bias))
    return Case(args, {"n": n, "bias": bias})


@st.composite
def _linear(draw: st.DrawFn, transposed: bool = False) -> Case:
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(tst.shapes(min_dims=0, max_dims=2))
    weight = (n_out, n_in) if transposed else (n_in, n_out)  # torch's layout, or the books'
    args = [draw(ANY.data((*batch, n_in))), draw(ANY.data(weight))]
    if draw(st.booleans()):
        args.append(draw(ANY.data((n_out,))))
    return Case(tuple(args))


@st.composite
def _feed_forward(draw: st.DrawFn) -> Case:
    """x (batch..., E), W1 (F, E), b1 (F,), W2 (E, F), b2 (E,); drawn again unless every hidden
    pre-activation is 0.05 away from relu's kink, which a finite difference would cross."""
    e, f = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    batch = draw(tst.shapes(min_dims=0, max_dims=2, max_side=3))
    shapes = [(*batch, e), (f, e), (f,), (e, f), (e,)]
    x, w1, b1, w2, b2 = (draw(ANY.data(s)) for s in shapes)
    assume(np.abs(x @ w1.T + b1).min(initial=np.inf) > 0.05)
    return Case((x, w1, b1, w2, b2))


def _torch_feed_forward(T: Any, x: Any, w1: Any, b1: Any, w2: Any, b2: Any) -> Any:
    linear = T.nn.functional.linear
    return linear(T.relu(linear(x, w1, b1)), w2, b2)


@st.composite
def _class_scores(draw: st.DrawFn, labels: bool) -> Case:
    """Logits (batch..., classes) with integer labels, or with target distributions."""
    batch = draw(tst.shapes(min_dims=1, max_dims=2))
    classes = draw(st.integers(2, 5))
    logits = draw(SMALL.data((*batch, classes)))
    reduction = draw(st.sampled_from(["none", "mean", "sum"]))
    if labels:
        index = draw(tst.arrays(batch, np.float64, min_value=0, max_value=classes - 1))
        return Case((logits,), {"labels": np.floor(index).astype(np.int64), "reduction": reduction})
    weights = draw(tst.arrays((*batch, classes), np.float64, min_value=0.1, max_value=1.0))
    targets = weights / weights.sum(axis=-1, keepdims=True)
    return Case((logits,), {"labels": targets, "reduction": reduction})


@st.composite
def _logits_and_targets(draw: st.DrawFn, scalar: bool) -> Case:
    shape = () if scalar else draw(tst.shapes(min_dims=1))
    target = draw(Domain(0.0, 1.0).data(shape))
    return Case((draw(ANY.data(shape)),), {"target": target})


@st.composite
def _lstm(draw: st.DrawFn) -> Case:
    """A short sequence for the fused LSTM layer: xw (T, N, 4H), h0 and c0 (N, H), w_hh (4H, H)."""
    steps, n, hid = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    shapes = [(steps, n, 4 * hid), (n, hid), (n, hid), (4 * hid, hid)]
    return Case(tuple(draw(SMALL.data(shape)) for shape in shapes))


def _torch_lstm(T: Any, xw: Any, h: Any, c: Any, w_hh: Any) -> Any:
    states = []
    for t in range(xw.shape[0]):
        i, f, g, o = (xw[t] + h @ w_hh.T).chunk(4, dim=-1)
        c = i.sigmoid() * g.tanh() + f.sigmoid() * c
        h = o.sigmoid() * c.tanh()
        states.append(T.stack([h, c]))
    return T.stack(states, dim=1)  # (2, T, N, H): h_t at [0, t], c_t at [1, t]


@st.composite
def _attention(draw: st.DrawFn, packed: bool) -> Case:
    """Inputs of the fused attention row, heads side by side: qkv (N, L, 3E) packed, or q
    (N, L, E), k and v (N, S, E); with a float mask (N, 1, 1, S) or (L, S) added, or none."""
    n, length, source = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    heads, d = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    e = heads * d
    if packed:
        source = length
    shapes = [(n, length, 3 * e)] if packed else [(n, length, e), (n, source, e), (n, source, e)]
    mask_shape = draw(st.sampled_from([None, (n, 1, 1, source), (length, source)]))
    params: dict[str, Any] = {"num_heads": heads}
    if mask_shape is not None:
        params["mask"] = draw(SMALL.data(mask_shape))
    return Case(tuple(draw(SMALL.data(shape)) for shape in shapes), params)


def _torch_attention(T: Any, *xs: Any, num_heads: int, mask: Any = None) -> Any:
    if len(xs) == 1:
        xs = xs[0].chunk(3, dim=-1)
    n, length, e = xs[0].shape
    q, k, v = (x.reshape(n, x.shape[1], num_heads, -1).transpose(1, 2) for x in xs)
    s = q @ k.transpose(-1, -2) / (e // num_heads) ** 0.5
    if mask is not None:
        s = s + T.as_tensor(mask, dtype=s.dtype)
    return (s.softmax(-1) @ v).transpose(1, 2).reshape(n, length, e)


@st.composite
def _gru(draw: st.DrawFn) -> Case:
    """A short sequence for the fused GRU layer: xw (T, N, 3H), h0 (N, H), w_hh (3H, H), b_hh."""
    steps, n, hid = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3))
    shapes = [(steps, n, 3 * hid), (n, hid), (3 * hid, hid), (3 * hid,)]
    return Case(tuple(draw(SMALL.data(shape)) for shape in shapes))


def _torch_gru(T: Any, xw: Any, h: Any, w_hh: Any, b_hh: Any) -> Any:
    states = []
    for t in range(xw.shape[0]):
        xr, xz, xn = xw[t].chunk(3, dim=-1)
        hr, hz, hn = (h @ w_hh.T + b_hh).chunk(3, dim=-1)
        r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
        h = (1 - z) * (xn + r * hn).tanh() + z * h
        states.append(h)
    return T.stack(states)


def _torch_cross_entropy(T: Any, z: Any, labels: Any, reduction: str) -> Any:
    logp = T.log_softmax(z, dim=-1)
    if labels.dtype.kind in "iu":
        losses = -T.gather(logp, -1, T.as_tensor(labels)[..., None])[..., 0]
    else:
        losses = -(logp * T.as_tensor(labels, dtype=z.dtype)).sum(-1)
    return {"none": losses, "mean": losses.mean(), "sum": losses.sum()}[reduction]


# ---------------------------------------------------------------- spec builders

NO_PARAMS: st.SearchStrategy[dict[str, Any]] = st.just({})


def elementwise(
    name: str,
    covers: tuple[str, ...],
    fn: Callable[..., Value],
    *domains: Domain,
    torch: Callable[..., Any] | None,
    params: st.SearchStrategy[dict[str, Any]] = NO_PARAMS,
) -> OpSpec:
    """An op applied element by element (with broadcasting): arrays and Python floats."""
    n = len(domains)
    return OpSpec(
        name,
        covers,
        fn,
        _with_params(_drawn(tst.broadcastable_shapes(n), domains), params),
        torch,
        scalar_inputs=_with_params(_drawn(_scalars(n), domains), params),
    )


def binary(
    name: str,
    op: Callable[[Any, Any], Any],
    left: Domain,
    right: Domain,
    shapes: st.SearchStrategy[tuple[Shape, Shape]] | None = None,
) -> list[OpSpec]:
    """``a op b`` three ways: two Values, a Value and a constant, a constant and a Value.

    ``shapes`` draws the operand shapes; by default broadcastable pairs, and then Python
    floats are drawn too (scalar cases and number constants).
    """
    domains = (left, right)
    pairs = _drawn(tst.broadcastable_shapes(2) if shapes is None else shapes, domains)
    scalars = _drawn(_scalars(2), domains) if shapes is None else None

    def constant(position: int, strategy: st.SearchStrategy[Case] | None) -> Any:
        return None if strategy is None else _with_constant(strategy, position)

    return [
        OpSpec(name, (name,), op, pairs, lambda T, a, b: op(a, b), scalar_inputs=scalars),
        OpSpec(
            f"{name}_value_const",
            (name,),
            lambda x, c: op(x, c),
            constant(1, pairs),
            lambda T, x, c: op(x, _tensor(T, c)),
            scalar_inputs=constant(1, scalars),
        ),
        OpSpec(
            f"{name}_const_value",
            (name,),
            lambda x, c: op(c, x),
            constant(0, pairs),
            lambda T, x, c: op(_tensor(T, c), x),
            scalar_inputs=constant(0, scalars),
        ),
    ]


def _dims(x: Any, axis: Any) -> Any:
    """torch's ``dim`` for one of our ``axis`` arguments (None: every axis)."""
    return tuple(range(x.ndim)) if axis is None else axis


def _flat_positions(shape: tuple[int, ...], index: Any) -> Any:
    """Where ``x[index]`` reads from, as positions in ``x.reshape(-1)``: torch has no negative
    slice steps, so the torch side indexes the flattened tensor with these (same gradient)."""
    positions = np.arange(int(np.prod(shape))).reshape(shape)[index]
    return np.asarray(positions).astype(np.int64, order="C")  # a copy: torch wants strides > 0


def _torch_getitem(T: Any, x: Any, index: Any) -> Any:
    return x.reshape(-1)[T.as_tensor(_flat_positions(tuple(x.shape), index))]


def _torch_scatter(T: Any, x: Any, shape: tuple[int, ...], index: Any) -> Any:
    where = T.as_tensor(_flat_positions(shape, index).reshape(-1))
    zeros = T.zeros(int(np.prod(shape)), dtype=x.dtype)
    return zeros.index_add(0, where, x.reshape(-1)).reshape(shape)


def _weighted_sum_fn(*xs: Value, n: int, bias: bool) -> Value:
    return tl.weighted_sum(list(xs[:n]), list(xs[n : 2 * n]), xs[2 * n] if bias else None)


def _torch_weighted_sum(T: Any, *xs: Any, n: int, bias: bool) -> Any:
    total = sum((w * x for w, x in zip(xs[:n], xs[n : 2 * n])), T.zeros((), dtype=T.float64))
    return total + xs[2 * n] if bias else total


class Cube(tl.Function):
    """A user-defined op whose backward is written with Value ops (so it differentiates again)."""

    @staticmethod
    def forward(ctx: tl.Context, x: Value) -> Value:
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx: tl.Context, g: Value) -> Value:
        (x,) = ctx.saved_tensors
        return 3 * x * x * g


# ---------------------------------------------------------------- random compositions
# Small random programs over the smooth ops, where later steps reuse earlier results: they
# test what single ops cannot, gradients that fan out and add up (with broadcasting) and
# second derivatives through chains. Magnitudes stay moderate: mul squashes one side by tanh.
# Full reductions give 0-d results that later steps reuse (0-d fan-out).

STEPS: dict[str, tuple[int, Callable[..., Any], Callable[..., Any]]] = {
    # name: (number of operands, on Values, on torch tensors)
    "add": (2, operator.add, operator.add),
    "sub": (2, operator.sub, operator.sub),
    "mul": (2, lambda a, b: a * b.tanh(), lambda a, b: a * b.tanh()),
    "tanh": (1, lambda a: a.tanh(), lambda a: a.tanh()),
    "sigmoid": (1, lambda a: a.sigmoid(), lambda a: a.sigmoid()),
    "sum_all": (1, lambda a: a.sum(), lambda a: a.sum()),
    "sum_last": (
        1,
        lambda a: a.sum(axis=-1, keepdims=True) if a.ndim else a,
        lambda a: a.sum(-1, keepdim=True) if a.ndim else a,
    ),
}


@st.composite
def _program(draw: st.DrawFn, scalars: bool = False) -> Case:
    n = draw(st.integers(1, 3))
    inputs = draw(_drawn(_scalars(n) if scalars else tst.broadcastable_shapes(n), (ANY,) * n))
    steps = []
    for k in range(draw(st.integers(1, 6))):
        name = draw(st.sampled_from(sorted(STEPS)))
        operands = tuple(draw(st.integers(0, n + k - 1)) for _ in range(STEPS[name][0]))
        steps.append((name, operands))
    return replace(inputs, params={"steps": tuple(steps)})


def _run(nodes: list[Any], steps: tuple[tuple[str, tuple[int, ...]], ...], column: int) -> Any:
    """Replay ``steps`` (each reads earlier nodes by position); the output adds up every node."""
    for name, operands in steps:
        nodes.append(STEPS[name][column](*[nodes[i] for i in operands]))
    out = nodes[0]
    for node in nodes[1:]:
        out = out + node
    return out


# ---------------------------------------------------------------- the specs

_clip_bounds = st.sampled_from(CLIP_BOUNDS).map(lambda b: {"min": b[0], "max": b[1]})
_slopes = st.floats(0.0, 0.5).map(lambda s: {"negative_slope": s})

SPECS: list[OpSpec] = [
    *binary("add", operator.add, ANY, ANY),
    *binary("sub", operator.sub, ANY, ANY),
    *binary("mul", operator.mul, ANY, ANY),
    *binary("div", operator.truediv, ANY, NONZERO),
    *binary("pow", operator.pow, POSITIVE, EXPONENT),  # incl. a Value exponent, and rpow
    *binary("matmul", operator.matmul, ANY, ANY, shapes=_matmul_shapes(vectors=False)),
    OpSpec(
        "matmul_vectors",
        ("mul", "sum"),  # (k,) @ (k,) is computed as (a * b).sum()
        operator.matmul,
        _drawn(_matmul_shapes(vectors=True), (ANY, ANY)),
        lambda T, a, b: a @ b,
    ),
    elementwise("square", ("pow",), lambda x: x.pow(2), ANY, torch=lambda T, x: x.pow(2)),
    elementwise("neg", ("neg",), operator.neg, ANY, torch=lambda T, x: -x),
    elementwise("identity", ("identity",), identity, ANY, torch=lambda T, x: x.clone()),
    elementwise("exp", ("exp",), lambda x: x.exp(), SMALL, torch=lambda T, x: x.exp()),
    elementwise("log", ("log",), lambda x: x.log(), POSITIVE, torch=lambda T, x: x.log()),
    elementwise("sqrt", ("sqrt",), lambda x: x.sqrt(), POSITIVE, torch=lambda T, x: x.sqrt()),
    elementwise("abs", ("abs",), abs, OFF_ZERO, torch=lambda T, x: abs(x)),
    elementwise("tanh", ("tanh",), lambda x: x.tanh(), ANY, torch=lambda T, x: x.tanh()),
    elementwise(
        "sigmoid", ("sigmoid",), lambda x: x.sigmoid(), ANY, torch=lambda T, x: x.sigmoid()
    ),
    elementwise("relu", ("relu",), lambda x: x.relu(), OFF_ZERO, torch=lambda T, x: x.relu()),
    elementwise(
        "leaky_relu",
        ("leaky_relu",),
        lambda x, negative_slope: x.leaky_relu(negative_slope),
        OFF_ZERO,
        params=_slopes,
        torch=lambda T, x, negative_slope: T.nn.functional.leaky_relu(x, negative_slope),
    ),
    elementwise(
        "gelu",
        ("mul", "add", "tanh"),  # a composite of primitives
        lambda x: x.gelu(),
        ANY,
        torch=lambda T, x: T.nn.functional.gelu(x, approximate="tanh"),
    ),
    elementwise(
        "clip",
        ("clip",),
        lambda x, min, max: x.clip(min, max),
        OFF_CLIP,
        params=_clip_bounds,
        torch=lambda T, x, min, max: x.clip(min, max),
    ),
    elementwise("function", ("Cube",), Cube.apply, ANY, torch=lambda T, x: x**3),
    OpSpec(
        "sum",
        ("sum",),
        lambda x, axis, keepdims: x.sum(axis, keepdims),
        _reduction(ANY),
        lambda T, x, axis, keepdims: x.sum(_dims(x, axis), keepdims),
    ),
    OpSpec(
        "mean",
        ("sum", "mul"),
        lambda x, axis, keepdims: x.mean(axis, keepdims),
        _reduction(ANY),
        lambda T, x, axis, keepdims: x.mean(_dims(x, axis), keepdims),
    ),
    OpSpec(
        "max",
        ("max",),
        lambda x, axis, keepdims: x.max(axis, keepdims),
        _reduction(SPACED),
        lambda T, x, axis, keepdims: x.amax(_dims(x, axis), keepdims),
    ),
    OpSpec(
        "min",
        ("neg", "max"),
        lambda x, axis, keepdims: x.min(axis, keepdims),
        _reduction(SPACED),
        lambda T, x, axis, keepdims: x.amin(_dims(x, axis), keepdims),
    ),
    OpSpec(
        "softmax",
        ("softmax",),
        lambda x, axis: x.softmax(axis),
        _along_axis(SMALL),
        lambda T, x, axis: x.softmax(axis),
    ),
    OpSpec(
        "log_softmax",
        ("log_softmax",),
        lambda x, axis: x.log_softmax(axis),
        _along_axis(SMALL),
        lambda T, x, axis: x.log_softmax(axis),
    ),
    OpSpec(
        "reshape",
        ("reshape",),
        lambda x, shape: x.reshape(*shape),
        _reshape(),
        lambda T, x, shape: x.reshape(shape),
    ),
    OpSpec(
        "transpose",
        ("transpose",),
        lambda x, axes: x.transpose(*axes),
        _transpose(with_axes=True),
        lambda T, x, axes: x.permute(*axes),
    ),
    OpSpec(
        "transpose_reversed",
        ("transpose",),
        lambda x: x.transpose(),
        _transpose(with_axes=False),
        lambda T, x: x.permute(*reversed(range(x.ndim))),
    ),
    OpSpec(
        "T",
        ("transpose",),
        lambda x: x.T,
        _transpose(with_axes=False),
        lambda T, x: x.permute(*reversed(range(x.ndim))),
    ),
    OpSpec("getitem", ("getitem",), lambda x, index: x[index], _getitem(), _torch_getitem),
    OpSpec(
        "scatter_to",
        ("scatter",),
        lambda x, shape, index: x.scatter_to(shape, index),
        _scatter(),
        _torch_scatter,
    ),
    OpSpec(
        "broadcast_to",
        ("broadcast_to",),
        lambda x, shape: x.broadcast_to(shape),
        _broadcast_to(),
        lambda T, x, shape: x.broadcast_to(shape),
    ),
    OpSpec(
        "sum_to",
        ("sum_to",),
        lambda x, shape: x.sum_to(shape),
        _sum_to(),
        lambda T, x, shape: x.sum_to_size(shape) if shape else x.sum(),
    ),
    OpSpec(
        "concat",
        ("concat",),
        lambda *xs, axis: tl.concat(list(xs), axis=axis),
        _concat(),
        lambda T, *xs, axis: T.cat(xs, dim=axis),
    ),
    OpSpec(
        "stack",
        ("reshape", "concat"),
        lambda *xs, axis: tl.stack(list(xs), axis=axis),
        _stack(),
        lambda T, *xs, axis: T.stack(xs, dim=axis),
    ),
    OpSpec(
        "where",
        ("where",),
        lambda a, b, cond: tl.where(cond, a, b),
        _where(),
        lambda T, a, b, cond: T.where(T.as_tensor(cond), a, b),
    ),
    OpSpec(
        "weighted_sum",
        ("weighted_sum",),
        _weighted_sum_fn,
        _weighted_sum(),
        _torch_weighted_sum,
        scalar_inputs=_weighted_sum(),
    ),
    OpSpec(
        "linear",
        ("linear",),  # fused x @ W + b
        lambda *xs: tl.linear(*xs),
        _linear(),
        lambda T, x, w, *b: x @ w + b[0] if b else x @ w,
    ),
    OpSpec(
        "linear_t",
        ("linear_t",),  # fused x @ W^T + b, W (out, in)
        lambda *xs: tl.linear(*xs, transposed=True),
        _linear(transposed=True),
        lambda T, x, w, *b: T.nn.functional.linear(x, w, *b),
    ),
    OpSpec(
        "feed_forward",
        ("feed_forward",),  # fused relu(x W1^T + b1) W2^T + b2, a transformer's block
        lambda *xs: relu_feed_forward(*xs),
        _feed_forward(),
        _torch_feed_forward,
    ),
    OpSpec(
        "cross_entropy_labels",
        ("softmax_cross_entropy",),  # fused log_softmax + pick
        lambda z, labels, reduction: F.cross_entropy(z, labels, reduction=reduction),
        _class_scores(labels=True),
        _torch_cross_entropy,
    ),
    OpSpec(
        "cross_entropy_distributions",
        ("softmax_cross_entropy",),
        lambda z, labels, reduction: F.cross_entropy(z, labels, reduction=reduction),
        _class_scores(labels=False),
        _torch_cross_entropy,
    ),
    OpSpec(
        "bce_with_logits",
        ("bce_with_logits",),  # fused softplus(z) - t z
        lambda z, target: F.binary_cross_entropy_with_logits(z, target, reduction="none"),
        _logits_and_targets(scalar=False),
        lambda T, z, target: T.nn.functional.binary_cross_entropy_with_logits(
            z, T.as_tensor(target, dtype=z.dtype), reduction="none"
        ),
        scalar_inputs=_logits_and_targets(scalar=True),
    ),
    OpSpec(
        "attention_packed",
        ("attention",),  # fused: every head's softmax(q k^T scale + mask) v
        lambda qkv, num_heads, mask=None: F.multi_head_attention(
            qkv, num_heads=num_heads, mask=mask
        ),
        _attention(packed=True),
        _torch_attention,
    ),
    OpSpec(
        "attention",
        ("attention",),
        lambda q, k, v, num_heads, mask=None: F.multi_head_attention(
            q, k, v, num_heads=num_heads, mask=mask
        ),
        _attention(packed=False),
        _torch_attention,
    ),
    OpSpec(
        "lstm",
        ("lstm",),  # fused: a whole LSTM layer's time loop
        lambda *xs: lstm_states(*xs),
        _lstm(),
        _torch_lstm,
    ),
    OpSpec(
        "gru",
        ("gru",),  # fused: a whole GRU layer's time loop
        lambda *xs: gru_states(*xs),
        _gru(),
        _torch_gru,
    ),
    OpSpec(
        "composition",
        ("add",),
        lambda *xs, steps: _run(list(xs), steps, column=1),
        _program(),
        lambda T, *xs, steps: _run(list(xs), steps, column=2),
        scalar_inputs=_program(scalars=True),
    ),
]


# ---------------------------------------------------------------- normalisation, erf, upsampling
# Standardizing divides by the spread of each group of elements, so the groups' elements are
# distinct multiples of a gap: no group is (nearly) constant, where the derivatives blow up.

DISTINCT = Domain(-4.0, 4.0, gap=0.1)


@st.composite
def _batch_norm(draw: st.DrawFn, training: bool) -> Case:
    """(N, C, *spatial) with at least two values per channel, weight and bias (C,); the
    running statistics (constants) for eval mode."""
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    spatial = draw(tst.shapes(min_dims=0, max_dims=2, max_side=2))
    if n * int(np.prod(spatial)) < 2:
        n = 2
    x = draw(DISTINCT.data((n, c, *spatial)))
    args = (x, draw(ANY.data((c,))), draw(ANY.data((c,))))
    params: dict[str, Any] = {"eps": draw(st.sampled_from([1e-5, 1e-3]))}
    if not training:
        params["running_mean"] = draw(ANY.data((c,)))
        params["running_var"] = draw(POSITIVE.data((c,)))
    return Case(args, params)


@st.composite
def _layer_norm(draw: st.DrawFn) -> Case:
    """(*batch, *normalized) with at least two elements to normalise, weight and bias."""
    batch = draw(tst.shapes(min_dims=0, max_dims=2, max_side=2))
    normalized = draw(
        tst.shapes(min_dims=1, max_dims=2).filter(lambda s: 2 <= int(np.prod(s)) <= 6)
    )
    args = (
        draw(DISTINCT.data((*batch, *normalized))),
        draw(ANY.data(normalized)),
        draw(ANY.data(normalized)),
    )
    return Case(args, {"normalized_shape": normalized})


@st.composite
def _upsampling(draw: st.DrawFn) -> Case:
    spatial = draw(tst.shapes(min_dims=1, max_dims=3, max_side=2))
    x = draw(ANY.data((draw(st.integers(1, 2)), draw(st.integers(1, 2)), *spatial)))
    factors = tuple(draw(st.integers(1, 3)) for _ in spatial)
    return Case((x,), {"scale_factor": factors})


def _torch_batch_norm(T: Any, x: Any, w: Any, b: Any, eps: float, **stats: Any) -> Any:
    if not stats:
        return T.nn.functional.batch_norm(x, None, None, w, b, training=True, eps=eps)
    mean, var = (T.as_tensor(stats[k], dtype=x.dtype) for k in ("running_mean", "running_var"))
    return T.nn.functional.batch_norm(x, mean, var, w, b, training=False, eps=eps)


SPECS += [
    elementwise("erf", ("erf",), lambda x: x.erf(), ANY, torch=lambda T, x: x.erf()),
    elementwise(
        "gelu_exact",
        ("erf", "mul", "add"),  # 0.5 x (1 + erf(x / sqrt(2))): a composite
        lambda x: F.gelu(x),
        ANY,
        torch=lambda T, x: T.nn.functional.gelu(x),
    ),
    OpSpec(
        "batch_norm_train",
        ("standardize", "mul", "add"),  # fused standardize, then weight and bias
        lambda x, w, b, eps: F.batch_norm(x, None, None, w, b, training=True, eps=eps),
        _batch_norm(training=True),
        _torch_batch_norm,
    ),
    OpSpec(
        "batch_norm_eval",
        ("mul", "add"),  # x * scale + shift, with the running statistics folded in
        lambda x, w, b, eps, running_mean, running_var: F.batch_norm(
            x, running_mean, running_var, w, b, training=False, eps=eps
        ),
        _batch_norm(training=False),
        _torch_batch_norm,
    ),
    OpSpec(
        "layer_norm",
        ("standardize", "mul", "add"),
        lambda x, w, b, normalized_shape: F.layer_norm(x, normalized_shape, w, b),
        _layer_norm(),
        lambda T, x, w, b, normalized_shape: T.nn.functional.layer_norm(x, normalized_shape, w, b),
    ),
    OpSpec(
        "interpolate_nearest",
        ("upsample",),
        lambda x, scale_factor: F.interpolate(x, scale_factor),
        _upsampling().filter(lambda c: max(c.params["scale_factor"]) > 1),
        lambda T, x, scale_factor: T.nn.functional.interpolate(
            x, scale_factor=[float(s) for s in scale_factor], mode="nearest"
        ),
    ),
]


# ---------------------------------------------------------------- convolution and pooling
# Images (N, C, H, W) with 1 or 2 of each, kernels up to 3, strides and dilations up to 2,
# sizes just large enough for one to three windows: small enough to perturb every element.
# The torch side uses the same arguments ("same" padding included); asymmetric padding (the
# "same" of an even kernel) is what torch pads itself.

POOLED = Domain(-5.0, 5.0, gap=0.02)  # max pooling: distinct values, no ties to cross


@st.composite
def _window(draw: st.DrawFn, max_kernel: int = 3) -> dict[str, Any]:
    """One axis of a convolution: kernel, stride, dilation, padding (before, after)."""
    k, s, d = draw(st.integers(1, max_kernel)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    return {"k": k, "s": s, "d": d, "p": draw(st.integers(0, 2))}


def _span(a: dict[str, Any]) -> int:
    return a["d"] * (a["k"] - 1) + 1


@st.composite
def _conv2d(draw: st.DrawFn) -> Case:
    groups = draw(st.integers(1, 2))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    rows, cols = draw(_window()), draw(_window())
    same = draw(st.booleans()) and rows["s"] == cols["s"] == 1
    padding: Any = "same" if same else (rows["p"], cols["p"])
    sizes = []
    for a in (rows, cols):
        smallest = 1 if same else max(1, _span(a) - 2 * a["p"])
        sizes.append(draw(st.integers(smallest, smallest + 2)))
    args = [
        draw(ANY.data((draw(st.integers(1, 2)), c, *sizes))),
        draw(ANY.data((o, c // groups, rows["k"], cols["k"]))),
    ]
    if draw(st.booleans()):
        args.append(draw(ANY.data((o,))))
    params = {
        "stride": (rows["s"], cols["s"]),
        "padding": padding,
        "dilation": (rows["d"], cols["d"]),
        "groups": groups,
    }
    return Case(tuple(args), params)


@st.composite
def _conv_transpose2d(draw: st.DrawFn) -> Case:
    groups = draw(st.integers(1, 2))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    rows, cols = draw(_window()), draw(_window())
    extra, sizes = [], []
    for a in (rows, cols):
        extra.append(draw(st.integers(0, max(a["s"], a["d"]) - 1)))
        # the output, (n - 1) s - 2 p + span + extra, must be at least 1
        smallest = max(1, 1 - (_span(a) + extra[-1] - 2 * a["p"] - 1) // a["s"])
        sizes.append(draw(st.integers(smallest, smallest + 1)))
    args = [
        draw(ANY.data((draw(st.integers(1, 2)), c, *sizes))),
        draw(ANY.data((c, o // groups, rows["k"], cols["k"]))),
    ]
    if draw(st.booleans()):
        args.append(draw(ANY.data((o,))))
    params = {
        "stride": (rows["s"], cols["s"]),
        "padding": (rows["p"], cols["p"]),
        "output_padding": tuple(extra),
        "groups": groups,
        "dilation": (rows["d"], cols["d"]),
    }
    return Case(tuple(args), params)


@st.composite
def _conv2d_weight(draw: st.DrawFn) -> Case:
    """The input and the output's gradient of a convolution, and its geometry."""
    case = draw(_conv2d())
    x, w = case.args[:2]
    p = case.params
    sides = _sides(p["padding"], w.shape[2:], p["dilation"])
    geometry = Conv(w.shape[2:], p["stride"], sides, p["dilation"], p["groups"])
    grid = geometry.output_size(x.shape[2:])
    g = draw(ANY.data((x.shape[0], w.shape[0], *grid)))
    return Case((x, g), {"conv": geometry})


def _sides(padding: Any, kernel: tuple[int, ...], dilation: tuple[int, ...]) -> tuple[int, ...]:
    if padding == "same":
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (
            totals[0] // 2,
            totals[0] - totals[0] // 2,
            totals[1] // 2,
            totals[1] - totals[1] // 2,
        )
    return (padding[0], padding[0], padding[1], padding[1])


def _torch_conv2d_weight(T: Any, x: Any, g: Any, conv: Any) -> Any:
    top, bottom, left, right = conv.padding
    x = T.nn.functional.pad(x, (left, right, top, bottom))
    w_shape = (g.shape[1], x.shape[1] // conv.groups, *conv.kernel)
    return T.nn.grad.conv2d_weight(x, w_shape, g, conv.stride, 0, conv.dilation, conv.groups)


@st.composite
def _pooling(draw: st.DrawFn, domain: Domain, dilation: bool) -> Case:
    rows, cols = draw(_window()), draw(_window())
    if not dilation:
        rows["d"] = cols["d"] = 1
    sizes = []
    for a in (rows, cols):
        a["p"] = min(a["p"], a["k"] // 2)  # at most half the kernel, as torch
        smallest = _span(a)  # smaller, a dilated window could hold padding only (-inf)
        sizes.append(draw(st.integers(smallest, smallest + 2)))
    shape = (draw(st.integers(1, 2)), draw(st.integers(1, 2)), *sizes)
    params: dict[str, Any] = {
        "kernel_size": (rows["k"], cols["k"]),
        "stride": (rows["s"], cols["s"]),
        "padding": (rows["p"], cols["p"]),
    }
    if dilation:
        params["dilation"] = (rows["d"], cols["d"])
    return Case((draw(domain.data(shape)),), params)


@st.composite
def _conv1d(draw: st.DrawFn) -> Case:
    groups = draw(st.integers(1, 2))
    c, o = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    a = draw(_window())
    length = draw(st.integers(max(1, _span(a) - 2 * a["p"]), max(1, _span(a) - 2 * a["p"]) + 2))
    args = [
        draw(ANY.data((draw(st.integers(1, 2)), c, length))),
        draw(ANY.data((o, c // groups, a["k"]))),
    ]
    params = {"stride": a["s"], "padding": a["p"], "dilation": a["d"], "groups": groups}
    return Case(tuple(args), params)


@st.composite
def _pooling1d(draw: st.DrawFn, domain: Domain, dilation: bool) -> Case:
    case = draw(_pooling(domain, dilation))
    x = case.args[0][:, :, 0, :]  # one row of the drawn images
    return Case((np.ascontiguousarray(x),), {k: v[1] for k, v in case.params.items()})


@st.composite
def _adaptive(draw: st.DrawFn, divides: bool) -> Case:
    batch, channels = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    shape = (batch, channels, draw(st.integers(2, 6)), draw(st.integers(1, 6)))
    if divides:
        size = tuple(
            draw(st.sampled_from([m for m in range(1, n + 1) if n % m == 0])) for n in shape[2:]
        )
        size = size if size != shape[2:] else (1, 1)
    else:
        size = tuple(draw(st.integers(1, 4)) for _ in shape[2:])
        if all(n % m == 0 for n, m in zip(shape[2:], size)):
            size = (size[0], shape[3] + 1)  # an output wider than the input: windows overlap
    return Case((draw(ANY.data(shape)),), {"output_size": size})


@st.composite
def _pad(draw: st.DrawFn) -> Case:
    shape = draw(tst.shapes(min_dims=1))
    axes = draw(st.integers(1, len(shape)))
    widths = tuple(draw(st.integers(0, 2)) for _ in range(2 * axes))
    if not any(widths):
        widths = (1,) + widths[1:]
    return Case(
        (draw(ANY.data(shape)),), {"pad": widths, "value": draw(st.sampled_from([0.0, -1.5]))}
    )


def _conv_fn(name: str) -> Callable[..., Value]:
    f = getattr(F, name)
    return lambda x, w, *b, **params: f(x, w, b[0] if b else None, **params)


def _torch_conv(name: str) -> Callable[..., Any]:
    def conv(T: Any, x: Any, w: Any, *b: Any, **params: Any) -> Any:
        with warnings.catch_warnings():  # "same" with an even kernel: torch pads a copy, says so
            warnings.simplefilter("ignore", UserWarning)
            return getattr(T.nn.functional, name)(x, w, b[0] if b else None, **params)

    return conv


SPECS += [
    OpSpec("conv2d", ("conv2d",), _conv_fn("conv2d"), _conv2d(), _torch_conv("conv2d")),
    OpSpec(
        "conv_transpose2d",
        ("conv_transpose2d",),
        _conv_fn("conv_transpose2d"),
        _conv_transpose2d(),
        _torch_conv("conv_transpose2d"),
    ),
    OpSpec(
        "conv2d_weight",
        ("conv2d_weight",),
        lambda x, g, conv: x.conv2d_weight(g, conv),
        _conv2d_weight(),
        _torch_conv2d_weight,
    ),
    OpSpec("conv1d", ("reshape", "conv2d"), _conv_fn("conv1d"), _conv1d(), _torch_conv("conv1d")),
    OpSpec(
        "max_pool2d",
        ("max_pool2d",),
        lambda x, **params: F.max_pool2d(x, **params),
        _pooling(POOLED, dilation=True),
        lambda T, x, **params: T.nn.functional.max_pool2d(x, **params),
    ),
    OpSpec(
        "avg_pool2d",
        ("avg_pool2d",),
        lambda x, **params: F.avg_pool2d(x, **params),
        _pooling(ANY, dilation=False),
        lambda T, x, **params: T.nn.functional.avg_pool2d(x, **params),
    ),
    OpSpec(
        "max_pool1d",
        ("reshape", "max_pool2d"),
        lambda x, **params: F.max_pool1d(x, **params),
        _pooling1d(POOLED, dilation=True),
        lambda T, x, **params: T.nn.functional.max_pool1d(x, **params),
    ),
    OpSpec(
        "avg_pool1d",
        ("reshape", "avg_pool2d"),
        lambda x, **params: F.avg_pool1d(x, **params),
        _pooling1d(ANY, dilation=False),
        lambda T, x, **params: T.nn.functional.avg_pool1d(x, **params),
    ),
    OpSpec(
        "adaptive_avg_pool2d_divides",
        ("avg_pool2d",),
        lambda x, output_size: F.adaptive_avg_pool2d(x, output_size),
        _adaptive(divides=True),
        lambda T, x, output_size: T.nn.functional.adaptive_avg_pool2d(x, output_size),
    ),
    OpSpec(
        "adaptive_avg_pool2d",
        ("matmul",),
        lambda x, output_size: F.adaptive_avg_pool2d(x, output_size),
        _adaptive(divides=False),
        lambda T, x, output_size: T.nn.functional.adaptive_avg_pool2d(x, output_size),
    ),
    OpSpec(
        "pad",
        ("pad",),
        lambda x, pad, value: F.pad(x, pad, value=value),
        _pad(),
        lambda T, x, pad, value: T.nn.functional.pad(x, pad, value=value),
    ),
]
