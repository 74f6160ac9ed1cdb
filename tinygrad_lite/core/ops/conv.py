"""Convolution and pooling rows, on batches of images (N, C, H, W).

* ``conv2d``: each output pixel is a window of the (zero-padded) input ``xp``, correlated
  with a filter (PyTorch's ``conv2d``: the weight is (out, in/groups, kH, kW)), in a group:
  ``out[n, o, h, w] = b[o] + sum_{c,i,j} W[o, c, i, j] xp[n, c, h sh + i dh, w sw + j dw]``;
* ``conv_transpose2d``: its adjoint in the input, which scatters each input pixel through the
  filter (PyTorch's ``conv_transpose2d``: the weight is (in, out/groups, kH, kW)); it is also
  ``conv2d``'s input gradient;
* ``conv2d_weight``: ``conv2d``'s weight gradient, the correlation of the input with the
  output's gradient, a row of its own so that second derivatives are rows too;
* ``max_pool2d`` and ``avg_pool2d``: the largest and the mean element of each window;
* ``pad``: a constant around any axes (its adjoint crops).

The three convolution rows take a ``Conv`` (the geometry) as their static arguments, and each
one's backward rule is written with the other two, so that gradients of gradients are rows
too: ``conv2d``'s input gradient is ``conv_transpose2d`` of ``g`` with the same weight, its
weight gradient is ``conv2d_weight(x, g)``, and so on around the three.

How they compute. A convolution is one matrix product once the windows are laid out as the
columns of a matrix (im2col): ``_columns`` makes that matrix with a single copy, through a
strided view of the padded input that reads every window without copying it first, and a
(out, in·kH·kW) @ (in·kH·kW, N·Ho·Wo) product does the rest in BLAS. The matrix's columns
follow (N, Ho, Wo) and its rows (in, kH, kW), so the weight is used as it is stored and the
product comes out channel by channel: the result is (O, N, Ho, Wo) in memory, seen as
(N, O, Ho, Wo) through a transpose (no copy). The weight gradient is the same matrix times the
output's gradient (one product), and the input gradient is the transposed weight times the
output's gradient, whose columns are added back where each window came from (col2im:
kH·kW strided additions). A convolution of the flipped kernel with the dilated gradient gives
the same input gradient, but it builds a column matrix of the gradient (out channels, not in)
and, for a stride of s, multiplies s² times as many zeros. At stride 1 the matrices could run
along whole padded rows (long runs to copy and add, a few wasted columns in the products):
measured, that came out no faster.

Pooling works window position by window position: for each of the kH·kW offsets, one strided
view of the input holds that element of every window, so a max or a sum over windows is
kH·kW vectorised steps. Max pooling sends each window's gradient to the first of its maxima
(row by row, as PyTorch does), which it remembers from the forward pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .fused import Kept
from .modes import data_of, is_raw
from .row import Op

Pair = tuple[int, int]


class Conv(NamedTuple):
    """The static arguments of the convolution rows: one convolution's geometry.

    ``padding`` is per side, (top, bottom, left, right): zeros added to the convolution's
    input (``padding="same"`` with an even kernel pads one more at the bottom and right).
    ``conv_transpose2d``, the adjoint, crops the same amounts from its output and then adds
    ``output_padding`` rows and columns at the bottom and right (PyTorch's ``output_padding``:
    a strided convolution maps several input sizes to one output size; this picks one).

    ``need`` says which inputs need a gradient; ``kept`` is where ``conv2d`` keeps its column
    matrix for the weight gradient (only while the backward pass has not used it).

    >>> c = Conv(kernel=(3, 3), stride=(2, 2), padding=(1, 1, 1, 1), dilation=(1, 1), groups=1)
    >>> c.output_size((7, 8))
    (4, 4)
    >>> c.transposed_size((4, 4)), c.fitting((7, 8), (4, 4)).output_padding
    ((7, 7), (0, 1))
    """

    kernel: Pair
    stride: Pair
    padding: tuple[int, int, int, int]
    dilation: Pair
    groups: int
    output_padding: Pair = (0, 0)
    need: tuple[bool, ...] = (True, True, True)
    kept: Kept | None = None

    def output_size(self, image: tuple[int, ...]) -> Pair:
        """(Ho, Wo) of ``conv2d`` on an (H, W) image: how many windows fit."""
        top, bottom, left, right = self.padding
        return (
            _windows_along(image[0] + top + bottom, *self._axis(0)),
            _windows_along(image[1] + left + right, *self._axis(1)),
        )

    def transposed_size(self, grid: tuple[int, ...]) -> Pair:
        """(H, W) of ``conv_transpose2d`` on an (Ho, Wo) input: the span of its windows, less
        the padding, plus ``output_padding``."""
        top, bottom, left, right = self.padding
        return (
            _span(grid[0], *self._axis(0)) - top - bottom + self.output_padding[0],
            _span(grid[1], *self._axis(1)) - left - right + self.output_padding[1],
        )

    def fitting(self, image: tuple[int, ...], grid: tuple[int, ...]) -> Conv:
        """This geometry with the ``output_padding`` that makes the transpose of a (Ho, Wo)
        grid come out (H, W): rows a strided window never reached get a zero gradient."""
        top, bottom, left, right = self.padding
        extra = (
            image[0] + top + bottom - _span(grid[0], *self._axis(0)),
            image[1] + left + right - _span(grid[1], *self._axis(1)),
        )
        return self._replace(output_padding=extra)

    def _axis(self, i: int) -> tuple[int, int, int]:
        return self.kernel[i], self.stride[i], self.dilation[i]


def _windows_along(size: int, kernel: int, stride: int, dilation: int) -> int:
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def _span(windows: int, kernel: int, stride: int, dilation: int) -> int:
    """How many input elements ``windows`` windows reach, from the first to the last."""
    return (windows - 1) * stride + dilation * (kernel - 1) + 1


# ---------------------------------------------------------------- im2col and col2im


def _pad_image(x: Any, padding: tuple[int, int, int, int], value: float = 0.0) -> Any:
    """(N, C, H, W) with ``value`` added around: (top, bottom, left, right)."""
    top, bottom, left, right = padding
    if not (top or bottom or left or right):
        return x
    return _pad(Pad(((0, 0), (0, 0), (top, bottom), (left, right)), value), x)


def _columns(x: Any, c: Conv, grid: tuple[int, ...]) -> Any:
    """The im2col matrix of ``x`` (N, C, H, W): one column per window, (G, C/G·kH·kW, N·Ho·Wo).

    A strided view reads every window of the padded input in place; reshaping it to a matrix
    is the only copy. ``grid`` is how many windows to take along each axis (from the top
    left): the output size, or fewer (``conv_transpose2d``'s input gradient)."""
    xp = _pad_image(x, c.padding)
    (kh, kw), (sh, sw), (dh, dw) = c.kernel, c.stride, c.dilation
    n, ch = xp.shape[:2]
    s_n, s_c, s_h, s_w = xp.strides
    windows = as_strided(
        xp,
        (ch, kh, kw, n, *grid),  # (C, kH, kW, N, Ho, Wo)
        (s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw),
        writeable=False,
    )
    return windows.reshape(c.groups, ch // c.groups * kh * kw, n * grid[0] * grid[1])


def _uncolumns(cols: Any, c: Conv, n: int, grid: tuple[int, ...], image: tuple[int, ...]) -> Any:
    """col2im, the adjoint of ``_columns``: each window's column (G, C/G·kH·kW, N·Ho·Wo) added
    back where it was read from, into an (N, C, H, W) image (padding cropped)."""
    (kh, kw), (sh, sw), (dh, dw) = c.kernel, c.stride, c.dilation
    top, bottom, left, right = c.padding
    h, w = image
    ch = c.groups * cols.shape[1] // (kh * kw)
    cols = cols.reshape(ch, kh, kw, n, *grid)  # (C, kH, kW, N, Ho, Wo)
    out = np.zeros((ch, n, h + top + bottom, w + left + right), cols.dtype)  # (C, N, Hp, Wp)
    rows_end, cols_end = (grid[0] - 1) * sh + 1, (grid[1] - 1) * sw + 1
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + rows_end, sh)
            out[:, :, rows, j * dw : j * dw + cols_end : sw] += cols[:, i, j]
    return out[:, :, top : top + h, left : left + w].transpose(1, 0, 2, 3)  # (N, C, H, W)


def _matrix(image: Any, groups: int) -> Any:
    """(N, C, H, W) as a matrix per group, channels by pixels: (G, C/G, N·H·W)."""
    return image.transpose(1, 0, 2, 3).reshape(groups, image.shape[1] // groups, -1)


def _image(matrix: Any, n: int, grid: tuple[int, ...]) -> Any:
    """The inverse of ``_matrix``: (G, C/G, N·H·W) seen as (N, C, H, W), without a copy."""
    return matrix.reshape(-1, n, *grid).transpose(1, 0, 2, 3)


def _filters(w: Any, groups: int) -> Any:
    """A weight (O, C/G, kH, kW) as a matrix per group: (G, O/G, C/G·kH·kW)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def _t(m: Any) -> Any:
    """Transpose a stack of matrices (a view: BLAS reads it transposed)."""
    return m.transpose(0, 2, 1)


def _weight_product(gm: Any, cols: Any, shape: tuple[int, ...]) -> Any:
    """The weight gradient (G, O/G, N·Ho·Wo) @ (G, N·Ho·Wo, C/G·kH·kW), into a new array of the
    weight's ``shape`` (that owns its data: a parameter's .grad can be that very array).

    Computed as cols @ gmᵀ and transposed: OpenBLAS runs this long-and-thin product about a
    third faster with the (C/G·kH·kW) rows on the left than with the O/G rows."""
    product = cols @ _t(gm)  # (G, C/G·kH·kW, O/G)
    out = np.empty(shape, product.dtype)
    np.copyto(out.reshape(gm.shape[0], gm.shape[1], -1), _t(product))
    return out


def _correlate(x: Any, w: Any, c: Conv, grid: tuple[int, ...], cols: Any = None) -> Any:
    """conv2d without bias on raw arrays, over the first ``grid`` windows: (N, O, Ho, Wo)."""
    if cols is None:
        cols = _columns(x, c, grid)
    return _image(_filters(w, c.groups) @ cols, x.shape[0], grid)


def _correlate_transpose(y: Any, w: Any, c: Conv) -> Any:
    """conv_transpose2d without bias on raw arrays: y (N, C, H, W), w (C, O/G, kH, kW)."""
    cols = _t(_filters(w, c.groups)) @ _matrix(y, c.groups)  # (G, O/G·kH·kW, N·H·W)
    return _uncolumns(cols, c, y.shape[0], y.shape[2:], c.transposed_size(y.shape[2:]))


# ---------------------------------------------------------------- the rows, in both modes
# In graph mode (the rules receive Values) each rule calls the Value methods of these rows,
# so the gradient's graph is made of them and can be differentiated again.


def conv2d(x: Any, w: Any, c: Conv) -> Any:
    if is_raw(x):
        return _correlate(x, w, c, c.output_size(x.shape[2:]))
    return x.conv2d(w, c)


def conv_transpose2d(y: Any, w: Any, c: Conv) -> Any:
    if is_raw(y):
        return _correlate_transpose(y, w, c)
    return y.conv_transpose2d(w, c)


def conv2d_weight(x: Any, g: Any, c: Conv) -> Any:
    if is_raw(x):
        return _conv2d_weight(c, x, g)
    return x.conv2d_weight(g, c)


def _cropped(image: Any, grid: tuple[int, ...]) -> Any:
    """The first ``grid`` rows and columns (a transpose's extra output_padding rows reach
    one more window than its input had)."""
    if image.shape[2:] == tuple(grid):
        return image
    return image[:, :, : grid[0], : grid[1]]


def _conv2d(c: Conv, x: Any, w: Any, b: Any = None) -> Any:
    grid = c.output_size(x.shape[2:])
    cols = _columns(x, c, grid)
    if c.kept is not None and c.need[1]:
        c.kept.keep(x, cols)  # the weight gradient is this matrix times the output's gradient
    out = _correlate(x, w, c, grid, cols)  # (N, O, Ho, Wo)
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out


def _conv2d_backward(c: Conv, g: Any, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    # dx = conv_transpose2d(g, W) (each window's gradient back where it was read from),
    # dW = the correlation of x with g, db = g summed over everything but the channels
    need, image = c.need, x.shape[2:]
    if not is_raw(g):
        gx = g.conv_transpose2d(w, c.fitting(image, g.shape[2:])) if need[0] else None
        gw = x.conv2d_weight(g, c) if need[1] else None
        return gx, gw, g.sum(axis=(0, 2, 3)) if b is not None and need[2] else None
    grid = g.shape[2:]
    gm = _matrix(g, c.groups)  # (G, O/G, N·Ho·Wo): one product for dW, one for dx
    # the bias's gradient: g summed over all but the channels, along the matrix's rows
    gb = gm.sum(axis=2).reshape(-1) if b is not None and need[2] else None
    gx = gw = None
    # dW first, and the input's columns freed before dx's are made: one column matrix alive
    # at a time keeps a step's peak memory low enough that the allocator keeps it for the
    # next step, instead of handing it back to the system to be faulted in again (at these
    # sizes that page-faulting cost as much as the col2im)
    if need[1]:
        cols = c.kept.take(x) if c.kept is not None else None
        if cols is None:  # a second backward(), or a forward re-run on other inputs
            cols = _columns(x, c, grid)
        gw = _weight_product(gm, cols, w.shape)
        del cols
    if need[0]:
        dcols = _t(_filters(w, c.groups)) @ gm  # (G, C/G·kH·kW, N·Ho·Wo)
        gx = _uncolumns(dcols, c, x.shape[0], grid, image)
    return gx, gw, gb


def _conv_transpose2d(c: Conv, y: Any, w: Any, b: Any = None) -> Any:
    out = _correlate_transpose(y, w, c)  # (N, O, H, W)
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out


def _conv_transpose2d_backward(c: Conv, g: Any, out: Any, y: Any, w: Any, b: Any = None) -> Any:
    # the adjoint's adjoint: dy = conv2d(g, W), dW = the correlation of g with y
    need, grid = c.need, y.shape[2:]
    gb = g.sum(axis=(0, 2, 3)) if b is not None and need[2] else None
    if not is_raw(g):
        gy = _cropped(g.conv2d(w, c), grid) if need[0] else None
        gw = g.conv2d_weight(y, c) if need[1] else None
        return gy, gw, gb
    cols = _columns(g, c, grid)  # the gradient's windows serve both products
    gy = _correlate(g, w, c, grid, cols) if need[0] else None
    gw = _weight_product(_matrix(y, c.groups), cols, w.shape) if need[1] else None
    return gy, gw, gb


def _conv2d_weight(c: Conv, x: Any, g: Any) -> Any:
    # dW[o, c, i, j] = sum over n, h, w of g[n, o, h, w] xp[n, c, h*sh + i*dh, w*sw + j*dw]
    shape = (g.shape[1], x.shape[1] // c.groups, *c.kernel)
    return _weight_product(_matrix(g, c.groups), _columns(x, c, g.shape[2:]), shape)


def _conv2d_weight_backward(c: Conv, gw: Any, out: Any, x: Any, g: Any) -> Any:
    # <conv2d_weight(x, g), gW> = <conv2d(x, gW), g>: linear in x and in g
    need, grid = c.need, g.shape[2:]
    gx = conv_transpose2d(g, gw, c.fitting(x.shape[2:], grid)) if need[0] else None
    if not need[1]:
        return gx, None
    if is_raw(gw):
        return gx, _correlate(x, gw, c, grid)
    return gx, _cropped(x.conv2d(gw, c), grid)


# ---------------------------------------------------------------- pooling


class Pool(NamedTuple):
    """The static arguments of the pooling rows. ``padding`` is (pH, pW) on both sides;
    ``kept`` is where ``max_pool2d`` keeps which element of each window was the largest."""

    kernel: Pair
    stride: Pair
    padding: Pair
    dilation: Pair = (1, 1)
    kept: Kept | None = None

    def output_size(self, image: tuple[int, ...]) -> Pair:
        """(Ho, Wo): how many windows fit in the padded (H, W) image."""
        return (
            _windows_along(image[0] + 2 * self.padding[0], *self._along(0)),
            _windows_along(image[1] + 2 * self.padding[1], *self._along(1)),
        )

    def _along(self, axis: int) -> tuple[int, int, int]:
        return self.kernel[axis], self.stride[axis], self.dilation[axis]

    def sides(self) -> tuple[int, int, int, int]:
        return (self.padding[0], self.padding[0], self.padding[1], self.padding[1])


def _offsets(p: Pool, grid: Pair) -> Iterator[tuple[slice, slice]]:
    """For each position (i, j) of a window, row by row: the strided slices of the padded
    input that hold that element of every window."""
    (kh, kw), (sh, sw), (dh, dw) = p.kernel, p.stride, p.dilation
    rows_end, cols_end = (grid[0] - 1) * sh + 1, (grid[1] - 1) * sw + 1
    for i in range(kh):
        for j in range(kw):
            yield slice(i * dh, i * dh + rows_end, sh), slice(j * dw, j * dw + cols_end, sw)


def _unpadded(xp: Any, p: Pool, image: tuple[int, ...]) -> Any:
    ph, pw = p.padding
    return xp[:, :, ph : ph + image[0], pw : pw + image[1]]


def _window_maxima(p: Pool, x: Any) -> tuple[Any, Any]:
    """The largest element of each window (N, C, Ho, Wo), and its position in the window
    (0 .. kH·kW - 1, row by row); the first of equal maxima wins."""
    grid = p.output_size(x.shape[2:])
    xp = _pad_image(x, p.sides(), -math.inf)  # padding never wins
    best: Any = None
    where = np.zeros(
        (*x.shape[:2], *grid), np.uint8 if p.kernel[0] * p.kernel[1] <= 256 else np.int32
    )
    for k, (rows, cols) in enumerate(_offsets(p, grid)):
        v = xp[:, :, rows, cols]
        if best is None:
            best = v.copy()
            continue
        larger = v > best  # strictly: an earlier equal maximum stays
        # k only grows, so "k where larger, else as it was" is a maximum (a masked copy is
        # branchy and many times slower)
        np.maximum(where, larger * where.dtype.type(k), out=where)
        np.maximum(best, v, out=best)  # (a NaN spreads to the output, as in torch)
    return best, where


def _max_pool2d(p: Pool, x: Any) -> Any:
    best, where = _window_maxima(p, x)
    if p.kept is not None:
        p.kept.keep(x, where)
    return best


def _max_pool2d_backward(p: Pool, g: Any, out: Any, x: Any) -> Any:
    # each window's gradient goes to its maximum; windows that overlap add up
    xd = data_of(x)
    where = p.kept.take(xd) if p.kept is not None else None
    if where is None:  # a second backward(), or a forward re-run on other inputs
        where = _window_maxima(p, xd)[1]
    if not is_raw(g):
        # a scatter to the maxima's positions: its backward is the gather at those positions
        positions, inside = _flat_positions(p, where, xd.shape)
        flat = g.reshape(-1)
        if not inside.all():  # a window of padding only (dilated): its -inf has no gradient
            flat, positions = flat[inside], positions[inside]
        return (flat.scatter_to((xd.size,), positions).reshape(xd.shape),)
    gxp = np.zeros((*xd.shape[:2], *_padded_hw(p, xd)), g.dtype)  # (N, C, Hp, Wp)
    add = not _disjoint(p, g.shape[2:])
    for k, (rows, cols) in enumerate(_offsets(p, g.shape[2:])):
        share = g * (where == k)  # (a product: np.where would branch, and is slower)
        if add:
            gxp[:, :, rows, cols] += share
        else:  # windows side by side: each element gets one window's gradient at most
            gxp[:, :, rows, cols] = share
    return (_unpadded(gxp, p, xd.shape[2:]),)


def _disjoint(p: Pool, grid: tuple[int, ...]) -> bool:
    """Whether no two windows share an element (each axis steps past a window's span)."""
    return all(
        n == 1 or s >= d * (k - 1) + 1 for n, k, s, d in zip(grid, p.kernel, p.stride, p.dilation)
    )


def _padded_hw(p: Pool, x: Any) -> Pair:
    return (x.shape[2] + 2 * p.padding[0], x.shape[3] + 2 * p.padding[1])


def _flat_positions(p: Pool, where: Any, shape: tuple[int, ...]) -> tuple[Any, Any]:
    """Where each window's maximum is in ``x.reshape(-1)``, and whether it is inside ``x``
    (it is, unless the window holds only padding)."""
    n, ch, h, w = shape
    (kw, (sh, sw), (dh, dw), (ph, pw)) = (p.kernel[1], p.stride, p.dilation, p.padding)
    ho, wo = where.shape[2:]
    rows = np.arange(ho)[:, None] * sh + (where // kw) * dh - ph  # (N, C, Ho, Wo)
    cols = np.arange(wo)[None, :] * sw + (where % kw) * dw - pw
    inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    planes = np.arange(n * ch).reshape(n, ch, 1, 1)
    return ((planes * h + rows) * w + cols).reshape(-1), inside.reshape(-1)


def _avg_pool2d(p: Pool, x: Any) -> Any:
    # count_include_pad: every window is divided by kH·kW, padding included (torch's default)
    grid = p.output_size(x.shape[2:])
    xp = _pad_image(x, p.sides())
    total: Any = None
    for rows, cols in _offsets(p, grid):
        if total is None:
            total = xp[:, :, rows, cols].copy()
        else:
            total += xp[:, :, rows, cols]
    total /= p.kernel[0] * p.kernel[1]
    return total


def _avg_pool2d_backward(p: Pool, g: Any, out: Any, x: Any) -> Any:
    # each window's gradient, divided by kH·kW, spread over the window
    n, ch, h, w = x.shape
    area = p.kernel[0] * p.kernel[1]
    if not is_raw(g):
        # the same as a transposed convolution of every channel with a kernel of 1/(kH·kW)
        c = Conv(p.kernel, p.stride, p.sides(), p.dilation, 1)
        spread = np.full((1, 1, *p.kernel), 1.0 / area, g.dtype)
        flat = g.reshape(n * ch, 1, *g.shape[2:])
        return (flat.conv_transpose2d(spread, c.fitting((h, w), g.shape[2:])).reshape(x.shape),)
    gxp = np.zeros((n, ch, *_padded_hw(p, x)), g.dtype)
    share = g / area
    add = not _disjoint(p, g.shape[2:])
    for rows, cols in _offsets(p, g.shape[2:]):
        if add:
            gxp[:, :, rows, cols] += share
        else:
            gxp[:, :, rows, cols] = share
    return (_unpadded(gxp, p, (h, w)),)


# ---------------------------------------------------------------- padding


class Pad(NamedTuple):
    """The static arguments of ``pad``: (before, after) for every axis, and the value added."""

    widths: tuple[tuple[int, int], ...]
    value: float = 0.0

    def inner(self, shape: tuple[int, ...]) -> tuple[slice, ...]:
        """Where the input sits in the padded output (of ``shape``)."""
        return tuple(slice(b, n - a) for (b, a), n in zip(self.widths, shape))


def _pad(s: Pad, x: Any) -> Any:
    shape = tuple(n + b + a for n, (b, a) in zip(x.shape, s.widths))
    out = np.full(shape, s.value, dtype=x.dtype)
    out[s.inner(shape)] = x
    return out


# ---------------------------------------------------------------- labels


def _avg_pool_label(node: Any, k: int, operands: list[Any], text: Any) -> str:
    kh, kw = node.static.kernel
    return f"x 1/{kh * kw} to each window"


ROWS = [
    Op(
        "conv2d",
        _conv2d,
        _conv2d_backward,
        ("convᵀ(·, {1})", "corr({0}, ·)", "sum over N, H, W"),
    ),
    Op(
        "conv_transpose2d",
        _conv_transpose2d,
        _conv_transpose2d_backward,
        ("conv(·, {1})", "corr(·, {0})", "sum over N, H, W"),
    ),
    Op("conv2d_weight", _conv2d_weight, _conv2d_weight_backward, ("convᵀ({1}, ·)", "conv({0}, ·)")),
    Op("max_pool2d", _max_pool2d, _max_pool2d_backward, "to each window's maximum"),
    Op("avg_pool2d", _avg_pool2d, _avg_pool2d_backward, _avg_pool_label),
    Op("pad", _pad, lambda s, g, o, x: (g[s.inner(g.shape)],), "crop the padding"),
]
