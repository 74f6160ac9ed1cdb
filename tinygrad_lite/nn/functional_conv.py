"""Convolution, pooling and padding as functions, as in ``torch.nn.functional``; the layers of
``nn.conv`` and ``nn.pool`` call these, and ``nn.functional`` exports them.

Each function checks its arguments (a mistake raises a named error that says which op, the
shapes or values, and the fix), turns them into the static arguments of a row of
``core/ops/conv.py`` and applies it. Images are batches (N, C, H, W); the 1-d forms take
(N, C, L) and run the 2-d rows on (N, C, 1, L), a view. ``adaptive_avg_pool2d`` is built from
``avg_pool2d`` or matrix products.

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> import tinygrad_lite.nn.functional as F
>>> x = tl.Value(np.arange(16.0).reshape(1, 1, 4, 4))
>>> w = tl.Value(np.ones((2, 1, 3, 3)))
>>> y = F.conv2d(x, w, padding=1)
>>> y.shape, y.data[0, 0, 0]
((1, 2, 4, 4), array([10., 18., 24., 18.]))
>>> F.max_pool2d(x, 2).data[0, 0]
array([[ 5.,  7.],
       [13., 15.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..core import OPS, ArgumentError, ShapeError, Value, apply, lift
from ..core.ops.conv import Conv, Pad, Pool
from ..core.ops.fused import Kept

Size = int | Sequence[int]  # one int for every spatial axis, or one per axis
Padding = int | Sequence[int] | str  # as Size, or "same" / "valid"

_IMAGES = {1: "(N, C, L)", 2: "(N, C, H, W)"}


# ---------------------------------------------------------------- convolutions


def conv1d(
    input: Any,
    weight: Value,
    bias: Value | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> Value:
    """1-d convolution (cross-correlation) of (N, C, L) with ``weight`` (out, C/groups, k)."""
    return convolve(input, weight, bias, stride, padding, dilation, groups, dims=1, who="conv1d")


def conv2d(
    input: Any,
    weight: Value,
    bias: Value | None = None,
    stride: Size = 1,
    padding: Padding = 0,
    dilation: Size = 1,
    groups: int = 1,
) -> Value:
    """2-d convolution (cross-correlation), as ``torch.nn.functional.conv2d``.

    ``input`` (N, C, H, W), ``weight`` (out, C/groups, kH, kW), ``bias`` (out,); ``stride``,
    ``padding`` (zeros on both sides; ``"same"`` keeps H and W at stride 1, ``"valid"`` is 0)
    and ``dilation`` are ints or (H, W) pairs; ``groups`` splits the channels into that many
    independent convolutions. The output is (N, out, Ho, Wo) with
    ``Ho = (H + 2 padding - dilation (kH - 1) - 1) // stride + 1``.

    >>> import numpy as np, tinygrad_lite as tl
    >>> x = tl.Value(np.ones((2, 3, 5, 5), dtype=np.float32))
    >>> w = tl.Value(np.ones((4, 3, 3, 3), dtype=np.float32))
    >>> conv2d(x, w, stride=2).shape, conv2d(x, w, padding="same").shape
    ((2, 4, 2, 2), (2, 4, 5, 5))
    """
    return convolve(input, weight, bias, stride, padding, dilation, groups, dims=2, who="conv2d")


def convolve(
    input: Any,
    weight: Value,
    bias: Value | None,
    stride: Size,
    padding: Padding,
    dilation: Size,
    groups: int,
    *,
    dims: int,
    who: str,
    channels_checked: bool = False,
) -> Value:
    """``conv1d`` (``dims=1``) or ``conv2d`` (``dims=2``), its errors naming ``who`` (a layer
    names itself). ``channels_checked``: the caller has checked the input's channels."""
    x, w = images(input, dims, who), _as_value(weight)
    kernel_dims = ", ".join(("kH", "kW")[2 - dims :])
    if w.ndim != dims + 2:
        raise ShapeError(
            f"{who}: weight of shape {w.shape} must be (out_channels, in_channels/groups, "
            f"{kernel_dims})"
        )
    groups = _count(groups, "groups", who)
    out_channels, per_group = w.shape[:2]
    if out_channels % groups:
        raise ShapeError(
            f"{who}: groups={groups} does not divide the weight's {out_channels} output "
            "channels; use a number of groups that divides both channel counts"
        )
    if not channels_checked:
        check_channels(x, per_group * groups, who, dims, f" (weight {w.shape}, groups={groups})")
    stride = sizes(stride, "stride", dims, who)
    dilation = sizes(dilation, "dilation", dims, who)
    kernel = w.shape[2:]
    sides = _conv_padding(padding, kernel, stride, dilation, who)
    b = _bias(bias, out_channels, who, w)
    if dims == 1:  # the 2-d row on (N, C, 1, L)
        n, c, length = x.shape
        x2, w2 = x.reshape(n, c, 1, length), w.reshape(out_channels, per_group, 1, kernel[0])
        conv = Conv((1, kernel[0]), (1, stride[0]), (0, 0, *sides[0]), (1, dilation[0]), groups)
    else:
        x2, w2 = x, w
        (top, bottom), (left, right) = sides
        conv = Conv(
            _pair(kernel), _pair(stride), (top, bottom, left, right), _pair(dilation), groups
        )
    _check_fits(conv.output_size(x2.shape[2:]), x.shape[2:], kernel, dilation, sides, who)
    out = x2.conv2d(w2, conv, b)
    return out.reshape(out.shape[0], out_channels, out.shape[3]) if dims == 1 else out


def conv_transpose2d(
    input: Any,
    weight: Value,
    bias: Value | None = None,
    stride: Size = 1,
    padding: Size = 0,
    output_padding: Size = 0,
    groups: int = 1,
    dilation: Size = 1,
) -> Value:
    """Transposed 2-d convolution, as ``torch.nn.functional.conv_transpose2d``: the gradient of
    ``conv2d`` with respect to its input, used to upsample (a "deconvolution").

    ``input`` (N, C, H, W), ``weight`` (C, out/groups, kH, kW), ``bias`` (out,). Each input pixel
    adds the filter, scaled by its value, into the output at ``stride`` steps; ``padding``
    crops that many rows and columns from each side and ``output_padding`` adds rows and
    columns at the bottom and right: ``Ho = (H - 1) stride - 2 padding + dilation (kH - 1)
    + output_padding + 1``.

    >>> import numpy as np, tinygrad_lite as tl
    >>> x = tl.Value(np.ones((1, 4, 3, 3), dtype=np.float32))
    >>> w = tl.Value(np.ones((4, 2, 2, 2), dtype=np.float32))
    >>> conv_transpose2d(x, w, stride=2).shape
    (1, 2, 6, 6)
    """
    return convolve_transpose(
        input,
        weight,
        bias,
        stride,
        padding,
        output_padding,
        groups,
        dilation,
        who="conv_transpose2d",
    )


def convolve_transpose(
    input: Any,
    weight: Value,
    bias: Value | None,
    stride: Size,
    padding: Size,
    output_padding: Size,
    groups: int,
    dilation: Size,
    *,
    who: str,
    channels_checked: bool = False,
) -> Value:
    """``conv_transpose2d`` with its errors naming ``who`` (a layer names itself)."""
    x, w = images(input, 2, who), _as_value(weight)
    if w.ndim != 4:
        raise ShapeError(
            f"{who}: weight of shape {w.shape} must be (in_channels, out_channels/groups, kH, kW)"
        )
    groups = _count(groups, "groups", who)
    in_channels = w.shape[0]
    if in_channels % groups:
        raise ShapeError(
            f"{who}: groups={groups} does not divide the weight's {in_channels} input "
            "channels; use a number of groups that divides both channel counts"
        )
    if not channels_checked:
        check_channels(x, in_channels, who, 2, f" (weight {w.shape})")
    stride = sizes(stride, "stride", 2, who)
    dilation = sizes(dilation, "dilation", 2, who)
    pads = sizes(padding, "padding", 2, who, minimum=0)
    extra = sizes(output_padding, "output_padding", 2, who, minimum=0)
    for e, s, d in zip(extra, stride, dilation):
        if e >= max(s, d):
            raise ArgumentError(
                f"{who}: output_padding={output_padding} must be smaller than the stride "
                f"{stride} or the dilation {dilation} (it picks one of the output sizes a "
                "strided convolution maps to the same input size)"
            )
    out_channels = w.shape[1] * groups
    b = _bias(bias, out_channels, who, w)
    sides = (pads[0], pads[0], pads[1], pads[1])
    conv = Conv(_pair(w.shape[2:]), _pair(stride), sides, _pair(dilation), groups, _pair(extra))
    size = conv.transposed_size(x.shape[2:])
    if min(size) < 1:
        raise ShapeError(
            f"{who}: padding {pads} crops more than the output of size "
            f"{tuple(n + 2 * p for n, p in zip(size, pads))} has; use less padding"
        )
    return x.conv_transpose2d(w, conv, b)


def check_channels(x: Value, expected: int, who: str, dims: int, note: str = "") -> None:
    """ShapeError unless ``x`` (a batch of images) has ``expected`` channels."""
    channels = x.shape[1]
    if channels != expected:
        plural = "" if channels == 1 else "s"
        raise ShapeError(
            f"{who}: input has {channels} channel{plural}, expected {expected}{note}; "
            f"images are {_IMAGES[dims]}"
        )


# ---------------------------------------------------------------- pooling


def max_pool1d(
    input: Any, kernel_size: Size, stride: Size | None = None, padding: Size = 0, dilation: Size = 1
) -> Value:
    """The largest element of each window of (N, C, L); ``stride`` defaults to the kernel."""
    return pool("max", input, kernel_size, stride, padding, dilation, dims=1, who="max_pool1d")


def max_pool2d(
    input: Any, kernel_size: Size, stride: Size | None = None, padding: Size = 0, dilation: Size = 1
) -> Value:
    """The largest element of each window, as ``torch.nn.functional.max_pool2d``.

    ``stride`` defaults to ``kernel_size`` (windows side by side); ``padding`` (at most half
    the kernel) pads with -inf, so a window's maximum is always an element of the input. Each
    window's gradient goes to the first of its largest elements, row by row (as torch).

    >>> import numpy as np, tinygrad_lite as tl
    >>> x = tl.Value(np.array([[[[1.0, 3.0], [3.0, 2.0]]]]))
    >>> y = max_pool2d(x, 2)
    >>> y.backward(np.ones((1, 1, 1, 1)))
    >>> y.data.ravel(), x.grad.ravel()
    (array([3.]), array([0., 1., 0., 0.]))
    """
    return pool("max", input, kernel_size, stride, padding, dilation, dims=2, who="max_pool2d")


def avg_pool1d(
    input: Any, kernel_size: Size, stride: Size | None = None, padding: Size = 0
) -> Value:
    """The mean of each window of (N, C, L), the padding's zeros counted."""
    return pool("avg", input, kernel_size, stride, padding, 1, dims=1, who="avg_pool1d")


def avg_pool2d(
    input: Any, kernel_size: Size, stride: Size | None = None, padding: Size = 0
) -> Value:
    """The mean of each window, as ``torch.nn.functional.avg_pool2d`` (``count_include_pad``:
    a window that reaches into the zero padding is still divided by kH·kW).

    >>> import numpy as np, tinygrad_lite as tl
    >>> avg_pool2d(tl.Value(np.arange(16.0).reshape(1, 1, 4, 4)), 2).data[0, 0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]])
    """
    return pool("avg", input, kernel_size, stride, padding, 1, dims=2, who="avg_pool2d")


def pool(
    kind: str,
    input: Any,
    kernel_size: Size,
    stride: Size | None,
    padding: Size,
    dilation: Size,
    *,
    dims: int,
    who: str,
) -> Value:
    """Max (``kind="max"``) or average (``"avg"``) pooling over 1 or 2 spatial axes, its errors
    naming ``who`` (a layer names itself)."""
    x = images(input, dims, who)
    kernel = sizes(kernel_size, "kernel_size", dims, who)
    strides = kernel if stride is None else sizes(stride, "stride", dims, who)
    pads = sizes(padding, "padding", dims, who, minimum=0)
    dilations = sizes(dilation, "dilation", dims, who)
    if any(2 * p > k for p, k in zip(pads, kernel)):
        raise ArgumentError(
            f"{who}: padding={padding} is more than half the kernel {kernel}; a window would "
            "hold padding only. Use padding <= kernel_size // 2"
        )
    if dims == 1:
        n, c, length = x.shape
        x2 = x.reshape(n, c, 1, length)
        geometry = Pool((1, kernel[0]), (1, strides[0]), (0, pads[0]), (1, dilations[0]))
    else:
        x2 = x
        geometry = Pool(_pair(kernel), _pair(strides), _pair(pads), _pair(dilations))
    sides = [(p, p) for p in pads]
    _check_fits(geometry.output_size(x2.shape[2:]), x.shape[2:], kernel, dilations, sides, who)
    if kind == "max":
        out = apply(OPS["max_pool2d"], geometry._replace(kept=Kept()), x2)
    else:
        out = apply(OPS["avg_pool2d"], geometry, x2)
    return out.reshape(*out.shape[:2], out.shape[3]) if dims == 1 else out


def adaptive_avg_pool2d(input: Any, output_size: int | Sequence[int | None]) -> Value:
    """Average pooling to a given output size (Ho, Wo), as torch's: window ``i`` along an axis of
    length H covers rows ``floor(i H / Ho)`` to ``ceil((i + 1) H / Ho)`` (so windows may
    overlap, and differ in size by one). ``None`` keeps that axis's size.

    When the output size divides the input's, that is ``avg_pool2d`` with kernel = stride =
    H / Ho; otherwise it is ``P_H @ x @ P_W^T`` with the averaging matrices P (each row 1/size
    over its window): two matrix products, whose gradients are matrix products too.

    >>> import numpy as np, tinygrad_lite as tl
    >>> x = tl.Value(np.arange(10.0).reshape(1, 1, 2, 5))
    >>> adaptive_avg_pool2d(x, (1, 2)).data
    array([[[[3.5, 5.5]]]])
    """
    who = "adaptive_avg_pool2d"
    x = images(input, 2, who)
    image = x.shape[2:]
    wanted = _output_size(output_size, image, who)
    if all(n % m == 0 for n, m in zip(image, wanted)):
        kernel = (image[0] // wanted[0], image[1] // wanted[1])
        if kernel == (1, 1):
            return x
        return apply(OPS["avg_pool2d"], Pool(kernel, kernel, (0, 0)), x)
    rows = _averaging(image[0], wanted[0], x.dtype)  # (Ho, H)
    cols = _averaging(image[1], wanted[1], x.dtype)  # (Wo, W)
    return rows @ (x @ cols.T)  # (Ho, H) @ (N, C, H, W) @ (W, Wo) = (N, C, Ho, Wo)


def _output_size(output_size: Any, image: tuple[int, ...], who: str) -> tuple[int, int]:
    items = output_size if isinstance(output_size, (tuple, list)) else (output_size,) * 2
    if len(items) != 2:
        raise ArgumentError(f"{who}: output_size={output_size!r} must be an int or (Ho, Wo)")
    sizes = tuple(n if m is None else m for m, n in zip(items, image))
    if not all(_is_int(m) and m >= 1 for m in sizes):
        raise ArgumentError(
            f"{who}: output_size={output_size!r} must be positive whole numbers (or None to "
            "keep an axis)"
        )
    return int(sizes[0]), int(sizes[1])


def _averaging(size: int, out: int, dtype: Any) -> np.ndarray:
    """The (out, size) matrix whose row i averages torch's adaptive window i."""
    m = np.zeros((out, size), dtype=dtype)
    for i in range(out):
        start, end = (i * size) // out, -((-(i + 1) * size) // out)  # floor, ceil
        m[i, start:end] = 1.0 / (end - start)
    return m


# ---------------------------------------------------------------- padding


def pad(input: Any, pad: Sequence[int], mode: str = "constant", value: float | None = 0.0) -> Value:
    """Pad with a constant, as ``torch.nn.functional.pad``: ``pad`` lists (before, after) pairs
    from the LAST axis backwards, ``(left, right)`` pads the last axis, ``(left, right, top,
    bottom)`` the last two. The gradient is the gradient of the padded output, cropped.

    >>> import numpy as np, tinygrad_lite as tl
    >>> pad(tl.Value(np.ones((2, 3))), (1, 0, 0, 2)).data
    array([[0., 1., 1., 1.],
           [0., 1., 1., 1.],
           [0., 0., 0., 0.],
           [0., 0., 0., 0.]])
    """
    who = "pad"
    x = input if isinstance(input, Value) else Value(input, requires_grad=False)
    if mode != "constant":
        raise ArgumentError(f"{who}: mode={mode!r} is not supported; only 'constant' padding")
    widths = list(pad) if isinstance(pad, (tuple, list)) else None
    if widths is None or len(widths) % 2 or not all(_is_int(p) for p in widths):
        raise ArgumentError(
            f"{who}: pad={pad!r} must be a tuple of (before, after) pairs of ints, last axis "
            "first: (left, right) or (left, right, top, bottom) ..."
        )
    if len(widths) // 2 > x.ndim:
        raise ShapeError(
            f"{who}: pad={pad!r} pads {len(widths) // 2} axes but the input of shape {x.shape} "
            f"has {x.ndim}"
        )
    if any(p < 0 for p in widths):
        raise ArgumentError(
            f"{who}: pad={pad!r} has a negative width; padding only adds (to crop, index: "
            "x[..., 1:-1])"
        )
    pairs = [(int(widths[i]), int(widths[i + 1])) for i in range(0, len(widths), 2)]
    full = ((0, 0),) * (x.ndim - len(pairs)) + tuple(reversed(pairs))
    if not any(b or a for b, a in full):
        return x
    return apply(OPS["pad"], Pad(full, 0.0 if value is None else float(value)), x)


# ---------------------------------------------------------------- shared checks


def images(input: Any, dims: int, who: str) -> Value:
    """``input`` as a Value, checked to be a batch of ``dims``-d images with data in them."""
    x = input if isinstance(input, Value) else Value(input, requires_grad=False)
    if x.ndim != dims + 2:
        one = "(C, L)" if dims == 1 else "(C, H, W)"
        raise ShapeError(
            f"{who}: input of shape {x.shape} is not a batch of {dims}-d images "
            f"{_IMAGES[dims]}; for a single image {one}, use x[None] or "
            f"x.reshape(1, *x.shape)"
        )
    if x.size == 0:
        raise ShapeError(f"{who}: input of shape {x.shape} is empty")
    return x


def _as_value(weight: Any) -> Value:
    if isinstance(weight, Value):
        return weight
    return Value(weight, requires_grad=False)


def _bias(bias: Any, channels: int, who: str, weight: Value) -> Value | None:
    if bias is None:
        return None
    b = lift(bias, weight, who)
    if b.shape != (channels,):
        raise ShapeError(
            f"{who}: bias of shape {b.shape} does not fit {channels} output channels; it must "
            f"be ({channels},)"
        )
    return b


def _pair(sizes: tuple[int, ...]) -> tuple[int, int]:
    return sizes[0], sizes[1]


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _count(value: Any, name: str, who: str) -> int:
    if not _is_int(value) or value < 1:
        raise ArgumentError(f"{who}: {name}={value!r} must be a positive whole number")
    return int(value)


def sizes(value: Any, name: str, dims: int, who: str, minimum: int = 1) -> tuple[int, ...]:
    """An int, or ``dims`` ints, as a tuple of ``dims`` ints of at least ``minimum``."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value,) * dims
    if len(items) != dims or not all(_is_int(v) for v in items):
        what = "an int" if dims == 1 else f"an int or {dims} ints (H, W)"
        raise ArgumentError(f"{who}: {name}={value!r} must be {what}")
    if any(v < minimum for v in items):
        if minimum == 1:
            why = (
                "positive (1 moves the window one step at a time)"
                if name == "stride"
                else ("positive")
            )
            raise ArgumentError(f"{who}: {name}={value!r} must be {why}")
        raise ArgumentError(
            f"{who}: {name}={value!r} must be >= 0 (it is added on each side); to crop, index "
            "the input instead"
        )
    return tuple(int(v) for v in items)


def _conv_padding(
    padding: Padding,
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    dilation: tuple[int, ...],
    who: str,
) -> list[tuple[int, int]]:
    """(before, after) zeros per spatial axis, from an int, a tuple, "same" or "valid"."""
    dims = len(kernel)
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0)] * dims
        if padding != "same":
            raise ArgumentError(
                f"{who}: padding={padding!r}; use 'same', 'valid', an int or {dims} ints"
            )
        if any(s != 1 for s in stride):
            raise ArgumentError(
                f"{who}: padding='same' needs stride 1 (got stride {stride}): a strided "
                "convolution cannot keep the input's size; give the padding as numbers"
            )
        # the total d (k - 1) split as torch does: the odd one out goes after
        totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return [(t // 2, t - t // 2) for t in totals]
    return [(p, p) for p in sizes(padding, "padding", dims, who, minimum=0)]


def _check_fits(
    grid: tuple[int, ...],
    image: tuple[int, ...],
    kernel: tuple[int, ...],
    dilation: tuple[int, ...],
    sides: Sequence[tuple[int, int]],
    who: str,
) -> None:
    """ShapeError unless at least one window fits in the padded input along every axis."""
    if min(grid) >= 1:
        return
    dims = len(kernel)
    padded = tuple(n + b + a for n, (b, a) in zip(image, sides))
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    dilated = f" (dilated: {span if dims > 1 else span[0]})" if span != tuple(kernel) else ""
    shown_kernel = kernel if dims > 1 else kernel[0]
    shown_padded = padded if dims > 1 else padded[0]
    raise ShapeError(
        f"{who}: the kernel {shown_kernel}{dilated} is larger than the padded input "
        f"{shown_padded} (input {image if dims > 1 else image[0]} plus padding); use a smaller "
        "kernel, more padding or a larger input"
    )
