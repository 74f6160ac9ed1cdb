"""Checks of user arguments shared by the layers above the core (training, data, optim).

Each check returns the argument in the form the caller uses (an ``int``, a ``float``) or
raises the caller's named error, whose message names the function, the argument, the value
it got and what to give instead. A whole number may be an ``int``, a NumPy integer or a float
with no fraction (``5.0``); ``True``/``False``, text, NaN and infinity are refused, so
``fit(batch_size="4")`` or ``epochs=float("nan")`` never reach NumPy or ``range``.

>>> whole_number("fit", "epochs", 3.0)
3
>>> whole_number("fit", "epochs", "3")
Traceback (most recent call last):
...
tinygrad_lite.core.errors.ArgumentError: fit: epochs='3' must be a whole number >= 1 (got a str)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .core import ArgumentError, TinygradLiteError


def whole_number(
    owner: str,
    name: str,
    value: Any,
    low: int = 1,
    error: type[TinygradLiteError] = ArgumentError,
) -> int:
    """``value`` as an ``int`` >= ``low``, or ``error`` naming ``owner`` and ``name``."""
    number: int | None = None
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        number = int(value)
    elif isinstance(value, (float, np.floating)) and math.isfinite(value) and value == int(value):
        number = int(value)
    if number is None or number < low:
        kind = "" if number is not None else f" (got a {type(value).__name__})"
        raise error(f"{owner}: {name}={value!r} must be a whole number >= {low}{kind}")
    return number


def real_number(
    owner: str,
    name: str,
    value: Any,
    low: float = -math.inf,
    error: type[TinygradLiteError] = ArgumentError,
) -> float:
    """``value`` as a finite ``float`` >= ``low``, or ``error`` naming ``owner`` and ``name``."""
    number: float | None = None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    ):
        number = float(value)
    if number is None or not math.isfinite(number) or number < low:
        bound = f" >= {low:g}" if low > -math.inf else ""
        raise error(f"{owner}: {name}={value!r} must be a finite number{bound}")
    return number
