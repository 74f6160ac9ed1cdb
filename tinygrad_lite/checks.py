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
import os
from typing import Any

import numpy as np

from .core import ArgumentError, DTypeError, TinygradLiteError, Value
from .core.shapes import as_data


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
        shown = repr(value) if len(repr(value)) < 40 else f"a {type(value).__name__}"
        raise error(f"{owner}: {name}={shown} must be a whole number >= {low}{kind}")
    return number


_LARGEST = int(np.finfo(np.float64).max)  # a larger integer has no float


def flag(owner: str, name: str, value: Any, error: type[TinygradLiteError] = ArgumentError) -> bool:
    """``value`` as a ``bool``: True, False, or the integers 1 and 0 (NumPy's too)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    shown = repr(value) if len(repr(value)) < 40 else f"a {type(value).__name__}"
    raise error(f"{owner}: {name}={shown} must be True or False")


def room(
    owner: str,
    shape: tuple[int, ...],
    itemsize: int,
    error: type[TinygradLiteError] = ArgumentError,
) -> None:
    """Refuse, before allocating it, an array larger than this machine's memory: NumPy would
    raise a MemoryError, or the system would stop the process while it fills the pages."""
    # Python ints: exact, however large; an empty axis still cannot make the others huge
    size = math.prod(max(n, 1) for n in shape) * itemsize
    if size > memory_bytes():
        gib = float(min(size, 10**300)) / 2**30  # a float even for sizes beyond float64
        shown = shape if len(repr(shape)) < 60 else f"{repr(shape)[:57]}..."
        raise error(
            f"{owner}: an array of shape {shown} needs up to {gib:.3g} GiB, more than "
            f"this machine's {memory_bytes() / 2**30:.3g} GiB of memory; use smaller sizes"
        )


def memory_bytes() -> int:
    """The machine's physical memory in bytes (1 TiB where the system does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 2**40


def constant(owner: str, x: Any) -> Value:
    """``x`` itself if it is a Value, else a constant Value of it (``requires_grad=False``);
    data that cannot be a Value raises a DTypeError that names ``owner``."""
    if isinstance(x, Value):
        return x
    try:
        return Value(as_data(x, owner), requires_grad=False)
    except OverflowError:  # an integer beyond float64: NumPy cannot convert it
        raise DTypeError(f"{owner}: {_shown(x)} holds a number too large for a float64") from None


def _shown(x: Any) -> str:
    text = repr(x)
    return text if len(text) < 60 else f"{text[:57]}..."


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
        number = float(value) if abs(value) <= _LARGEST else math.inf
    if number is None or not math.isfinite(number) or number < low:
        bound = f" >= {low:g}" if low > -math.inf else ""
        shown = repr(value) if len(repr(value)) < 40 else f"a {type(value).__name__}"
        raise error(f"{owner}: {name}={shown} must be a finite number{bound}")
    return number
