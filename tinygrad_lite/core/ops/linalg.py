"""Matrix products. ``matmul`` is NumPy's ``@``: batched over leading axes, which broadcast."""

from __future__ import annotations

from typing import Any

from .modes import swap_last
from .row import Op


def _matmul_backward(need: tuple[bool, bool], g: Any, out: Any, a: Any, b: Any) -> Any:
    # (..., n, k) @ (..., k, m): da = g @ b^T, db = a^T @ g; batch axes summed by the engine
    return (g @ swap_last(b) if need[0] else None, swap_last(a) @ g if need[1] else None)


ROWS = [
    Op(
        "matmul",
        lambda s, a, b: a @ b,
        _matmul_backward,
        ("@ {1}\u1d40", "{0}\u1d40 @"),
        partial=True,
    ),
]
