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

Replay forms (tl.jit). Each row's rules are written once, as ``_<row>_into`` (the forward)
and ``_<row>_grads_into`` (the backward on arrays): given the traced step's arrays they write
into them and take their temporaries (padded image, column matrices, col2im image, window
maxima positions) from ``row.scratch``; given none, they are the plain rules and make new
arrays. The same NumPy calls on the same layouts either way, so the same bits.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .fused import Kept
from .modes import data_of, is_raw
from .row import Op, scratch

Pair = tuple[int, int]
# where a rule takes a temporary array from: ``temp(name, shape, dtype)`` (see ``_temps``)
Temp = Callable[[str, tuple[int, ...], Any], Any]


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


# ---------------------------------------------------------------- temporaries
# Each rule below runs in two ways: as the plain rule, whose temporaries and results are new
# arrays, and as its replay form (tl.jit), which writes its result into an array the traced
# step made once and takes its temporaries (padded images, column matrices) from
# ``row.scratch``, so that a replayed step allocates no image-sized array. Both run the same
# NumPy operations on the same layouts, so they give the same bits.


def _new(name: str, shape: tuple[int, ...], dtype: Any) -> Any:
    """The plain rules' temporaries: a new array each time."""
    return np.empty(shape, dtype)


def _temps(owner: Any, prefix: str) -> Temp:
    """New arrays for a plain rule (no ``owner``); for a replay form, the scratch arrays of
    ``owner`` (the node's output), each use named apart by ``prefix`` so none is remade at
    another shape."""
    if owner is None:
        return _new
    return lambda name, shape, dtype: scratch(owner, prefix + name, shape, dtype)


def _or_new(buf: Any, shape: tuple[int, ...], dtype: Any) -> Any:
    """``buf``, the array a replay form writes its result into, or a new one."""
    return np.empty(shape, dtype) if buf is None else buf


# ---------------------------------------------------------------- im2col and col2im


def _pad_image(
    x: Any, padding: tuple[int, int, int, int], value: float = 0.0, temp: Temp = _new
) -> Any:
    """(N, C, H, W) with ``value`` added around: (top, bottom, left, right)."""
    top, bottom, left, right = padding
    if not (top or bottom or left or right):
        return x
    s = Pad(((0, 0), (0, 0), (top, bottom), (left, right)), value)
    return _pad_into(s, temp("padded", s.padded(x.shape), x.dtype), x)


def _columns(x: Any, c: Conv, grid: tuple[int, ...], temp: Temp = _new) -> Any:
    """The im2col matrix of ``x`` (N, C, H, W): one column per window, (G, C/G·kH·kW, N·Ho·Wo).

    A strided view reads every window of the padded input in place; copying it into the
    matrix is the only copy. ``grid`` is how many windows to take along each axis (from the
    top left): the output size, or fewer (``conv_transpose2d``'s input gradient)."""
    xp = _pad_image(x, c.padding, temp=temp)
    (kh, kw), (sh, sw), (dh, dw) = c.kernel, c.stride, c.dilation
    n, ch = xp.shape[:2]
    s_n, s_c, s_h, s_w = xp.strides
    windows = as_strided(
        xp,
        (ch, kh, kw, n, *grid),  # (C, kH, kW, N, Ho, Wo)
        (s_c, s_h * dh, s_w * dw, s_n, s_h * sh, s_w * sw),
        writeable=False,
    )
    cols = temp("cols", (c.groups, ch // c.groups * kh * kw, n * grid[0] * grid[1]), x.dtype)
    np.copyto(cols.reshape(windows.shape), windows)
    return cols


def _uncolumns(
    cols: Any,
    c: Conv,
    n: int,
    grid: tuple[int, ...],
    image: tuple[int, ...],
    out: Any = None,
    temp: Temp = _new,
) -> Any:
    """col2im, the adjoint of ``_columns``: each window's column (G, C/G·kH·kW, N·Ho·Wo) added
    back where it was read from, into an (N, C, H, W) image (padding cropped), ``out`` if
    given."""
    (kh, kw), (sh, sw), (dh, dw) = c.kernel, c.stride, c.dilation
    top, bottom, left, right = c.padding
    h, w = image
    ch = c.groups * cols.shape[1] // (kh * kw)
    cols = cols.reshape(ch, kh, kw, n, *grid)  # (C, kH, kW, N, Ho, Wo)
    total = temp("col2im", (ch, n, h + top + bottom, w + left + right), cols.dtype)
    total.fill(0)  # (C, N, Hp, Wp)
    rows_end, cols_end = (grid[0] - 1) * sh + 1, (grid[1] - 1) * sw + 1
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + rows_end, sh)
            total[:, :, rows, j * dw : j * dw + cols_end : sw] += cols[:, i, j]
    cropped = total[:, :, top : top + h, left : left + w].transpose(1, 0, 2, 3)  # (N, C, H, W)
    if out is None:
        return cropped
    np.copyto(out, cropped)
    return out


def _matrix(image: Any, groups: int, temp: Temp = _new) -> Any:
    """(N, C, H, W) as a matrix per group, channels by pixels: (G, C/G, N·H·W). A view when the
    image is laid out channels first (a convolution's output is), else a copy."""
    channels_first = image.transpose(1, 0, 2, 3)  # (C, N, H, W)
    shape = (groups, image.shape[1] // groups, -1)
    try:
        return np.reshape(channels_first, shape, copy=False)
    except ValueError:  # the copy reshape would make, made into a temporary
        matrix = temp("matrix", channels_first.shape, image.dtype)
        np.copyto(matrix, channels_first)
        return matrix.reshape(shape)


def _image(matrix: Any, n: int, grid: tuple[int, ...]) -> Any:
    """The inverse of ``_matrix``: (G, C/G, N·H·W) seen as (N, C, H, W), without a copy."""
    return matrix.reshape(-1, n, *grid).transpose(1, 0, 2, 3)


def _product_image(a: Any, b: Any, n: int, grid: tuple[int, ...], out: Any = None) -> Any:
    """``a @ b`` (G, O/G, N·H·W), seen as an (N, O, H, W) image; written into ``out`` if given
    (laid out channels first, as the plain product's image is: np.empty_like of it)."""
    if out is None:
        return _image(a @ b, n, grid)
    matrix = np.reshape(out.transpose(1, 0, 2, 3), (a.shape[0], a.shape[1], -1), copy=False)
    np.matmul(a, b, out=matrix)
    return out


def _filters(w: Any, groups: int) -> Any:
    """A weight (O, C/G, kH, kW) as a matrix per group: (G, O/G, C/G·kH·kW)."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def _t(m: Any) -> Any:
    """Transpose a stack of matrices (a view: BLAS reads it transposed)."""
    return m.transpose(0, 2, 1)


def _weight_product(
    gm: Any, cols: Any, shape: tuple[int, ...], out: Any = None, temp: Temp = _new
) -> Any:
    """The weight gradient (G, O/G, N·Ho·Wo) @ (G, N·Ho·Wo, C/G·kH·kW), into ``out`` or a new
    array of the weight's ``shape`` (that owns its data: a parameter's .grad can be that very
    array).

    Computed as cols @ gmᵀ and transposed: OpenBLAS runs this long-and-thin product about a
    third faster with the (C/G·kH·kW) rows on the left than with the O/G rows."""
    dtype = np.result_type(cols.dtype, gm.dtype)
    product = temp("product", (gm.shape[0], cols.shape[1], gm.shape[1]), dtype)
    np.matmul(cols, _t(gm), out=product)  # (G, C/G·kH·kW, O/G)
    out = _or_new(out, shape, dtype)
    np.copyto(np.reshape(out, (gm.shape[0], gm.shape[1], -1), copy=False), _t(product))
    return out


def _correlate(
    x: Any,
    w: Any,
    c: Conv,
    grid: tuple[int, ...],
    cols: Any = None,
    out: Any = None,
    temp: Temp = _new,
) -> Any:
    """conv2d without bias on raw arrays, over the first ``grid`` windows: (N, O, Ho, Wo)."""
    if cols is None:
        cols = _columns(x, c, grid, temp)
    return _product_image(_filters(w, c.groups), cols, x.shape[0], grid, out)


def _correlate_transpose(y: Any, w: Any, c: Conv, out: Any = None, temp: Temp = _new) -> Any:
    """conv_transpose2d without bias on raw arrays: y (N, C, H, W), w (C, O/G, kH, kW)."""
    ym = _matrix(y, c.groups, temp)  # (G, C/G, N·H·W)
    filters = _t(_filters(w, c.groups))  # (G, O/G·kH·kW, C/G)
    cols = temp(
        "dcols", (c.groups, filters.shape[1], ym.shape[2]), np.result_type(w.dtype, y.dtype)
    )
    np.matmul(filters, ym, out=cols)  # (G, O/G·kH·kW, N·H·W)
    image = c.transposed_size(y.shape[2:])
    return _uncolumns(cols, c, y.shape[0], y.shape[2:], image, out, temp)


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
    return _conv2d_into(c, None, x, w, b)


def _conv2d_into(c: Conv, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    # the forward rule, into ``out`` (the replay form) or a new array (out=None)
    grid = c.output_size(x.shape[2:])
    cols = _columns(x, c, grid, _temps(out, "forward "))
    if c.kept is not None and c.need[1]:
        c.kept.keep(x, cols)  # the weight gradient is this matrix times the output's gradient
    out = _correlate(x, w, c, grid, cols, out)  # (N, O, Ho, Wo)
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out


def _conv2d_backward(c: Conv, g: Any, out: Any, x: Any, w: Any, b: Any = None) -> Any:
    # dx = conv_transpose2d(g, W) (each window's gradient back where it was read from),
    # dW = the correlation of x with g, db = g summed over everything but the channels
    if is_raw(g):
        return _conv2d_grads_into(c, g, None, (None, None, None), x, w, b)
    need, image = c.need, x.shape[2:]
    gx = g.conv_transpose2d(w, c.fitting(image, g.shape[2:])) if need[0] else None
    gw = x.conv2d_weight(g, c) if need[1] else None
    return gx, gw, g.sum(axis=(0, 2, 3)) if b is not None and need[2] else None


def _conv2d_grads_into(c: Conv, g: Any, out: Any, bufs: Any, x: Any, w: Any, b: Any = None) -> Any:
    # the backward rule on arrays, into ``bufs`` where given (the replay form, whose
    # temporaries ``out`` owns), else into new arrays (out=None)
    need, grid, temp = c.need, g.shape[2:], _temps(out, "backward ")
    gm = _matrix(g, c.groups, temp)  # (G, O/G, N·Ho·Wo): one product for dW, one for dx
    gx = gw = gb = None
    if b is not None and need[2]:  # g summed over all but the channels, along gm's rows
        gb = _or_new(bufs[2], (gm.shape[0] * gm.shape[1],), gm.dtype)
        np.add.reduce(gm, axis=2, out=gb.reshape(gm.shape[:2]))
    # dW first, and the input's columns freed before dx's are made: one column matrix alive
    # at a time keeps a step's peak memory low enough that the allocator keeps it for the
    # next step, instead of handing it back to the system to be faulted in again (at these
    # sizes that page-faulting cost as much as the col2im)
    if need[1]:
        cols = c.kept.take(x) if c.kept is not None else None
        if cols is None:  # a second backward(), or a forward re-run on other inputs
            cols = _columns(x, c, grid, temp)
        gw = _weight_product(gm, cols, w.shape, bufs[1], temp)
        del cols
    if need[0]:
        filters = _t(_filters(w, c.groups))  # (G, C/G·kH·kW, O/G)
        dcols = temp(
            "dcols", (c.groups, filters.shape[1], gm.shape[2]), np.result_type(w.dtype, g.dtype)
        )
        np.matmul(filters, gm, out=dcols)  # (G, C/G·kH·kW, N·Ho·Wo)
        gx = _uncolumns(dcols, c, x.shape[0], grid, x.shape[2:], bufs[0], temp)
    return gx, gw, gb


def _conv_transpose2d(c: Conv, y: Any, w: Any, b: Any = None) -> Any:
    return _conv_transpose2d_into(c, None, y, w, b)


def _conv_transpose2d_into(c: Conv, out: Any, y: Any, w: Any, b: Any = None) -> Any:
    out = _correlate_transpose(y, w, c, out, _temps(out, "forward "))  # (N, O, H, W)
    if b is not None:
        out += b.reshape(-1, 1, 1)
    return out


def _conv_transpose2d_backward(c: Conv, g: Any, out: Any, y: Any, w: Any, b: Any = None) -> Any:
    # the adjoint's adjoint: dy = conv2d(g, W), dW = the correlation of g with y
    if is_raw(g):
        return _conv_transpose2d_grads_into(c, g, None, (None, None, None), y, w, b)
    need, grid = c.need, y.shape[2:]
    gb = g.sum(axis=(0, 2, 3)) if b is not None and need[2] else None
    gy = _cropped(g.conv2d(w, c), grid) if need[0] else None
    gw = g.conv2d_weight(y, c) if need[1] else None
    return gy, gw, gb


def _conv_transpose2d_grads_into(
    c: Conv, g: Any, out: Any, bufs: Any, y: Any, w: Any, b: Any = None
) -> Any:
    need, grid, temp = c.need, y.shape[2:], _temps(out, "backward ")
    gb = None
    if b is not None and need[2]:
        gb = np.add.reduce(g, axis=(0, 2, 3), out=bufs[2])
    cols = _columns(g, c, grid, temp)  # the gradient's windows serve both products
    gy = _correlate(g, w, c, grid, cols, bufs[0]) if need[0] else None
    gw = None
    if need[1]:
        gw = _weight_product(_matrix(y, c.groups, temp), cols, w.shape, bufs[1], temp)
    return gy, gw, gb


def _conv2d_weight(c: Conv, x: Any, g: Any) -> Any:
    return _conv2d_weight_into(c, None, x, g)


def _conv2d_weight_into(c: Conv, out: Any, x: Any, g: Any) -> Any:
    # dW[o, c, i, j] = sum over n, h, w of g[n, o, h, w] xp[n, c, h*sh + i*dh, w*sw + j*dw]
    temp = _temps(out, "forward ")
    shape = (g.shape[1], x.shape[1] // c.groups, *c.kernel)
    cols = _columns(x, c, g.shape[2:], temp)
    return _weight_product(_matrix(g, c.groups, temp), cols, shape, out, temp)


def _conv2d_weight_backward(c: Conv, gw: Any, out: Any, x: Any, g: Any) -> Any:
    # <conv2d_weight(x, g), gW> = <conv2d(x, gW), g>: linear in x and in g
    if is_raw(gw):
        return _conv2d_weight_grads_into(c, gw, None, (None, None), x, g)
    need, grid = c.need, g.shape[2:]
    gx = conv_transpose2d(g, gw, c.fitting(x.shape[2:], grid)) if need[0] else None
    return gx, _cropped(x.conv2d(gw, c), grid) if need[1] else None


def _conv2d_weight_grads_into(c: Conv, gw: Any, out: Any, bufs: Any, x: Any, g: Any) -> Any:
    need, grid = c.need, g.shape[2:]
    gx = gg = None
    if need[0]:
        fitted = c.fitting(x.shape[2:], grid)
        gx = _correlate_transpose(g, gw, fitted, bufs[0], _temps(out, "input "))
    if need[1]:
        gg = _correlate(x, gw, c, grid, out=bufs[1], temp=_temps(out, "gradient "))
    return gx, gg


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


def _window_maxima(p: Pool, x: Any, best: Any = None, temp: Temp = _new) -> tuple[Any, Any]:
    """The largest element of each window (N, C, Ho, Wo), into ``best`` if given, and its
    position in the window (0 .. kH·kW - 1, row by row); the first of equal maxima wins."""
    grid = p.output_size(x.shape[2:])
    xp = _pad_image(x, p.sides(), -math.inf, temp)  # padding never wins
    shape = (*x.shape[:2], *grid)
    best = _or_new(best, shape, x.dtype)
    where = temp("where", shape, np.uint8 if p.kernel[0] * p.kernel[1] <= 256 else np.int32)
    where.fill(0)
    larger, step = temp("larger", shape, np.bool_), temp("step", shape, where.dtype)
    for k, (rows, cols) in enumerate(_offsets(p, grid)):
        v = xp[:, :, rows, cols]
        if not k:
            np.copyto(best, v)
            continue
        np.greater(v, best, out=larger)  # strictly: an earlier equal maximum stays
        # k only grows, so "k where larger, else as it was" is a maximum (a masked copy is
        # branchy and many times slower)
        np.multiply(larger, where.dtype.type(k), out=step)
        np.maximum(where, step, out=where)
        np.maximum(best, v, out=best)  # (a NaN spreads to the output, as in torch)
    return best, where


def _max_pool2d(p: Pool, x: Any) -> Any:
    return _max_pool2d_into(p, None, x)


def _max_pool2d_into(p: Pool, out: Any, x: Any) -> Any:
    best, where = _window_maxima(p, x, out, _temps(out, "forward "))
    if p.kept is not None:
        p.kept.keep(x, where)
    return best


def _max_pool2d_backward(p: Pool, g: Any, out: Any, x: Any) -> Any:
    # each window's gradient goes to its maximum; windows that overlap add up
    if is_raw(g):
        return _max_pool2d_grads_into(p, g, None, (None,), x)
    xd = data_of(x)
    where = p.kept.take(xd) if p.kept is not None else None
    if where is None:  # a second backward(), or a forward re-run on other inputs
        where = _window_maxima(p, xd)[1]
    # a scatter to the maxima's positions: its backward is the gather at those positions
    positions, inside = _flat_positions(p, where, xd.shape)
    flat = g.reshape(-1)
    if not inside.all():  # a window of padding only (dilated): its -inf has no gradient
        flat, positions = flat[inside], positions[inside]
    return (flat.scatter_to((xd.size,), positions).reshape(xd.shape),)


def _max_pool2d_grads_into(p: Pool, g: Any, out: Any, bufs: Any, x: Any) -> Any:
    temp = _temps(out, "backward ")
    where = p.kept.take(x) if p.kept is not None else None
    if where is None:
        where = _window_maxima(p, x, temp("best", g.shape, x.dtype), temp)[1]
    mask, share = temp("mask", g.shape, np.bool_), temp("share", g.shape, g.dtype)

    def shares() -> Iterator[Any]:
        for k in range(p.kernel[0] * p.kernel[1]):
            np.equal(where, k, out=mask)
            yield np.multiply(g, mask, out=share)  # (a product: np.where would branch)

    return (_spread(p, shares(), x.shape, g, bufs[0], temp),)


def _spread(
    p: Pool, shares: Iterator[Any], shape: tuple[int, ...], g: Any, buf: Any, temp: Temp
) -> Any:
    """A pooling's input gradient (N, C, H, W), into ``buf`` if given: ``shares`` yields what
    the windows send to each position in them (``_offsets``' order), each (N, C, Ho, Wo)."""
    n, ch, h, w = shape
    ph, pw = p.padding
    if buf is not None and not (ph or pw):
        gxp = buf  # nothing to crop: straight into the buffer
    else:
        gxp = temp("spread", (n, ch, h + 2 * ph, w + 2 * pw), g.dtype)  # (N, C, Hp, Wp)
    gxp.fill(0)
    add = not _disjoint(p, g.shape[2:])
    for (rows, cols), share in zip(_offsets(p, g.shape[2:]), shares):
        if add:
            gxp[:, :, rows, cols] += share
        else:  # windows side by side: each element gets one window's gradient at most
            gxp[:, :, rows, cols] = share
    gx = _unpadded(gxp, p, (h, w))
    if buf is None:
        return gx
    if gxp is not buf:
        np.copyto(buf, gx)
    return buf


def _disjoint(p: Pool, grid: tuple[int, ...]) -> bool:
    """Whether no two windows share an element (each axis steps past a window's span)."""
    return all(
        n == 1 or s >= d * (k - 1) + 1 for n, k, s, d in zip(grid, p.kernel, p.stride, p.dilation)
    )


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
    return _avg_pool2d_into(p, None, x)


def _avg_pool2d_into(p: Pool, out: Any, x: Any) -> Any:
    # count_include_pad: every window is divided by kH·kW, padding included (torch's default)
    grid = p.output_size(x.shape[2:])
    xp = _pad_image(x, p.sides(), temp=_temps(out, "forward "))
    total = _or_new(out, (*x.shape[:2], *grid), x.dtype)
    for k, (rows, cols) in enumerate(_offsets(p, grid)):
        if k:
            total += xp[:, :, rows, cols]
        else:
            np.copyto(total, xp[:, :, rows, cols])
    total /= p.kernel[0] * p.kernel[1]
    return total


def _avg_pool2d_backward(p: Pool, g: Any, out: Any, x: Any) -> Any:
    # each window's gradient, divided by kH·kW, spread over the window
    if is_raw(g):
        return _avg_pool2d_grads_into(p, g, None, (None,), x)
    n, ch, h, w = x.shape
    # the same as a transposed convolution of every channel with a kernel of 1/(kH·kW)
    c = Conv(p.kernel, p.stride, p.sides(), p.dilation, 1)
    spread = np.full((1, 1, *p.kernel), 1.0 / (p.kernel[0] * p.kernel[1]), g.dtype)
    flat = g.reshape(n * ch, 1, *g.shape[2:])
    return (flat.conv_transpose2d(spread, c.fitting((h, w), g.shape[2:])).reshape(x.shape),)


def _avg_pool2d_grads_into(p: Pool, g: Any, out: Any, bufs: Any, x: Any) -> Any:
    temp = _temps(out, "backward ")
    area = p.kernel[0] * p.kernel[1]
    share = np.divide(g, area, out=temp("share", g.shape, g.dtype))
    return (_spread(p, itertools.repeat(share, area), x.shape, g, bufs[0], temp),)


# ---------------------------------------------------------------- padding


class Pad(NamedTuple):
    """The static arguments of ``pad``: (before, after) for every axis, and the value added."""

    widths: tuple[tuple[int, int], ...]
    value: float = 0.0

    def padded(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The output's shape, for an input of ``shape``."""
        return tuple(n + b + a for n, (b, a) in zip(shape, self.widths))

    def inner(self, shape: tuple[int, ...]) -> tuple[slice, ...]:
        """Where the input sits in the padded output (of ``shape``)."""
        return tuple(slice(b, n - a) for (b, a), n in zip(self.widths, shape))


def _pad(s: Pad, x: Any) -> Any:
    return _pad_into(s, None, x)


def _pad_into(s: Pad, out: Any, x: Any) -> Any:
    shape = s.padded(x.shape)
    out = _or_new(out, shape, x.dtype)
    for axis, (b, a) in enumerate(s.widths):  # the value along each side, then the input
        before = (slice(None),) * axis
        out[before + (slice(0, b),)] = s.value
        out[before + (slice(shape[axis] - a, shape[axis]),)] = s.value
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
        into=_conv2d_into,
        grads_into=_conv2d_grads_into,
    ),
    Op(
        "conv_transpose2d",
        _conv_transpose2d,
        _conv_transpose2d_backward,
        ("conv(·, {1})", "corr(·, {0})", "sum over N, H, W"),
        into=_conv_transpose2d_into,
        grads_into=_conv_transpose2d_grads_into,
    ),
    Op(
        "conv2d_weight",
        _conv2d_weight,
        _conv2d_weight_backward,
        ("convᵀ({1}, ·)", "conv({0}, ·)"),
        into=_conv2d_weight_into,
        grads_into=_conv2d_weight_grads_into,
    ),
    Op(
        "max_pool2d",
        _max_pool2d,
        _max_pool2d_backward,
        "to each window's maximum",
        into=_max_pool2d_into,
        grads_into=_max_pool2d_grads_into,
    ),
    Op(
        "avg_pool2d",
        _avg_pool2d,
        _avg_pool2d_backward,
        _avg_pool_label,
        into=_avg_pool2d_into,
        grads_into=_avg_pool2d_grads_into,
    ),
    # the backward crops: a view of the gradient, so the plain rule allocates nothing
    Op("pad", _pad, lambda s, g, o, x: (g[s.inner(g.shape)],), "crop the padding", into=_pad_into),
]
