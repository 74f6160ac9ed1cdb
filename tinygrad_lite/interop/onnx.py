"""``export_onnx``: write a model as an ONNX file, to run it in onnxruntime or any ONNX runtime.

The exporter walks the MODULE tree, not the autograd graph: an ``nn.Sequential`` (nested ones
too) becomes its layers one after the other, and each layer becomes the ONNX operators that
compute what its ``forward`` computes in eval mode. The model's own forward pass runs beside the
walk on ``example_input``, which gives every intermediate shape (and checks them), so the file
needs no shape inference of its own. A layer with no ONNX form here (a user ``Module`` with its
own ``forward``, a bare ``MultiheadAttention``) raises ``ExportError`` naming the layer and its
path in the model.

Layer by layer (``x`` is the layer's input; ONNX operator names in capitals):

* ``Linear``: the weight is stored (in, out), so ``Gemm(x, W, b)`` with no transpose for a 2-d
  ``x``, ``MatMul`` + ``Add`` for more axes;
* ``ReLU``, ``LeakyReLU``, ``Sigmoid``, ``Tanh``, ``Softmax``: the operator of that name;
  ``GELU``: ``0.5 x (1 + erf(x / sqrt 2))`` (or its tanh form) from ``Erf``/``Tanh``, ``Mul``,
  ``Add``, since the ``Gelu`` operator is opset 20 and onnxruntime 1.17 stops below it;
* ``Flatten`` -> ``Flatten(axis=1)``; ``Unflatten`` -> ``Reshape``; ``Dropout``,
  ``Dropout2d``, ``Identity`` -> ``Identity`` (inference);
* ``Conv1d``, ``Conv2d`` -> ``Conv``, ``ConvTranspose2d`` -> ``ConvTranspose`` (pads, strides,
  dilations, groups, output padding; torch's weight layouts are ONNX's);
* ``MaxPool1d/2d`` -> ``MaxPool``, ``AvgPool1d/2d`` -> ``AveragePool(count_include_pad=1)``;
  ``AdaptiveAvgPool2d`` -> ``GlobalAveragePool`` for a 1 x 1 output, ``AveragePool`` when the
  output size divides the input's;
* ``BatchNorm1d/2d`` -> ``BatchNormalization`` with the running statistics;
  ``LayerNorm`` -> ``LayerNormalization`` (opset 17);
* ``Embedding`` -> ``Gather`` (the input is then int64 token ids);
* ``Upsample`` -> ``Resize`` (nearest, asymmetric coordinates, floor: each element repeated);
* ``RNN``, ``LSTM``, ``GRU`` -> one ``RNN``/``LSTM``/``GRU`` node per layer (both directions in
  one node). ONNX orders the gates differently from torch (and so from us): LSTM i, o, f, c
  against our i, f, g, o; GRU z, r, h against our r, z, n, with ``linear_before_reset=1``
  (torch's GRU applies the reset gate after the recurrent product). Its output
  (L, D, N, H) is transposed and reshaped to ours, (L, N, D * H). A recurrent layer returns
  several arrays, so it must be the last layer; the file then has the outputs
  ``output``, ``h_n`` (and ``c_n`` for an LSTM);
* ``RNNCell``, ``LSTMCell``, ``GRUCell``: one step from a zero state, the same node over a
  sequence of length 1 (outputs ``output``, or ``h`` and ``c``);
* ``TransformerEncoderLayer`` (relu or gelu, post- or pre-norm, no masks): self-attention
  written out with ``MatMul``, ``Softmax``, ``Reshape`` and ``Transpose`` (every head in one
  product), the feed-forward block, the residual sums and two ``LayerNormalization``.

Parameters are written as float32 (the dtype ONNX runtimes run everywhere). The input's batch
axis (and the time axis of a sequence model) is left free in the file (``dynamic_axes=True``),
so it runs on any batch size and sequence length.

References: the ONNX operator specifications (https://onnx.ai/onnx/operators/); the PyTorch
documentation of the layers mirrored here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import nn
from ..core import ArgumentError, TinygradLiteError, Value, no_grad
from ..nn import functional as F
from ..nn import functional_conv as FC
from ..optional import MissingDependencyError, optional_import

PathLike = str | os.PathLike[str]
MIN_OPSET = 17  # LayerNormalization


class ExportError(TinygradLiteError, ValueError):
    """A model that ``export_onnx`` cannot write: a layer with no ONNX form, or a layer in a
    place where its ONNX form would compute something else."""


def export_onnx(
    module: nn.Module,
    example_input: Any,
    path: PathLike,
    *,
    opset: int = MIN_OPSET,
    dynamic_axes: bool = True,
) -> Any:
    """Write ``module`` as an ONNX file at ``path``; return the ``onnx.ModelProto``.

    ``example_input`` (an array or a Value) fixes the input's shape and dtype: float inputs
    become float32, integer ones (token ids for an ``Embedding``) int64. With
    ``dynamic_axes=True`` the batch axis (axis 0; axis 1 for a time-first recurrent layer) is
    named ``batch`` and left free, and so is the time axis (``sequence``) of the input of a
    recurrent layer or an ``Embedding``; ``False`` fixes every size to the example's. The
    file's input is called ``input``; its output ``output`` (with ``h_n`` and ``c_n`` after a
    recurrent layer; ``h`` and ``c`` after an ``LSTMCell``). The model is exported as it
    computes in eval mode (dropout off, batch norm on its running statistics); its training
    flag is left as it was.
    ``onnx.checker.check_model`` checks the model before it is saved.

    Needs the ``onnx`` package (``pip install 'tinygrad_lite[onnx]'``).
    """
    if not isinstance(module, nn.Module):
        raise ArgumentError(
            f"export_onnx: module is a {type(module).__name__}, not an nn.Module; pass the model"
        )
    _check_tree(module)  # a model that cannot be exported says so with or without onnx
    onnx = _import("onnx", "export_onnx")
    if isinstance(opset, bool) or not isinstance(opset, int):
        raise ArgumentError(f"export_onnx: opset={opset!r} must be an int")
    newest = onnx.defs.onnx_opset_version()
    if not MIN_OPSET <= opset <= newest:
        raise ArgumentError(
            f"export_onnx: opset={opset} is out of range: LayerNormalization needs opset >= "
            f"{MIN_OPSET}, and the installed onnx {onnx.__version__} knows opsets up to {newest}"
        )
    x = _example_array(example_input)
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    if not os.path.isdir(folder):
        raise ArgumentError(
            f"export_onnx: path={os.fspath(path)!r} is in {folder!r}, which is not a folder; "
            "create it first (os.makedirs) or write elsewhere"
        )
    flags = [(m, m.training) for _, m in module.named_modules()]
    module.eval()
    try:
        with no_grad():
            graph = _Graph(onnx)
            outputs, values = _emit_module(graph, module, "", ["input"], [x])
            free = _free_axes(module, x) if dynamic_axes else {}
            out_dims = _output_dims(module, x, values, free)
    finally:
        for m, training in flags:
            m.training = training
    in_dims: list[Any] = list(x.shape)
    for axis, name in free.items():
        in_dims[axis] = name
    last = module
    while type(last) is nn.Sequential and len(last):
        last = last[len(last) - 1]
    names = (["h", "c"] if isinstance(last, nn.LSTMCell) else ["output", "h_n", "c_n"])[
        : len(outputs)
    ]
    for node_output, name in zip(outputs, names):
        graph.add("Identity", [node_output], name=name)  # stable names for the file's outputs
    helper = onnx.helper
    elem = helper.np_dtype_to_tensor_dtype
    onnx_graph = helper.make_graph(
        graph.nodes,
        "tinygrad_lite",
        [helper.make_tensor_value_info("input", elem(x.dtype), in_dims)],
        [
            helper.make_tensor_value_info(name, elem(np.dtype(np.float32)), dims)
            for name, dims in zip(names, out_dims)
        ],
        initializer=graph.initializers,
    )
    opsets = [helper.make_opsetid("", opset)]
    model = helper.make_model(onnx_graph, producer_name="tinygrad_lite", opset_imports=opsets)
    # the oldest file format that has this opset: a newer onnx writes its own newest by
    # default, which an older onnxruntime refuses to read
    model.ir_version = helper.find_min_ir_version_for(opsets)
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, os.fspath(path))
    return model


# ---------------------------------------------------------------- the graph under construction


class _Graph:
    """The nodes and initializers so far, with fresh names for every tensor."""

    def __init__(self, onnx: Any) -> None:
        self.onnx = onnx
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def add(
        self, op: str, inputs: list[str], outputs: int = 1, name: str | None = None, **attrs: Any
    ) -> list[str]:
        """Append the node ``op(inputs)``; return its output names."""
        outs = [name] if name is not None else [self.fresh(op.lower()) for _ in range(outputs)]
        self.nodes.append(
            self.onnx.helper.make_node(op, inputs, outs, name=self.fresh(op), **attrs)
        )
        return outs

    def one(self, op: str, inputs: list[str], **attrs: Any) -> str:
        return self.add(op, inputs, **attrs)[0]

    def const(self, array: Any, hint: str) -> str:
        """A float32 (or int64) initializer holding ``array``; its name."""
        a = np.asarray(array)
        a = a.astype(np.int64 if a.dtype.kind in "iu" else np.float32)
        name = self.fresh(hint)
        self.initializers.append(self.onnx.numpy_helper.from_array(np.ascontiguousarray(a), name))
        return name


# ---------------------------------------------------------------- walking the module tree

Emitter = Callable[[_Graph, Any, str, Value], list[str]]


def _emit_module(
    g: _Graph, module: nn.Module, path: str, names: list[str], values: list[Any]
) -> tuple[list[str], list[Any]]:
    """Emit ``module`` applied to the tensors ``names`` (whose values, arrays or Values, are
    ``values``); return the output names and values, from running the module itself."""
    if type(module) is nn.Sequential:
        for i, layer in enumerate(module):
            where = f"{path}.{i}" if path else str(i)
            if len(names) != 1:
                raise ExportError(
                    f"export_onnx: layer {where!r} ({type(layer).__name__}) follows a layer that "
                    "returns several arrays (a recurrent layer's output and states); a recurrent "
                    "layer must be the last one of the exported model"
                )
            names, values = _emit_module(g, layer, where, names, values)
        return names, values
    emit = _emitter(module, path)
    if len(names) != 1:  # a layer after a recurrent one, outside a Sequential: not reachable
        raise ExportError(f"export_onnx: layer {path!r} takes one input, got {len(names)}")
    outs = emit(g, module, names[0], values[0])
    return outs, _flat(module(values[0]))


def _emitter(module: nn.Module, path: str) -> Emitter:
    """The function that writes ``module`` (at ``path`` in the model), or ExportError."""
    emit = _EMITTERS.get(type(module))
    if emit is None:
        where = f"layer {path!r}" if path else "the model itself"
        raise ExportError(
            f"export_onnx: {where} is a {type(module).__name__}, which has no ONNX export; "
            f"supported: nn.Sequential of {', '.join(sorted(c.__name__ for c in _EMITTERS))}. "
            "Build the model as an nn.Sequential of these layers (a Module with its own forward "
            "cannot be read from its children)"
        )
    return emit


def _check_tree(module: nn.Module, path: str = "") -> None:
    """ExportError for the first layer with no ONNX form, before anything is written."""
    if type(module) is not nn.Sequential:
        _emitter(module, path)
        return
    for i, layer in enumerate(module):
        _check_tree(layer, f"{path}.{i}" if path else str(i))


def _flat(out: Any) -> list[Any]:
    """A layer's result as a list: [y], or a recurrent layer's [output, h_n (, c_n)]."""
    if not isinstance(out, tuple):
        return [out]
    states = out[1] if isinstance(out[1], tuple) else (out[1],)
    return [out[0], *states]


def _example_array(example: Any) -> np.ndarray:
    data = example.data if isinstance(example, Value) else example
    try:
        x = np.asarray(data)
    except (TypeError, ValueError):
        x = np.asarray(None, dtype=object)
    if x.dtype.kind in "iub":
        return x.astype(np.int64)
    if x.dtype.kind != "f":
        raise ArgumentError(
            f"export_onnx: example_input of type {type(example).__name__} (dtype {x.dtype}) is "
            "not an array of numbers; pass a float array shaped as the model's input, or int "
            "token ids for an Embedding"
        )
    return x.astype(np.float32)


def _first_leaf(module: nn.Module) -> nn.Module:
    while type(module) is nn.Sequential and len(module):
        module = module[0]
    return module


def _free_axes(module: nn.Module, x: np.ndarray) -> dict[int, str]:
    """The input's axes left free in the file: the batch axis, and the time axis of a sequence
    (token ids into an ``Embedding``, steps into a recurrent layer)."""
    first = _first_leaf(module)
    if isinstance(first, (nn.RNN, nn.LSTM, nn.GRU)):
        if x.ndim == 2:  # unbatched (L, H_in)
            return {0: "sequence"}
        return {0: "batch", 1: "sequence"} if first.batch_first else {0: "sequence", 1: "batch"}
    if isinstance(first, nn.TransformerEncoderLayer):
        if x.ndim == 2:  # unbatched (L, E)
            return {0: "sequence"}
        return {0: "batch", 1: "sequence"} if first.batch_first else {0: "sequence", 1: "batch"}
    if isinstance(first, nn.Embedding) and x.ndim == 2:
        return {0: "batch", 1: "sequence"}
    return {0: "batch"} if x.ndim >= 2 else {}


def _output_dims(
    module: nn.Module, x: np.ndarray, values: list[Any], free: dict[int, str]
) -> list[list[Any]]:
    """Each output's shape, with the names of ``free`` on the axes that follow those input
    axes: found by running the model once more per free axis, on an input one longer there.
    An axis whose size the model fixes (a ``LayerNorm`` over the time axis, say) is taken out
    of ``free``."""
    shapes: list[list[Any]] = [list(v.shape) for v in values]
    for axis, name in list(free.items()):
        bigger = np.concatenate([x, np.take(x, [0], axis=axis)], axis=axis)
        try:
            grown = _flat(module(bigger))
        except TinygradLiteError:  # the model takes only the example's size on that axis
            del free[axis]
            continue
        for dims, v in zip(shapes, grown):
            for i, n in enumerate(v.shape):
                if dims[i] != n:
                    dims[i] = name
    return shapes


def _import(module: str, feature: str) -> Any:
    try:
        return optional_import(module, feature, module)
    except MissingDependencyError:
        raise MissingDependencyError(
            f"{feature} needs the optional package {module!r}: pip install 'tinygrad_lite[onnx]' "
            "(onnx, and onnxruntime to run the file)"
        ) from None


# ---------------------------------------------------------------- one emitter per layer


def _linear(g: _Graph, m: nn.Linear, x: str, v: Value) -> list[str]:
    w = g.const(m.weight.data, "weight")  # (in, out): x @ W needs no transpose
    if v.ndim == 2:
        inputs = [x, w] if m.bias is None else [x, w, g.const(m.bias.data, "bias")]
        return g.add("Gemm", inputs)
    y = g.one("MatMul", [x, w])  # (..., out): MatMul broadcasts over the leading axes
    return [y] if m.bias is None else g.add("Add", [y, g.const(m.bias.data, "bias")])


def _gelu(g: _Graph, m: nn.GELU, x: str, v: Value) -> list[str]:
    if m.approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
        cube = g.one("Mul", [g.one("Mul", [x, x]), x])
        inner = g.one("Add", [x, g.one("Mul", [cube, g.const(0.044715, "c")])])
        t = g.one("Tanh", [g.one("Mul", [inner, g.const(math.sqrt(2.0 / math.pi), "c")])])
    else:  # 0.5 x (1 + erf(x / sqrt 2))
        t = g.one("Erf", [g.one("Div", [x, g.const(math.sqrt(2.0), "c")])])
    half_x = g.one("Mul", [x, g.const(0.5, "c")])
    return g.add("Mul", [half_x, g.one("Add", [t, g.const(1.0, "c")])])


def _conv(g: _Graph, m: Any, x: str, v: Value) -> list[str]:
    dims, kernel = m.dims, m.kernel_size
    if isinstance(m.padding, str):  # "valid": none; "same": d (k - 1) split, the odd one after
        totals = [d * (k - 1) if m.padding == "same" else 0 for k, d in zip(kernel, m.dilation)]
        before, after = [t // 2 for t in totals], [t - t // 2 for t in totals]
    else:
        before = after = list(m.padding)
    inputs = [x, g.const(m.weight.data, "weight")]
    if m.bias is not None:
        inputs.append(g.const(m.bias.data, "bias"))
    attrs: dict[str, Any] = dict(
        kernel_shape=list(kernel),
        strides=list(m.stride),
        pads=[*before, *after],
        dilations=list(m.dilation),
        group=m.groups,
    )
    if m.transposed:
        return g.add("ConvTranspose", inputs, output_padding=list(m.output_padding), **attrs)
    assert len(kernel) == dims
    return g.add("Conv", inputs, **attrs)


def _pool(g: _Graph, m: Any, x: str, v: Value) -> list[str]:
    who, dims = type(m).__name__, m.dims
    kernel = FC.sizes(m.kernel_size, "kernel_size", dims, who)
    attrs: dict[str, Any] = dict(
        kernel_shape=list(kernel),
        strides=list(FC.sizes(m.stride, "stride", dims, who)),
        pads=list(FC.sizes(m.padding, "padding", dims, who, minimum=0)) * 2,
    )
    if m.kind == "max":
        return g.add(
            "MaxPool", [x], dilations=list(FC.sizes(m.dilation, "dilation", dims, who)), **attrs
        )
    return g.add("AveragePool", [x], count_include_pad=1, **attrs)  # zeros of the padding count


def _adaptive_avg_pool(g: _Graph, m: nn.AdaptiveAvgPool2d, x: str, v: Value) -> list[str]:
    size = m.output_size if isinstance(m.output_size, tuple) else (m.output_size,) * 2
    image = v.shape[2:]
    out = tuple(n if s is None else int(s) for s, n in zip(size, image))
    if out == (1, 1):
        return g.add("GlobalAveragePool", [x])
    if all(n % o == 0 for n, o in zip(image, out)):  # equal windows side by side
        kernel = [n // o for n, o in zip(image, out)]
        return g.add("AveragePool", [x], kernel_shape=kernel, strides=kernel)
    raise ExportError(
        f"export_onnx: AdaptiveAvgPool2d(output_size={m.output_size}) on an image of size "
        f"{image} has windows of unequal sizes, which no ONNX pooling computes; use an output "
        "size that divides the input's (or 1 for global average pooling)"
    )


def _batch_norm(g: _Graph, m: Any, x: str, v: Value) -> list[str]:
    if m.running_mean is None or m.running_var is None:
        raise ExportError(
            f"export_onnx: {type(m).__name__}(track_running_stats=False) normalises with each "
            "batch's own statistics even in eval mode, which BatchNormalization does not; "
            "train with track_running_stats=True to export"
        )
    c = m.num_features
    inputs = [
        x,
        g.const(np.ones(c) if m.weight is None else m.weight.data, "scale"),
        g.const(np.zeros(c) if m.bias is None else m.bias.data, "shift"),
        g.const(m.running_mean, "running_mean"),
        g.const(m.running_var, "running_var"),
    ]
    return g.add("BatchNormalization", inputs, epsilon=m.eps)


def _layer_norm(g: _Graph, m: nn.LayerNorm, x: str, v: Value) -> list[str]:
    shape = m.normalized_shape
    inputs = [x, g.const(np.ones(shape) if m.weight is None else m.weight.data, "scale")]
    if m.bias is not None:
        inputs.append(g.const(m.bias.data, "shift"))
    return g.add("LayerNormalization", inputs, axis=-len(shape), epsilon=m.eps)


def _embedding(g: _Graph, m: nn.Embedding, x: str, v: Value) -> list[str]:
    if v.dtype.kind not in "iu":
        raise ExportError(
            f"export_onnx: Embedding gets a {v.dtype} input; it must read integer token ids "
            "(the model's input, as int64), so put it first and pass int ids as example_input"
        )
    return g.add("Gather", [g.const(m.weight.data, "weight"), x], axis=0)


def _unflatten(g: _Graph, m: nn.Unflatten, x: str, v: Value) -> list[str]:
    d = m.dim % v.ndim
    # Reshape's 0 copies the input's size on that axis: the axes before d (the batch) stay free
    target = [*[0] * d, *m.unflattened_size, *v.shape[d + 1 :]]
    return g.add("Reshape", [x, g.const(np.array(target), "shape")])


def _upsample(g: _Graph, m: nn.Upsample, x: str, v: Value) -> list[str]:
    factors = F.check_upsampling(m.scale_factor, m.mode, "Upsample", v.ndim - 2)
    scales = g.const(np.array([1.0, 1.0, *factors]), "scales")
    # output pixel i reads input pixel floor(i / s): asymmetric coordinates, rounded down
    return g.add(
        "Resize",
        [x, "", scales],
        mode="nearest",
        coordinate_transformation_mode="asymmetric",
        nearest_mode="floor",
    )


# our (torch's) gate blocks, in ONNX's order: LSTM i,f,g,o -> i,o,f,c; GRU r,z,n -> z,r,h
_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2], "RNN_TANH": [0], "RNN_RELU": [0]}


def _rnn_node(g: _Graph, mode: str, hid: int, x: str, params: list[tuple[Any, ...]]) -> list[str]:
    """One ONNX RNN/LSTM/GRU node over ``x`` (L, N, H_in), one direction per entry of
    ``params`` (w_ih, w_hh, b_ih, b_hh: our Values, torch's layouts): Y (L, D, N, H), Y_h
    (D, N, H), and Y_c for an LSTM."""
    order = _GATE_ORDER[mode]

    def blocks(a: np.ndarray) -> np.ndarray:  # the gate blocks along axis 0, in ONNX's order
        return np.concatenate([a[i * hid : (i + 1) * hid] for i in order], axis=0)

    op = {"LSTM": "LSTM", "GRU": "GRU"}.get(mode, "RNN")
    directions = len(params)
    attrs: dict[str, Any] = dict(
        hidden_size=hid, direction="bidirectional" if directions == 2 else "forward"
    )
    if op == "GRU":
        attrs["linear_before_reset"] = 1  # torch: r * (W_hn h + b_hn), not W_hn (r * h)
    if op == "RNN":
        attrs["activations"] = ["Tanh" if mode == "RNN_TANH" else "Relu"] * directions
    w, r, b = [], [], []
    for w_ih, w_hh, b_ih, b_hh in params:
        w.append(blocks(w_ih.data))  # (gates * H, H_in)
        r.append(blocks(w_hh.data))  # (gates * H, H)
        if b_ih is not None and b_hh is not None:
            b.append(np.concatenate([blocks(b_ih.data), blocks(b_hh.data)]))  # (2 gates H,)
    inputs = [x, g.const(np.stack(w), "W"), g.const(np.stack(r), "R")]
    if b:
        inputs.append(g.const(np.stack(b), "B"))
    return g.add(op, inputs, outputs=3 if op == "LSTM" else 2, **attrs)


def _recurrent(g: _Graph, m: Any, x: str, v: Value) -> list[str]:
    directions = 2 if m.bidirectional else 1
    if v.ndim == 2:  # unbatched (L, H_in): a batch of one
        x = g.one("Unsqueeze", [x, g.const(np.array([1]), "axes")])
    elif m.batch_first:  # (N, L, H_in) -> (L, N, H_in)
        x = g.one("Transpose", [x], perm=[1, 0, 2])
    finals: list[list[str]] = [[], []]  # h_n and c_n pieces, one per layer
    for k in range(m.num_layers):
        params = [
            tuple(
                getattr(m, f"{kind}_{n}_l{k}{suffix}", None)
                for kind in ("weight", "bias")
                for n in ("ih", "hh")
            )
            for suffix in ("", "_reverse")[:directions]
        ]
        outs = _rnn_node(g, m.mode, m.hidden_size, x, params)
        y = g.one("Transpose", [outs[0]], perm=[0, 2, 1, 3])  # (L, D, N, H) -> (L, N, D, H)
        x = g.one("Reshape", [y, g.const(np.array([0, 0, -1]), "shape")])  # (L, N, D * H)
        for found, state in zip(finals, outs[1:]):
            found.append(state)  # (D, N, H)
    states = [f[0] if len(f) == 1 else g.one("Concat", f, axis=0) for f in finals if f]
    if v.ndim == 2:  # back to unbatched: (L, D * H) and (layers * D, H)
        squeeze = g.const(np.array([1]), "axes")
        return [g.one("Squeeze", [t, squeeze]) for t in [x, *states]]
    if m.batch_first:
        x = g.one("Transpose", [x], perm=[1, 0, 2])  # (N, L, D * H)
    return [x, *states]


def _cell(g: _Graph, m: Any, x: str, v: Value) -> list[str]:
    """One step from a zero state: a sequence of length 1 through the same ONNX node."""
    axes = g.const(np.array([0] if v.ndim == 2 else [0, 1]), "axes")
    x = g.one("Unsqueeze", [x, axes])  # (1, N, H_in)
    mode = m.mode if m.mode != "RNN_TANH" else f"RNN_{m.nonlinearity.upper()}"
    params = [(m.weight_ih, m.weight_hh, m.bias_ih, m.bias_hh)]
    states = _rnn_node(g, mode, m.hidden_size, x, params)[1:]  # (1, N, H): h (and c)
    return [g.one("Squeeze", [s, axes]) for s in states]


def _torch_linear(g: _Graph, layer: Any, x: str) -> str:
    """``x @ W.T + b`` for a layer that keeps torch's (out, in) weight."""
    y = g.one("MatMul", [x, g.const(layer.weight.data.T, "weight")])
    return y if layer.bias is None else g.one("Add", [y, g.const(layer.bias.data, "bias")])


def _self_attention(g: _Graph, m: nn.MultiheadAttention, x: str) -> str:
    """Self-attention of ``x`` (N, L, E), every head at once: (N, L, E)."""
    e, heads, hd = m.embed_dim, m.num_heads, m.head_dim
    w, b = m.in_proj_weight.data, m.in_proj_bias
    split = []
    for j, perm in enumerate(([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3])):  # q, k transposed, v
        y = g.one("MatMul", [x, g.const(w[j * e : (j + 1) * e].T, "in_proj")])  # (N, L, E)
        if b is not None:
            y = g.one("Add", [y, g.const(b.data[j * e : (j + 1) * e], "in_bias")])
        y = g.one("Reshape", [y, g.const(np.array([0, 0, heads, hd]), "shape")])  # (N, L, h, hd)
        split.append(g.one("Transpose", [y], perm=perm))  # (N, h, L, hd); k: (N, h, hd, L)
    q, k_t, v = split
    scores = g.one("MatMul", [q, k_t])  # (N, h, L, L)
    scores = g.one("Mul", [scores, g.const(1.0 / math.sqrt(hd), "scale")])
    out = g.one("MatMul", [g.one("Softmax", [scores], axis=-1), v])  # (N, h, L, hd)
    out = g.one("Transpose", [out], perm=[0, 2, 1, 3])  # (N, L, h, hd)
    out = g.one("Reshape", [out, g.const(np.array([0, 0, e]), "shape")])  # heads side by side
    return _torch_linear(g, m.out_proj, out)


def _activation_name(fn: Any) -> str | None:
    """ "relu" or "gelu" (exact) if ``fn`` computes it on a probe of inputs, else None: the
    layer keeps the function, not its name."""
    probe = Value(np.linspace(-4.0, 4.0, 41, dtype=np.float32), requires_grad=False)
    try:
        got = np.asarray(fn(probe).data)
    except (TinygradLiteError, TypeError, ValueError, AttributeError):
        return None
    for name, reference in (("relu", F.relu), ("gelu", F.gelu)):
        if got.shape == probe.shape and np.allclose(got, reference(probe).data, atol=1e-6):
            return name
    return None


def _encoder_layer(g: _Graph, m: nn.TransformerEncoderLayer, x: str, v: Value) -> list[str]:
    named = _activation_name(m.activation)
    if named is None:
        raise ExportError(
            f"export_onnx: TransformerEncoderLayer has the activation {m.activation!r}, a "
            "function whose ONNX form is unknown; use activation='relu' or 'gelu'"
        )
    if v.ndim == 2:  # unbatched (L, E) -> (1, L, E)
        x = g.one("Unsqueeze", [x, g.const(np.array([0]), "axes")])
    elif not m.batch_first:  # (L, N, E) -> (N, L, E)
        x = g.one("Transpose", [x], perm=[1, 0, 2])

    def norm(layer: nn.LayerNorm, h: str) -> str:
        return _layer_norm(g, layer, h, v)[0]

    def feed_forward(h: str) -> str:
        hidden = _torch_linear(g, m.linear1, h)  # (N, L, dim_feedforward)
        if named == "relu":
            hidden = g.one("Relu", [hidden])
        else:
            hidden = _gelu(g, nn.GELU(), hidden, v)[0]
        return _torch_linear(g, m.linear2, hidden)  # dropouts: off at inference

    if m.norm_first:  # x + attend(norm1(x)), then + feed_forward(norm2(x))
        x = g.one("Add", [x, _self_attention(g, m.self_attn, norm(m.norm1, x))])
        x = g.one("Add", [x, feed_forward(norm(m.norm2, x))])
    else:  # norm1(x + attend(x)), then norm2(x + feed_forward(x))
        x = norm(m.norm1, g.one("Add", [x, _self_attention(g, m.self_attn, x)]))
        x = norm(m.norm2, g.one("Add", [x, feed_forward(x)]))
    if v.ndim == 2:
        return g.add("Squeeze", [x, g.const(np.array([0]), "axes")])
    return [x] if m.batch_first else g.add("Transpose", [x], perm=[1, 0, 2])


def _op(name: str, **attrs: Any) -> Emitter:
    """The emitter of a layer that is one ONNX operator with fixed attributes."""
    return lambda g, m, x, v: g.add(name, [x], **attrs)


_EMITTERS: dict[type, Emitter] = {
    nn.Linear: _linear,
    nn.ReLU: _op("Relu"),
    nn.LeakyReLU: lambda g, m, x, v: g.add("LeakyRelu", [x], alpha=m.negative_slope),
    nn.Sigmoid: _op("Sigmoid"),
    nn.Tanh: _op("Tanh"),
    nn.GELU: _gelu,
    nn.Softmax: lambda g, m, x, v: g.add("Softmax", [x], axis=m.axis),
    nn.Flatten: _op("Flatten", axis=1),
    nn.Identity: _op("Identity"),
    nn.Dropout: _op("Identity"),  # inference: dropout is off
    nn.Dropout2d: _op("Identity"),
    nn.Conv1d: _conv,
    nn.Conv2d: _conv,
    nn.ConvTranspose2d: _conv,
    nn.MaxPool1d: _pool,
    nn.MaxPool2d: _pool,
    nn.AvgPool1d: _pool,
    nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.LayerNorm: _layer_norm,
    nn.Embedding: _embedding,
    nn.Unflatten: _unflatten,
    nn.Upsample: _upsample,
    nn.RNN: _recurrent,
    nn.LSTM: _recurrent,
    nn.GRU: _recurrent,
    nn.RNNCell: _cell,
    nn.LSTMCell: _cell,
    nn.GRUCell: _cell,
    nn.TransformerEncoderLayer: _encoder_layer,
}
