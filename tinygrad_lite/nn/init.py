"""Weight initialisers: fill a Value's data in place with the right random numbers.

Each function takes the Value, changes its ``data`` in place (keeping its dtype; a scalar
Value stays a Python float), and returns it. Random ones draw from ``generator``, by default
``tl.rng()``, so ``tl.manual_seed`` makes them reproducible.

Fans follow the layout of ``Linear``'s weight, ``(in_features, out_features)``: for a 2-D
weight ``fan_in = shape[0]`` and ``fan_out = shape[1]`` (PyTorch stores the transpose, so the
same numbers come out of its ``shape[1]`` and ``shape[0]``). Extra trailing axes count as a
receptive field that multiplies both.

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite.nn import init
>>> w = tl.Value(np.empty((100, 50), dtype=np.float32))
>>> _ = init.xavier_uniform_(w, generator=np.random.default_rng(0))
>>> bool(np.abs(w.data).max() <= np.sqrt(6 / (100 + 50))), w.dtype
(True, dtype('float32'))

References: Glorot & Bengio, "Understanding the difficulty of training deep feedforward
neural networks" (2010); He et al., "Delving Deep into Rectifiers" (2015).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import ArgumentError, ShapeError, Value, rng
from .module import copy_

Sampler = Callable[[np.random.Generator, tuple[int, ...]], Any]

_GAINS: dict[str, Callable[[float], float]] = {
    "linear": lambda _: 1.0,
    "identity": lambda _: 1.0,
    "sigmoid": lambda _: 1.0,
    "tanh": lambda _: 5.0 / 3.0,
    "relu": lambda _: math.sqrt(2.0),
    "leaky_relu": lambda slope: math.sqrt(2.0 / (1.0 + slope**2)),
    "selu": lambda _: 0.75,
}


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The factor that keeps activations' variance steady through ``nonlinearity``.

    Same values as PyTorch: 1 for linear and sigmoid, 5/3 for tanh, sqrt(2) for relu,
    sqrt(2 / (1 + slope^2)) for leaky_relu (``param`` is the slope, default 0.01).

    >>> round(calculate_gain("relu"), 4)
    1.4142
    """
    if nonlinearity not in _GAINS:
        raise ArgumentError(
            f"calculate_gain: unknown nonlinearity {nonlinearity!r}; choose one of {sorted(_GAINS)}"
        )
    return _GAINS[nonlinearity](0.01 if param is None else float(param))


def fan_in_and_out(shape: tuple[int, ...], op: str = "fan_in_and_out") -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of ``shape`` laid out as ``(in, out, *receptive)``."""
    if len(shape) < 2:
        raise ShapeError(
            f"{op}: needs a weight with at least 2 dimensions (in, out); got shape {shape}. "
            "Use uniform_ or normal_ for a bias or a scalar"
        )
    receptive = math.prod(shape[2:])
    return shape[0] * receptive, shape[1] * receptive


# ---------------------------------------------------------------- constants


def constant_(value: Value, val: float) -> Value:
    """Fill with ``val``."""
    return copy_(_checked(value, "constant_"), val)


def zeros_(value: Value) -> Value:
    """Fill with 0."""
    return constant_(value, 0.0)


def ones_(value: Value) -> Value:
    """Fill with 1."""
    return constant_(value, 1.0)


# ---------------------------------------------------------------- random


def uniform_(
    value: Value, a: float = 0.0, b: float = 1.0, generator: np.random.Generator | None = None
) -> Value:
    """Fill with draws from U(a, b)."""
    if not a <= b:
        raise ArgumentError(f"uniform_: the lower bound a={a} is above the upper bound b={b}")
    return _fill(value, lambda gen, shape: gen.uniform(a, b, size=shape), generator)


def normal_(
    value: Value, mean: float = 0.0, std: float = 1.0, generator: np.random.Generator | None = None
) -> Value:
    """Fill with draws from N(mean, std^2)."""
    if not std >= 0:
        raise ArgumentError(f"normal_: std={std} must be >= 0")
    return _fill(value, lambda gen, shape: gen.normal(mean, std, size=shape), generator)


def xavier_uniform_(
    value: Value, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Value:
    """Glorot uniform: U(-b, b) with b = gain * sqrt(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(value, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(value, -bound, bound, generator)


def xavier_normal_(
    value: Value, gain: float = 1.0, generator: np.random.Generator | None = None
) -> Value:
    """Glorot normal: N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _fans(value, "xavier_normal_")
    return normal_(value, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(
    value: Value,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Value:
    """He uniform: U(-b, b) with b = gain * sqrt(3 / fan), gain from ``nonlinearity``.

    ``a`` is the leaky_relu slope; ``a=sqrt(5)`` gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
    PyTorch's default for ``Linear`` weights.
    """
    std = _kaiming_std(value, a, mode, nonlinearity, "kaiming_uniform_")
    bound = math.sqrt(3.0) * std
    return uniform_(value, -bound, bound, generator)


def kaiming_normal_(
    value: Value,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: np.random.Generator | None = None,
) -> Value:
    """He normal: N(0, std^2) with std = gain / sqrt(fan), gain from ``nonlinearity``."""
    std = _kaiming_std(value, a, mode, nonlinearity, "kaiming_normal_")
    return normal_(value, 0.0, std, generator)


he_uniform_ = kaiming_uniform_
he_normal_ = kaiming_normal_


def _kaiming_std(value: Value, a: float, mode: str, nonlinearity: str, op: str) -> float:
    if mode not in ("fan_in", "fan_out"):
        raise ArgumentError(f"{op}: mode={mode!r}; choose 'fan_in' or 'fan_out'")
    fan_in, fan_out = _fans(value, op)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def _fans(value: Value, op: str) -> tuple[int, int]:
    return fan_in_and_out(_checked(value, op).shape, op)


def _checked(value: Value, op: str) -> Value:
    if not isinstance(value, Value):
        raise ArgumentError(f"{op}: expected a Value to fill in place, got {type(value).__name__}")
    return value


def _fill(value: Value, sample: Sampler, generator: np.random.Generator | None) -> Value:
    _checked(value, "init")  # before drawing, so a mistake costs no random numbers
    gen = rng() if generator is None else generator
    return copy_(value, sample(gen, value.shape))
