"""Value: a number or an array that remembers how it was computed, and backpropagates.

Every operation on Values checks its arguments, then applies a row of the op table
(``ops/``): ``apply`` runs the row's forward rule and ``record`` makes the new Value, whose
``parents`` are its inputs (an ordered tuple; a node never refers to its children or to itself,
so no reference cycles), whose ``op`` names the row and whose ``static`` holds the row's other
arguments. ``backward()`` follows the walk of ``backward.py``: the chain rule, da -> dz -> dw,
as the books draw it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from . import listen
from .backward import add, check_finite, collector_paused, note_data, seed, walk
from .errors import ArgumentError, DTypeError, IndexingError, ShapeError
from .grad_mode import anomaly_origins, grad_state
from .ops import OPS, WITH_CONSTANT, Op
from .ops.conv import Conv
from .ops.fused import Kept
from .shapes import as_data, as_operand, ndarray, shape_of, to_float

Number = int | float
Operand = Union["Value", Number, np.ndarray]  # noqa: UP007 (a forward reference)

_count = listen.creation  # creation numbers, shared with what a trace is told
ADD, SUB, MUL, DIV, POW, MATMUL = (OPS[n] for n in ("add", "sub", "mul", "div", "pow", "matmul"))
NEG, EXP, LOG, SQRT, ABS, TANH, SIGMOID, RELU = (
    OPS[n] for n in ("neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu")
)


class Value:
    """A Python float or a NumPy array, its gradient, and the operation that made it.

    >>> import tinygrad_lite as tl
    >>> a = tl.Value(2.0, name="a")
    >>> b = tl.Value(3.0, name="b")
    >>> y = a * b + a
    >>> y.backward()
    >>> a.grad, b.grad
    (4.0, 2.0)
    """

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "name",
        "_parents",
        "_op",
        "_static",
        "_seq",
        "_seen",
        "__weakref__",
    )
    __array_ufunc__ = None  # ndarray (op) Value defers to Value's reflected operator
    _seen: tuple[Any, ...]  # set by record only where the rule reads data (backward.note_data)

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        if isinstance(data, Value):
            raise DTypeError(
                "Value(Value(...)): the argument is already a Value; use it directly, "
                "or v.detach() for a copy that is cut from the graph"
            )
        if name is not None and not isinstance(name, str):
            raise DTypeError(f"Value: name={name!r} must be a string (or None)")
        self.data = as_data(data)
        self.grad: Any = None
        if type(requires_grad) is not bool:
            requires_grad = _flag(requires_grad, "Value", "requires_grad")
        self.requires_grad = requires_grad
        self.name = name
        self._parents: tuple[Value, ...] = ()
        self._op: Op | None = None
        self._static: Any = None
        self._seq = next(_count)

    # ------------------------------------------------------------ describing the data

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.data)

    @property
    def ndim(self) -> int:
        return 0 if type(self.data) in _NUMBER else self.data.ndim

    @property
    def size(self) -> int:
        return 1 if type(self.data) in _NUMBER else self.data.size

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64) if type(self.data) in _NUMBER else self.data.dtype

    # ------------------------------------------------------------ the graph, read-only

    @property
    def op(self) -> str | None:
        """The name of the operation that made this Value (a ``tl.Function``'s class name);
        ``None`` for a leaf."""
        return self._op.name if self._op is not None else None

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in argument order (``()`` for a leaf)."""
        return self._parents

    @property
    def static(self) -> Any:
        """The operation's arguments that are not Values: the axes of a sum, the exponent of
        ``x ** 2``, the number of ``x + 1.0``, an index; ``None`` where there are none.

        >>> import tinygrad_lite as tl
        >>> x = tl.Value([1.0, 2.0])
        >>> y = (x ** 2).sum(axis=0)
        >>> y.op, y.static, y.parents[0].op, y.parents[0].static
        ('sum', ((0,), False), 'pow', 2.0)
        """
        op = self._op
        return None if op is None or op.partial else self._static

    @property
    def is_leaf(self) -> bool:
        return not self._parents

    def item(self) -> float:
        if type(self.data) in _NUMBER:  # an int assigned to .data (micrograd's bias is 0)
            return float(self.data)
        if self.data.size != 1:
            raise ShapeError(f"item: Value of shape {self.shape} has {self.size} elements, not 1")
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (a 0-d array for a scalar); no copy for arrays."""
        return np.asarray(self.data)

    def detach(self) -> Value:
        """The same data in a new leaf that needs no gradient."""
        return leaf(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Value:
        """Set ``requires_grad`` of a leaf in place (freeze or unfreeze it); returns it."""
        if self._parents:
            raise ArgumentError(
                f"requires_grad_: only a leaf's flag can be set; this Value was made by "
                f"{self.op!r}. Use .detach() to cut it from the graph"
            )
        if type(requires_grad) is not bool:
            requires_grad = _flag(requires_grad, "requires_grad_", "requires_grad")
        self.requires_grad = requires_grad
        return self

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name is not None else ""
        if type(self.data) in _NUMBER:
            grad = "" if self.grad is None else f", grad={_fmt(self.grad)}"
            return f"Value({float(self.data)!r}{grad}{name})"
        if self.data.size == 1:  # a loss: show the number
            value = f"{self.data.item()!r}, shape={self.shape}"
            return f"Value({value}, dtype={self.dtype}{name})"
        return f"Value(shape={self.shape}, dtype={self.dtype}{name})"

    def __float__(self) -> float:
        return self.item()

    def __len__(self) -> int:
        if type(self.data) in _NUMBER or self.data.ndim == 0:
            raise ShapeError("len() of a scalar Value: it has no length; use .item()")
        return len(self.data)

    # comparisons give plain bools/arrays: they have no gradient
    __hash__ = object.__hash__

    def __lt__(self, other: Operand) -> Any:
        return self.data < data_of(other)

    def __le__(self, other: Operand) -> Any:
        return self.data <= data_of(other)

    def __gt__(self, other: Operand) -> Any:
        return self.data > data_of(other)

    def __ge__(self, other: Operand) -> Any:
        return self.data >= data_of(other)

    def __eq__(self, other: object) -> Any:
        return self.data == data_of(other)

    def __ne__(self, other: object) -> Any:
        return self.data != data_of(other)

    # ------------------------------------------------------------ arithmetic

    def __add__(self, other: Operand) -> Value:
        return _binary(ADD, self, other)

    def __radd__(self, other: Operand) -> Value:
        return _binary(ADD, other, self)

    def __sub__(self, other: Operand) -> Value:
        return _binary(SUB, self, other)

    def __rsub__(self, other: Operand) -> Value:
        return _binary(SUB, other, self)

    def __mul__(self, other: Operand) -> Value:
        return _binary(MUL, self, other)

    def __rmul__(self, other: Operand) -> Value:
        return _binary(MUL, other, self)

    def __truediv__(self, other: Operand) -> Value:
        return _binary(DIV, self, other)

    def __rtruediv__(self, other: Operand) -> Value:
        return _binary(DIV, other, self)

    def __neg__(self) -> Value:
        return apply(NEG, None, self)

    def __pos__(self) -> Value:
        return self

    def __pow__(self, exponent: Operand) -> Value:
        return _binary(POW, self, exponent)

    def __rpow__(self, base: Operand) -> Value:
        return _binary(POW, base, self)

    def pow(self, exponent: Operand) -> Value:
        """``self ** exponent``; the exponent may be a number, an array or a Value."""
        return _binary(POW, self, exponent)

    def __matmul__(self, other: Operand) -> Value:
        return _matmul(self, lift(other, self, "matmul"))

    def __rmatmul__(self, other: Operand) -> Value:
        return _matmul(lift(other, self, "matmul"), self)

    def __abs__(self) -> Value:
        return apply(ABS, None, self)

    # ------------------------------------------------------------ elementwise functions

    def exp(self) -> Value:
        return apply(EXP, None, self)

    def log(self) -> Value:
        return apply(LOG, None, self)

    def sqrt(self) -> Value:
        return apply(SQRT, None, self)

    def abs(self) -> Value:
        return apply(ABS, None, self)

    def tanh(self) -> Value:
        return apply(TANH, None, self)

    def sigmoid(self) -> Value:
        return apply(SIGMOID, None, self)

    def relu(self) -> Value:
        """max(x, 0); its derivative at 0 is taken as 0."""
        return apply(RELU, None, self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Value:
        return apply(
            OPS["leaky_relu"], _number(negative_slope, "leaky_relu", "negative_slope"), self
        )

    def gelu(self) -> Value:
        """GELU, tanh approximation (torch's ``approximate='tanh'``); built from primitives."""
        inner = (self + 0.044715 * self * self * self) * 0.7978845608028654  # sqrt(2/pi)
        return 0.5 * self * (1.0 + inner.tanh())

    def erf(self) -> Value:
        """The error function, 2/sqrt(pi) times the integral of exp(-t^2) from 0 to x.

        >>> import tinygrad_lite as tl
        >>> round(tl.Value(0.5).erf().data, 12)
        0.520499877813
        """
        return apply(OPS["erf"], None, self)

    def clip(self, min: float | None = None, max: float | None = None) -> Value:
        """Limit to [min, max]; the gradient passes where the input is inside the bounds."""
        if min is None and max is None:
            raise ArgumentError("clip: give min, max or both")
        min = None if min is None else _number(min, "clip", "min")
        max = None if max is None else _number(max, "clip", "max")
        if min is not None and max is not None and min > max:
            raise ArgumentError(f"clip: min={min} is larger than max={max}; swap them")
        return apply(OPS["clip"], (min, max), self)

    def softmax(self, axis: int = -1) -> Value:
        return apply(OPS["softmax"], self._axis(axis, "softmax"), self)

    def log_softmax(self, axis: int = -1) -> Value:
        return apply(OPS["log_softmax"], self._axis(axis, "log_softmax"), self)

    # ------------------------------------------------------------ reductions

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        if type(keepdims) is not bool:
            keepdims = _flag(keepdims, "sum", "keepdims")
        return apply(OPS["sum"], (self._axes(axis, "sum"), keepdims), self)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        axes = self._axes(axis, "mean")
        if type(keepdims) is not bool:
            keepdims = _flag(keepdims, "mean", "keepdims")
        n = self.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        if n == 0:  # as NumPy and torch: the mean of nothing is nan, with a warning
            warnings.warn(
                f"mean: of an empty selection of shape {self.shape}: the result is nan",
                RuntimeWarning,
                stacklevel=2,
            )
            return self.sum(axes, keepdims) * math.nan
        return self.sum(axes, keepdims) * (1.0 / n)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Largest element(s); ties share the gradient equally."""
        axes = self._axes(axis, "max")
        if type(keepdims) is not bool:
            keepdims = _flag(keepdims, "max", "keepdims")
        if self.size == 0:
            raise ShapeError(f"max: Value of shape {self.shape} is empty")
        return apply(OPS["max"], (axes, keepdims), self)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Smallest element(s); ties share the gradient equally."""
        return -((-self).max(axis, keepdims))

    # ------------------------------------------------------------ shapes and indexing

    def reshape(self, *shape: Any) -> Value:
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; one dimension may be -1."""
        new = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        new = tuple(_whole(n, "reshape", "dimension") for n in new)  # not True, 2.0 or "3"
        try:
            target = np.empty(self.shape, dtype=np.bool_).reshape(new).shape
        except (ValueError, TypeError):
            raise ShapeError(
                f"reshape: cannot reshape {self.shape} ({self.size} elements) to {new}"
            ) from None
        if target == self.shape:
            return self
        return apply(OPS["reshape"], target, self)

    def transpose(self, *axes: Any) -> Value:
        """Reverse the axes, or permute them: ``x.transpose(1, 0, 2)``."""
        order = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        if not order:
            order = tuple(reversed(range(self.ndim)))
        order = tuple(_whole(a, "transpose", "axis") for a in order)
        in_range = all(-self.ndim <= a < self.ndim for a in order)
        if not in_range or sorted(a % self.ndim for a in order) != list(range(self.ndim)):
            raise ShapeError(
                f"transpose: axes {order} are not a permutation of the {self.ndim} axes of a "
                f"Value of shape {self.shape}"
            )
        order = tuple(a % self.ndim for a in order)
        if order == tuple(range(self.ndim)):
            return self
        return apply(OPS["transpose"], order, self)

    @property
    def T(self) -> Value:
        return self.transpose()

    def broadcast_to(self, *shape: Any) -> Value:
        new = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        new = _new_shape(new, "broadcast_to", self.dtype)
        if new == self.shape:
            return self
        try:
            if np.broadcast_shapes(self.shape, new) != new:
                raise ValueError
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast {self.shape} to {new}") from None
        return apply(OPS["broadcast_to"], new, self)

    def sum_to(self, shape: Sequence[int]) -> Value:
        """Sum broadcast axes away until the shape is ``shape`` (the adjoint of broadcast_to)."""
        new = tuple(shape)
        if new == self.shape:
            return self
        try:
            np.broadcast_shapes(new, self.shape)
        except ValueError:
            raise ShapeError(f"sum_to: cannot sum {self.shape} down to {new}") from None
        return apply(OPS["sum_to"], new, self)

    def __getitem__(self, index: Any) -> Value:
        if type(self.data) is float:
            raise IndexingError(f"getitem: a scalar Value cannot be indexed (index {index!r})")
        idx = _index(index)
        try:
            self.data[idx]
        except IndexError as e:
            raise IndexingError(f"getitem: index {index!r} into shape {self.shape}: {e}") from None
        return apply(OPS["getitem"], idx, self)

    def scatter_to(self, shape: Sequence[int], index: Any) -> Value:
        """A zero Value of ``shape`` with this one added at ``index`` (the adjoint of x[index])."""
        return apply(OPS["scatter"], (tuple(shape), _index(index), None), self)

    # ------------------------------------------------------------ convolution rows
    # The rows of ops/conv.py on arguments already checked, the geometry a ``Conv``: what
    # those rows' backward rules call in graph mode. ``nn.functional.conv2d`` and the layers
    # check a user's arguments, make the ``Conv`` and call these.

    def conv2d(self, weight: Operand, conv: Conv, bias: Value | None = None) -> Value:
        """The ``conv2d`` row: this (N, C, H, W) batch correlated with ``weight``
        (O, C/groups, kH, kW), plus ``bias`` (O,). Unchecked: use ``nn.functional.conv2d``."""
        return _conv(OPS["conv2d"], conv, self, lift(weight, self, "conv2d"), bias)

    def conv_transpose2d(self, weight: Operand, conv: Conv, bias: Value | None = None) -> Value:
        """The ``conv_transpose2d`` row, ``weight`` (C, O/groups, kH, kW). Unchecked: use
        ``nn.functional.conv_transpose2d``."""
        w = lift(weight, self, "conv_transpose2d")
        return _conv(OPS["conv_transpose2d"], conv, self, w, bias)

    def conv2d_weight(self, grad: Operand, conv: Conv) -> Value:
        """The ``conv2d_weight`` row: the gradient of ``conv2d``'s weight, from this input and
        the output's gradient ``grad``."""
        return _conv(OPS["conv2d_weight"], conv, self, lift(grad, self, "conv2d_weight"), None)

    # ------------------------------------------------------------ backward

    def backward(self, gradient: Operand | None = None) -> None:
        """Backpropagate from this Value: fill ``.grad`` of every Value it depends on.

        Leaves accumulate across calls (call ``zero_grad()`` between steps); intermediate
        Values get this pass's gradient and keep it, so the backward graph can be drawn.
        A non-scalar Value needs ``gradient``: the gradient of some scalar with respect to it.
        """
        start = seed(self, data_of(gradient), "backward")
        listener = listen.listener
        if listener is not None:  # a traced step (tl.jit) notes where backward ran
            listen.note_backward(self, start, gradient)
        given: set[int] = set()  # ids of the arrays this pass gave to leaves as their .grad
        origins = anomaly_origins()
        with collector_paused():
            for node, g, sent in walk([self], [start]):
                if origins is not None:
                    check_finite(node, g, sent, origins)
                if node._parents:  # an intermediate keeps this pass's gradient, to be drawn
                    node.grad = g
                    if listener is not None:  # and a trace, what its rule sent
                        listener.saw(node, g, sent)
                    continue
                give_grad(node, g, given)

    # ------------------------------------------------------------ argument checks

    def _axis(self, axis: Any, op: str) -> int:
        """One axis of a non-empty dimension, as a non-negative int."""
        if self.ndim == 0:
            raise ShapeError(f"{op}: needs an array; got a scalar Value")
        a = _whole(axis, op, "axis")
        if not -self.ndim <= a < self.ndim:
            raise ShapeError(f"{op}: axis {axis} is out of range for shape {self.shape}")
        a %= self.ndim
        if self.shape[a] == 0:
            raise ShapeError(
                f"{op}: axis {a} of shape {self.shape} is empty; there is nothing to normalise"
            )
        return a

    def _axes(self, axis: Any, op: str) -> tuple[int, ...] | None:
        """Axes as a sorted tuple of distinct non-negative ints; None for all of them."""
        if axis is None:
            return None
        items = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
        axes = [_whole(a, op, "axis") for a in items]
        nd = self.ndim
        bad = [a for a in axes if not -max(nd, 1) <= a < max(nd, 1)]
        if bad or (nd == 0 and axes):
            raise ShapeError(f"{op}: axis {axis} is out of range for a Value of shape {self.shape}")
        normal = sorted(a % nd for a in axes)
        if len(set(normal)) != len(normal):
            raise ShapeError(f"{op}: axis {axis} names an axis twice; give each axis once")
        return tuple(normal)


def _whole(x: Any, op: str, what: str) -> int:
    """``x`` as an int if it is one (Python or NumPy, not a bool), else a named error."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return int(x)
    raise ArgumentError(
        f"{op}: {what} {x!r} must be a whole number (an int), not {type(x).__name__}"
    )


def _flag(x: Any, op: str, what: str) -> bool:
    """``x`` as a bool if it is one (Python or NumPy), else a named error: ``bool(x)`` would
    take any object, and an array's truth is an error of NumPy's."""
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    raise ArgumentError(f"{op}: {what}={_short(x)} must be True or False, not {type(x).__name__}")


def _new_shape(shape: tuple[Any, ...], op: str, dtype: np.dtype) -> tuple[int, ...]:
    """A shape the user asked for, checked: whole numbers >= 0, and few enough elements for
    NumPy to address (else NumPy's own ValueError or OverflowError leaks out)."""
    dims = tuple(_whole(n, op, "dimension") for n in shape)
    if any(n < 0 for n in dims):
        raise ShapeError(f"{op}: shape {dims} has a negative dimension; dimensions are >= 0")
    if math.prod(dims) * dtype.itemsize > np.iinfo(np.intp).max:
        raise ShapeError(
            f"{op}: shape {dims} has {math.prod(dims)} elements, more than any memory can hold; "
            "check the shape"
        )
    return dims


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(x: Any, op: str, what: str) -> float:
    """``x`` as a float if it is a real number, else a named error."""
    if isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_)):
        return to_float(x, f"{op}: {what}") if isinstance(x, int) else float(x)
    raise ArgumentError(f"{op}: {what} {_short(x)} must be a number, not {type(x).__name__}")


# ---------------------------------------------------------------- making nodes

_new = object.__new__


def record(
    data: Any,
    op: Op | None = None,
    static: Any = None,
    parents: tuple[Value, ...] = (),
    mode: Any = True,
) -> Value:
    """The one place a node is made: ``data`` computed by the row ``op`` from ``parents``.

    No checks (the callers made them): ``data`` must already follow the data policy (a Python
    float or a float ndarray). ``op=None`` makes a leaf that needs no gradient (a constant).
    ``mode`` is the grad mode the caller read (``grad_state()``): under ``detect_anomaly`` the
    Origins that notes the user's line where each node is made.
    """
    v = _new(Value)
    v.data = data
    v.grad = None
    v.requires_grad = bool(parents)
    v.name = None
    v._parents = parents
    v._op = op
    v._static = static
    v._seq = next(_count)
    if parents and op.reads_data and type(data) is not float:  # type: ignore[union-attr]
        note_data(v)  # what backward will read, sampled to catch changes made in place
    if mode is not True:  # under detect_anomaly: remember the user's line
        mode.note(v)
    return v


def traced_constant(data: Any, op: Op, static: Any, parents: tuple[Value, ...]) -> Value:
    """Inside a trace (tl.jit), a result that needs no gradient (computed from data only, or
    under no_grad) keeps its op and parents all the same, so that a replay computes it again
    from the step's new inputs; it stays a Value that needs no gradient."""
    v = record(data, op, static, parents)
    v.requires_grad = False
    return v


def give_grad(v: Value, g: Any, given: set[int]) -> None:
    """Add the gradient ``g`` that one backward pass found to the leaf ``v``'s ``.grad``.

    A leaf's gradient adds up across passes, in an array of its own (gradient clipping and
    users update ``.grad`` in place), so ``g`` is copied if another leaf holds it too (its id
    is in ``given``, the arrays this pass gave out), or if it is a view of some other array."""
    if type(g) is ndarray:
        if id(g) in given or g.base is not None or not g.flags.writeable:
            g = g.copy()
        given.add(id(g))
    v.grad = g if v.grad is None else add(v.grad, g)


def leaf(data: Any) -> Value:
    """A constant: a leaf that needs no gradient, without the user-facing checks."""
    return record(data)


def float_data(v: Value) -> Any:
    """``v.data``, where an int a user assigned (``v.data = 0``: micrograd's bias is the int
    0) is first made the float the data policy asks for, in place, so every rule sees a float.
    The attribute stays a plain slot, which keeps reading ``.data`` as fast as it can be."""
    d = v.data
    if type(d) is int:
        d = v.data = float(d)
    return d


def _as_output(data: Any, parents: Sequence[Value]) -> Any:
    """A NumPy scalar that a forward rule returned becomes a Python float (all inputs were
    floats: scalars stay Python floats end to end) or a 0-d array (its dtype kept)."""
    if all(type(p.data) in _NUMBER for p in parents):  # (an int assigned to .data, too)
        return float(data)
    return np.asarray(data)


def lift(x: Any, like: Value, op: str) -> Value:
    """``x`` as a Value: itself, or a constant made of a number or an array (an integer array
    takes ``like``'s float dtype). ``op`` names the operation in the error for bad data."""
    if isinstance(x, Value):
        return x
    return leaf(as_operand(x, like.data, op))


def data_of(x: Any) -> Any:
    """The data of a Value, or ``x`` itself."""
    return x.data if isinstance(x, Value) else x


def apply(op: Op, static: Any, *parents: Value) -> Value:
    """Run the row ``op`` forward on the parents' data and record the node if a gradient is
    needed (grad mode on, and some parent requires one); otherwise a constant."""
    if len(parents) == 1:  # the common case, written out: activations, reductions, losses
        x = parents[0].data
        if type(x) is int:
            x = float_data(parents[0])
        data = op.forward(static, x)
        needed = parents[0].requires_grad
    else:
        data = op.forward(static, *[p.data for p in parents])  # (ints: see _as_output)
        needed = any([p.requires_grad for p in parents])
    if type(data) is not float and type(data) is not ndarray:
        data = _as_output(data, parents)
    if needed:
        mode = grad_state()
        if mode:
            return record(data, op, static, parents, mode)
    if listen.listener is not None:
        return traced_constant(data, op, static, parents)
    return leaf(data)


_NUMBER = (float, int)
_ONLY_A, _ONLY_B = (True, False), (False, True)
# which inputs of a binary op need a gradient: _NEEDS_GRAD[a.requires_grad][b.requires_grad];
# shared tuples, so a node costs no extra allocation (and the garbage collector one object less)
_NEEDS_GRAD = (((False, False), _ONLY_B), (_ONLY_A, (True, True)))


def _binary(op: Op, a: Any, b: Any) -> Value:
    """``+ - * / **`` and matmul: one forward call, one node; the elementwise binary rows and
    matmul are partial (their backward skips an input that needs no gradient), so the node
    keeps which inputs need one where the others keep static arguments.

    A Python number on either side is kept inside the node (``ops.with_constant``) rather than
    made into a parent node of its own.
    """
    if type(b) is not Value:
        if type(b) in _NUMBER:
            return _with_constant(op, 1, a, b if type(b) is float else to_float(b, op.name))
        b = lift(b, a, op.name)
    elif type(a) is not Value:
        if type(a) in _NUMBER:
            return _with_constant(op, 0, b, a if type(a) is float else to_float(a, op.name))
        a = lift(a, b, op.name)
    need = _NEEDS_GRAD[a.requires_grad][b.requires_grad]
    try:
        data = op.forward(need, a.data, b.data)
    except ValueError:
        raise ShapeError(
            f"{op.name}: shapes {a.shape} and {b.shape} do not broadcast together; "
            "make them equal, or give the smaller one size-1 axes where they differ"
        ) from None
    if type(data) is not float and type(data) is not ndarray:
        data = _as_output(data, (a, b))
    if need[0] or need[1]:
        mode = grad_state()
        if mode:
            return record(data, op, need, (a, b), mode)
    if listen.listener is not None:
        return traced_constant(data, op, need, (a, b))
    return leaf(data)


def _with_constant(op: Op, side: int, x: Value, c: float) -> Value:
    try:
        data = op.forward(_ONLY_A, x.data, c) if side else op.forward(_ONLY_B, c, x.data)
    except ValueError:
        raise ShapeError(f"{op.name}: cannot combine a Value of shape {x.shape} with {c}") from None
    if type(data) is not float and type(data) is not ndarray:
        data = _as_output(data, (x,))
    if x.requires_grad:
        mode = grad_state()
        if mode:
            return record(data, WITH_CONSTANT[side][op.name], c, (x,), mode)
    if listen.listener is not None:
        return traced_constant(data, WITH_CONSTANT[side][op.name], c, (x,))
    return leaf(data)


def _matmul(a: Value, b: Value) -> Value:
    sa, sb = a.shape, b.shape
    if not sa or not sb:
        raise ShapeError(
            f"matmul: {sa} @ {sb}: both sides need at least one dimension; use * for scalars"
        )
    if sa[-1] != sb[-2 if len(sb) > 1 else 0]:
        raise ShapeError(
            f"matmul: {sa} @ {sb}: inner dimensions {sa[-1]} and "
            f"{sb[-2 if len(sb) > 1 else 0]} differ"
        )
    if len(sa) == 1 and len(sb) == 1:  # vector . vector
        return (a * b).sum()
    if len(sa) == 1:  # (k,) @ (..., k, m) -> (..., m)
        return _matmul(a.reshape(1, sa[0]), b).reshape(*sb[:-2], sb[-1])
    if len(sb) == 1:  # (..., n, k) @ (k,) -> (..., n)
        return _matmul(a, b.reshape(sb[0], 1)).reshape(*sa[:-1])
    try:
        np.broadcast_shapes(sa[:-2], sb[:-2])
    except ValueError:
        raise ShapeError(f"matmul: {sa} @ {sb}: batch dimensions do not broadcast") from None
    return _binary(MATMUL, a, b)


def _conv(op: Op, conv: Conv, x: Value, w: Value, bias: Value | None) -> Value:
    parents = (x, w) if bias is None else (x, w, bias)
    need = tuple(p.requires_grad for p in parents)
    kept = Kept() if op.name == "conv2d" else None  # conv2d keeps its columns for dW
    return apply(op, conv._replace(need=need, kept=kept), *parents)


def _index(index: Any) -> Any:
    """Normalise an index: Values and lists become arrays; everything else stays."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if isinstance(p, Value):
            p = p.data
        if isinstance(p, list):
            try:
                p = np.asarray(p)
            except ValueError:  # a ragged list
                raise IndexingError(
                    f"getitem: the index list {_short(p)} is ragged (its rows differ in "
                    "length); give one list per axis, each of the same length"
                ) from None
        if isinstance(p, ndarray) and p.dtype.kind == "f":
            if not np.all(p == np.round(p)):
                raise IndexingError(f"getitem: float index {p!r} is not a whole number")
            p = p.astype(np.intp)
        out.append(p)
    return tuple(out) if isinstance(index, tuple) else out[0]


def fit_value_grad(pg: Any, p: Value) -> Value:
    """Graph mode's ``fit_grad``: a gradient as a Value of its input's shape and kind."""
    if not isinstance(pg, Value):
        pg = leaf(as_operand(pg, p.data, "backward"))
    if pg.shape != p.shape:
        pg = pg.sum_to(p.shape)
    if type(p.data) is float and type(pg.data) is not float:  # a scalar's gradient is a float
        total = float(np.sum(pg.data))
        pg = record(total, OPS["sum_to"], (), (pg,)) if pg.requires_grad else leaf(total)
    return pg


def _fmt(x: Any) -> str:
    return repr(x) if type(x) is float else f"array(shape={np.shape(x)})"
