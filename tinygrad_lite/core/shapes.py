"""The data policy and the one place where broadcasting is undone.

A Value's ``data`` is either a Python ``float`` (a scalar: fast, prints as ``6.0``) or a NumPy
``ndarray``. Float arrays keep their dtype (float32 in, float32 gradients out); ints, bools and
lists become float64.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import ArgumentError, DTypeError, ShapeError

ndarray = np.ndarray
Data = Any  # float | np.ndarray; Any keeps NumPy's operator typing out of the way


def as_data(x: Any, op: str = "Value") -> Data:
    """Convert user input to Value data: a Python float or a float ndarray."""
    t = type(x)
    if t is float or (t is ndarray and x.dtype.kind == "f"):
        return x
    if t is int or t is bool or isinstance(x, float):  # np.float64 is a float subclass
        return float(x) if t is not int else to_float(x, op)
    if isinstance(x, (int, np.integer, np.bool_)) and not isinstance(x, np.ndarray):
        return float(x)
    try:
        arr = np.asarray(x)
    except ValueError as e:  # ragged lists
        raise DTypeError(f"{op}: cannot make an array of {_short(x)}: {e}") from None
    kind = arr.dtype.kind
    if kind == "f":
        return arr
    if kind in "biu":
        return arr.astype(np.float64)
    raise DTypeError(
        f"{op}: data {_short(x)} of type {type(x).__name__} (dtype {arr.dtype}) is not "
        "supported; "
        "pass numbers, a list of numbers or a real-valued NumPy array"
    )


def to_float(x: int, op: str) -> float:
    """A Python int as a float; one beyond float64's range is a named error."""
    try:
        return float(x)
    except OverflowError:
        raise ArgumentError(
            f"{op}: an int of about {int(x.bit_length() * 0.30103) + 1} digits is beyond "
            "float64's range (about 1.8e308); pass a smaller number, or math.inf for infinity"
        ) from None


def as_operand(x: Any, like: Data, op: str) -> Data:
    """Convert the non-Value side of a binary operation (a number or an array).

    Integer and bool arrays take the float dtype of the Value they meet, so that a float32
    Value times an int mask stays float32.
    """
    t = type(x)
    if t is float:
        return x
    if t is int or t is bool:
        return to_float(x, op)
    data = as_data(x, op)
    if type(data) is ndarray and type(like) is ndarray:
        kind = np.asarray(x).dtype.kind
        if kind in "biu" and data.dtype != like.dtype:
            data = data.astype(like.dtype)
    return data


CACHE_LINE = 64  # bytes


def empty_aligned(shape: int | tuple[int, ...], dtype: Any) -> ndarray:
    """An uninitialised array whose data starts on a cache-line boundary (64 bytes).

    For arrays written in place on every step: parameters and optimizer buffers. An array that
    starts mid-line makes every vector store straddle two lines, which can double the time of
    an in-place update.

    >>> a = empty_aligned((3, 5), np.float32)
    >>> a.shape, a.dtype, a.ctypes.data % CACHE_LINE
    ((3, 5), dtype('float32'), 0)
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + CACHE_LINE, dtype=np.uint8)
    start = -raw.ctypes.data % CACHE_LINE
    return raw[start : start + nbytes].view(dtype).reshape(shape)


def shape_of(data: Data) -> tuple[int, ...]:
    return () if type(data) is float or type(data) is int else data.shape  # int: see fit_grad


def unbroadcast(grad: Data, shape: tuple[int, ...]) -> ndarray:
    """Sum ``grad`` back to ``shape``: undo NumPy broadcasting. The only such function."""
    grad = np.asarray(grad)
    if grad.shape == shape:
        return grad
    if grad.ndim < len(shape):  # a gradient smaller than its input (a scalar seed): spread it
        return np.broadcast_to(grad, shape).copy()
    lead = grad.ndim - len(shape)
    axes = broadcast_axes(grad.shape, shape)
    out = grad.sum(axis=axes, keepdims=True) if axes else grad
    if lead:
        out = out.reshape(out.shape[lead:])
    if out.shape != shape:
        raise ShapeError(f"unbroadcast: gradient of shape {grad.shape} does not reduce to {shape}")
    return out


def broadcast_axes(grad_shape: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes ``unbroadcast`` sums (keeping them) to bring ``grad_shape`` down to ``shape``:
    the leading ones ``shape`` lacks, and those where ``shape`` has 1 and ``grad_shape`` not."""
    lead = len(grad_shape) - len(shape)
    return tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad_shape[lead + i] != 1
    )


def fit_grad(grad: Data, like: Data) -> Data:
    """Make a raw gradient match its input: same shape (unbroadcast), dtype, and float-ness."""
    if type(like) is float or type(like) is int:  # int: a user assigned v.data = 0
        return grad if type(grad) is float else float(np.sum(grad))
    if type(grad) is not ndarray or grad.shape != like.shape:
        grad = unbroadcast(grad, like.shape)
    if grad.dtype != like.dtype:
        grad = grad.astype(like.dtype)
    return grad


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."
