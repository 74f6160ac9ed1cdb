"""Value: a number or an array that remembers how it was computed, and backpropagates.

Every operation on Values makes a new Value whose ``_parents`` are its inputs (an ordered tuple;
a node never refers to its children or to itself, so no reference cycles) and whose ``_op`` is a
row of the op table in ``ops.py``. ``backward()`` walks the graph once in reverse topological
order and applies each row's backward rule: the chain rule, da -> dz -> dw, as the books draw it.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from . import ops
from .errors import ArgumentError, DTypeError, GradientError, IndexingError, ShapeError
from .grad_mode import _grad_enabled
from .graph import toposort
from .shapes import as_data, as_operand, fit_grad, ndarray, shape_of

Number = int | float
Operand = Union["Value", Number, np.ndarray]  # noqa: UP007 (a forward reference)

_count = itertools.count()
_enabled = _grad_enabled.get
_OPS = ops.OPS
_BOUND = ops.WITH_CONSTANT
ADD, SUB, MUL, DIV, POW, MATMUL = (_OPS[n] for n in ("add", "sub", "mul", "div", "pow", "matmul"))
NEG, EXP, LOG, SQRT, ABS, TANH, SIGMOID, RELU = (
    _OPS[n] for n in ("neg", "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu")
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
        "_ctx",
        "_seq",
        "__weakref__",
    )
    __array_ufunc__ = None  # ndarray (op) Value defers to Value's reflected operator

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        if isinstance(data, Value):
            raise DTypeError(
                "Value(Value(...)): the argument is already a Value; use it directly, "
                "or v.detach() for a copy that is cut from the graph"
            )
        self.data = as_data(data)
        self.grad: Any = None
        self.requires_grad = bool(requires_grad)
        self.name = name
        self._parents: tuple[Value, ...] = ()
        self._op: ops.Op | None = None
        self._ctx: Any = None
        self._seq = next(_count)

    # ------------------------------------------------------------ describing the data

    @property
    def shape(self) -> tuple[int, ...]:
        return shape_of(self.data)

    @property
    def ndim(self) -> int:
        return 0 if type(self.data) is float else self.data.ndim

    @property
    def size(self) -> int:
        return 1 if type(self.data) is float else self.data.size

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.float64) if type(self.data) is float else self.data.dtype

    @property
    def op(self) -> str:
        """Name of the operation that made this Value ('' for a leaf)."""
        return self._op.name if self._op is not None else ""

    @property
    def parents(self) -> tuple[Value, ...]:
        """The Values this one was computed from, in argument order."""
        return self._parents

    @property
    def is_leaf(self) -> bool:
        return not self._parents

    def item(self) -> float:
        if type(self.data) is float:
            return self.data
        if self.data.size != 1:
            raise ShapeError(f"item: Value of shape {self.shape} has {self.size} elements, not 1")
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """The data as an ndarray (a 0-d array for a scalar); no copy for arrays."""
        return np.asarray(self.data)

    def detach(self) -> Value:
        """The same data in a new leaf that needs no gradient."""
        return _node(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def __repr__(self) -> str:
        name = f", name={self.name!r}" if self.name is not None else ""
        if type(self.data) is float:
            grad = "" if self.grad is None else f", grad={_fmt(self.grad)}"
            return f"Value({self.data!r}{grad}{name})"
        if self.data.size == 1:  # a loss: show the number
            value = f"{self.data.item()!r}, shape={self.shape}"
            return f"Value({value}, dtype={self.dtype}{name})"
        return f"Value(shape={self.shape}, dtype={self.dtype}{name})"

    def __float__(self) -> float:
        return self.item()

    def __len__(self) -> int:
        if type(self.data) is float or self.data.ndim == 0:
            raise ShapeError("len() of a scalar Value: it has no length; use .item()")
        return len(self.data)

    # comparisons give plain bools/arrays: they have no gradient
    __hash__ = object.__hash__

    def __lt__(self, other: Operand) -> Any:
        return self.data < _raw(other)

    def __le__(self, other: Operand) -> Any:
        return self.data <= _raw(other)

    def __gt__(self, other: Operand) -> Any:
        return self.data > _raw(other)

    def __ge__(self, other: Operand) -> Any:
        return self.data >= _raw(other)

    def __eq__(self, other: object) -> Any:
        return self.data == _raw(other)

    def __ne__(self, other: object) -> Any:
        return self.data != _raw(other)

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
        return _apply(NEG, None, self)

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
        return _matmul(self, _lift(other, self, "matmul"))

    def __rmatmul__(self, other: Operand) -> Value:
        return _matmul(_lift(other, self, "matmul"), self)

    def __abs__(self) -> Value:
        return _apply(ABS, None, self)

    # ------------------------------------------------------------ elementwise functions

    def exp(self) -> Value:
        return _apply(EXP, None, self)

    def log(self) -> Value:
        return _apply(LOG, None, self)

    def sqrt(self) -> Value:
        return _apply(SQRT, None, self)

    def abs(self) -> Value:
        return _apply(ABS, None, self)

    def tanh(self) -> Value:
        return _apply(TANH, None, self)

    def sigmoid(self) -> Value:
        return _apply(SIGMOID, None, self)

    def relu(self) -> Value:
        """max(x, 0); its derivative at 0 is taken as 0."""
        return _apply(RELU, None, self)

    def leaky_relu(self, negative_slope: float = 0.01) -> Value:
        return _apply(_OPS["leaky_relu"], float(negative_slope), self)

    def gelu(self) -> Value:
        """GELU, tanh approximation (torch's ``approximate='tanh'``); built from primitives."""
        inner = (self + 0.044715 * self * self * self) * 0.7978845608028654  # sqrt(2/pi)
        return 0.5 * self * (1.0 + inner.tanh())

    def clip(self, min: float | None = None, max: float | None = None) -> Value:
        """Limit to [min, max]; the gradient passes where the input is inside the bounds."""
        if min is None and max is None:
            raise ArgumentError("clip: give min, max or both")
        if min is not None and max is not None and min > max:
            raise ArgumentError(f"clip: min={min} is larger than max={max}; swap them")
        return _apply(_OPS["clip"], (min, max), self)

    def softmax(self, axis: int = -1) -> Value:
        return _apply(_OPS["softmax"], self._axis(axis, "softmax"), self)

    def log_softmax(self, axis: int = -1) -> Value:
        return _apply(_OPS["log_softmax"], self._axis(axis, "log_softmax"), self)

    # ------------------------------------------------------------ reductions

    def sum(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        return _apply(_OPS["sum"], (self._axes(axis, "sum"), keepdims), self)

    def mean(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        axes = self._axes(axis, "mean")
        n = self.size if axes is None else int(np.prod([self.shape[a] for a in axes]))
        return self.sum(axes, keepdims) * (1.0 / n) if n else self.sum(axes, keepdims)

    def max(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Largest element(s); ties share the gradient equally."""
        axes = self._axes(axis, "max")
        if self.size == 0:
            raise ShapeError(f"max: Value of shape {self.shape} is empty")
        return _apply(_OPS["max"], (axes, keepdims), self)

    def min(self, axis: int | Sequence[int] | None = None, keepdims: bool = False) -> Value:
        """Smallest element(s); ties share the gradient equally."""
        return -((-self).max(axis, keepdims))

    # ------------------------------------------------------------ shapes and indexing

    def reshape(self, *shape: Any) -> Value:
        """``x.reshape(2, 3)`` or ``x.reshape((2, 3))``; one dimension may be -1."""
        new = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        try:
            target = np.empty(self.shape, dtype=np.bool_).reshape(new).shape
        except (ValueError, TypeError):
            raise ShapeError(
                f"reshape: cannot reshape {self.shape} ({self.size} elements) to {new}"
            ) from None
        if target == self.shape:
            return self
        return _apply(_OPS["reshape"], target, self)

    def transpose(self, *axes: Any) -> Value:
        """Reverse the axes, or permute them: ``x.transpose(1, 0, 2)``."""
        order = tuple(axes[0]) if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes
        if not order:
            order = tuple(reversed(range(self.ndim)))
        in_range = all(-self.ndim <= a < self.ndim for a in order)
        if not in_range or sorted(a % self.ndim for a in order) != list(range(self.ndim)):
            raise ShapeError(
                f"transpose: axes {order} are not a permutation of the {self.ndim} axes of a "
                f"Value of shape {self.shape}"
            )
        order = tuple(a % self.ndim for a in order)
        if order == tuple(range(self.ndim)):
            return self
        return _apply(_OPS["transpose"], order, self)

    @property
    def T(self) -> Value:
        return self.transpose()

    def broadcast_to(self, *shape: Any) -> Value:
        new = tuple(shape[0]) if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape
        if new == self.shape:
            return self
        try:
            if np.broadcast_shapes(self.shape, new) != new:
                raise ValueError
        except ValueError:
            raise ShapeError(f"broadcast_to: cannot broadcast {self.shape} to {new}") from None
        return _apply(_OPS["broadcast_to"], new, self)

    def sum_to(self, shape: Sequence[int]) -> Value:
        """Sum broadcast axes away until the shape is ``shape`` (the adjoint of broadcast_to)."""
        new = tuple(shape)
        if new == self.shape:
            return self
        try:
            np.broadcast_shapes(new, self.shape)
        except ValueError:
            raise ShapeError(f"sum_to: cannot sum {self.shape} down to {new}") from None
        return _apply(_OPS["sum_to"], new, self)

    def __getitem__(self, index: Any) -> Value:
        if type(self.data) is float:
            raise IndexingError(f"getitem: a scalar Value cannot be indexed (index {index!r})")
        idx = _index(index)
        try:
            self.data[idx]
        except IndexError as e:
            raise IndexingError(f"getitem: index {index!r} into shape {self.shape}: {e}") from None
        return _apply(_OPS["getitem"], idx, self)

    def scatter_to(self, shape: Sequence[int], index: Any) -> Value:
        """A zero Value of ``shape`` with this one added at ``index`` (the adjoint of x[index])."""
        return _apply(_OPS["scatter"], (tuple(shape), _index(index), None), self)

    # ------------------------------------------------------------ backward

    def backward(self, gradient: Operand | None = None) -> None:
        """Backpropagate from this Value: fill ``.grad`` of every Value it depends on.

        Leaves accumulate across calls (call ``zero_grad()`` between steps); intermediate
        Values get this pass's gradient and keep it, so the backward graph can be drawn.
        A non-scalar Value needs ``gradient``: the gradient of some scalar with respect to it.
        """
        seed = _seed(self, gradient, "backward")
        _backprop([self], [seed], create_graph=False, store=True)

    # ------------------------------------------------------------ argument checks

    def _axis(self, axis: int, op: str) -> int:
        if self.ndim == 0:
            raise ShapeError(f"{op}: needs an array; got a scalar Value")
        if not -self.ndim <= axis < self.ndim:
            raise ShapeError(f"{op}: axis {axis} is out of range for shape {self.shape}")
        return axis % self.ndim

    def _axes(self, axis: Any, op: str) -> tuple[int, ...] | None:
        if axis is None:
            return None
        axes = tuple(axis) if isinstance(axis, (tuple, list)) else (int(axis),)
        nd = self.ndim
        bad = [a for a in axes if not -max(nd, 1) <= a < max(nd, 1)]
        if bad or (nd == 0 and axes):
            raise ShapeError(f"{op}: axis {axis} is out of range for a Value of shape {self.shape}")
        return tuple(sorted(a % nd for a in axes))


# ---------------------------------------------------------------- making nodes

_new = object.__new__


def _node(
    data: Any, op: ops.Op | None = None, ctx: Any = None, parents: tuple[Value, ...] = ()
) -> Value:
    """Make a Value without the user-facing checks: the engine's own constructor."""
    v = _new(Value)
    v.data = data
    v.grad = None
    v.requires_grad = bool(parents)
    v.name = None
    v._parents = parents
    v._op = op
    v._ctx = ctx
    v._seq = next(_count)
    return v


def _settle(data: Any, parents: Sequence[Value]) -> Any:
    """NumPy scalars become Python floats (all inputs were floats) or 0-d arrays (dtype kept)."""
    if all(type(p.data) is float for p in parents):
        return float(data)
    return np.asarray(data)


def _lift(x: Any, like: Value, op: str) -> Value:
    if isinstance(x, Value):
        return x
    return _node(as_operand(x, like.data, op))


def _raw(x: Any) -> Any:
    return x.data if isinstance(x, Value) else x


def _apply(op: ops.Op, ctx: Any, *parents: Value) -> Value:
    """Run ``op`` forward on the parents' data and record the node if a gradient is needed."""
    if len(parents) == 1:  # the common case, written out: activations, reductions, losses
        data = op.forward(ctx, parents[0].data)
        needed = parents[0].requires_grad
    else:
        data = op.forward(ctx, *[p.data for p in parents])
        needed = any([p.requires_grad for p in parents])
    if type(data) is not float and type(data) is not ndarray:
        data = _settle(data, parents)
    if needed and _enabled():
        return _node(data, op, ctx, parents)
    return _node(data)


_NUMBER = (float, int)
_ONLY_A, _ONLY_B = (True, False), (False, True)
# which inputs of a binary op need a gradient: _NEED[a.requires_grad][b.requires_grad]; shared
# tuples, so a node costs no extra allocation (and the garbage collector one object less)
_NEED = (((False, False), _ONLY_B), (_ONLY_A, (True, True)))


def _binary(op: ops.Op, a: Any, b: Any) -> Value:
    """The hot path of ``+ - * / **`` and matmul: one forward call, one node.

    A Python number on either side is kept inside the node (``ops.with_constant``) rather than
    made into a parent node of its own.
    """
    if type(b) is not Value:
        if type(b) in _NUMBER:
            return _with_constant(op, 1, a, float(b))
        b = _lift(b, a, op.name)
    elif type(a) is not Value:
        if type(a) in _NUMBER:
            return _with_constant(op, 0, b, float(a))
        a = _lift(a, b, op.name)
    need = _NEED[a.requires_grad][b.requires_grad]
    try:
        data = op.forward(need, a.data, b.data)
    except ValueError:
        raise ShapeError(
            f"{op.name}: shapes {a.shape} and {b.shape} do not broadcast together; "
            "make them equal, or give the smaller one size-1 axes where they differ"
        ) from None
    if type(data) is not float and type(data) is not ndarray:
        data = _settle(data, (a, b))
    if (need[0] or need[1]) and _enabled():
        return _node(data, op, need, (a, b))
    return _node(data)


def _with_constant(op: ops.Op, side: int, x: Value, c: float) -> Value:
    try:
        data = op.forward(_ONLY_A, x.data, c) if side else op.forward(_ONLY_B, c, x.data)
    except ValueError:
        raise ShapeError(f"{op.name}: cannot combine a Value of shape {x.shape} with {c}") from None
    if type(data) is not float and type(data) is not ndarray:
        data = _settle(data, (x,))
    if x.requires_grad and _enabled():
        return _node(data, _BOUND[side][op.name], c, (x,))
    return _node(data)


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


def _index(index: Any) -> Any:
    """Normalise an index: Values and lists become arrays; everything else stays."""
    parts = index if isinstance(index, tuple) else (index,)
    out = []
    for p in parts:
        if isinstance(p, Value):
            p = p.data
        if isinstance(p, list):
            p = np.asarray(p)
        if isinstance(p, ndarray) and p.dtype.kind == "f":
            if not np.all(p == np.round(p)):
                raise IndexingError(f"getitem: float index {p!r} is not a whole number")
            p = p.astype(np.intp)
        out.append(p)
    return tuple(out) if isinstance(index, tuple) else out[0]


# ---------------------------------------------------------------- the backward pass


def _seed(root: Value, gradient: Any, what: str) -> Any:
    if not root.requires_grad:
        raise GradientError(
            f"{what}: this Value needs no gradient: it was made under no_grad(), or from "
            "Values that all have requires_grad=False. Make a parameter with Value(..., "
            "requires_grad=True) and compute from it with grad mode on."
        )
    if gradient is None:
        if type(root.data) is float:
            return 1.0
        if root.data.size != 1:
            raise GradientError(
                f"{what}: the Value has shape {root.shape}, not a single number; call "
                ".sum() or .mean() first, or pass gradient= an array of that shape"
            )
        return np.array(1, dtype=root.data.dtype).reshape(root.data.shape)
    g = _raw(gradient)
    if shape_of(g) != root.shape:
        raise ShapeError(
            f"{what}: gradient has shape {shape_of(g)} but the Value has shape {root.shape}"
        )
    return g if type(root.data) is float and type(g) is float else fit_grad(g, root.data)


def _backprop(
    roots: Sequence[Value],
    seeds: Sequence[Any],
    create_graph: bool,
    store: bool,
    wanted: Sequence[Value] = (),
) -> dict[Value, Any]:
    """Apply the chain rule from ``roots`` back to every Value that needs a gradient.

    ``store``: write gradients into ``.grad`` (leaves add to what they hold, intermediates
    are overwritten); otherwise return the gradients of the ``wanted`` Values.
    ``create_graph``: run the backward rules on Values, recording the graph of the gradient.
    """
    grads: dict[Value, Any] = {}
    for root, seed in zip(roots, seeds):
        grads[root] = seed if root not in grads else _add(grads[root], seed)
    want = set(wanted)
    found: dict[Value, Any] = {}
    given: set[int] = set()  # ids of the arrays this pass gave to leaves as their .grad
    pop, get = grads.pop, grads.get
    fit = _fit_value if create_graph else _fit_raw

    def send(p: Value, pg: Any) -> None:
        """Add a gradient arriving at ``p``, in ``p``'s shape, to what it has: sum of fan-out."""
        d = p.data
        if type(pg) is not type(d) or (
            type(d) is ndarray and (pg.shape != d.shape or pg.dtype != d.dtype)
        ):
            pg = fit(pg, p)
        prev = get(p)
        grads[p] = pg if prev is None else _add(prev, pg)

    collecting = gc.isenabled()
    gc.disable()  # the pass makes no reference cycles; don't let the collector walk the graph
    try:
        for node in reversed(toposort(roots)):
            g = pop(node, None)
            if g is None:  # no gradient reached it (e.g. data, or an unused branch)
                continue
            parents = node._parents
            if not parents:  # a leaf: its gradient adds up across passes, in its own array
                if store:
                    if type(g) is ndarray:  # copied if another leaf has it, or it is a view
                        if id(g) in given or g.base is not None or not g.flags.writeable:
                            g = g.copy()  # (gradient clipping and users update it in place)
                        given.add(id(g))
                    node.grad = g if node.grad is None else _add(node.grad, g)
                elif node in want:
                    found[node] = g
                continue
            if store:  # an intermediate keeps this pass's gradient, to be read or drawn
                node.grad = g
            elif node in want:
                found[node] = g
            # the chain rule: the op turns dL/dnode into dL/dparent for each parent
            op = node._op
            if create_graph:
                pgrads = op.backward(node._ctx, g, node, *parents)  # type: ignore[union-attr]
            elif len(parents) == 1:  # one input, and it needs a gradient: the common case
                p = parents[0]
                (pg,) = op.backward(node._ctx, g, node.data, p.data)  # type: ignore[union-attr]
                if pg is not None:
                    send(p, pg)
                continue
            else:
                datas = [p.data for p in parents]
                pgrads = op.backward(node._ctx, g, node.data, *datas)  # type: ignore[union-attr]
            for p, pg in zip(parents, pgrads):
                if pg is not None and p.requires_grad:
                    send(p, pg)
    finally:
        if collecting:
            gc.enable()
    return found


def _add(a: Any, b: Any) -> Any:
    """a + b for gradients: two 0-d arrays add up to a NumPy scalar; keep it a 0-d array."""
    total = a + b
    t = type(total)
    return total if t is float or t is ndarray or t is Value else np.asarray(total)


def _fit_raw(pg: Any, p: Value) -> Any:
    return fit_grad(pg, p.data)


def _fit_value(pg: Any, p: Value) -> Value:
    """Graph mode's fit_grad: a Value gradient of the input's shape."""
    if not isinstance(pg, Value):
        pg = _node(as_operand(pg, p.data, "backward"))
    if pg.shape != p.shape:
        pg = pg.sum_to(p.shape)
    if type(p.data) is float and type(pg.data) is not float:  # a scalar's gradient is a float
        total = float(np.sum(pg.data))
        pg = _node(total, _OPS["sum_to"], (), (pg,)) if pg.requires_grad else _node(total)
    return pg


def _fmt(x: Any) -> str:
    return repr(x) if type(x) is float else f"array(shape={np.shape(x)})"
