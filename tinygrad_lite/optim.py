"""Optimizers, learning-rate schedules and gradient clipping.

An optimizer holds a list of parameters (Values) and, on ``step()``, moves each one against
its gradient. Updates are made on ``p.data`` in place and keep its kind: a scalar parameter
stays a Python float, a float32 array stays float32. A parameter whose ``grad`` is None (no
backward pass reached it), or that is frozen (``requires_grad`` False, as
``module.requires_grad_(False)`` makes it), is left alone. The update rules are PyTorch's, so
the same hyperparameters give the same trajectory.

>>> import tinygrad_lite as tl
>>> from tinygrad_lite import optim
>>> w = tl.Value(5.0)
>>> opt = optim.SGD([w], lr=0.1)
>>> for _ in range(3):
...     opt.zero_grad()
...     (w * w).backward()   # d(w^2)/dw = 2w: each step multiplies w by 1 - 0.1 * 2
...     opt.step()
>>> round(w.data, 6)
2.56

A schedule changes ``optimizer.lr`` each time its ``step()`` is called (once per epoch,
usually); ``clip_grad_norm_`` rescales the gradients before ``optimizer.step()``.

References: Kingma & Ba, "Adam" (2015); Loshchilov & Hutter, "Decoupled Weight Decay
Regularization" (2019, AdamW) and "SGDR" (2017, cosine annealing); Hinton's lecture 6e
(RMSprop); Sutskever et al. (2013, Nesterov momentum).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .checks import flag
from .core import ArgumentError, Value, note_call
from .core.shapes import empty_aligned

State = dict[str, Any]

__all__ = [
    "SGD",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "Optimizer",
    "RMSprop",
    "StepLR",
    "clip_grad_norm_",
]


class Optimizer:
    """Base class: holds ``params`` and ``lr``; subclasses define ``update``.

    ``state`` holds one dict per parameter (its momentum, its running averages...).
    """

    def __init__(self, params: Iterable[Value], lr: float) -> None:
        name = type(self).__name__
        self.params: list[Value] = _checked_params(params, name)
        self.lr = _in_range(name, "lr", lr, 0.0, math.inf)
        self.state: list[State] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``) before the next backward pass."""
        note_call(self.zero_grad)  # a traced step (tl.jit) calls it again on replay
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient and is not frozen."""
        note_call(self.step)  # a traced step (tl.jit) calls it again on replay
        for p, state in zip(self.params, self.state):
            if p.grad is not None and p.requires_grad:
                _descend(p, self.update(p.grad, p.data, state))

    def update(self, g: Any, w: Any, state: State) -> Any:
        """The amount to subtract from a parameter with data ``w`` and gradient ``g``."""
        raise NotImplementedError(f"{type(self).__name__}: define update(g, w, state)")

    def state_dict(self) -> dict[str, Any]:
        """A copy of the learning rate and of every parameter's state."""
        return {"lr": self.lr, "state": [_copy_state(s) for s in self.state]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned (for an optimizer over the same parameters).

        Everything is checked before anything changes: a dict without ``lr`` and ``state``,
        a negative or NaN ``lr``, or a state list of the wrong length raises an ArgumentError
        and leaves the optimizer as it was.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        _check_keys(owner, state_dict, ("lr", "state"))
        states = state_dict["state"]
        if not isinstance(states, (list, tuple)) or not all(isinstance(s, Mapping) for s in states):
            raise ArgumentError(
                f"{owner}: 'state' must be a list of one dict per parameter, as state_dict() "
                f"gives; got {type(states).__name__}"
            )
        if len(states) != len(self.params):
            raise ArgumentError(
                f"{owner}: the state dict has {len(states)} "
                f"parameter states but this optimizer has {len(self.params)} parameters"
            )
        lr = _in_range(owner, "lr", state_dict["lr"], 0.0, math.inf)
        self.lr = lr
        self.state = [_copy_state(dict(s)) for s in states]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.params)} parameters, lr={self.lr:g})"


class SGD(Optimizer):
    """Gradient descent, optionally with momentum, Nesterov momentum and L2 weight decay.

    With momentum: ``b = momentum * b + g`` (``b = g`` on the first step), then the step is
    ``lr * b`` (or ``lr * (g + momentum * b)`` with ``nesterov=True``), as in PyTorch.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _in_range("SGD", "momentum", momentum, 0.0, math.inf)
        self.weight_decay = _in_range("SGD", "weight_decay", weight_decay, 0.0, math.inf)
        if flag("SGD", "nesterov", nesterov) and self.momentum == 0.0:
            raise ArgumentError("SGD: nesterov=True needs a momentum > 0")
        self.nesterov = flag("SGD", "nesterov", nesterov)
        self._scratch: dict[np.dtype, np.ndarray] = {}  # one small buffer per dtype
        # for each parameter that fits in one chunk: (its data array, the scratch in its shape)
        self._parts: list[tuple[np.ndarray, np.ndarray] | None] = [None] * len(self.params)

    def step(self) -> None:
        """Update every parameter that has a gradient and is not frozen."""
        note_call(self.step)  # a traced step (tl.jit) calls it again on replay
        if self.momentum or self.weight_decay:
            return super().step()
        # plain descent, w -= lr * g, a chunk at a time through one small scratch buffer: no
        # temporary the size of a parameter, and the scratch stays in the cache
        for i, p in enumerate(self.params):
            g, w = p.grad, p.data
            if g is None or not p.requires_grad:
                continue
            known = self._parts[i]
            if known is not None and known[0] is w and type(g) is np.ndarray and w.flags.writeable:
                w -= np.multiply(g, self.lr, out=known[1])  # the usual case: one chunk
                continue
            if (
                type(g) is not np.ndarray
                or g.shape != w.shape
                or not (w.flags.writeable and w.flags.c_contiguous)
            ):
                _descend(p, self.lr * g)
                continue
            scratch = self._scratch.get(w.dtype)
            if scratch is None:
                scratch = self._scratch[w.dtype] = empty_aligned(_CHUNK, w.dtype)
            if w.size <= _CHUNK:  # checked once for this array: next time, straight through
                self._parts[i] = (w, scratch[: w.size].reshape(w.shape))
            _scaled_subtract(w.reshape(-1), g.reshape(-1), self.lr, scratch)

    def update(self, g: Any, w: Any, state: State) -> Any:
        if self.weight_decay:
            g = g + self.weight_decay * w
        if self.momentum:
            buf = state.get("momentum_buffer")
            buf = _copy(g) if buf is None else self.momentum * buf + g
            state["momentum_buffer"] = buf
            g = g + self.momentum * buf if self.nesterov else buf
        return self.lr * g


class Adam(Optimizer):
    """Adam: steps of ``lr * m_hat / (sqrt(v_hat) + eps)`` from bias-corrected running
    averages of the gradient (``m``) and of its square (``v``).

    ``weight_decay`` adds ``weight_decay * w`` to the gradient (L2, as PyTorch's Adam);
    ``AdamW`` decays the weights directly instead.
    """

    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        name = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ArgumentError(f"{name}: betas={betas!r} must be a pair (beta1, beta2)")
        self.betas = (
            _in_range(name, "betas[0]", betas[0], 0.0, 1.0),
            _in_range(name, "betas[1]", betas[1], 0.0, 1.0),
        )
        self.eps = _in_range(name, "eps", eps, 0.0, math.inf)
        self.weight_decay = _in_range(name, "weight_decay", weight_decay, 0.0, math.inf)

    def update(self, g: Any, w: Any, state: State) -> Any:
        beta1, beta2 = self.betas
        decay = 0.0
        if self.weight_decay and self.decoupled_weight_decay:
            decay = self.lr * self.weight_decay * w
        elif self.weight_decay:
            g = g + self.weight_decay * w
        t = state["step"] = state.get("step", 0) + 1
        m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1.0 - beta1) * g
        v = state["exp_avg_sq"] = beta2 * state.get("exp_avg_sq", 0.0) + (1.0 - beta2) * g * g
        m_hat = m / (1.0 - beta1**t)
        v_hat = v / (1.0 - beta2**t)
        return decay + self.lr * m_hat / (v_hat**0.5 + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: each step also shrinks the weights by
    ``lr * weight_decay * w``, outside the adaptive scaling (PyTorch's default 0.01)."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


class RMSprop(Optimizer):
    """RMSprop: divide the gradient by a running root mean square of recent gradients.

    ``s = alpha * s + (1 - alpha) * g^2``; the step is ``lr * g / (sqrt(s) + eps)``.
    ``centered=True`` subtracts the square of the running mean gradient from ``s``;
    ``momentum`` accumulates the scaled steps, as in PyTorch.
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
    ) -> None:
        super().__init__(params, lr)
        self.alpha = _in_range("RMSprop", "alpha", alpha, 0.0, 1.0)
        self.eps = _in_range("RMSprop", "eps", eps, 0.0, math.inf)
        self.weight_decay = _in_range("RMSprop", "weight_decay", weight_decay, 0.0, math.inf)
        self.momentum = _in_range("RMSprop", "momentum", momentum, 0.0, math.inf)
        self.centered = flag("RMSprop", "centered", centered)

    def update(self, g: Any, w: Any, state: State) -> Any:
        alpha = self.alpha
        if self.weight_decay:
            g = g + self.weight_decay * w
        s = state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1.0 - alpha) * g * g
        if self.centered:
            mean = state["grad_avg"] = alpha * state.get("grad_avg", 0.0) + (1.0 - alpha) * g
            s = s - mean * mean
        scaled = g / (s**0.5 + self.eps)
        if self.momentum:
            scaled = state["momentum_buffer"] = (
                self.momentum * state.get("momentum_buffer", 0.0) + scaled
            )
        return self.lr * scaled


# ---------------------------------------------------------------- learning-rate schedules


class LRScheduler:
    """Base class: ``step()`` moves to the next epoch and sets ``optimizer.lr`` to
    ``lr_at(epoch)``, a function of the epoch and of the optimizer's initial ``lr``."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise ArgumentError(
                f"{type(self).__name__}: expected an optimizer, got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def lr_at(self, epoch: int) -> float:
        raise NotImplementedError(f"{type(self).__name__}: define lr_at(epoch)")

    def step(self) -> None:
        note_call(self.step)  # a traced step (tl.jit) calls it again on replay
        self.last_epoch += 1
        self.optimizer.lr = self.lr_at(self.last_epoch)

    def get_last_lr(self) -> float:
        """The learning rate the optimizer uses now (a float: there is one group)."""
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "last_epoch": self.last_epoch}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` returned; checked before anything changes."""
        owner = f"{type(self).__name__}.load_state_dict"
        _check_keys(owner, state_dict, ("base_lr", "last_epoch"))
        base_lr = _in_range(owner, "base_lr", state_dict["base_lr"], 0.0, math.inf)
        last_epoch = state_dict["last_epoch"]
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, (int, np.integer)):
            raise ArgumentError(f"{owner}: last_epoch={last_epoch!r} must be a whole number")
        if last_epoch < 0:
            raise ArgumentError(f"{owner}: last_epoch={last_epoch!r} must be >= 0")
        self.base_lr, self.last_epoch = base_lr, int(last_epoch)
        self.optimizer.lr = self.lr_at(self.last_epoch)


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = _positive_int("StepLR", "step_size", step_size)
        self.gamma = _in_range("StepLR", "gamma", gamma, 0.0, math.inf)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** (epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every epoch."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = _in_range("ExponentialLR", "gamma", gamma, 0.0, math.inf)

    def lr_at(self, epoch: int) -> float:
        return self.base_lr * self.gamma**epoch


class CosineAnnealingLR(LRScheduler):
    """Follow half a cosine from the initial lr down to ``eta_min`` over ``T_max`` epochs
    (and back up over the next ``T_max``, as in PyTorch)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.T_max = _positive_int("CosineAnnealingLR", "T_max", T_max)
        self.eta_min = _in_range("CosineAnnealingLR", "eta_min", eta_min, 0.0, math.inf)

    def lr_at(self, epoch: int) -> float:
        cosine = (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0
        return self.eta_min + (self.base_lr - self.eta_min) * cosine


# ---------------------------------------------------------------- gradient clipping


def clip_grad_norm_(
    params: Value | Iterable[Value], max_norm: float, norm_type: float = 2.0
) -> float:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The norm is taken over every gradient as if they were one long vector (``norm_type``
    2 by default, or ``math.inf`` for the largest absolute value). Returns the norm before
    clipping. Parameters without a gradient are skipped.

    >>> import numpy as np
    >>> w = Value(np.zeros(2))
    >>> w.grad = np.array([3.0, 4.0])
    >>> clip_grad_norm_([w], max_norm=1.0), w.grad.round(4).tolist()
    (5.0, [0.6, 0.8])
    """
    max_norm = _in_range("clip_grad_norm_", "max_norm", max_norm, 0.0, math.inf)
    norm_type = _in_range("clip_grad_norm_", "norm_type", norm_type, 0.0, math.inf, closed=True)
    if norm_type == 0.0:
        raise ArgumentError("clip_grad_norm_: norm_type must be > 0 (2 is the usual choice)")
    ps = [params] if isinstance(params, Value) else _checked_params(params, "clip_grad_norm_")
    with_grad = [p for p in ps if p.grad is not None]
    magnitudes = [np.abs(np.asarray(p.grad, dtype=np.float64)) for p in with_grad]
    if not magnitudes:
        return 0.0
    if norm_type == math.inf:
        total = max(float(m.max(initial=0.0)) for m in magnitudes)
    else:
        total = sum(float(np.sum(m**norm_type)) for m in magnitudes) ** (1.0 / norm_type)
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in with_grad:
            if type(p.grad) is float:
                p.grad = p.grad * scale
            else:
                p.grad *= scale
    return total


# ---------------------------------------------------------------- helpers


_CHUNK = 65536  # elements: 256 KiB of float32, which stays in a core's L2 cache


def _scaled_subtract(w: np.ndarray, g: np.ndarray, lr: float, scratch: np.ndarray) -> None:
    """``w -= lr * g`` for flat arrays, ``len(scratch)`` elements at a time."""
    n, size = w.size, scratch.size
    for start in range(0, n, size):
        stop = min(start + size, n)
        part = scratch[: stop - start]
        np.multiply(g[start:stop], lr, out=part)
        w[start:stop] -= part


def _descend(p: Value, step: Any) -> None:
    """``p.data -= step``, in place for arrays (their dtype kept), a Python float for scalars."""
    if type(p.data) is float:
        p.data = float(p.data - step)
    elif p.data.flags.writeable:
        p.data -= step
    else:  # a read-only array (a broadcast view): the parameter gets its own copy
        p.data = (p.data - step).astype(p.data.dtype)


def _copy(x: Any) -> Any:
    return x.copy() if isinstance(x, np.ndarray) else x


def _copy_state(state: State) -> State:
    return {k: _copy(v) for k, v in state.items()}


def _check_keys(owner: str, state_dict: Any, keys: tuple[str, ...]) -> None:
    """A state dict must be a mapping that holds ``keys``."""
    if not isinstance(state_dict, Mapping):
        raise ArgumentError(
            f"{owner}: expected the dict that state_dict() returns, got {type(state_dict).__name__}"
        )
    missing = [k for k in keys if k not in state_dict]
    if missing:
        raise ArgumentError(
            f"{owner}: the state dict lacks {missing} (it has {sorted(map(str, state_dict))}); "
            "give what state_dict() returned"
        )


def _checked_params(params: Any, owner: str) -> list[Value]:
    if isinstance(params, Value) and owner != "clip_grad_norm_":
        raise ArgumentError(f"{owner}: params is one Value; pass a list of them: {owner}([w], ...)")
    if hasattr(params, "parameters") and not isinstance(params, (list, tuple)):
        raise ArgumentError(
            f"{owner}: got a {type(params).__name__}; pass its parameters: "
            f"{owner}(model.parameters(), ...)"
        )
    try:
        ps = list(params)
    except TypeError:
        raise ArgumentError(
            f"{owner}: params must be a list of Values, got {type(params).__name__}"
        ) from None
    seen: set[int] = set()
    for i, p in enumerate(ps):
        if not isinstance(p, Value):
            raise ArgumentError(f"{owner}: params[{i}] is a {type(p).__name__}, not a Value")
        if id(p) in seen:
            raise ArgumentError(
                f"{owner}: params[{i}] appears twice; each parameter must be listed once"
            )
        if not p.is_leaf and owner != "clip_grad_norm_":
            # backward keeps no gradient on a computed Value, and a step would change a copy
            # of the forward result, not a weight: the optimizer would train nothing
            raise ArgumentError(
                f"{owner}: params[{i}] is the result of {p.op!r}, not a parameter; pass the "
                "leaves the model learns (model.parameters(), or Values made with tl.Value)"
            )
        seen.add(id(p))
    if not ps and owner != "clip_grad_norm_":
        raise ArgumentError(f"{owner}: got an empty list of parameters")
    return ps


def _in_range(
    owner: str, name: str, value: Any, low: float, high: float, closed: bool = False
) -> float:
    """``value`` as a float in [low, high) (or [low, high] with ``closed=True``)."""
    try:
        if isinstance(value, (str, bytes, bool)):
            raise TypeError(name)
        x = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ArgumentError(f"{owner}: {name}={value!r} must be a number") from None
    upper_ok = x <= high if closed else x < high
    if not (low <= x and upper_ok):
        interval = f"[{low:g}, {high:g}{']' if closed else ')'}"
        raise ArgumentError(f"{owner}: {name}={value!r} must be in {interval}")
    return x


def _positive_int(owner: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ArgumentError(f"{owner}: {name}={value!r} must be a positive whole number")
    return int(value)
