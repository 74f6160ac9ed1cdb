"""Matrix products. ``matmul`` is NumPy's ``@``: batched over leading axes, which broadcast."""

from __future__ import annotations

from typing import Any

import numpy as np

from .modes import swap_last
from .row import Op


def _matmul_backward(need: tuple[bool, bool], g: Any, out: Any, a: Any, b: Any) -> Any:
    # (..., n, k) @ (..., k, m): da = g @ b^T, db = a^T @ g; batch axes summed by the engine
    return (g @ swap_last(b) if need[0] else None, swap_last(a) @ g if need[1] else None)


def _matmul_into(need: tuple[bool, bool], out: Any, a: Any, b: Any) -> Any:
    return np.matmul(a, b, out=out)


def _matmul_grads_into(need: tuple[bool, bool], g: Any, out: Any, bufs: Any, a: Any, b: Any) -> Any:
    if a.ndim != 2 or b.ndim != 2:  # batched: the products may have broadcast shapes
        return _matmul_backward(need, g, out, a, b)
    ga = np.matmul(g, b.T, out=bufs[0]) if need[0] else None
    gb = np.matmul(a.T, g, out=bufs[1]) if need[1] else None
    return ga, gb


ROWS = [
    Op(
        "matmul",
        lambda s, a, b: a @ b,
        _matmul_backward,
        ("@ {1}\u1d40", "{0}\u1d40 @"),
        partial=True,
        into=_matmul_into,
        grads_into=_matmul_grads_into,
    ),
]
