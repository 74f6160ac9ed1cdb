"""Attention: a one-layer transformer learns to write a sequence backwards.

The input is a row of random symbols (the symbols of ``data.copy_task``); the answer at
position i is the symbol at position L-1-i. Nothing in a symbol says where it must go: each
position must look up another position, which is what attention does. The model: token and
position embeddings, one pre-norm ``TransformerEncoderLayer`` (self-attention and a small
feed-forward block, with residual connections), a LayerNorm and a linear head giving every
position's symbol scores. Only a wholly right row counts (exact match), on rows drawn apart
from the training batches. The picture: the attention weights of one held-out row, which
form the anti-diagonal: position i reads position L-1-i.

    from tinygrad_lite import gallery
    print(gallery.run("attention", "gallery_out").report())
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.book.runner import figure, save_figure
from tinygrad_lite.nn import functional as F

from . import Exhibit


@dataclass(frozen=True)
class Size:
    """How big a run is: quick (the tour) or full."""

    length: int  # symbols per row
    symbols: int  # kinds of symbol
    d_model: int
    heads: int
    steps: int  # batches of training


TARGET = 0.95  # held-out exact match: every symbol of the row right
QUICK = Size(length=10, symbols=10, d_model=32, heads=1, steps=150)  # a few seconds
FULL = Size(length=20, symbols=20, d_model=64, heads=2, steps=600)
BATCH = 64
LR = 5e-3

BOOK = (
    "Attention lets every position of a sequence look at every other one and take what it "
    "needs, weighted by how well its query matches their keys, instead of passing everything "
    "through one state step by step as a recurrent network does. The transformer stacks "
    "attention with small feed-forward layers; the books close on it as the architecture "
    "behind today's language models."
)


class Reverser(nn.Module):
    """Token + position embeddings, one pre-norm transformer layer, a LayerNorm and a linear
    head: (N, L) symbol ids in, (N, L, vocab) scores out."""

    def __init__(self, vocab: int, length: int, d_model: int, heads: int) -> None:
        self.tokens = nn.Embedding(vocab, d_model)
        self.positions = nn.Embedding(length, d_model)
        self.layer = nn.TransformerEncoderLayer(
            d_model, heads, 2 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def embed(self, ids: Any) -> tl.Value:
        ids = np.asarray(ids.data if isinstance(ids, tl.Value) else ids, dtype=np.int64)
        return self.tokens(ids) + self.positions(np.arange(ids.shape[1]))  # (N, L, d_model)

    def forward(self, ids: Any) -> tl.Value:
        return self.head(self.norm(self.layer(self.embed(ids))))  # (N, L, vocab)

    def attention_weights(self, ids: np.ndarray) -> np.ndarray:
        """(N, heads, L, L) weights of the layer's self-attention: row i = the position
        writing, column j = how much it reads position j."""
        with tl.no_grad():
            h = self.layer.norm1(self.embed(ids))  # what the pre-norm attention reads
            _, w = self.layer.self_attn(h, h, h, average_attn_weights=False)
        return np.asarray(w.data)


def reversal_rows(n: int, length: int, symbols: int, seed: Any) -> tuple[np.ndarray, np.ndarray]:
    """``n`` rows of ``length`` symbols (ids 1 to ``symbols``) and the same rows reversed."""
    X, _ = data.copy_task(n, length=length, delay=1, symbols=symbols, seed=seed)
    rows = X[:, :length]  # copy_task's symbols come first
    return rows, rows[:, ::-1].copy()


def exact_match(model: Reverser, X: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    """The share of rows written wholly right, and the share of symbols."""
    with tl.no_grad():
        written = model(X).data.argmax(axis=-1)  # (N, L)
    right = written == Y
    return float(right.all(axis=1).mean()), float(right.mean())


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train the reverser, measure its held-out exact match, draw its attention."""
    size = FULL if full else QUICK
    length, symbols = size.length, size.symbols
    X_test, Y_test = reversal_rows(1000, length, symbols, seed=seed + 1_000)
    tl.manual_seed(seed)
    vocab = symbols + 1  # id 0 (copy_task's blank) never occurs in a row, but has a score
    model = Reverser(vocab, length, size.d_model, size.heads)
    optimizer = optim.Adam(model.parameters(), lr=LR)
    gen = np.random.default_rng(seed)
    losses = []
    start = time.perf_counter()
    for _ in range(size.steps):
        X, Y = reversal_rows(BATCH, length, symbols, seed=gen)
        loss = F.cross_entropy(model(X).reshape(-1, vocab), Y.reshape(-1))  # every position
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    rows, symbols_right = exact_match(model, X_test, Y_test)
    pictures = []
    if plots:
        weights = model.attention_weights(X_test[:1])[0]  # (heads, L, L)
        pictures.append(plot_attention(weights, X_test[0], out / "attention.png"))
    n_params = sum(p.size for p in model.parameters())
    return Exhibit(
        architecture="attention (transformer)",
        title=f"a one-layer transformer writes rows of {length} symbols backwards",
        figures=[
            ("held-out exact match", f"{rows:.1%}", f">= {TARGET:.0%}"),
            ("held-out symbols right", f"{symbols_right:.1%}", f"chance {1 / symbols:.0%}"),
        ],
        pictures=pictures,
        book=BOOK,
        command="python examples/gallery/attention.py --full",
        notes=[
            f"{symbols} symbols, rows of {length}; d_model {size.d_model}, "
            f"{size.heads} head(s), feed-forward {2 * size.d_model}, {n_params:,} "
            f"parameters; Adam (lr {LR:g}), {size.steps} batches of {BATCH} fresh rows "
            f"(final loss {losses[-1]:.3f}), tested on 1,000 other rows: {seconds:.1f} s"
            + (
                ""
                if full
                else f" (quick mode; --full: {FULL.symbols} symbols, rows of "
                f"{FULL.length}, {FULL.heads} heads, {FULL.steps} batches)"
            ),
        ],
        model=model,
        example_input=X_test[:2],
    )


def plot_attention(weights: np.ndarray, row: np.ndarray, path: Path) -> Path:
    """One heatmap per head: row i = the position writing its answer, column j = how much it
    attends to the symbol at position j."""
    heads, length = weights.shape[0], weights.shape[1]
    fig = figure(3.6 * heads + 0.6, 3.8, "the gallery's pictures")
    axes: Any = np.atleast_1d(fig.subplots(1, heads))
    labels = [str(int(s)) for s in row]
    for h, ax in enumerate(axes):
        ax.imshow(weights[h], cmap="Blues", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(length), labels, fontsize=7)
        ax.set_yticks(range(length), [f"{i}: {labels[length - 1 - i]}" for i in range(length)],
                      fontsize=7)  # fmt: skip
        ax.set_xlabel("reads the symbol at (key)")
        ax.set_ylabel("position writing: its answer")
        ax.set_title(f"head {h + 1}", fontsize=9)
    fig.suptitle(f"attention weights while reversing {' '.join(labels)}", fontsize=10)
    return save_figure(fig, path)
