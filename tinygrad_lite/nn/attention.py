"""Attention: ``MultiheadAttention`` with PyTorch's signature, parameters and masks, and the
helpers a transformer needs, ``causal_mask`` and ``sinusoidal_positional_encoding``.

Each head compares every query position with every key position (scaled dot products), turns
the scores into weights with a softmax, and averages the values with them; the heads' results
are joined and projected back to ``embed_dim``. Shapes, with L query positions, S key positions,
N sequences and E = embed_dim split into ``num_heads`` heads of E / num_heads:

* query (L, N, E), key and value (S, N, E); (N, L, E) with ``batch_first``; unbatched (L, E);
* output: the query's layout; weights (N, L, S) averaged over heads, or (N, heads, L, S).

Parameters in torch's names and layouts, so a torch ``state_dict`` loads unchanged:
``in_proj_weight`` (3E, E) (rows: the query, key and value projections), ``in_proj_bias`` (3E,),
``out_proj.weight`` (E, E) stored (out, in) as torch stores it, ``out_proj.bias`` (E,).
``out_proj`` is therefore an ``OutProjection``, not an ``nn.Linear`` (whose weight is (in, out)).

Reference: Vaswani et al., "Attention Is All You Need" (2017); the PyTorch documentation of
``torch.nn.MultiheadAttention``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import functions
from ..core import ArgumentError, ShapeError, Value
from . import functional as F
from . import init
from .linear import float_dtype
from .module import Module


def causal_mask(length: int, dtype: Any = np.float32) -> np.ndarray:
    """(length, length) float mask: 0 where position i may look at j <= i, -inf above.

    Added to attention scores it hides the future; it means the same to
    ``MultiheadAttention(attn_mask=...)`` and ``F.scaled_dot_product_attention(attn_mask=...)``
    (whose bool masks mean opposite things), like torch's
    ``nn.Transformer.generate_square_subsequent_mask``.

    >>> causal_mask(3)
    array([[  0., -inf, -inf],
           [  0.,   0., -inf],
           [  0.,   0.,   0.]], dtype=float32)
    """
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ArgumentError(f"causal_mask: length={length!r} must be a positive whole number")
    upper = np.triu(np.ones((length, length), dtype=bool), k=1)
    return np.where(upper, -np.inf, 0.0).astype(dtype)


def sinusoidal_positional_encoding(length: int, dim: int, dtype: Any = np.float32) -> np.ndarray:
    """(length, dim) positions as waves: PE[p, 2i] = sin(p / 10000^(2i/dim)), PE[p, 2i+1] = cos.

    Each position gets a distinct pattern, and a fixed offset is a linear map of it, so
    attention can learn "k steps back" (Vaswani et al., 2017). Add it to the embeddings.

    >>> pe = sinusoidal_positional_encoding(4, 6)
    >>> pe.shape, pe[0].tolist()
    ((4, 6), [0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    """
    for name, n in (("length", length), ("dim", dim)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ArgumentError(
                f"sinusoidal_positional_encoding: {name}={n!r} must be a positive whole number"
            )
    position = np.arange(length)[:, None]  # (length, 1)
    rate = np.exp(-math.log(10000.0) * np.arange(0, dim, 2) / dim)  # (ceil(dim / 2),)
    pe = np.zeros((length, dim))
    pe[:, 0::2] = np.sin(position * rate)
    pe[:, 1::2] = np.cos(position * rate[: dim // 2])
    return pe.astype(dtype)


class OutProjection(Module):
    """y = x weight^T + bias with ``weight`` (out_features, in_features): torch's Linear layout,
    for the output projection of ``MultiheadAttention`` (so torch's keys load unchanged)."""

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, dtype: Any = np.float32
    ) -> None:
        self.in_features, self.out_features = in_features, out_features
        self.weight = Value(np.empty((out_features, in_features), dtype))
        self.bias = Value(np.zeros(out_features, dtype)) if bias else None
        bound = 1.0 / math.sqrt(in_features)  # torch's Linear default for the weight
        init.uniform_(self.weight, -bound, bound)

    def forward(self, x: Any) -> Value:
        return F.linear(x, self.weight, self.bias, transposed=True)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads over ``embed_dim`` features, as torch's layer.

    >>> import numpy as np
    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import nn
    >>> _ = tl.manual_seed(0)
    >>> mha = nn.MultiheadAttention(8, 2, batch_first=True)
    >>> x = np.ones((3, 5, 8), dtype=np.float32)  # (N, L, E)
    >>> out, weights = mha(x, x, x, attn_mask=nn.causal_mask(5))
    >>> out.shape, weights.shape
    ((3, 5, 8), (3, 5, 5))
    >>> weights.data[0, 0].tolist()  # the first position sees only itself
    [1.0, 0.0, 0.0, 0.0, 0.0]
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        batch_first: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        for name, n in (("embed_dim", embed_dim), ("num_heads", num_heads)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ArgumentError(
                    f"MultiheadAttention: {name}={n!r} must be a positive whole number"
                )
        if embed_dim % num_heads:
            raise ArgumentError(
                f"MultiheadAttention: embed_dim={embed_dim} is not divisible by "
                f"num_heads={num_heads}; each head takes embed_dim / num_heads features, so "
                "pick num_heads among the divisors of embed_dim"
            )
        self.embed_dim, self.num_heads = int(embed_dim), int(num_heads)
        self.head_dim = self.embed_dim // self.num_heads
        self.dropout = F.check_probability(dropout, "MultiheadAttention")
        self.batch_first = bool(batch_first)
        self.dtype = float_dtype(dtype, "MultiheadAttention")
        e = self.embed_dim
        self.in_proj_weight = Value(np.empty((3 * e, e), self.dtype))
        init.xavier_uniform_(self.in_proj_weight)  # fans 3E and E: the same bound in either layout
        self.in_proj_bias = Value(np.zeros(3 * e, self.dtype)) if bias else None
        self.out_proj = OutProjection(e, e, bias, self.dtype)

    def forward(
        self,
        query: Any,
        key: Any,
        value: Any,
        key_padding_mask: Any = None,
        need_weights: bool = True,
        attn_mask: Any = None,
        is_causal: bool = False,
        average_attn_weights: bool = True,
    ) -> tuple[Value, Value | None]:
        """(attn_output, attn_weights). Masks as torch: ``key_padding_mask`` (N, S) and
        ``attn_mask`` (L, S) or (N * num_heads, L, S), bool (True = may NOT attend) or float
        (added to the scores). ``is_causal=True`` without ``attn_mask`` applies the causal mask."""
        q, k, v = F.as_value(query), F.as_value(key), F.as_value(value)
        batched = self._check_inputs(q, k, v)
        if not batched:  # (L, E) -> (1, L, E)
            q, k, v = (x.reshape(1, *x.shape) for x in (q, k, v))
        elif not self.batch_first:  # (L, N, E) -> (N, L, E)
            q, k, v = (x.transpose(1, 0, 2) for x in (q, k, v))
        n, length, e = q.shape
        source = k.shape[1]
        mask = self._mask(key_padding_mask, attn_mask, is_causal, n, length, source, batched)
        self_attention = query is key and key is value
        if not need_weights and not (self.dropout and self.training):
            # every head in one attention node, reading the heads from the projections in
            # place: no split of q, k and v into heads, no join, no per-head temporaries
            xs = self._project(q, k, v, self_attention)  # (N, len, 3E) packed, or 3 x (N, len, E)
            out = F.multi_head_attention(*xs, num_heads=self.num_heads, mask=mask)
            out = out.reshape(n * length, e)  # (N*L, E): heads side by side
            weights = None
        else:
            heads, hd = self.num_heads, self.head_dim
            if self_attention:  # one packed projection, split into heads
                qkv = self._project(q, k, v, True)[0]  # (N, L, 3E)
                qkv = qkv.reshape(n, length, 3, heads, hd).transpose(2, 0, 3, 1, 4)
                projected = [qkv[0], qkv[1], qkv[2]]  # 3 x (N, h, L, hd)
            else:
                projected = [
                    y.reshape(n, -1, heads, hd).transpose(0, 2, 1, 3)  # (N, h, len, hd)
                    for y in self._project(q, k, v, False)
                ]
            q, k, v = projected
            out, weights = F.attention(q, k, v, mask, False, "MultiheadAttention")
            if self.dropout and self.training:  # dropout on the weights, as torch
                weights = F.dropout(weights, self.dropout)
                out = weights @ v
            out = out.transpose(0, 2, 1, 3).reshape(n * length, e)  # (N*L, E): heads side by side
        out = self.out_proj(out).reshape(n, length, e)
        if not batched:
            out = out.reshape(length, e)
        elif not self.batch_first:
            out = out.transpose(1, 0, 2)  # (L, N, E)
        if not need_weights or weights is None:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)  # (N, L, S)
        return out, weights if batched else weights.reshape(*weights.shape[1:])

    def _project(self, q: Value, k: Value, v: Value, packed: bool) -> list[Value]:
        """The input projections of (N, len, E) inputs: [(N, L, 3E)], q, k and v side by side
        from one product (self-attention), or [q, k, v], each (N, len, E)."""
        n, e = q.shape[0], self.embed_dim
        w, b = self.in_proj_weight, self.in_proj_bias
        if packed:  # self-attention: the three projections in one product
            packed_qkv = functions.linear(q.reshape(-1, e), w, b, transposed=True)
            return [packed_qkv.reshape(n, -1, 3 * e)]
        projected = []
        for j, x in enumerate((q, k, v)):
            wj = w[j * e : (j + 1) * e]  # (E, E), torch's (out, in)
            bj = None if b is None else b[j * e : (j + 1) * e]
            # (N*len, E): 2-d rows for BLAS
            y = functions.linear(x.reshape(-1, e), wj, bj, transposed=True)
            projected.append(y.reshape(n, -1, e))
        return projected

    def _check_inputs(self, q: Value, k: Value, v: Value) -> bool:
        layout = "(N, L, E)" if self.batch_first else "(L, N, E)"
        if q.ndim not in (2, 3) or k.ndim != q.ndim or v.ndim != q.ndim:
            raise ShapeError(
                f"MultiheadAttention: query {q.shape}, key {k.shape} and value {v.shape} must "
                f"all be batched {layout} or all unbatched (L, E)"
            )
        for name, x in (("query", q), ("key", k), ("value", v)):
            if x.shape[-1] != self.embed_dim:
                raise ShapeError(
                    f"MultiheadAttention: {name} has shape {x.shape}; its last axis must be "
                    f"embed_dim = {self.embed_dim}"
                )
        batch_axis = 0 if self.batch_first else 1
        if q.ndim == 3 and not q.shape[batch_axis] == k.shape[batch_axis] == v.shape[batch_axis]:
            raise ShapeError(
                f"MultiheadAttention: query {q.shape}, key {k.shape} and value {v.shape} "
                f"hold different numbers of sequences (layout {layout})"
            )
        if k.shape[:-1] != v.shape[:-1]:
            raise ShapeError(
                f"MultiheadAttention: key {k.shape} and value {v.shape} must have one length"
            )
        return q.ndim == 3

    def _mask(
        self,
        key_padding_mask: Any,
        attn_mask: Any,
        is_causal: bool,
        n: int,
        length: int,
        source: int,
        batched: bool,
    ) -> np.ndarray | None:
        """The masks as one float mask added to the scores: broadcasts to (N, heads, L, S)."""
        if attn_mask is None and is_causal:
            attn_mask = causal_mask(length, self.dtype)[:, :source]
        total = None
        if attn_mask is not None:
            m = self._float_mask(attn_mask, "attn_mask")
            allowed = [(length, source), (n * self.num_heads, length, source)]
            if m.shape not in allowed:
                raise ShapeError(
                    f"MultiheadAttention: attn_mask has shape {m.shape}; it must be (L, S) = "
                    f"{allowed[0]} or (N * num_heads, L, S) = {allowed[1]}"
                )
            total = m if m.ndim == 2 else m.reshape(n, self.num_heads, length, source)
        if key_padding_mask is not None:
            m = self._float_mask(key_padding_mask, "key_padding_mask")
            wanted = (n, source) if batched else (source,)
            if m.shape != wanted:
                raise ShapeError(
                    f"MultiheadAttention: key_padding_mask has shape {m.shape}; it must be "
                    f"(N, S) = {wanted} (True marks the keys to ignore)"
                    if batched
                    else f"MultiheadAttention: key_padding_mask has shape {m.shape}; "
                    f"it must be (S,) = {wanted} for an unbatched input"
                )
            m = m.reshape(n, 1, 1, source)
            total = m if total is None else total + m
        return total

    def _float_mask(self, mask: Any, name: str) -> np.ndarray:
        m = np.asarray(mask.data if isinstance(mask, Value) else mask)
        if m.dtype == np.bool_:
            return np.where(m, -np.inf, 0.0).astype(self.dtype)  # True: may not attend
        if m.dtype.kind != "f":
            raise ShapeError(
                f"MultiheadAttention: {name} has dtype {m.dtype}; give a bool mask (True = "
                "ignore) or a float mask added to the scores"
            )
        return m.astype(self.dtype)

    def extra_repr(self) -> str:
        text = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        if self.dropout:
            text += f", dropout={self.dropout}"
        return text + (", batch_first=True" if self.batch_first else "")
