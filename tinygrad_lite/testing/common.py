"""What gradcheck and explain share: private float64 copies of the inputs, and calling the
function under test."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core import DTypeError, Value
from ..core.shapes import as_data

Fn = Callable[..., Value]


def float64_copies(inputs: Sequence[Any], who: str) -> list[Value]:
    """Private float64 Values for ``inputs``: perturbing them never touches the originals."""
    if isinstance(inputs, Value):
        inputs = [inputs]
    if not isinstance(inputs, (list, tuple)):
        raise DTypeError(
            f"{who}: inputs must be a list of Values, numbers or arrays, got "
            f"{type(inputs).__name__}; wrap a single input in a list: [x]"
        )
    copies = []
    for x in inputs:
        if isinstance(x, Value):
            data, requires_grad, name = x.data, x.requires_grad, x.name
        else:
            data, requires_grad, name = as_data(x, who), True, None
        data = data if type(data) is float else np.array(data, dtype=np.float64)
        copies.append(Value(data, requires_grad=requires_grad, name=name))
    return copies


def call(fn: Fn, args: Sequence[Value], who: str) -> Value:
    if not callable(fn):
        raise DTypeError(
            f"{who}: fn is a {type(fn).__name__}, not a function; pass the function to check, "
            "e.g. lambda x: (x * x).sum()"
        )
    out = fn(*args)
    if not isinstance(out, Value):
        raise DTypeError(
            f"{who}: fn must return a Value, but it returned {type(out).__name__}; compute the "
            "result with Value operations (a NumPy or float result has no gradient to check)"
        )
    return out
