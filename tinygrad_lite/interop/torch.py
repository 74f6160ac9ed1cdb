"""Moving a model to PyTorch and back: ``to_torch``, ``from_torch``, ``load_torch_state_dict``.

Every layer of ``tinygrad_lite.nn`` has a torch counterpart with the same arguments and, except
one, the same parameter names and layouts: ``nn.Linear`` keeps its weight as (in, out), the
books' layout, where ``torch.nn.Linear`` keeps (out, in), so that weight is transposed on the
way. Converting a layer therefore means: read its options, build the other side's layer with
them (in the same float dtype), copy the state dict across (parameters and buffers such as
batch norm's running statistics), and carry over training or evaluation mode.

What converts by itself: the layers in ``_PAIRS`` below, and ``Sequential`` of them (nested
as deep as you like; a layer used twice stays one shared layer). A Module of your own has a
``forward`` written in Python for one library, which cannot be translated to the other: write
the same class with the other library's layers under the same attribute names, and pass an
instance as ``into=``; the weights are then copied layer by layer, after checking that every
known layer has the same type and options on both sides. Anything else raises
``UnsupportedLayerError`` naming the first layer (its path in the model) that has no
counterpart, or the option it uses that has none (``ceil_mode=True``, ``padding_mode=...``).

torch is imported when a function needs it (``pip install 'tinygrad_lite[torch]'``);
``load_torch_state_dict`` takes NumPy arrays as well as tensors and then needs no torch at all.

>>> import numpy as np
>>> import tinygrad_lite as tl
>>> from tinygrad_lite import nn
>>> from tinygrad_lite.interop import load_torch_state_dict
>>> _ = tl.manual_seed(0)
>>> model = nn.Sequential(nn.Linear(3, 2), nn.ReLU())
>>> torch_layout = {"0.weight": np.ones((2, 3)), "0.bias": np.zeros(2)}   # (out, in)
>>> load_torch_state_dict(model, torch_layout)
>>> model[0].weight.shape                                                   # (in, out)
(3, 2)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from .. import nn
from ..core import TinygradLiteError
from ..nn.module import Module, StateDictError
from ..nn.transformer import ACTIVATIONS
from ..optional import optional_import


class UnsupportedLayerError(TinygradLiteError, TypeError):
    """A layer, or an option of a layer, that has no counterpart in the other library."""


class _Unsupported(Exception):
    """Raised inside a converter; the caller adds where the layer is in the model."""


def _torch() -> ModuleType:
    return optional_import("torch", "tinygrad_lite.interop (torch)", "torch", extra="torch")


# ---------------------------------------------------------------- the table of layers
#
# Each row names our class and torch's, and a reader that turns a layer of EITHER side into our
# constructor's keywords (dtype aside). One vocabulary for both sides does three jobs: building
# the other side, checking an ``into=`` model layer by layer, and refusing the torch options
# that we do not have (the reader raises _Unsupported when it meets one).


@dataclass(frozen=True)
class _Pair:
    ours: type[Module]
    torch_name: str  # the class in torch.nn
    # a layer of either side -> our constructor's keywords (each reader knows both spellings)
    options: Callable[[Any], dict[str, Any]]
    renamed: tuple[tuple[str, str], ...] = ()  # (our keyword, torch's) where they differ
    transposed: tuple[str, ...] = ()  # state keys whose layouts are each other's transpose
    weighted: bool = False  # the constructors take dtype=
    # the options in one spelling, for comparing two layers: a pool's kernel_size=2 is (2, 2)
    canonical: Callable[[dict[str, Any]], dict[str, Any]] = lambda options: options

    def torch_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        names = dict(self.renamed)
        return {names.get(k, k): v for k, v in options.items()}


def _none(_: Any) -> dict[str, Any]:
    return {}


def _require(condition: bool, option: str) -> None:
    if not condition:
        raise _Unsupported(option)


def _tuple(value: Any, dims: int) -> tuple[Any, ...]:
    """An int (or an int-like) as ``dims`` copies; a sequence as a tuple of ints."""
    if isinstance(value, (tuple, list)):
        return tuple(None if v is None else int(v) for v in value)
    return (None if value is None else int(value),) * dims


def _linear(m: Any) -> dict[str, Any]:
    return {"in_features": m.in_features, "out_features": m.out_features,
            "bias": m.bias is not None}  # fmt: skip


def _conv(m: Any) -> dict[str, Any]:
    mode = getattr(m, "padding_mode", "zeros")
    _require(mode == "zeros", f"padding_mode={mode!r}")
    dims = len(m.kernel_size)
    padding = m.padding if isinstance(m.padding, str) else _tuple(m.padding, dims)
    options = {
        "in_channels": m.in_channels,
        "out_channels": m.out_channels,
        "kernel_size": _tuple(m.kernel_size, dims),
        "stride": _tuple(m.stride, dims),
        "padding": padding,
        "dilation": _tuple(m.dilation, dims),
        "groups": m.groups,
        "bias": m.bias is not None,
    }
    if type(m).__name__ == "ConvTranspose2d":
        options["output_padding"] = _tuple(m.output_padding, dims)
    return options


def _pool(dims: int, kind: str) -> Callable[[Any], dict[str, Any]]:
    def options(m: Any) -> dict[str, Any]:
        _require(not getattr(m, "ceil_mode", False), "ceil_mode=True")
        _require(not getattr(m, "return_indices", False), "return_indices=True")
        _require(getattr(m, "count_include_pad", True), "count_include_pad=False")
        _require(getattr(m, "divisor_override", None) is None, "divisor_override")
        names = ("kernel_size", "stride", "padding") + (("dilation",) if kind == "max" else ())
        return {name: _as_given(getattr(m, name)) for name in names}

    return options


def _as_given(value: Any) -> Any:
    """An int stays an int and a sequence becomes a tuple: each side's constructor takes
    both, and keeping the spelling keeps the layer's repr through a round trip."""
    return tuple(value) if isinstance(value, (tuple, list)) else value


def _spelled_out(dims: int) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda options: {k: _tuple(v, dims) for k, v in options.items()}


def _adaptive(m: Any) -> dict[str, Any]:
    return {"output_size": _as_given(m.output_size)}


def _batch_norm(m: Any) -> dict[str, Any]:
    return {
        "num_features": m.num_features,
        "eps": float(m.eps),
        "momentum": None if m.momentum is None else float(m.momentum),
        "affine": bool(m.affine),
        "track_running_stats": bool(m.track_running_stats),
        "bias": (m.bias is not None) if m.affine else True,
    }


def _layer_norm(m: Any) -> dict[str, Any]:
    affine = bool(m.elementwise_affine)
    return {
        "normalized_shape": tuple(int(n) for n in m.normalized_shape),
        "eps": float(m.eps),
        "elementwise_affine": affine,
        "bias": (m.bias is not None) if affine else True,
    }


def _embedding(m: Any) -> dict[str, Any]:
    _require(getattr(m, "max_norm", None) is None, f"max_norm={getattr(m, 'max_norm', None)}")
    _require(not getattr(m, "scale_grad_by_freq", False), "scale_grad_by_freq=True")
    _require(not getattr(m, "sparse", False), "sparse=True")
    return {"num_embeddings": m.num_embeddings, "embedding_dim": m.embedding_dim,
            "padding_idx": m.padding_idx}  # fmt: skip


def _recurrent(m: Any) -> dict[str, Any]:
    _require(getattr(m, "proj_size", 0) == 0, f"proj_size={getattr(m, 'proj_size', 0)}")
    options = {
        "input_size": m.input_size,
        "hidden_size": m.hidden_size,
        "num_layers": m.num_layers,
        "bias": bool(m.bias),
        "batch_first": bool(m.batch_first),
        "dropout": float(m.dropout),
        "bidirectional": bool(m.bidirectional),
    }
    if type(m).__name__ == "RNN":
        options["nonlinearity"] = m.nonlinearity
    return options


def _cell(m: Any) -> dict[str, Any]:
    options = {"input_size": m.input_size, "hidden_size": m.hidden_size, "bias": bool(m.bias)}
    if type(m).__name__ == "RNNCell":
        options["nonlinearity"] = m.nonlinearity
    return options


def _attention(m: Any) -> dict[str, Any]:
    _require(getattr(m, "bias_k", None) is None, "add_bias_kv=True")
    _require(not getattr(m, "add_zero_attn", False), "add_zero_attn=True")
    _require(
        getattr(m, "kdim", m.embed_dim) == getattr(m, "vdim", m.embed_dim) == m.embed_dim,
        f"kdim={getattr(m, 'kdim', None)}, vdim={getattr(m, 'vdim', None)} (not embed_dim)",
    )
    return {
        "embed_dim": m.embed_dim,
        "num_heads": m.num_heads,
        "dropout": float(m.dropout),
        "bias": m.in_proj_bias is not None,
        "batch_first": bool(m.batch_first),
    }


def _encoder_layer(m: Any) -> dict[str, Any]:
    if isinstance(m, nn.TransformerEncoderLayer):
        names = {id(f): name for name, f in ACTIVATIONS.items()}
        activation = names.get(id(m.activation))
        _require(activation is not None, f"activation={m.activation!r} (a function of its own)")
    else:  # torch keeps which of its two built-in activations it uses
        code = getattr(m, "activation_relu_or_gelu", 0)
        _require(code in (1, 2), f"activation={m.activation!r} (not 'relu' or 'gelu')")
        activation = "relu" if code == 1 else "gelu"
        _require(m.linear1.bias is not None, "bias=False")
    return {
        "d_model": m.self_attn.embed_dim,
        "nhead": m.self_attn.num_heads,
        "dim_feedforward": m.linear1.out_features,
        "dropout": float(m.dropout.p),
        "activation": activation,
        "layer_norm_eps": float(m.norm1.eps),
        "batch_first": bool(m.self_attn.batch_first),
        "norm_first": bool(m.norm_first),
    }


def _flatten(m: Any) -> dict[str, Any]:
    start, end = getattr(m, "start_dim", 1), getattr(m, "end_dim", -1)
    _require((start, end) == (1, -1), f"start_dim={start}, end_dim={end}")
    return {}


def _upsample(m: Any) -> dict[str, Any]:
    _require(
        getattr(m, "size", None) is None, f"size={getattr(m, 'size', None)} (give scale_factor)"
    )
    _require(m.mode == "nearest", f"mode={m.mode!r}")
    factor = m.scale_factor
    factors = tuple(factor) if isinstance(factor, (tuple, list)) else (factor,)
    _require(
        all(f is not None and float(f) == int(f) and f >= 1 for f in factors),
        f"scale_factor={factor!r} (only whole factors)",
    )
    whole = tuple(int(f) for f in factors)
    return {"scale_factor": whole if isinstance(factor, (tuple, list)) else whole[0],
            "mode": "nearest"}  # fmt: skip


def _softmax(m: Any) -> dict[str, Any]:
    axis = m.axis if isinstance(m, nn.Softmax) else m.dim
    _require(axis is not None, "dim=None (give the axis)")
    return {"axis": int(axis)}


def _probability(m: Any) -> dict[str, Any]:
    return {"p": float(m.p)}


def _slope(m: Any) -> dict[str, Any]:
    return {"negative_slope": float(m.negative_slope)}


def _gelu(m: Any) -> dict[str, Any]:
    return {"approximate": m.approximate}


def _unflatten(m: Any) -> dict[str, Any]:
    return {"dim": int(m.dim), "unflattened_size": tuple(int(n) for n in m.unflattened_size)}


_PAIRS: tuple[_Pair, ...] = (
    _Pair(nn.Linear, "Linear", (_linear), transposed=("weight",), weighted=True),
    _Pair(nn.Conv1d, "Conv1d", (_conv), weighted=True),
    _Pair(nn.Conv2d, "Conv2d", (_conv), weighted=True),
    _Pair(nn.ConvTranspose2d, "ConvTranspose2d", (_conv), weighted=True),
    _Pair(nn.MaxPool1d, "MaxPool1d", (_pool(1, "max")), canonical=_spelled_out(1)),
    _Pair(nn.MaxPool2d, "MaxPool2d", (_pool(2, "max")), canonical=_spelled_out(2)),
    _Pair(nn.AvgPool1d, "AvgPool1d", (_pool(1, "avg")), canonical=_spelled_out(1)),
    _Pair(nn.AvgPool2d, "AvgPool2d", (_pool(2, "avg")), canonical=_spelled_out(2)),
    _Pair(nn.AdaptiveAvgPool2d, "AdaptiveAvgPool2d", (_adaptive), canonical=_spelled_out(2)),
    _Pair(nn.BatchNorm1d, "BatchNorm1d", (_batch_norm), weighted=True),
    _Pair(nn.BatchNorm2d, "BatchNorm2d", (_batch_norm), weighted=True),
    _Pair(nn.LayerNorm, "LayerNorm", (_layer_norm), weighted=True),
    _Pair(nn.Embedding, "Embedding", (_embedding), weighted=True),
    _Pair(nn.RNN, "RNN", (_recurrent), weighted=True),
    _Pair(nn.LSTM, "LSTM", (_recurrent), weighted=True),
    _Pair(nn.GRU, "GRU", (_recurrent), weighted=True),
    _Pair(nn.RNNCell, "RNNCell", (_cell), weighted=True),
    _Pair(nn.LSTMCell, "LSTMCell", (_cell), weighted=True),
    _Pair(nn.GRUCell, "GRUCell", (_cell), weighted=True),
    _Pair(nn.MultiheadAttention, "MultiheadAttention", (_attention), weighted=True),
    _Pair(nn.TransformerEncoderLayer, "TransformerEncoderLayer", (_encoder_layer), weighted=True),
    _Pair(nn.Dropout, "Dropout", (_probability)),
    _Pair(nn.Dropout2d, "Dropout2d", (_probability)),
    _Pair(nn.ReLU, "ReLU", (_none)),
    _Pair(nn.LeakyReLU, "LeakyReLU", (_slope)),
    _Pair(nn.Sigmoid, "Sigmoid", (_none)),
    _Pair(nn.Tanh, "Tanh", (_none)),
    _Pair(nn.GELU, "GELU", (_gelu)),
    _Pair(nn.Softmax, "Softmax", (_softmax), renamed=(("axis", "dim"),)),
    _Pair(nn.Identity, "Identity", (_none)),
    _Pair(nn.Flatten, "Flatten", (_flatten)),
    _Pair(nn.Unflatten, "Unflatten", (_unflatten)),
    _Pair(nn.Upsample, "Upsample", (_upsample)),
)
_BY_OURS: dict[type, _Pair] = {pair.ours: pair for pair in _PAIRS}
_SUPPORTED = ", ".join(["Sequential", *(pair.torch_name for pair in _PAIRS)])


def _by_torch(torch: ModuleType) -> dict[type, _Pair]:
    return {getattr(torch.nn, pair.torch_name): pair for pair in _PAIRS}


# ---------------------------------------------------------------- tinygrad_lite -> torch


def to_torch(module: Module, *, into: Any = None) -> Any:
    """The same model as a ``torch.nn.Module``, with a copy of the weights and buffers, in the
    same float dtype (float32 unless the layers were made float64) and the same
    training/evaluation mode.

    ``module`` is a layer of ``tinygrad_lite.nn`` or a ``Sequential`` of them. For a Module of
    your own (its ``forward`` cannot be translated), write the torch class with the same
    layers under the same names and pass an instance as ``into``: its weights are overwritten
    and it is returned. Raises ``UnsupportedLayerError`` naming the first layer that has no
    torch counterpart.
    """
    torch = _torch()
    if not isinstance(module, Module):
        raise UnsupportedLayerError(
            f"to_torch: expected a tinygrad_lite Module, got {type(module).__name__}"
        )
    if into is not None:
        return _fill_torch(torch, module, into)
    with torch.no_grad():
        return _build_torch(torch, module, "", {})


def _build_torch(torch: ModuleType, layer: Module, path: str, built: dict[int, Any]) -> Any:
    if id(layer) in built:  # a layer used twice stays one shared layer
        return built[id(layer)]
    if type(layer) is nn.Sequential:
        children = [
            _build_torch(torch, child, _join(path, name), built) for name, child in _sequence(layer)
        ]
        result = torch.nn.Sequential(*children)
    else:
        pair = _BY_OURS.get(type(layer))
        if pair is None:
            raise _no_counterpart("to_torch", path, layer, "torch")
        try:
            options = pair.options(layer)
        except _Unsupported as e:  # an option our layer has and torch's has not
            raise _unsupported_option("to_torch", path, layer, str(e), "torch") from None
        result = getattr(torch.nn, pair.torch_name)(**pair.torch_kwargs(options))
        if pair.weighted:
            result = result.to(_torch_dtype(torch, layer))
        state = _torch_layout(layer.state_dict(), pair.transposed)
        result.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)
    _copy_modes(layer, result)
    built[id(layer)] = result
    return result


def _fill_torch(torch: ModuleType, module: Module, target: Any) -> Any:
    """Copy ``module``'s weights into the torch model ``target`` of the same structure."""
    if not isinstance(target, torch.nn.Module):
        raise UnsupportedLayerError(
            f"to_torch: into= must be a torch.nn.Module, got {type(target).__name__}"
        )
    _check_structure("to_torch", module, target, _by_torch(torch))
    state = module.state_dict()
    for key in _transposed_keys(module):
        state[key] = _contiguous(state[key].T)
    own = target.state_dict()
    _check_keys("to_torch", "the torch model", own, state, lambda k: tuple(own[k].shape))
    with torch.no_grad():
        for key, array in state.items():
            own[key].copy_(torch.from_numpy(_contiguous(array)))
    _copy_modes(module, target)
    return target


# ---------------------------------------------------------------- torch -> tinygrad_lite


def from_torch(torch_module: Any, *, into: Module | None = None) -> Module:
    """The same model built from ``tinygrad_lite.nn`` layers, with a copy of the weights and
    buffers (float64 stays float64, other float dtypes become float32) and the same
    training/evaluation mode.

    ``torch_module`` is a layer of ``torch.nn`` that has a counterpart here, or a
    ``torch.nn.Sequential`` of them. For a torch Module of your own, build the same model here
    and pass it as ``into`` (its weights are overwritten and it is returned). Raises
    ``UnsupportedLayerError`` naming the first layer, or option, that has no counterpart.
    """
    torch = _torch()
    if not isinstance(torch_module, torch.nn.Module):
        raise UnsupportedLayerError(
            f"from_torch: expected a torch.nn.Module, got {type(torch_module).__name__}"
        )
    if into is not None:
        if not isinstance(into, Module):
            raise UnsupportedLayerError(
                f"from_torch: into= must be a tinygrad_lite Module, got {type(into).__name__}"
            )
        _check_structure("from_torch", into, torch_module, _by_torch(torch))
        load_torch_state_dict(into, torch_module.state_dict())
        _copy_modes(torch_module, into)
        return into
    return _build_ours(torch, torch_module, "", {}, _by_torch(torch))


def _build_ours(
    torch: ModuleType, layer: Any, path: str, built: dict[int, Module], pairs: dict[type, _Pair]
) -> Module:
    if id(layer) in built:
        return built[id(layer)]
    result: Module
    if type(layer) is torch.nn.Sequential:
        result = nn.Sequential(
            *(
                # by position: named_children() would list a layer used twice only once
                _build_ours(torch, child, _join(path, str(i)), built, pairs)
                for i, child in enumerate(layer)
            )
        )
    else:
        pair = pairs.get(type(layer))
        if pair is None:
            raise _no_counterpart("from_torch", path, layer, "tinygrad_lite")
        try:
            options = pair.options(layer)
        except _Unsupported as e:
            raise _unsupported_option("from_torch", path, layer, str(e), "tinygrad_lite") from None
        if pair.weighted:
            options["dtype"] = _numpy_dtype(layer)
        result = pair.ours(**options)
        state = {k: _to_numpy(v) for k, v in layer.state_dict().items()}
        result.load_state_dict(_torch_layout(state, pair.transposed))
    _copy_modes(layer, result)
    built[id(layer)] = result
    return result


def load_torch_state_dict(module: Module, state_dict: Mapping[str, Any]) -> None:
    """Copy a torch ``state_dict`` (tensors, or NumPy arrays in torch's layouts) into
    ``module``, in place: each ``nn.Linear`` weight is transposed from torch's (out, in), and
    every value is cast to the dtype of the parameter or buffer it fills.

    The keys are ``module.state_dict()``'s, which are torch's for the same model. A missing or
    unexpected key, or a shape that does not fit, raises ``StateDictError`` naming the key
    (and both shapes, in torch's layout); nothing is written unless everything fits.
    """
    if not isinstance(module, Module):
        raise StateDictError(
            f"load_torch_state_dict: expected a tinygrad_lite Module, got {type(module).__name__}"
        )
    if not isinstance(state_dict, Mapping):
        raise StateDictError(
            "load_torch_state_dict: expected a mapping of names to tensors, as "
            f"torch_model.state_dict() returns, got {type(state_dict).__name__}"
        )
    arrays = {key: _to_numpy(value, key) for key, value in state_dict.items()}
    transposed = _transposed_keys(module)
    expected = {
        key: value.shape[::-1] if key in transposed else value.shape
        for key, value in module.state_dict().items()
    }
    _check_keys("load_torch_state_dict", type(module).__name__, expected, arrays, expected.get)
    for key in transposed:
        arrays[key] = arrays[key].T
    module.load_state_dict(arrays)


# ---------------------------------------------------------------- shared steps


def _check_structure(who: str, ours: Module, theirs: Any, pairs: dict[type, _Pair]) -> None:
    """Every layer of ``ours`` that has a torch counterpart must be that layer, with the same
    options, at the same path in ``theirs``; the Modules around them are the user's own."""
    torch_modules = dict(theirs.named_modules())
    inside_known: list[str] = []
    for path, layer in ours.named_modules():
        if any(known == "" or path.startswith(known + ".") for known in inside_known):
            continue  # the inside of a layer already compared as a whole
        pair = _BY_OURS.get(type(layer))
        if pair is None:
            continue  # Sequential or the user's own Module: its layers are compared
        inside_known.append(path)
        other = torch_modules.get(path)
        where = f"at {_where(path)}"
        if other is None or pairs.get(type(other)) is not pair:
            found = "nothing" if other is None else f"a torch {type(other).__name__}"
            raise UnsupportedLayerError(
                f"{who}: the model has a {type(layer).__name__} {where} but the torch model has "
                f"{found} there; give both models the same layers under the same names"
            )
        try:
            mine = pair.canonical(pair.options(layer))
            other_options = pair.canonical(pair.options(other))
        except _Unsupported as e:
            raise _unsupported_option(who, path, other, str(e), "tinygrad_lite") from None
        if mine != other_options:
            differ = {k: (mine.get(k), other_options.get(k)) for k in mine if
                      mine.get(k) != other_options.get(k)}  # fmt: skip
            raise UnsupportedLayerError(
                f"{who}: the {type(layer).__name__} {where} differs from the torch layer in "
                f"{differ} (tinygrad_lite, torch); build both with the same options"
            )


def _check_keys(
    who: str,
    owner: str,
    own: Mapping[str, Any],
    given: Mapping[str, np.ndarray],
    shape_of: Callable[[str], Any],
) -> None:
    missing = [k for k in own if k not in given]
    unexpected = [k for k in given if k not in own]
    if missing or unexpected:
        raise StateDictError(
            f"{who}: {owner} has parameters or buffers the state dict lacks (missing: "
            f"{missing}) or the state dict has keys it lacks (unexpected: {unexpected}); "
            "both must come from the same architecture, with the same layer names"
        )
    for key, array in given.items():
        wanted = tuple(shape_of(key))
        if tuple(array.shape) != wanted:
            raise StateDictError(
                f"{who}: {key!r} has shape {tuple(array.shape)} in the state dict but "
                f"{owner} expects {wanted} (torch's layout: a Linear weight is (out, in)); "
                "was it saved from a different architecture?"
            )


def _transposed_keys(module: Module) -> set[str]:
    """The state keys of ``module`` kept as the transpose of torch's (each Linear's weight)."""
    keys: set[str] = set()
    for path, layer in module.named_modules():
        pair = _BY_OURS.get(type(layer))
        if pair is not None:
            keys.update(_join(path, name) for name in pair.transposed)
    return keys


def _torch_layout(state: dict[str, np.ndarray], transposed: tuple[str, ...]) -> dict[str, Any]:
    """Transpose the keys that one side keeps the other way round (an involution)."""
    return {k: _contiguous(v.T) if k in transposed else v for k, v in state.items()}


def _contiguous(array: np.ndarray) -> np.ndarray:
    """C order, keeping a 0-d array 0-d (``np.ascontiguousarray`` would make it (1,))."""
    return np.require(array, requirements="C")


def _copy_modes(source: Any, target: Any) -> None:
    """Give each module of ``target`` the training mode of the module at the same path in
    ``source`` (either side may be torch's: both name sub-modules by dotted paths)."""
    targets = dict(target.named_modules())
    for path, layer in source.named_modules():
        if path in targets:
            targets[path].training = bool(layer.training)


def _to_numpy(value: Any, key: str = "") -> np.ndarray:
    """A tensor (detached, on the CPU; half precision widened to float32) or an array-like as
    a NumPy array."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        tensor = value.detach().cpu()
        if tensor.is_floating_point() and tensor.element_size() < 4:  # float16, bfloat16
            tensor = tensor.float()
        return np.asarray(tensor.numpy())
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged list
        array = np.asarray(None)
    if array.dtype.kind not in "fiub":
        raise StateDictError(
            f"load_torch_state_dict: {key!r} holds {type(value).__name__} of dtype "
            f"{array.dtype}; expected a tensor or an array of numbers"
        )
    return array


def _torch_dtype(torch: ModuleType, layer: Module) -> Any:
    dtype = np.dtype(getattr(layer, "dtype", np.float32))
    return {2: torch.float16, 8: torch.float64}.get(dtype.itemsize, torch.float32)


def _numpy_dtype(layer: Any) -> Any:
    first = next(iter(layer.parameters()), None)
    return np.float64 if first is not None and first.element_size() == 8 else np.float32


def _sequence(layer: nn.Sequential) -> list[tuple[str, Module]]:
    return [(str(i), child) for i, child in enumerate(layer)]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _where(path: str) -> str:
    return repr(path) if path else "the top (the model itself)"


def _no_counterpart(who: str, path: str, layer: Any, other: str) -> UnsupportedLayerError:
    name = type(layer).__name__
    if who == "to_torch":
        fix = (
            "If it is a Module of your own, its forward cannot be translated: write the same "
            "model as a torch.nn.Module (same layers, same attribute names) and call "
            "to_torch(model, into=torch_model)"
        )
    else:
        fix = (
            "If it is a torch Module of your own, its forward cannot be translated: build the "
            "same model with tinygrad_lite.nn layers and call "
            "from_torch(torch_model, into=model)"
        )
    return UnsupportedLayerError(
        f"{who}: the layer at {_where(path)} is a {name}, which has no {other} counterpart "
        f"(supported: {_SUPPORTED}). {fix}"
    )


def _unsupported_option(
    who: str, path: str, layer: Any, option: str, other: str
) -> UnsupportedLayerError:
    name = type(layer).__name__
    return UnsupportedLayerError(
        f"{who}: the {name} at {_where(path)} uses {option}, which the {other} {name} does not "
        "have; rebuild the layer without that option"
    )


__all__ = ["UnsupportedLayerError", "from_torch", "load_torch_state_dict", "to_torch"]
