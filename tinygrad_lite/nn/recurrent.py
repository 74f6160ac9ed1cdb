"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` and their one-step cells, with PyTorch's
signatures, parameter names and layouts, so a torch ``state_dict`` loads unchanged.

A recurrent layer reads a sequence one step at a time and carries a state from step to step:
``h_t = cell(x_t, h_{t-1})``. Shapes, with L steps, N sequences, H hidden units:

* input (L, N, H_in), or (N, L, H_in) with ``batch_first=True``, or unbatched (L, H_in);
* output (L, N, D * H): the last layer's hidden state at every step (D = 2 if bidirectional);
* h_n (num_layers * D, N, H): every layer's last state (LSTM also returns c_n).

Parameters per layer k (``_reverse`` for the backward direction), torch's gate order: i, f, g, o
for the LSTM, r, z, n for the GRU, and one block for the plain RNN:

* ``weight_ih_l{k}`` (gates * H, H_in of that layer), ``weight_hh_l{k}`` (gates * H, H);
* ``bias_ih_l{k}``, ``bias_hh_l{k}`` (gates * H,).

The LSTM and the GRU run each layer's time loop as one fused node (``core/ops/recurrent.py``);
the plain RNN and the cells are written step by step with plain operations.

References: Hochreiter & Schmidhuber, "Long Short-Term Memory" (1997); Cho et al., "Learning
Phrase Representations using RNN Encoder-Decoder" (2014); the PyTorch documentation of
``torch.nn.LSTM`` and ``torch.nn.GRU``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functions
from ..core import OPS, ArgumentError, ShapeError, Value, apply
from ..core.ops.fused import Kept
from . import functional as F
from . import init
from .linear import float_dtype
from .module import Module

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def lstm_states(xw: Value, h0: Value, c0: Value, w_hh: Value) -> Value:
    """One LSTM layer's time loop as one node: (2, T, N, H), each step's h_t at ``[0, t]`` and
    c_t at ``[1, t]``.

    ``xw`` (T, N, 4H) is the input's share of the gates (``x W_ih^T`` plus both biases),
    ``h0``, ``c0`` (N, H) the initial state, ``w_hh`` (4H, H) the recurrent weight.
    """
    steps, n, four_h = xw.shape
    hid = four_h // 4
    if xw.ndim != 3 or four_h != 4 * hid or w_hh.shape != (four_h, hid):
        raise ShapeError(
            f"lstm: xw {xw.shape} must be (T, N, 4H) and w_hh {w_hh.shape} (4H, H) with one H"
        )
    for name, s in (("h0", h0), ("c0", c0)):
        if s.shape != (n, hid):
            raise ShapeError(f"lstm: {name} has shape {s.shape}; it must be (N, H) = {(n, hid)}")
    return apply(OPS["lstm"], Kept(), xw, h0, c0, w_hh)


def gru_states(xw: Value, h0: Value, w_hh: Value, b_hh: Value) -> Value:
    """One GRU layer's time loop as one node: (T, N, H), each step's h_t.

    ``xw`` (T, N, 3H) is the input's share of the gates (``x W_ih^T + b_ih``), ``h0`` (N, H) the
    initial state, ``w_hh`` (3H, H) and ``b_hh`` (3H,) the recurrent weight and bias.
    """
    steps, n, three_h = xw.shape
    hid = three_h // 3
    if xw.ndim != 3 or three_h != 3 * hid or w_hh.shape != (three_h, hid):
        raise ShapeError(
            f"gru: xw {xw.shape} must be (T, N, 3H) and w_hh {w_hh.shape} (3H, H) with one H"
        )
    if h0.shape != (n, hid) or b_hh.shape != (three_h,):
        raise ShapeError(
            f"gru: h0 {h0.shape} must be (N, H) = {(n, hid)} and b_hh {b_hh.shape} (3H,)"
        )
    return apply(OPS["gru"], Kept(), xw, h0, w_hh, b_hh)


# ---------------------------------------------------------------- one step of each kind


def _rnn_step(xw: Value, h: Value, w_hh: Value, b_hh: Value | None, relu: bool) -> Value:
    a = xw + functions.linear(h, w_hh, b_hh, transposed=True)  # (N, H)
    return a.relu() if relu else a.tanh()


def _lstm_step(
    xw: Value, h: Value, c: Value, w_hh: Value, b_hh: Value | None
) -> tuple[Value, Value]:
    hid = h.shape[-1]
    a = xw + functions.linear(h, w_hh, b_hh, transposed=True)  # (N, 4H), gates i, f, g, o
    i, f = a[..., :hid].sigmoid(), a[..., hid : 2 * hid].sigmoid()
    g, o = a[..., 2 * hid : 3 * hid].tanh(), a[..., 3 * hid :].sigmoid()
    c = f * c + i * g
    return o * c.tanh(), c


def _gru_step(xw: Value, h: Value, w_hh: Value, b_hh: Value | None) -> Value:
    hid = h.shape[-1]
    # (N, 3H): W_hr h + b_hr, W_hz h + b_hz, W_hn h + b_hn
    hw = functions.linear(h, w_hh, b_hh, transposed=True)
    r = (xw[..., :hid] + hw[..., :hid]).sigmoid()
    z = (xw[..., hid : 2 * hid] + hw[..., hid : 2 * hid]).sigmoid()
    n = (xw[..., 2 * hid :] + r * hw[..., 2 * hid :]).tanh()  # torch: r gates W_hn h + b_hn
    return (1.0 - z) * n + z * h


# ---------------------------------------------------------------- the layers


class RNNBase(Module):
    """What ``RNN``, ``LSTM`` and ``GRU`` share: the parameters, the checks, the layer loop."""

    mode = "RNN_TANH"

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        layer = type(self).__name__
        for name, n in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ArgumentError(f"{layer}: {name}={n!r} must be a positive whole number")
        self.input_size, self.hidden_size = int(input_size), int(hidden_size)
        self.num_layers = int(num_layers)
        self.bias, self.batch_first = bool(bias), bool(batch_first)
        self.dropout = F.check_probability(dropout, layer)
        self.bidirectional = bool(bidirectional)
        self.dtype = float_dtype(dtype, layer)
        gates = _GATES[self.mode] * self.hidden_size
        directions = 2 if self.bidirectional else 1
        for k in range(self.num_layers):
            fan_in = self.input_size if k == 0 else self.hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                shapes: dict[str, tuple[int, ...]] = {
                    "weight_ih": (gates, fan_in),
                    "weight_hh": (gates, self.hidden_size),
                }
                if self.bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                for name, shape in shapes.items():
                    setattr(self, f"{name}_l{k}{suffix}", Value(np.empty(shape, self.dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)), as PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _layer_params(self, k: int, suffix: str) -> tuple[Value, Value, Value | None, Value | None]:
        b = {n: getattr(self, f"bias_{n}_l{k}{suffix}", None) for n in ("ih", "hh")}
        return (
            getattr(self, f"weight_ih_l{k}{suffix}"),
            getattr(self, f"weight_hh_l{k}{suffix}"),
            b["ih"],
            b["hh"],
        )

    def forward(self, input: Any, hx: Any = None) -> tuple[Value, Any]:
        layer = type(self).__name__
        x = F.as_value(input)
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            wanted = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
            raise ShapeError(
                f"{layer}: input has shape {x.shape}; it must be {wanted} or unbatched "
                f"(L, H_in) with H_in = input_size = {self.input_size}"
            )
        batched = x.ndim == 3
        if x.shape[1 if batched and self.batch_first else 0] == 0:
            raise ShapeError(
                f"{layer}: input has shape {x.shape}, a sequence of no time steps; give it at "
                "least one step (torch refuses it too)"
            )
        if not batched:
            x = x.reshape(x.shape[0], 1, x.shape[1])  # (L, 1, H_in)
        elif self.batch_first:
            x = x.transpose(1, 0, 2)  # (L, N, H_in): time first inside the layer
        if x.dtype != self.dtype and not x.requires_grad:  # data (float64 arrays, say): the
            x = Value(x.data.astype(self.dtype), requires_grad=False)  # layer's dtype, as torch
        n = x.shape[1]
        states = self._initial_states(hx, n, batched)  # each (layers * D, N, H)
        directions = 2 if self.bidirectional else 1
        finals: list[list[Value]] = [[] for _ in states]
        for k in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(("", "_reverse")[:directions]):
                start = [s[k * directions + d] for s in states]  # (N, H) each
                seq = x if d == 0 else x[::-1]  # the reverse direction reads time backwards
                out, last = self._run(seq, start, self._layer_params(k, suffix))
                outputs.append(out if d == 0 else out[::-1])
                for found, s in zip(finals, last):
                    found.append(s)
            x = outputs[0] if directions == 1 else functions.concat(outputs, axis=-1)
            if k < self.num_layers - 1 and self.dropout and self.training:
                x = F.dropout(x, self.dropout)  # between layers, in training only
        finals_v = [functions.stack(f, axis=0) for f in finals]  # (layers * D, N, H)
        if not batched:
            x = x.reshape(x.shape[0], x.shape[2])  # (L, D * H)
            finals_v = [f.reshape(f.shape[0], f.shape[2]) for f in finals_v]
        elif self.batch_first:
            x = x.transpose(1, 0, 2)  # (N, L, D * H)
        if self.mode == "LSTM":
            return x, (finals_v[0], finals_v[1])
        return x, finals_v[0]

    def _initial_states(self, hx: Any, n: int, batched: bool) -> list[Value]:
        layer = type(self).__name__
        count = self.num_layers * (2 if self.bidirectional else 1)
        names = ("h_0", "c_0") if self.mode == "LSTM" else ("h_0",)
        if hx is None:
            zero = Value(np.zeros((count, n, self.hidden_size), self.dtype), requires_grad=False)
            return [zero for _ in names]
        given = list(hx) if self.mode == "LSTM" else [hx]
        if len(given) != len(names):
            raise ArgumentError(f"{layer}: hx must be a tuple (h_0, c_0); got {len(given)} items")
        wanted = (count, n, self.hidden_size) if batched else (count, self.hidden_size)
        out = []
        for name, s in zip(names, given):
            v = F.as_value(s)
            if v.shape != wanted:
                raise ShapeError(
                    f"{layer}: {name} has shape {v.shape}; it must be (num_layers * num_directions"
                    f"{', N' if batched else ''}, hidden_size) = {wanted}"
                )
            out.append(v if batched else v.reshape(count, 1, self.hidden_size))
        return out

    def _run(
        self, x: Value, start: list[Value], params: tuple[Value, Value, Value | None, Value | None]
    ) -> tuple[Value, list[Value]]:
        """One direction of one layer over the sequence x (L, N, H_in): output (L, N, H) and
        the final state(s)."""
        w_ih, w_hh, b_ih, b_hh = params
        hid = self.hidden_size
        if self.mode == "LSTM":
            bias = None if b_ih is None or b_hh is None else b_ih + b_hh
            steps, n, _ = x.shape
            # every step's share of the gates in one product, on (L*N, H_in) rows: NumPy runs a
            # 2-d product on BLAS directly, a 3-d one with a transposed weight much slower
            xw = functions.linear(x.reshape(steps * n, x.shape[2]), w_ih, bias, transposed=True)
            xw = xw.reshape(steps, n, 4 * hid)  # (L, N, 4H)
            states = lstm_states(xw, start[0], start[1], w_hh)  # (2, L, N, H): h_t, c_t
            return states[0], [states[0, -1], states[1, -1]]
        if self.mode == "GRU":
            steps, n, _ = x.shape
            xw = functions.linear(x.reshape(steps * n, x.shape[2]), w_ih, b_ih, transposed=True)
            xw = xw.reshape(steps, n, 3 * hid)  # (L, N, 3H): every step's input share
            if b_hh is None:
                b_hh = Value(np.zeros(3 * hid, self.dtype), requires_grad=False)
            states = gru_states(xw, start[0], w_hh, b_hh)  # (L, N, H)
            return states, [states[-1]]
        h = start[0]
        hs = []
        for t in range(x.shape[0]):
            xw = functions.linear(x[t], w_ih, b_ih, transposed=True)  # (N, gates * H)
            h = _rnn_step(xw, h, w_hh, b_hh, relu=self.mode == "RNN_RELU")
            hs.append(h)
        return functions.stack(hs, axis=0), [h]

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text + (f", dropout={self.dropout}" if self.dropout else "")


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu).

    >>> import numpy as np
    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import nn
    >>> _ = tl.manual_seed(0)
    >>> rnn = nn.RNN(3, 5, num_layers=2)
    >>> out, h_n = rnn(np.ones((7, 2, 3), dtype=np.float32))
    >>> out.shape, h_n.shape
    ((7, 2, 5), (2, 2, 5))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNN: nonlinearity={nonlinearity!r}; choose 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype
        )


class LSTM(RNNBase):
    """Long short-term memory: a cell state c that the gates add to and forget from.

    >>> import numpy as np
    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import nn
    >>> _ = tl.manual_seed(0)
    >>> lstm = nn.LSTM(3, 5, batch_first=True, bidirectional=True)
    >>> out, (h_n, c_n) = lstm(np.ones((2, 7, 3), dtype=np.float32))
    >>> out.shape, h_n.shape, c_n.shape
    ((2, 7, 10), (2, 2, 5), (2, 2, 5))
    """

    mode = "LSTM"


class GRU(RNNBase):
    """Gated recurrent unit: gates r (reset) and z (update), candidate n.

    >>> import numpy as np
    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import nn
    >>> _ = tl.manual_seed(0)
    >>> out, h_n = nn.GRU(3, 4)(np.ones((6, 3), dtype=np.float32))  # unbatched
    >>> out.shape, h_n.shape
    ((6, 4), (1, 4))
    """

    mode = "GRU"


# ---------------------------------------------------------------- the cells


class RNNCellBase(Module):
    """One step: ``weight_ih`` (gates * H, H_in), ``weight_hh`` (gates * H, H), biases."""

    mode = "RNN_TANH"

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, dtype: Any = np.float32
    ) -> None:
        layer = type(self).__name__
        for name, n in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ArgumentError(f"{layer}: {name}={n!r} must be a positive whole number")
        self.input_size, self.hidden_size, self.bias = int(input_size), int(hidden_size), bias
        self.dtype = float_dtype(dtype, layer)
        gates = _GATES[self.mode] * self.hidden_size
        self.weight_ih = Value(np.empty((gates, self.input_size), self.dtype))
        self.weight_hh = Value(np.empty((gates, self.hidden_size), self.dtype))
        self.bias_ih = Value(np.empty(gates, self.dtype)) if bias else None
        self.bias_hh = Value(np.empty(gates, self.dtype)) if bias else None
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _input(self, input: Any, hx: Any) -> tuple[Value, list[Value], bool]:
        layer = type(self).__name__
        x = F.as_value(input)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{layer}: input has shape {x.shape}; it must be (N, input_size) or unbatched "
                f"(input_size,) with input_size = {self.input_size}"
            )
        batched = x.ndim == 2
        x = x if batched else x.reshape(1, self.input_size)
        n = x.shape[0]
        names = ("h", "c") if self.mode == "LSTM" else ("h",)
        if hx is None:
            zero = Value(np.zeros((n, self.hidden_size), self.dtype), requires_grad=False)
            return x, [zero for _ in names], batched
        given = list(hx) if self.mode == "LSTM" else [hx]
        wanted = (n, self.hidden_size) if batched else (self.hidden_size,)
        states = []
        for name, s in zip(names, given):
            v = F.as_value(s)
            if v.shape != wanted:
                raise ShapeError(
                    f"{layer}: the state {name} has shape {v.shape}; it must be {wanted} "
                    "(N, hidden_size), or (hidden_size,) for an unbatched input"
                )
            states.append(v if batched else v.reshape(1, self.hidden_size))
        return x, states, batched

    def _xw(self, x: Value) -> Value:
        return functions.linear(x, self.weight_ih, self.bias_ih, transposed=True)  # (N, gates * H)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(RNNCellBase):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        dtype: Any = np.float32,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ArgumentError(f"RNNCell: nonlinearity={nonlinearity!r}; choose 'tanh' or 'relu'")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, dtype)

    def forward(self, input: Any, hx: Any = None) -> Value:
        x, (h,), batched = self._input(input, hx)
        h = _rnn_step(self._xw(x), h, self.weight_hh, self.bias_hh, self.nonlinearity == "relu")
        return h if batched else h.reshape(self.hidden_size)


class LSTMCell(RNNCellBase):
    """(h', c') from (x, (h, c)): gates i, f, g, o; c' = f c + i g; h' = o tanh(c')."""

    mode = "LSTM"

    def forward(self, input: Any, hx: Any = None) -> tuple[Value, Value]:
        x, (h, c), batched = self._input(input, hx)
        h, c = _lstm_step(self._xw(x), h, c, self.weight_hh, self.bias_hh)
        if batched:
            return h, c
        return h.reshape(self.hidden_size), c.reshape(self.hidden_size)


class GRUCell(RNNCellBase):
    """h' = (1 - z) n + z h with gates r, z and n = tanh(W_in x + b_in + r (W_hn h + b_hn))."""

    mode = "GRU"

    def forward(self, input: Any, hx: Any = None) -> Value:
        x, (h,), batched = self._input(input, hx)
        h = _gru_step(self._xw(x), h, self.weight_hh, self.bias_hh)
        return h if batched else h.reshape(self.hidden_size)
