"""Grad mode (``no_grad`` / ``enable_grad``), anomaly mode (``detect_anomaly``) and the
seeded random generator.

They live in ``contextvars.ContextVar`` s, so threads and async tasks each see their own
setting and nothing global is patched.
"""

from __future__ import annotations

import functools
import os
import sys
import weakref
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

import numpy as np

from .errors import ArgumentError

# True or False; under detect_anomaly, with grad mode on, the Origins that records where each
# node is made (truthy): the engine reads one variable per node, whichever mode is on
_grad_enabled: ContextVar[Any] = ContextVar("tinygrad_lite_grad_enabled", default=True)
_rng: ContextVar[np.random.Generator] = ContextVar("tinygrad_lite_rng")
_anomaly: ContextVar[Origins | None] = ContextVar("tinygrad_lite_anomaly", default=None)

F = TypeVar("F", bound=Callable[..., Any])

grad_state = _grad_enabled.get  # for the engine: falsy, True, or the Origins to note nodes in


def is_grad_enabled() -> bool:
    """Whether operations record the graph here (False inside ``no_grad``)."""
    return bool(_grad_enabled.get())


class _GradMode:
    """Context manager and decorator that sets grad mode for a block or a function."""

    _enabled: bool

    def __init__(self) -> None:
        self._tokens: list[Any] = []

    def __enter__(self) -> None:
        self._tokens.append(self._set())

    def __exit__(self, *exc: object) -> None:
        token = self._tokens.pop()
        token.var.reset(token)

    def _set(self) -> Any:
        # enable_grad inside detect_anomaly keeps recording where nodes are made
        return _grad_enabled.set((_anomaly.get() or True) if self._enabled else False)

    def __call__(self, fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """Record no graph inside the block: results need no gradient and keep no parents.

    >>> import tinygrad_lite as tl
    >>> w = tl.Value(2.0)
    >>> with tl.no_grad():
    ...     y = w * 3
    >>> y.requires_grad
    False
    """

    _enabled = False


class enable_grad(_GradMode):
    """Record the graph again inside a ``no_grad`` block."""

    _enabled = True


class detect_anomaly(_GradMode):
    """Inside the block, backward stops at the first gradient that is NaN or infinite.

    It raises ``AnomalyError`` naming the operation whose backward rule made it, the Value
    (its name, or its operation) and the line of your code that computed that Value in the
    forward pass. Each node records that line as it is made, which costs time: use it to
    find a NaN, not for training.

    >>> import tinygrad_lite as tl
    >>> x = tl.Value(0.0, name="x")
    >>> with tl.detect_anomaly():
    ...     y = x.sqrt() * 0.0
    ...     y.backward()
    Traceback (most recent call last):
    ...
    tinygrad_lite.core.errors.AnomalyError: backward: the gradient that sqrt sends to x is nan ...
    """

    def _set(self) -> Any:
        origins = Origins()
        token = _anomaly.set(origins)
        self._grad_tokens.append(_grad_enabled.set(origins if _grad_enabled.get() else False))
        return token

    def __init__(self) -> None:
        super().__init__()
        self._grad_tokens: list[Any] = []

    def __exit__(self, *exc: object) -> None:
        token = self._grad_tokens.pop()
        token.var.reset(token)
        super().__exit__(*exc)


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class Origins:
    """Where each node of the graph was made, while ``detect_anomaly`` is on: the first frame
    outside tinygrad_lite (your line of code)."""

    def __init__(self) -> None:
        # by id, not by the node: == on Values compares their data; a finalizer drops the
        # entry when the node goes, so an id is never read for another node
        self._where: dict[int, tuple[str, int]] = {}

    def note(self, node: Any) -> None:
        frame = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
            frame = frame.f_back  # type: ignore[assignment]
        if frame is not None:
            self._where[id(node)] = (frame.f_code.co_filename, frame.f_lineno)
            weakref.finalize(node, self._where.pop, id(node), None)

    def get(self, node: Any) -> tuple[str, int] | None:
        """(file, line) of the user's code that made ``node``, if it was made in the block."""
        return self._where.get(id(node))


anomaly_origins = _anomaly.get  # the Origins of the innermost detect_anomaly, or None


class _Seeded:
    """The generator of the latest ``manual_seed``: where a thread started afterwards draws
    from until it seeds its own (a new thread starts with an empty context)."""

    generator: np.random.Generator | None = None


_seeded = _Seeded()


def manual_seed(seed: int) -> np.random.Generator:
    """Seed every random initialiser, dropout mask and shuffler of tinygrad_lite; returns the
    generator.

    One call at the top of a script makes it reproducible: the generator is this thread's (and
    this async task's), and also the one any thread started later draws from until it calls
    ``manual_seed`` itself. Threads that draw at the same time share it, so their draws
    interleave in whatever order they run: seed each thread for per-thread reproducibility.

    >>> import tinygrad_lite as tl
    >>> a = tl.manual_seed(0).random()
    >>> a == tl.manual_seed(0).random()
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ArgumentError(f"manual_seed: seed={seed!r} must be a whole number >= 0")
    gen = np.random.default_rng(int(seed))
    _rng.set(gen)
    _seeded.generator = gen
    return gen


def rng() -> np.random.Generator:
    """The generator that initialisers, dropout and shufflers draw from."""
    try:
        return _rng.get()
    except LookupError:
        gen = _seeded.generator or np.random.default_rng()
        _rng.set(gen)
        return gen
