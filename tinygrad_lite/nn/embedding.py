"""``Embedding``: a lookup table of learned vectors, one row per token id.

``weight`` has shape (num_embeddings, embedding_dim), PyTorch's layout, so a torch
``state_dict`` loads unchanged. Looking rows up is indexing, ``weight[ids]``: its backward adds
each position's gradient into the row it came from (a token that appears twice gets both).
A ``padding_idx`` row starts at zero and never receives a gradient, as in PyTorch.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core import ArgumentError, Value
from . import functional as F
from . import init
from .linear import float_dtype
from .module import Module


class Embedding(Module):
    """A table of ``num_embeddings`` vectors of size ``embedding_dim``; ``layer(ids)`` reads rows.

    >>> import numpy as np
    >>> import tinygrad_lite as tl
    >>> from tinygrad_lite import nn
    >>> _ = tl.manual_seed(0)
    >>> emb = nn.Embedding(10, 4, padding_idx=0)
    >>> emb(np.array([[1, 2, 0], [3, 0, 0]])).shape
    (2, 3, 4)
    >>> emb.weight.shape, bool((emb.weight.data[0] == 0).all())
    ((10, 4), True)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        for name, n in (("num_embeddings", num_embeddings), ("embedding_dim", embedding_dim)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ArgumentError(f"Embedding: {name}={n!r} must be a positive whole number")
        self.num_embeddings = int(num_embeddings)
        self.embedding_dim = int(embedding_dim)
        self.padding_idx = F.check_padding_idx(padding_idx, self.num_embeddings)
        self.dtype = float_dtype(dtype, "Embedding")
        self.weight = Value(np.empty((self.num_embeddings, self.embedding_dim), self.dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """N(0, 1) for every row, as PyTorch; the padding row is zero."""
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0.0

    def forward(self, ids: Any) -> Value:
        return F.embedding(ids, self.weight, self.padding_idx)

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else f"{text}, padding_idx={self.padding_idx}"
