"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d`` and ``LayerNorm``, as torch's.

Batch normalisation (Ioffe & Szegedy, 2015) standardizes each channel with the mean and
variance of the current batch while training, and keeps running averages of them for
evaluation: after ``model.eval()`` a prediction no longer depends on the other examples of
its batch. Layer normalisation (Ba, Kiros & Hinton, 2016) standardizes each example over its
own last axes, the same way in training and in evaluation.

Parameters and buffers have torch's names, shapes and initial values (``weight`` ones,
``bias`` zeros, ``running_mean`` zeros, ``running_var`` ones, ``num_batches_tracked`` a 0-d
int64 array), so a torch state_dict loads as it is.

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn
>>> bn = nn.BatchNorm1d(2)
>>> x = np.array([[1.0, 10.0], [3.0, 30.0]], dtype=np.float32)
>>> bn(x).data.round(4)                           # training: the batch's statistics
array([[-1., -1.],
       [ 1.,  1.]], dtype=float32)
>>> bn.running_mean, bn.running_var, bn.num_batches_tracked
(array([0.2, 2. ], dtype=float32), array([ 1.1, 20.9], dtype=float32), array(1))
>>> list(bn.state_dict())
['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import ArgumentError, ShapeError, Value, effect
from . import functional as F
from .linear import float_dtype
from .module import Module


class _BatchNorm(Module):
    """What BatchNorm1d and BatchNorm2d share; they differ in the input shapes they take."""

    input_shapes: dict[int, str] = {}  # ndim -> how the shape reads, for the error message

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        dtype: Any = np.float32,
        *,
        bias: bool = True,
    ) -> None:
        name = type(self).__name__
        if isinstance(num_features, bool) or not isinstance(num_features, (int, np.integer)):
            raise ArgumentError(f"{name}: num_features={num_features!r} must be a whole number")
        if num_features < 1:
            raise ArgumentError(f"{name}: num_features={num_features} must be at least 1")
        if momentum is not None and not 0.0 <= float(momentum) <= 1.0:
            raise ArgumentError(
                f"{name}: momentum={momentum!r} must be in [0, 1] (the weight of each new "
                "batch in the running averages), or None for a plain average of all batches"
            )
        if not float(eps) >= 0.0:
            raise ArgumentError(f"{name}: eps={eps!r} must be a number >= 0")
        self.num_features = int(num_features)
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = bool(affine)
        self.use_bias = bool(bias)
        self.track_running_stats = bool(track_running_stats)
        self.dtype = float_dtype(dtype, name)
        c = self.num_features
        self.weight = Value(np.ones(c, self.dtype)) if affine else None
        self.bias = Value(np.zeros(c, self.dtype)) if affine and bias else None
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(c, self.dtype))
            self.register_buffer("running_var", np.ones(c, self.dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    running_mean: np.ndarray | None
    running_var: np.ndarray | None
    num_batches_tracked: np.ndarray | None

    def reset_running_stats(self) -> None:
        """Running mean 0, running variance 1, no batch seen (in place)."""
        if self.running_mean is not None and self.running_var is not None:
            self.running_mean[...] = 0.0
            self.running_var[...] = 1.0
        if self.num_batches_tracked is not None:
            self.num_batches_tracked[...] = 0

    def reset_parameters(self) -> None:
        """The running statistics reset, weight ones and bias zeros (in place)."""
        self.reset_running_stats()
        if self.weight is not None:
            self.weight.data[...] = 1.0
        if self.bias is not None:
            self.bias.data[...] = 0.0

    def forward(self, x: Any) -> Value:
        v = F.as_value(x)
        name = type(self).__name__
        if v.ndim not in self.input_shapes:
            expected = " or ".join(self.input_shapes.values())
            raise ShapeError(f"{name}: expected an input of shape {expected}; got {v.shape}")
        if v.shape[1] != self.num_features:
            raise ShapeError(
                f"{name}({self.num_features}): input of shape {v.shape} has {v.shape[1]} "
                f"channels on axis 1; expected {self.num_features}"
            )
        # without running statistics the batch's own are used in eval mode too
        use_batch = self.training or self.running_mean is None
        tracking = self.training and self.num_batches_tracked is not None
        y = F.batch_norm(
            v,
            None if tracking else self.running_mean,
            None if tracking else self.running_var,
            self.weight,
            self.bias,
            training=use_batch,
            eps=self.eps,
        )
        if tracking:  # an effect: a traced step (tl.jit) updates the statistics on replay too
            effect(self._track, v)
        return y

    def _track(self, x: np.ndarray) -> None:
        """Count the batch ``x`` and move the running statistics towards its own."""
        if self.num_batches_tracked is None:  # (forward calls it only when tracking)
            return
        self.num_batches_tracked += 1  # in place: a 0-d array stays the buffer
        # torch's rule: the weight of this batch in the running averages is momentum, or
        # 1 / (batches seen) with momentum None (a plain average of every batch so far)
        if self.momentum is None:
            factor = 1.0 / float(self.num_batches_tracked)
        else:
            factor = self.momentum
        axes = (0, *range(2, x.ndim))
        F.update_running_stats(
            x, axes, x.size // self.num_features, self.running_mean, self.running_var, factor
        )

    def extra_repr(self) -> str:
        text = (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.use_bias}, "
            f"track_running_stats={self.track_running_stats}"
        )
        return text if self.dtype == np.float32 else f"{text}, dtype={self.dtype}"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs, per channel C.

    ``BatchNorm1d(num_features, eps=1e-5, momentum=0.1, affine=True,
    track_running_stats=True, dtype=np.float32, *, bias=True)``: training normalises with
    the batch's mean and (biased) variance over N (and L) and updates the running statistics
    (``running = (1 - momentum) running + momentum batch``, the variance unbiased; with
    ``momentum=None`` a plain average of all batches); eval normalises with the running
    statistics. ``weight`` and ``bias`` (C,) then scale and shift each channel (with
    ``affine=True``; ``bias=False`` leaves the shift out, as in torch 2.13).
    """

    input_shapes = {2: "(N, C)", 3: "(N, C, L)"}


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of images (N, C, H, W), per channel C: the statistics are taken
    over N, H and W. Arguments, parameters and buffers as ``BatchNorm1d``.

    >>> import numpy as np
    >>> from tinygrad_lite import nn
    >>> bn = nn.BatchNorm2d(3)
    >>> y = bn(np.random.default_rng(0).normal(5.0, 2.0, size=(8, 3, 4, 4)))
    >>> bool(abs(y.data.mean()) < 1e-6), round(float(y.data.std()), 4)
    (True, 1.0)
    """

    input_shapes = {4: "(N, C, H, W)"}


class LayerNorm(Module):
    """Layer normalisation: each sample standardized over its last axes,
    ``normalized_shape`` (an int for the last axis), then scaled by ``weight`` and shifted by
    ``bias`` (both of ``normalized_shape``; ones and zeros at first, as torch). The same in
    training and eval.

    >>> import numpy as np
    >>> from tinygrad_lite import nn
    >>> ln = nn.LayerNorm(3)
    >>> ln
    LayerNorm((3,), eps=1e-05, elementwise_affine=True, bias=True)
    >>> ln(np.array([[1.0, 2.0, 3.0]], dtype=np.float32)).data.round(4)
    array([[-1.2247,  0.    ,  1.2247]], dtype=float32)
    """

    def __init__(
        self,
        normalized_shape: int | Sequence[int],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        dtype: Any = np.float32,
    ) -> None:
        dims = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        if not dims or not all(
            isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d > 0 for d in dims
        ):
            raise ArgumentError(
                f"LayerNorm: normalized_shape={normalized_shape!r} must be a positive int or a "
                "tuple of them (the sizes of the last axes of the input)"
            )
        if not float(eps) >= 0.0:
            raise ArgumentError(f"LayerNorm: eps={eps!r} must be a number >= 0")
        self.normalized_shape = tuple(int(d) for d in dims)
        self.eps = float(eps)
        self.elementwise_affine = bool(elementwise_affine)
        self.use_bias = bool(bias)
        self.dtype = float_dtype(dtype, "LayerNorm")
        shape = self.normalized_shape
        self.weight = Value(np.ones(shape, self.dtype)) if elementwise_affine else None
        self.bias = Value(np.zeros(shape, self.dtype)) if elementwise_affine and bias else None

    def forward(self, x: Any) -> Value:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        text = (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
        text += f", bias={self.use_bias}"
        return text if self.dtype == np.float32 else f"{text}, dtype={self.dtype}"
