"""A small decoder-only transformer learns to add three-digit numbers from text alone.

Each example is one line of characters, ``"123+045=8610"``: the two numbers padded with zeros
to the same width, then the sum written backwards (least significant digit first, so the
model writes each digit after it has seen the carry it needs). A GPT-style model (token and
position embeddings, pre-norm ``TransformerEncoderLayer``s with a causal mask, a final
LayerNorm and a linear head) learns to predict the next character, with the loss taken on
the answer's characters only. The test sums are pairs (a, b) it never saw in training; it
answers them by greedy decoding, one character at a time, and only a wholly right answer
counts. Prints the exact-match accuracy and saves the loss curve and the attention weights
of one test sum (every layer and head).

    python examples/sequences/transformer_addition.py [--steps 1000] [--digits 3] [--seed 0]
"""

from __future__ import annotations

import os

# One BLAS thread: the matrices here are small (at most 1,408 x 256), so a second thread gains
# little on an idle machine, and on a busy one the two threads wait for each other's turn on
# the cores: measured 6 to 65 times slower per product, 8 times per training step. Set before
# NumPy loads; a setting of your own wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import tinygrad_lite as tl  # noqa: E402
from tinygrad_lite import data, nn, optim  # noqa: E402
from tinygrad_lite.book.runner import figure  # noqa: E402
from tinygrad_lite.book.runner import save_figure as save
from tinygrad_lite.nn import functional as F  # noqa: E402
from tinygrad_lite.optional import MissingDependencyError  # noqa: E402

TARGET = 0.95  # the held-out exact-match accuracy the default run must reach
SYMBOLS = "0123456789+="


def positive(text: str) -> int:
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n} is not a positive whole number")
    return n


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    add = parser.add_argument
    add("--out", type=Path, default=Path("tour_out"), help="folder for the plots")
    add("--no-plots", action="store_true", help="print the numbers only")
    add("--digits", type=positive, default=3, help="digits per number (default 3)")
    add("--steps", type=positive, default=1000, help="training steps (default 1000)")
    add("--batch-size", type=positive, default=128, help="sums per step (default 128)")
    add("--lr", type=float, default=2e-3, help="peak learning rate of AdamW (default 2e-3)")
    add("--d-model", type=positive, default=64, help="features per position (default 64)")
    add("--heads", type=positive, default=4, help="attention heads, divide d-model (default 4)")
    add("--layers", type=positive, default=2, help="transformer layers (default 2)")
    add("--test-size", type=positive, default=2000, help="held-out sums (default 2000)")
    add("--no-reverse", action="store_true", help="write the sum most significant digit first")
    add("--seed", type=int, default=0, help="draws the weights, the sums and the split")
    return parser


# ---------------------------------------------------------------- the data as text


def pairs_of(sums: list[str]) -> np.ndarray:
    """(n, 2) operands of ``"a+b=c"`` strings (as ``data.addition_strings`` writes them)."""
    return np.array([[int(x) for x in s.split("=")[0].split("+")] for s in sums], dtype=np.int64)


def write_sum(a: int, b: int, digits: int, reverse: bool = True) -> str:
    """``"123+045=8610"``: the operands padded to ``digits``, then their sum padded to
    ``digits + 1`` and, with ``reverse``, written least significant digit first.

    >>> write_sum(123, 45, 3), write_sum(123, 45, 3, reverse=False)
    ('123+045=8610', '123+045=0168')
    """
    answer = f"{a + b:0{digits + 1}d}"
    return f"{a:0{digits}d}+{b:0{digits}d}=" + (answer[::-1] if reverse else answer)


def read_answer(text: str, reverse: bool = True) -> int | None:
    """The number an answer written by ``write_sum`` stands for (None if it is not digits)."""
    if not text.isdigit():
        return None
    return int(text[::-1] if reverse else text)


def held_out_pairs(n: int, digits: int, seed: int) -> np.ndarray:
    """``n`` distinct pairs (a, b): the test sums, never used for training."""
    gen = np.random.default_rng(seed)
    pairs = np.unique(pairs_of(data.addition_strings(2 * n + 100, digits, seed=gen)), axis=0)
    return pairs[gen.permutation(len(pairs))[:n]]


class TrainingSums:
    """Fresh random sums for each batch, skipping every held-out pair (the split is by pair:
    neither (a, b) of a test sum is ever shown, though its numbers appear in other sums)."""

    def __init__(self, digits: int, held_out: np.ndarray, seed: int) -> None:
        self.digits = digits
        self.base = 10**digits
        self.held_out = set((held_out[:, 0] * self.base + held_out[:, 1]).tolist())
        self.gen = np.random.default_rng(seed)

    def batch(self, n: int) -> np.ndarray:
        """(n, 2) pairs (a, b), none of them held out."""
        kept: list[np.ndarray] = []
        while sum(len(k) for k in kept) < n:
            pairs = pairs_of(data.addition_strings(n, self.digits, seed=self.gen))
            keys = (pairs[:, 0] * self.base + pairs[:, 1]).tolist()
            kept.append(pairs[np.array([k not in self.held_out for k in keys])])
        return np.concatenate(kept)[:n]


def encode(pairs: np.ndarray, tokens: data.CharTokenizer, digits: int, reverse: bool) -> np.ndarray:
    """(n, 3 * digits + 3) token ids of the written sums."""
    return np.stack([tokens.encode(write_sum(a, b, digits, reverse)) for a, b in pairs.tolist()])


# ---------------------------------------------------------------- the loss on the answer


def answer_mask(length: int, prompt_length: int) -> np.ndarray:
    """(length - 1,) bool: which next-token targets belong to the answer.

    The model reads ids[:-1] and predicts ids[1:]; target t is ids[t + 1], so the answer's
    first character (position ``prompt_length``) is target ``prompt_length - 1``.

    >>> answer_mask(6, 4).tolist()   # "1+2=" then a 2-character answer
    [False, False, False, True, True]
    """
    return np.arange(length - 1) >= prompt_length - 1


def masked_next_token_loss(logits: Any, targets: np.ndarray, mask: np.ndarray) -> tl.Value:
    """Mean cross-entropy of ``logits`` (N, T, vocab) against ``targets`` (N, T) over the
    positions where ``mask`` (T,) or (N, T) is True; the others add nothing, gradient too."""
    losses = F.cross_entropy(logits, targets, reduction="none")  # (N, T)
    weight = np.broadcast_to(mask, losses.shape).astype(losses.dtype)
    return (losses * weight).sum() * (1.0 / weight.sum())


# ---------------------------------------------------------------- the model


class Decoder(nn.Module):
    """GPT-style: token + position embeddings, pre-norm layers with a causal mask, a final
    LayerNorm and a linear head giving next-token logits at every position."""

    def __init__(
        self, vocab: int, length: int, d_model: int = 64, heads: int = 4, layers: int = 2
    ) -> None:
        self.tokens = nn.Embedding(vocab, d_model)
        self.positions = nn.Embedding(length, d_model)
        self.layers = [
            nn.TransformerEncoderLayer(
                d_model, heads, 4 * d_model, dropout=0.0, batch_first=True, norm_first=True
            )
            for _ in range(layers)
        ]
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab)

    def embed(self, ids: np.ndarray) -> tl.Value:
        return self.tokens(ids) + self.positions(np.arange(ids.shape[1]))  # (N, L, d_model)

    def forward(self, ids: np.ndarray) -> tl.Value:
        x = self.embed(ids)
        mask = nn.causal_mask(ids.shape[1])  # (L, L): position i sees 0..i only
        for layer in self.layers:
            x = layer(x, src_mask=mask)
        return self.head(self.norm(x))  # (N, L, vocab)

    def attention_weights(self, ids: np.ndarray) -> list[np.ndarray]:
        """Per layer, the (N, heads, L, L) attention weights of a forward pass on ``ids``."""
        mask = nn.causal_mask(ids.shape[1])
        maps = []
        with tl.no_grad():
            x = self.embed(ids)
            for layer in self.layers:
                h = layer.norm1(x)  # what the pre-norm layer's attention reads
                _, w = layer.self_attn(h, h, h, attn_mask=mask, average_attn_weights=False)
                maps.append(w.data)
                x = layer(x, src_mask=mask)
        return maps


def greedy_answers(model: Decoder, prompts: np.ndarray, answer_length: int) -> np.ndarray:
    """(N, answer_length) ids written one at a time, each the most likely next character."""
    ids = prompts
    with tl.no_grad():
        for _ in range(answer_length):
            logits = model(ids).data[:, -1]  # (N, vocab): the next character's scores
            ids = np.concatenate([ids, logits.argmax(axis=-1)[:, None]], axis=1)
    return ids[:, prompts.shape[1] :]


def exact_match(
    model: Decoder, pairs: np.ndarray, tokens: data.CharTokenizer, digits: int, reverse: bool
) -> tuple[float, list[str]]:
    """The share of ``pairs`` whose whole answer is right, and every written answer."""
    prompt_length = 2 * digits + 2
    prompts = encode(pairs, tokens, digits, reverse)[:, :prompt_length]
    written = [tokens.decode(row) for row in greedy_answers(model, prompts, digits + 1)]
    right = [read_answer(w, reverse) == a + b for w, (a, b) in zip(written, pairs.tolist())]
    return float(np.mean(right)), written


# ---------------------------------------------------------------- training


def learning_rate(step: int, steps: int, peak: float) -> float:
    """Linear warm-up (100 steps, fewer in a short run), then a cosine decay to a tenth of
    the peak."""
    warmup = min(100, steps // 5)
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.45 * (1.0 + math.cos(math.pi * progress)))


def train(
    model: Decoder, sums: TrainingSums, tokens: data.CharTokenizer, args: argparse.Namespace
) -> list[float]:
    reverse = not args.no_reverse
    optimizer = optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    length = 3 * args.digits + 3
    mask = answer_mask(length, 2 * args.digits + 2)
    losses = []
    for step in range(args.steps):
        ids = encode(sums.batch(args.batch_size), tokens, args.digits, reverse)  # (N, length)
        optimizer.lr = learning_rate(step, args.steps, args.lr)
        loss = masked_next_token_loss(model(ids[:, :-1]), ids[:, 1:], mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.data))
        if step % max(1, args.steps // 10) == 0 or step == args.steps - 1:
            print(f"step {step:>5}: loss on the answer {np.mean(losses[-50:]):.4f}", flush=True)
    return losses


# ---------------------------------------------------------------- pictures


def plot_losses(losses: list[float], path: Path) -> Path:
    fig = figure(5.5, 3.6)
    ax = fig.subplots()
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color="0.75", lw=0.6, label="each batch")
    window = min(50, len(losses))
    smooth = np.convolve(losses, np.ones(window) / window, mode="valid")
    ax.plot(steps[window - 1 :], smooth, color="C0", label=f"mean of {window}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy on the answer")
    ax.set_title("A transformer learns to add")
    ax.legend()
    return save(fig, path)


def plot_attention(maps: list[np.ndarray], text: str, path: Path) -> Path:
    """One heatmap per layer and head: row i = the position reading (predicting character
    i + 1), column j = how much it attends to character j."""
    layers, heads = len(maps), maps[0].shape[0]
    fig = figure(2.3 * heads + 0.6, 2.4 * layers + 0.5)
    axes = np.atleast_2d(fig.subplots(layers, heads, squeeze=False))
    chars = list(text)
    for i, layer in enumerate(maps):
        for h in range(heads):
            ax = axes[i, h]
            ax.imshow(layer[h], cmap="Blues", vmin=0.0, vmax=1.0)
            ax.set_xticks(range(len(chars)), chars, fontsize=7)
            ax.set_yticks(range(len(chars)), chars, fontsize=7)
            ax.tick_params(length=0)
            ax.set_title(f"layer {i + 1}, head {h + 1}", fontsize=8)
    fig.supxlabel("attends to (key)", fontsize=9)
    fig.supylabel("reading (query): each row predicts the next character", fontsize=9)
    fig.suptitle(f"attention weights while reading {text!r}", fontsize=10)
    return save(fig, path)


# ---------------------------------------------------------------- the program


def main(argv: Sequence[str] | None = None) -> None:
    parser = options()
    args = parser.parse_args(argv)
    if args.test_size > 10 ** (2 * args.digits) // 2:
        parser.error(f"--test-size {args.test_size}: hold out at most half of the pairs")
    reverse = not args.no_reverse
    digits = args.digits
    tokens = data.CharTokenizer(SYMBOLS)
    test_pairs = held_out_pairs(args.test_size, digits, seed=args.seed + 1)
    sums = TrainingSums(digits, test_pairs, seed=args.seed)
    example = write_sum(int(test_pairs[0, 0]), int(test_pairs[0, 1]), digits, reverse)
    print(
        f"{digits}-digit sums written as {example!r}"
        + (" (the answer reversed: least significant digit first)" if reverse else "")
    )
    print(f"{len(test_pairs)} held-out pairs (a, b), never in a training batch")

    tl.manual_seed(args.seed)
    length = 3 * digits + 3
    model = Decoder(len(tokens), length - 1, args.d_model, args.heads, args.layers)
    n_params = sum(p.size for p in model.parameters())
    print(
        f"decoder: {args.layers} layers, d_model {args.d_model}, {args.heads} heads, "
        f"{n_params:,} parameters; {args.steps} steps of {args.batch_size} sums"
    )
    start = time.perf_counter()
    losses = train(model, sums, tokens, args)
    seconds = time.perf_counter() - start
    accuracy, written = exact_match(model, test_pairs, tokens, digits, reverse)
    verdict = "reached" if accuracy >= TARGET else "missed"
    print(
        f"\nheld-out exact match {accuracy:.2%} of {len(test_pairs)} sums after "
        f"{args.steps} steps in {seconds:.0f} s of training (target {TARGET:.0%}: {verdict})"
    )
    for (a, b), w in list(zip(test_pairs.tolist(), written))[:3]:
        print(f"  {a}+{b}: wrote {w!r} -> {read_answer(w, reverse)} (true {a + b})")

    if args.no_plots:
        return
    try:
        saved = [plot_losses(losses, args.out / "transformer_addition_loss.png")]
        ids = tokens.encode(example)[None, :-1]  # (1, L): what the model reads
        maps = [m[0] for m in model.attention_weights(ids)]  # per layer (heads, L, L)
        saved.append(
            plot_attention(maps, example[:-1], args.out / "transformer_addition_attention.png")
        )
    except MissingDependencyError as e:
        print(f"(no plots: {e})")
        return
    print(f"plots saved in {args.out}/: {', '.join(p.name for p in saved)}")


if __name__ == "__main__":
    main()
