"""``nn.Module``: the base class of every layer and model.

A Module finds its parameters by walking its attributes, in the order they were assigned,
through lists, tuples and dicts and into sub-Modules: there is nothing to register. Every
``Value`` it reaches is a parameter (each one once, even when it is shared).

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn
>>> class Affine(nn.Module):
...     def __init__(self):
...         self.scale = tl.Value(np.ones(3))
...         self.shift = tl.Value(np.zeros(3))
...     def forward(self, x):
...         return x * self.scale + self.shift
>>> [name for name, _ in Affine().named_parameters()]
['scale', 'shift']

State that is not a parameter (a batch norm's running statistics) is a **buffer**: a NumPy
array registered with ``register_buffer(name, array)``, read as an attribute, listed by
``named_buffers()`` and saved with the parameters, under torch's names.

``state_dict()`` / ``load_state_dict()`` copy the numbers out and back in (loading writes into
the existing Values and arrays, so an optimizer that holds them keeps working), and
``save(path)`` / ``load(path)`` store them in a NumPy ``.npz`` file that is read with
``allow_pickle=False``: loading a file never runs code from it.

``requires_grad_(False)`` freezes a module: its parameters get no gradient and optimizers
leave them alone (transfer learning: freeze the layers you keep, train the new head).
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar, Union

import numpy as np

from ..core import (
    ArgumentError,
    DTypeError,
    ShapeError,
    TinygradLiteError,
    Value,
    note_call,
    note_state,
)


class StateDictError(TinygradLiteError, ValueError):
    """A state dict that does not fit the module: missing or unexpected keys, wrong shapes."""


class CheckpointError(TinygradLiteError, ValueError):
    """A file that is not a readable checkpoint: truncated, tampered with, or not an ``.npz``."""


M = TypeVar("M", bound="Module")
T = TypeVar("T")
PathLike = str | os.PathLike[str]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(..., strict=False)`` could not match."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class BufferSlot(NamedTuple):
    """Where a buffer lives: the attribute ``name`` of the module ``owner``."""

    owner: Module
    name: str

    def get(self) -> np.ndarray | None:
        return getattr(self.owner, self.name, None)

    def set(self, data: np.ndarray) -> None:
        """Write ``data`` into the buffer in place, keeping its dtype (a read-only array is
        replaced by a copy)."""
        current = self.get()
        if current is not None and current.flags.writeable:
            np.copyto(current, data, casting="unsafe")
        else:
            setattr(self.owner, self.name, np.array(data, dtype=getattr(current, "dtype", None)))


Item = Union[Value, "Module", BufferSlot]  # noqa: UP007 (a forward reference)


def _forward_unimplemented(self: Module, *args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError(f"{type(self).__name__}: define forward(self, ...) in the subclass")


class Module:
    """Base class of layers and models: subclass it, set attributes, define ``forward``.

    ``model(x)`` calls ``model.forward(x)``. Parameters are every ``Value`` reachable from the
    attributes (see the module docstring); sub-Modules are found the same way.
    """

    training: bool = True
    # a class attribute (not a method) so that subclasses may give forward any signature
    forward: Callable[..., Any] = _forward_unimplemented

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        note_state(self, "training")  # a traced step (tl.jit) replays for this mode only
        return self.forward(*args, **kwargs)

    # ------------------------------------------------------------ walking the attributes

    def _members(self) -> Iterator[tuple[str, Any]]:
        """What this module holds, as ``(name, object)`` in definition order.

        The one place that decides where the walk looks; ``Sequential`` overrides it to name
        its layers ``0``, ``1``, ... as PyTorch does.
        """
        return iter(vars(self).items())

    def _named_items(self) -> list[tuple[str, Item]]:
        """Every Value, buffer and sub-Module below this module, depth first, in definition
        order; a module's buffers come after its own parameters, before its sub-Modules (as in
        torch's state_dict).

        Each sub-Module is entered once (shared ones, and cycles, are not walked twice);
        a Value appears once per path that reaches it.
        """
        found: list[tuple[str, Item]] = []
        _collect(self, "", {id(self)}, found)
        return found

    def named_parameters(self) -> Iterator[tuple[str, Value]]:
        """``(dotted name, Value)`` for every parameter, in definition order, each once."""
        return _first_of_each(self._named_items(), Value)

    def parameters(self) -> list[Value]:
        """Every parameter, in definition order, each once: what an optimizer takes."""
        return [p for _, p in self.named_parameters()]

    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """This module (named ``''``) and every sub-Module below it, each once."""
        yield "", self
        for name, item in self._named_items():
            if isinstance(item, Module):
                yield name, item

    def modules(self) -> list[Module]:
        return [m for _, m in self.named_modules()]

    # ------------------------------------------------------------ buffers

    def register_buffer(self, name: str, tensor: np.ndarray | None) -> None:
        """Keep ``tensor`` as state of this module that is not a parameter: it is the attribute
        ``name``, gets no gradient, and is saved in ``state_dict()`` (unless it is None).

        >>> class Counter(Module):
        ...     def __init__(self):
        ...         self.register_buffer("count", np.array(0))
        >>> c = Counter()
        >>> c.count += 1             # in place: the registered array itself
        >>> c.state_dict()
        {'count': array(1)}
        """
        if not isinstance(name, str) or not name.isidentifier():
            raise ArgumentError(
                f"register_buffer: name {name!r} must be a Python identifier (no dots: a "
                "buffer belongs to the module that registers it)"
            )
        if tensor is not None and type(tensor) is not np.ndarray:
            raise DTypeError(
                f"register_buffer: {name!r} must be a NumPy array or None, not "
                f"{type(tensor).__name__}; wrap numbers in np.asarray(...), and keep Values "
                "(parameters) as plain attributes"
            )
        names: list[str] = self.__dict__.setdefault("_buffer_names", [])
        if name not in names:
            if hasattr(self, name):
                raise ArgumentError(
                    f"register_buffer: {type(self).__name__} already has an attribute {name!r}; "
                    "give the buffer another name"
                )
            names.append(name)
        setattr(self, name, tensor)

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        """``(dotted name, array)`` for every buffer below this module that is not None."""
        for name, item in self._named_items():
            array = item.get() if isinstance(item, BufferSlot) else None
            if array is not None:
                yield name, array

    def buffers(self) -> list[np.ndarray]:
        return [b for _, b in self.named_buffers()]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The sub-Modules held directly (not their own sub-Modules)."""
        found: list[tuple[str, Any]] = []
        for name, obj in self._members():
            _reachable(name, obj, found)
        return _first_of_each(found, Module)

    def children(self) -> list[Module]:
        return [m for _, m in self.named_children()]

    # ------------------------------------------------------------ training state

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (``grad = None``) before the next backward pass."""
        note_call(self.zero_grad)  # a traced step (tl.jit) calls it again on replay
        for p in self.parameters():
            p.grad = None

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Set ``requires_grad`` of every parameter: ``False`` freezes the module (no gradient,
        so optimizers skip its parameters), ``True`` unfreezes it. Returns the module.

        >>> m = Module()
        >>> m.w = Value(np.ones(2))
        >>> m.requires_grad_(False).w.requires_grad
        False
        """
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def train(self: M, mode: bool = True) -> M:
        """Set training mode (``Dropout`` active, ``BatchNorm`` on the batch's statistics) on
        this module and every sub-Module."""
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self: M) -> M:
        """Set evaluation mode (``Dropout`` is the identity, ``BatchNorm`` uses its running
        statistics) on this module and every sub-Module."""
        return self.train(False)

    # ------------------------------------------------------------ saving and loading

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter's data and every buffer, by dotted name (a scalar becomes
        a 0-d array), in torch's order: each module's parameters, then its buffers."""
        return {
            name: np.array(item.data if isinstance(item, Value) else item.get(), copy=True)
            for name, item in self._state_items()
        }

    def _state_items(self) -> list[tuple[str, Value | BufferSlot]]:
        """What ``state_dict`` holds: each parameter once, each buffer that is not None."""
        items: list[tuple[str, Value | BufferSlot]] = []
        seen: set[int] = set()
        for name, item in self._named_items():
            if isinstance(item, Value) and id(item) not in seen:
                seen.add(id(item))
                items.append((name, item))
            elif isinstance(item, BufferSlot) and item.get() is not None:
                items.append((name, item))
        return items

    def load_state_dict(
        self, state_dict: Mapping[str, Any], strict: bool = True
    ) -> IncompatibleKeys:
        """Copy ``state_dict`` into the parameters and buffers, in place, keeping their dtypes.

        With ``strict=True`` a missing or unexpected key raises ``StateDictError``; with
        ``strict=False`` they are returned. A wrong shape always raises, and nothing is written
        unless every entry fits.
        """
        if not isinstance(state_dict, Mapping):
            raise StateDictError(
                f"load_state_dict: expected a mapping of names to arrays, as state_dict() "
                f"returns, got {type(state_dict).__name__}"
            )
        own = dict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise _keys_mismatch(type(self).__name__, missing, unexpected)
        arrays = {k: _checked_array(k, state_dict[k], own[k]) for k in own if k in state_dict}
        for key, arr in arrays.items():
            target = own[key]
            if isinstance(target, Value):
                copy_(target, arr)
            else:
                target.set(arr)
        return IncompatibleKeys(missing, unexpected)

    def save(self, path: PathLike) -> None:
        """Write the state dict to ``path`` as an ``.npz`` file (exactly that path)."""
        with zipfile.ZipFile(path, "w") as zf:
            for key, arr in self.state_dict().items():
                with zf.open(key + ".npy", "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, arr, allow_pickle=False)

    def load(self, path: PathLike, strict: bool = True) -> IncompatibleKeys:
        """Load parameters saved by ``save``; never runs code from the file.

        A file that is truncated, corrupt, holds pickled objects or is not an ``.npz`` raises
        ``CheckpointError``; one that does not fit the module raises ``StateDictError``. The
        keys and every array's declared shape are checked against the module before any
        array is decompressed, so a hostile file costs neither time nor memory.
        """
        own = dict(self._state_items())
        shapes = {key: _shape_of(item) for key, item in own.items()}
        arrays, unexpected = _read_npz(path, shapes, strict, type(self).__name__)
        missing = [k for k in own if k not in arrays]
        self.load_state_dict(arrays, strict=False)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------ printing

    def extra_repr(self) -> str:
        """The text inside the parentheses of ``repr``; layers override it."""
        return ""

    def __repr__(self) -> str:
        lines = [f"({name}): {_indent(repr(child))}" for name, child in self.named_children()]
        if not lines:
            return f"{type(self).__name__}({self.extra_repr()})"
        head = [self.extra_repr()] if self.extra_repr() else []
        body = "\n".join("  " + line for line in head + lines)
        return f"{type(self).__name__}(\n{body}\n)"


def read_checkpoint(path: PathLike) -> dict[str, np.ndarray]:
    """The named arrays of an ``.npz`` checkpoint, checked and read with ``allow_pickle=False``.

    Each array's header is read first and its declared size compared with the member's size
    in the zip directory, so a forged header cannot make NumPy allocate more than the file
    holds; each array is then read whole, so the zip's CRC-32 checksums catch bytes changed
    on disk.
    """
    return _read_npz(path, None, True, "")[0]


# deflate cannot expand data by more than about 1032:1; a member claiming more is forged
_MAX_DEFLATE_RATIO = 1032


def _read_npz(
    path: PathLike, shapes: Mapping[str, tuple[int, ...]] | None, strict: bool, owner: str
) -> tuple[dict[str, np.ndarray], list[str]]:
    """``(arrays, unexpected keys)`` of an ``.npz``: with ``shapes`` (the module's parameters)
    only those keys are decompressed, after the key check and each header's shape check."""
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            for info in members:
                if not info.filename.endswith(".npy"):
                    raise _not_a_checkpoint(path, f"it holds {info.filename!r}, not an array")
            names = [info.filename[:-4] for info in members]
            unexpected = [] if shapes is None else [k for k in names if k not in shapes]
            if shapes is not None and strict:
                missing = [k for k in shapes if k not in names]
                if missing or unexpected:
                    raise _keys_mismatch(owner, missing, unexpected)
            for key, info in zip(names, members):
                if shapes is None or key in shapes:
                    expected = None if shapes is None else shapes[key]
                    arrays[key] = _read_member(zf, info, path, key, expected)
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        if isinstance(e, (CheckpointError, StateDictError)):
            raise
        raise _not_a_checkpoint(path, f"{type(e).__name__}: {e}") from None
    return arrays, unexpected


def _read_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    path: PathLike,
    key: str,
    expected: tuple[int, ...] | None,
) -> np.ndarray:
    """One ``.npy`` member: its header checked against the zip directory (and the parameter's
    shape) before a byte of its data is read."""
    if info.compress_type == zipfile.ZIP_STORED:
        bound = info.compress_size
    else:
        bound = _MAX_DEFLATE_RATIO * info.compress_size + 1024
    if info.file_size > bound:
        raise _not_a_checkpoint(
            path,
            f"{info.filename!r} claims {info.file_size} bytes from {info.compress_size} "
            "compressed bytes, more than compression can give",
        )
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if dtype.hasobject:
            raise _not_a_checkpoint(
                path,
                f"{info.filename!r} is an array of Python objects. Object arrays cannot be "
                "loaded without unpickling them, which could run code from the file",
            )
        declared = math.prod(shape) * dtype.itemsize
        if f.tell() + declared != info.file_size:
            raise _not_a_checkpoint(
                path,
                f"{info.filename!r} declares shape {shape} of {dtype} ({declared} bytes) but "
                f"the zip holds {info.file_size - f.tell()} bytes after its header",
            )
        if expected is not None and tuple(shape) != tuple(expected):
            raise StateDictError(
                f"load: {key!r} has shape {tuple(shape)} in the file but the parameter has "
                f"shape {tuple(expected)}; was it saved from a different architecture?"
            )
        payload = bytearray(f.read(declared))  # a bytearray: the array is writable
        f.read()  # to the end of the member: the zip checks its CRC-32 there
    if len(payload) != declared:
        raise _not_a_checkpoint(path, f"{info.filename!r} ends inside its data")
    flat = np.frombuffer(payload, dtype=dtype)
    return flat.reshape(shape, order="F" if fortran else "C")


def _shape_of(item: Value | BufferSlot) -> tuple[int, ...]:
    if isinstance(item, Value):
        return item.shape
    buffer = item.get()
    return () if buffer is None else buffer.shape


def _keys_mismatch(owner: str, missing: list[str], unexpected: list[str]) -> StateDictError:
    return StateDictError(
        f"load_state_dict: {owner} has parameters or buffers the state dict lacks "
        f"(missing: {missing}) or the state dict has keys the module lacks "
        f"(unexpected: {unexpected}); load a state dict saved from the same "
        "architecture, or pass strict=False"
    )


def _not_a_checkpoint(path: PathLike, why: str) -> CheckpointError:
    return CheckpointError(
        f"load: {os.fspath(path)!r} is not a readable checkpoint ({why}); it may be truncated "
        "or modified. Save it again with module.save(path)"
    )


def copy_(value: Value, data: Any) -> Value:
    """Write ``data`` into ``value`` in place, keeping its dtype (a scalar stays a Python float).

    Writing in place (rather than replacing ``value.data``) keeps every array that shares the
    data, and everything that holds the Value (an optimizer), in step.
    """
    arr = np.asarray(data)
    if type(value.data) is float:
        if arr.size != 1:
            raise ShapeError(f"copy_: cannot write data of shape {arr.shape} into a scalar Value")
        value.data = float(arr.reshape(()))
        return value
    try:
        target_shape = np.broadcast_shapes(arr.shape, value.shape)
    except ValueError:
        target_shape = None
    if target_shape != value.shape:
        raise ShapeError(
            f"copy_: cannot write data of shape {arr.shape} into a Value of shape {value.shape}"
        )
    if value.data.flags.writeable:
        np.copyto(value.data, arr, casting="unsafe")
    else:  # a read-only array (a broadcast view, a memory map): give the Value its own copy
        value.data = np.broadcast_to(arr, value.shape).astype(value.dtype)
    return value


def _reachable(name: str, obj: Any, found: list[tuple[str, Any]]) -> None:
    """Append the Values and Modules in ``obj`` to ``found``, looking through lists, tuples
    and dicts (not into the Modules)."""
    if isinstance(obj, (Value, Module)):
        found.append((name, obj))
    elif isinstance(obj, (list, tuple)):
        for i, item in enumerate(obj):
            _reachable(f"{name}.{i}", item, found)
    elif isinstance(obj, dict):
        for key, item in obj.items():
            _reachable(f"{name}.{key}", item, found)


def _first_of_each(items: list[tuple[str, Any]], kind: type[T]) -> Iterator[tuple[str, T]]:
    """The ``(name, item)`` pairs whose item is a ``kind``, each item once, under the first
    name that reaches it (a shared parameter or layer keeps its first name)."""
    seen: set[int] = set()
    for name, item in items:
        if isinstance(item, kind) and id(item) not in seen:
            seen.add(id(item))
            yield name, item


def _collect(module: Module, prefix: str, entered: set[int], found: list[tuple[str, Item]]) -> None:
    """Append everything below ``module`` to ``found``, entering each sub-Module once; the
    module's buffers go before its first sub-Module."""
    direct: list[tuple[str, Any]] = []
    for name, obj in module._members():
        _reachable(prefix + name, obj, direct)
    buffers = [
        (prefix + n, BufferSlot(module, n)) for n in module.__dict__.get("_buffer_names", ())
    ]
    for path, item in direct:
        if isinstance(item, Module):
            found += buffers
            buffers = []
            if id(item) in entered:
                continue
            entered.add(id(item))
            found.append((path, item))
            _collect(item, path + ".", entered, found)
        else:
            found.append((path, item))
    found += buffers


def _checked_array(key: str, data: Any, target: Value | BufferSlot) -> np.ndarray:
    arr = np.asarray(data.data if isinstance(data, Value) else data)
    what, like = ("parameter", target) if isinstance(target, Value) else ("buffer", target.get())
    assert like is not None  # _state_items leaves out buffers that are None
    if arr.dtype.kind not in "fiu":
        raise StateDictError(
            f"load_state_dict: {key!r} holds data of dtype {arr.dtype}; expected numbers "
            f"for a {what} of dtype {like.dtype}"
        )
    if arr.shape != like.shape:
        raise StateDictError(
            f"load_state_dict: {key!r} has shape {arr.shape} in the state dict but the "
            f"{what} has shape {like.shape}; was it saved from a different architecture?"
        )
    return arr


def _indent(text: str) -> str:
    return text.replace("\n", "\n  ")
