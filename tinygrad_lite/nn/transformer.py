"""``TransformerEncoderLayer``: self-attention, then a feed-forward network, each with a
residual connection and layer normalisation, as torch's layer (its names, its state_dict keys
and layouts, post-norm by default and pre-norm with ``norm_first=True``).

Post-norm (the original transformer)::

    x = norm1(x + dropout1(self_attn(x, x, x)))
    x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

Pre-norm normalises before each block instead: ``x = x + block(norm(x))``.

References: Vaswani et al. 2017, "Attention is all you need"; Xiong et al. 2020, "On layer
normalization in the transformer architecture" (pre-norm).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core import OPS, ArgumentError, ShapeError, Value, apply
from ..core.listen import note_state
from ..core.ops.fused import FeedForward, Kept
from . import functional as F
from . import init
from .activations import Dropout
from .attention import MultiheadAttention, OutProjection
from .module import Module
from .norm import LayerNorm


class _FeedForwardLinear(OutProjection):
    """torch's Linear layout (out, in), so a torch state_dict loads unchanged, with torch's
    default initialisation of the bias too (the attention's output projection starts at 0)."""

    def __init__(self, in_features: int, out_features: int, dtype: Any) -> None:
        super().__init__(in_features, out_features, True, dtype)
        bound = 1.0 / math.sqrt(in_features)
        init.uniform_(self.bias, -bound, bound)  # type: ignore[arg-type]


def relu_feed_forward(x: Value, w1: Value, b1: Value, w2: Value, b2: Value) -> Value:
    """``relu(x W1^T + b1) W2^T + b2`` as one node (the ``feed_forward`` row), the weights in
    torch's layout: W1 (F, E), W2 (E, F). The hidden layer lives inside the node, as the LSTM's
    gates do in its row: its activations are not a Value and keep no ``.grad``, and relu's
    backward is applied in place to its gradient rather than to a copy.
    """
    f, e = w1.shape
    if x.shape[-1:] != (e,) or w2.shape != (e, f) or b1.shape != (f,) or b2.shape != (e,):
        raise ShapeError(
            f"feed_forward: x {x.shape} must end in E and W1 {w1.shape}, b1 {b1.shape}, W2 "
            f"{w2.shape}, b2 {b2.shape} be (F, E), (F,), (E, F), (E,) with one E and one F"
        )
    need = tuple(v.requires_grad for v in (x, w1, b1, w2, b2))
    return apply(OPS["feed_forward"], FeedForward(need, Kept()), x, w1, b1, w2, b2)


# the activations a layer names by a string (interop reads which one a layer uses)
ACTIVATIONS: dict[str, Callable[[Value], Value]] = {
    "relu": F.relu,
    "gelu": lambda x: F.gelu(x),  # exact (erf), torch's default for "gelu"
}


class TransformerEncoderLayer(Module):
    """One encoder layer of a transformer, as torch's.

    >>> import numpy as np
    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import nn
    >>> _ = tl.manual_seed(0)
    >>> layer = nn.TransformerEncoderLayer(16, 4, dim_feedforward=32, dropout=0.0, batch_first=True)
    >>> layer(np.ones((2, 5, 16), dtype=np.float32)).shape   # (N, L, d_model)
    (2, 5, 16)
    >>> sorted(layer.state_dict())[:4]
    ['linear1.bias', 'linear1.weight', 'linear2.bias', 'linear2.weight']
    """

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        activation: str | Callable[[Value], Value] = "relu",
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        if isinstance(activation, str) and activation not in ACTIVATIONS:
            raise ArgumentError(
                f"TransformerEncoderLayer: activation={activation!r}; use 'relu', 'gelu' or a "
                "function of a Value"
            )
        if isinstance(dim_feedforward, bool) or not isinstance(dim_feedforward, (int, np.integer)):
            raise ArgumentError(
                f"TransformerEncoderLayer: dim_feedforward={dim_feedforward!r} must be a "
                "positive whole number"
            )
        if dim_feedforward < 1:
            raise ArgumentError(
                f"TransformerEncoderLayer: dim_feedforward={dim_feedforward} must be at least 1"
            )
        self.self_attn = MultiheadAttention(
            d_model, nhead, dropout=dropout, batch_first=batch_first, dtype=dtype
        )
        self.linear1 = _FeedForwardLinear(d_model, int(dim_feedforward), dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = _FeedForwardLinear(int(dim_feedforward), d_model, dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = ACTIVATIONS[activation] if isinstance(activation, str) else activation
        self.norm_first = bool(norm_first)
        self.batch_first = bool(batch_first)

    def forward(
        self,
        src: Any,
        src_mask: Any = None,
        src_key_padding_mask: Any = None,
        is_causal: bool = False,
    ) -> Value:
        """``src`` (L, N, E), or (N, L, E) with ``batch_first``, or unbatched (L, E); the
        masks as ``MultiheadAttention``'s ``attn_mask`` and ``key_padding_mask``."""
        x = F.as_value(src)

        def attend(h: Value) -> Value:
            out, _ = self.self_attn(
                h,
                h,
                h,
                key_padding_mask=src_key_padding_mask,
                need_weights=False,
                attn_mask=src_mask,
                is_causal=is_causal,
            )
            return self.dropout1(out)

        def feed_forward(h: Value) -> Value:
            if self._one_node_feed_forward():  # (then both linears are the layer's own)
                w1, b1, w2, b2 = (
                    self.linear1.weight,
                    self.linear1.bias,
                    self.linear2.weight,
                    self.linear2.bias,
                )
                if b1 is not None and b2 is not None:
                    return self.dropout2(relu_feed_forward(h, w1, b1, w2, b2))
            hidden = self.dropout(self.activation(self.linear1(h)))  # (..., dim_feedforward)
            return self.dropout2(self.linear2(hidden))

        if self.norm_first:
            x = x + attend(self.norm1(x))
            return x + feed_forward(self.norm2(x))
        x = self.norm1(x + attend(x))
        return self.norm2(x + feed_forward(x))

    def _one_node_feed_forward(self) -> bool:
        """Whether the feed-forward block is ``relu_feed_forward``'s one node: a ReLU between
        the layer's own two linears, and no dropout between them."""
        note_state(self.dropout, "training")  # a traced step (tl.jit) replays for this mode only
        linears = (self.linear1, self.linear2)
        return (
            self.activation is F.relu
            and all(type(m) is _FeedForwardLinear for m in linears)
            and (self.dropout.p == 0.0 or not self.dropout.training)
        )

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, batch_first={self.batch_first}"
