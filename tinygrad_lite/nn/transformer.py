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

from ..core import ArgumentError, Value
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
            hidden = self.dropout(self.activation(self.linear1(h)))  # (..., dim_feedforward)
            return self.dropout2(self.linear2(hidden))

        if self.norm_first:
            x = x + attend(self.norm1(x))
            return x + feed_forward(self.norm2(x))
        x = self.norm1(x + attend(x))
        return self.norm2(x + feed_forward(x))

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, batch_first={self.batch_first}"
