"""Hypothesis strategies for property-testing ops: floats, dtypes, shapes, arrays, Values, axes.

These are the pieces tinygrad_lite's own op tests are built from; use them to property-test
your own ops. hypothesis is optional: this module is the only one that needs it.

>>> from hypothesis import given, settings
>>> from tinygrad_lite.testing import gradcheck
>>> from tinygrad_lite.testing import strategies as tst
>>> @settings(max_examples=5, deadline=None)
... @given(tst.values(min_value=-2.0, max_value=2.0))
... def test_tanh(x):
...     assert gradcheck(lambda v: v.tanh(), [x])
>>> test_tanh()

Shapes are kept small on purpose (sides up to 3, up to 3 dimensions by default): a gradient
check perturbs every element twice, and small shapes find the same bugs as large ones.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

try:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp
except ImportError as e:  # pragma: no cover - exercised in a subprocess by the tests
    raise ImportError(
        "tinygrad_lite.testing.strategies needs hypothesis, an optional dependency: "
        "pip install hypothesis"
    ) from e

from ..core import Value
from .errors import StrategyError

Shape = tuple[int, ...]
ShapeLike = Union[Shape, "st.SearchStrategy[Shape]", None]
DTypeLike = Union[type, np.dtype, "st.SearchStrategy[np.dtype]", None]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
MAX_SIDE = 3
MAX_DIMS = 3

__all__ = [
    "FLOAT_DTYPES",
    "StrategyError",
    "arrays",
    "axes",
    "broadcastable_shapes",
    "dtypes",
    "finite_floats",
    "indices",
    "masks",
    "matmul_shapes",
    "permutations",
    "reshape_shapes",
    "shapes",
    "shapes_broadcasting_to",
    "values",
]


# ---------------------------------------------------------------- numbers and dtypes


def finite_floats(
    min_value: float = -3.0,
    max_value: float = 3.0,
    *,
    away_from: Sequence[float] = (),
    margin: float = 0.05,
) -> st.SearchStrategy[float]:
    """Finite Python floats in ``[min_value, max_value]``, at least ``margin`` from each point
    of ``away_from`` (keep relu/abs inputs off 0, clip inputs off its bounds).

    >>> from hypothesis import find
    >>> find(finite_floats(1.0, 2.0), lambda x: True)
    1.0
    """
    if not min_value <= max_value:
        raise StrategyError(
            f"finite_floats: min_value={min_value} is larger than max_value={max_value}; swap them"
        )
    numbers = st.floats(min_value, max_value, allow_nan=False, allow_infinity=False)
    if not away_from:
        return numbers
    points = tuple(float(p) for p in away_from)
    return numbers.filter(lambda x: all(abs(x - p) >= margin for p in points))


def dtypes() -> st.SearchStrategy[np.dtype]:
    """float32 or float64: the two dtypes Values keep."""
    return st.sampled_from(FLOAT_DTYPES)


# ---------------------------------------------------------------- shapes


def shapes(
    *, min_dims: int = 0, max_dims: int = MAX_DIMS, min_side: int = 1, max_side: int = MAX_SIDE
) -> st.SearchStrategy[Shape]:
    """Array shapes; ``()`` (a scalar) only when ``min_dims=0``."""
    return hnp.array_shapes(
        min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side
    )


def broadcastable_shapes(
    num_shapes: int = 2,
    *,
    min_dims: int = 0,
    max_dims: int = MAX_DIMS,
    min_side: int = 1,
    max_side: int = MAX_SIDE,
) -> st.SearchStrategy[tuple[Shape, ...]]:
    """``num_shapes`` shapes that broadcast together (``np.broadcast_shapes`` accepts them)."""
    return hnp.mutually_broadcastable_shapes(
        num_shapes=num_shapes,
        min_dims=min_dims,
        max_dims=max_dims,
        min_side=min_side,
        max_side=max_side,
    ).map(lambda b: tuple(b.input_shapes))


@st.composite
def shapes_broadcasting_to(draw: st.DrawFn, shape: Shape) -> Shape:
    """Shapes that ``np.broadcast_to(x, shape)`` accepts: a suffix of ``shape``, some sides 1."""
    keep = draw(st.integers(0, len(shape)))
    suffix = shape[len(shape) - keep :]
    return tuple(1 if draw(st.booleans()) else n for n in suffix)


def matmul_shapes(
    *, max_batch_dims: int = 2, max_side: int = MAX_SIDE
) -> st.SearchStrategy[tuple[Shape, Shape]]:
    """Shape pairs ``np.matmul`` accepts: 1-D, 2-D, batched, and broadcast batch dimensions."""
    return hnp.mutually_broadcastable_shapes(
        signature=np.matmul.signature,  # "(n?,k),(k,m?)->(n?,m?)"
        max_dims=max_batch_dims,
        max_side=max_side,
    ).map(lambda b: (tuple(b.input_shapes[0]), tuple(b.input_shapes[1])))


@st.composite
def reshape_shapes(draw: st.DrawFn, shape: Shape) -> Shape:
    """A different shape with as many elements: sides shuffled, 1s inserted, maybe one -1."""
    sides: list[int] = list(draw(st.permutations(shape))) if shape else []
    for _ in range(draw(st.integers(0, 2))):
        sides.insert(draw(st.integers(0, len(sides))), 1)
    use_minus_one: bool = draw(st.booleans())
    if sides and use_minus_one:
        sides[draw(st.integers(0, len(sides) - 1))] = -1
    if np.empty(shape).reshape(sides).shape == shape:
        sides.insert(0, 1)  # still the same shape: one more axis makes it differ
    return tuple(sides)


# ---------------------------------------------------------------- axes and indices


def axes(
    ndim: int, *, negative: bool = True, tuples: bool = False, none: bool = False
) -> st.SearchStrategy[Any]:
    """An axis of an ``ndim``-d array (negative ones too), optionally a tuple of distinct axes
    or None (every axis)."""
    if ndim < 1:
        raise StrategyError(f"axes: ndim={ndim} has no axes; draw shapes with min_dims=1")
    options: list[st.SearchStrategy[Any]] = [st.integers(-ndim if negative else 0, ndim - 1)]
    if tuples:
        options.append(_axis_tuples(ndim, negative))
    if none:
        options.append(st.none())
    return st.one_of(options)


@st.composite
def _axis_tuples(draw: st.DrawFn, ndim: int, negative: bool) -> tuple[int, ...]:
    chosen = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(a - ndim if negative and draw(st.booleans()) else a for a in chosen)


@st.composite
def permutations(draw: st.DrawFn, ndim: int, *, negative: bool = True) -> tuple[int, ...]:
    """Axes for ``transpose``: a permutation of ``range(ndim)``, some written negatively."""
    order = draw(st.permutations(range(ndim)))
    if not negative:
        return tuple(order)
    return tuple(a - ndim if draw(st.booleans()) else a for a in order)


@st.composite
def indices(draw: st.DrawFn, shape: Shape) -> Any:
    """An index into an array of ``shape`` (ndim >= 1): an int, basic slices (negative steps
    too), an integer array with repeated entries, or a boolean mask."""
    if not shape:
        raise StrategyError("indices: shape () cannot be indexed; draw shapes with min_dims=1")
    kind = draw(st.sampled_from(["int", "basic", "integer array", "mask"]))
    if kind == "int":
        return draw(st.integers(-shape[0], shape[0] - 1))
    if kind == "basic":
        return draw(hnp.basic_indices(shape, allow_ellipsis=True))
    if kind == "mask":
        return draw(masks(shape[: draw(st.integers(1, len(shape)))]))
    axis = draw(st.integers(0, len(shape) - 1))
    n = shape[axis]
    picks = draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=2 * n))
    picks.append(picks[0])  # at least one repeat: gradients of repeated indices add up
    return (slice(None),) * axis + (np.array(picks, dtype=np.intp),)


# ---------------------------------------------------------------- arrays and Values


def masks(shape: Shape) -> st.SearchStrategy[np.ndarray]:
    """Boolean arrays of ``shape`` (a 0-d array for ``()``): conditions and boolean indices."""
    return hnp.arrays(np.bool_, shape)


@st.composite
def arrays(
    draw: st.DrawFn,
    shape: ShapeLike = None,
    dtype: DTypeLike = None,
    *,
    min_value: float = -3.0,
    max_value: float = 3.0,
    away_from: Sequence[float] = (),
    margin: float = 0.05,
    min_gap: float | None = None,
) -> np.ndarray:
    """Float arrays of ``shape`` and ``dtype`` (given, or drawn: any shape, float32/float64).

    ``min_gap`` makes the elements distinct multiples of ``min_gap`` (no ties and no near ties:
    what max/min need so that a finite difference never crosses one).
    """
    shp = _draw_shape(draw, shape)
    dt = _draw_dtype(draw, dtype)
    if min_gap is not None:
        flat = draw(_spaced(math.prod(shp), min_value, max_value, away_from, margin, min_gap))
        return np.array(flat, dtype=np.float64).reshape(shp).astype(dt)
    elements = finite_floats(min_value, max_value, away_from=away_from, margin=margin)
    data = draw(hnp.arrays(np.float64, shp, elements=elements, fill=st.nothing()))
    return data.astype(dt)


def _spaced(
    size: int, low: float, high: float, away_from: Sequence[float], margin: float, gap: float
) -> st.SearchStrategy[list[float]]:
    grid = [low + k * gap for k in range(int((high - low) / gap) + 1)]
    grid = [g for g in grid if all(abs(g - p) >= margin for p in away_from)]
    if len(grid) < size:
        raise StrategyError(
            f"arrays: {size} elements cannot be min_gap={gap} apart in [{low}, {high}]; "
            "widen the range or shrink min_gap"
        )
    return st.lists(st.sampled_from(grid), min_size=size, max_size=size, unique=True)


@st.composite
def values(
    draw: st.DrawFn,
    shape: ShapeLike = None,
    dtype: DTypeLike = None,
    *,
    requires_grad: bool | st.SearchStrategy[bool] = True,
    min_value: float = -3.0,
    max_value: float = 3.0,
    away_from: Sequence[float] = (),
    margin: float = 0.05,
    min_gap: float | None = None,
) -> Value:
    """Values: a scalar (a Python float, when the shape is ``()``) or an array.

    ``shape=None`` draws a scalar or an array shape. A scalar is always float64 (a Python
    float); ``dtype`` applies to arrays. ``requires_grad`` may be a strategy of booleans.
    """
    shp = _draw_shape(draw, shapes() if shape is None else shape)
    needs = requires_grad if isinstance(requires_grad, bool) else draw(requires_grad)
    if shp == ():
        number = draw(finite_floats(min_value, max_value, away_from=away_from, margin=margin))
        return Value(number, requires_grad=needs)
    data = draw(
        arrays(
            shp,
            dtype,
            min_value=min_value,
            max_value=max_value,
            away_from=away_from,
            margin=margin,
            min_gap=min_gap,
        )
    )
    return Value(data, requires_grad=needs)


def _draw_shape(draw: st.DrawFn, shape: ShapeLike) -> Shape:
    if shape is None:
        return draw(shapes(min_dims=1))
    if isinstance(shape, st.SearchStrategy):
        return tuple(draw(shape))
    return tuple(shape)


def _draw_dtype(draw: st.DrawFn, dtype: DTypeLike) -> np.dtype:
    if dtype is None:
        return draw(dtypes())
    if isinstance(dtype, st.SearchStrategy):
        return np.dtype(draw(dtype))
    return np.dtype(dtype)
