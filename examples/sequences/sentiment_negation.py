"""Sentiment with negation: an LSTM beside a bag-of-words model.

The reviews are generated (``data.negation_sentiment``): "the plot was good", "the music felt
not at all bad". Half of them put a negator ("not", "hardly", "never", "not at all") before
the adjective, which flips the meaning. Every word appears in positive and negative reviews
alike, so only the order of the words tells "not bad" (positive) from "bad" (negative).

Two models learn the same reviews:

* bag of words: the mean of the words' embeddings, then a linear layer (a logistic
  regression on which words occur). It cannot see order: to call "good" positive and
  "not good" negative it needs "not" to push towards negative, and then "not bad" is
  negative too. Whatever it gets right on plain reviews it gets wrong on negated ones, and
  it ends near chance overall.
* LSTM: reads the words in order and classifies from its state after the last real word.

Prints the accuracy of each on held-out plain reviews, negated reviews and all of them (the
held-out reviews are ones not in the training set), the probability each gives to "positive"
for "the film was good / not good / bad / not bad", and saves a bar chart of the table.

    python examples/sequences/sentiment_negation.py [--steps 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.nn import functional as F
from tinygrad_lite.optional import MissingDependencyError, optional_import

# the same words, four ways: a bag of words sees "good" and "not" in the second, and must
# score it like the first plus the effect of "not", and the fourth like the third plus it
FOUR_WAYS = (
    "the film was good",
    "the film was not good",
    "the film was bad",
    "the film was not bad",
)


class BagOfWords(nn.Module):
    """Mean of the words' embeddings (padding left out), then a linear layer."""

    def __init__(self, vocab: int, dim: int, classes: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.head = nn.Linear(dim, classes)

    def forward(self, ids: np.ndarray, lengths: np.ndarray) -> tl.Value:
        vectors = self.embed(ids)  # (N, L, D); padding rows are zero
        mean = vectors.sum(axis=1) / lengths[:, None].astype(np.float32)  # (N, D)
        return self.head(mean)  # (N, classes)


class LSTMClassifier(nn.Module):
    """Embeddings read in order by an LSTM; the state after each row's last word classifies."""

    def __init__(self, vocab: int, dim: int, hidden: int, classes: int = 2) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, batch_first=True)
        self.head = nn.Linear(hidden, classes)

    def forward(self, ids: np.ndarray, lengths: np.ndarray) -> tl.Value:
        states, _ = self.lstm(self.embed(ids))  # (N, L, H): the state after every word
        last = states[np.arange(len(ids)), lengths - 1]  # (N, H): after each row's last word
        return self.head(last)  # (N, classes)


def train(
    model: nn.Module,
    ids: np.ndarray,
    lengths: np.ndarray,
    labels: np.ndarray,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> tuple[list[float], float]:
    """Adam on the cross-entropy of random batches; the loss per step and the seconds."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    gen = np.random.default_rng(seed)
    losses = []
    start = time.perf_counter()
    for _ in range(steps):
        rows = gen.integers(0, len(ids), batch_size)
        loss = F.cross_entropy(model(ids[rows], lengths[rows]), labels[rows])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, time.perf_counter() - start


def positive_probability(model: nn.Module, ids: np.ndarray, lengths: np.ndarray) -> float:
    with tl.no_grad():
        logits = model(ids, lengths).data[0]  # (2,)
    p = np.exp(logits - logits.max())
    return float(p[1] / p.sum())


def accuracy(model: nn.Module, ids: np.ndarray, lengths: np.ndarray, labels: np.ndarray) -> float:
    with tl.no_grad():
        predicted = model(ids, lengths).data.argmax(axis=1)
    return float((predicted == labels).mean())


def options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("tour_out"), help="folder for the plot")
    parser.add_argument("--no-plots", action="store_true", help="print the numbers only")
    parser.add_argument("--train", type=int, default=2000, help="training reviews")
    parser.add_argument("--test", type=int, default=1000, help="held-out reviews (at most)")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps per model")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--dim", type=int, default=16, help="embedding size")
    parser.add_argument("--hidden", type=int, default=32, help="LSTM hidden size")
    parser.add_argument("--lr", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = options().parse_args(argv)
    train_set = data.negation_sentiment(args.train, seed=args.seed)
    # held out: reviews drawn with another seed, keeping only those not in the training set
    # (there are about 3,000 different reviews, so many would repeat)
    drawn = data.negation_sentiment(3 * args.test, seed=args.seed + 1000)
    seen = set(train_set.texts)
    keep = np.flatnonzero([t not in seen for t in drawn.texts])[: args.test]
    test_set = data.Sentences(
        [drawn.texts[i] for i in keep], drawn.labels[keep], drawn.negated[keep]
    )
    words = data.WordTokenizer(train_set.texts)
    ids, lengths = data.pad_sequences([words.encode(t) for t in train_set.texts])
    test_ids, test_lengths = data.pad_sequences([words.encode(t) for t in test_set.texts])
    print(
        f"{args.train} training reviews, {len(test_set.texts)} held-out ones that differ from "
        f"all of them, {len(words)} words, half of the reviews negated;\n"
        f"e.g. {test_set.texts[0]!r} -> {int(test_set.labels[0])}, "
        f"{test_set.texts[1]!r} -> {int(test_set.labels[1])}"
    )

    tl.manual_seed(args.seed)
    models = {
        "bag of words": BagOfWords(len(words), args.dim),
        "LSTM": LSTMClassifier(len(words), args.dim, args.hidden),
    }
    parts = {
        "plain": ~test_set.negated,
        "negated": test_set.negated,
        "all": np.ones(len(test_set.texts), dtype=bool),
    }
    table: dict[str, dict[str, float]] = {}
    curves: dict[str, list[float]] = {}
    for name, model in models.items():
        n_params = sum(p.size for p in model.parameters())
        losses, seconds = train(
            model, ids, lengths, train_set.labels, args.steps, args.batch_size, args.lr, args.seed
        )
        curves[name] = losses
        table[name] = {
            part: accuracy(model, test_ids[m], test_lengths[m], test_set.labels[m])
            for part, m in parts.items()
        }
        print(
            f"{name}: {n_params:,} parameters, {args.steps} steps in {seconds:.1f} s, "
            f"final training loss {np.mean(losses[-20:]):.3f}"
        )

    print("\nheld-out accuracy")
    print(f"{'model':<14}" + "".join(f"{part:>10}" for part in parts))
    for name, row in table.items():
        print(f"{name:<14}" + "".join(f"{row[part]:>10.1%}" for part in parts))
    margin = table["LSTM"]["negated"] - table["bag of words"]["negated"]
    print(f"\non negated reviews the LSTM is {margin:+.1%} ahead of the bag of words")

    print("\nthe probability each model gives to 'positive'")
    print(f"{'review':<28}" + "".join(f"{name:>14}" for name in models))
    for text in FOUR_WAYS:
        ids_one, length_one = data.pad_sequences([words.encode(text)])
        cells = "".join(
            f"{positive_probability(m, ids_one, length_one):>14.2f}" for m in models.values()
        )
        print(f"{text:<28}{cells}")

    if not args.no_plots:
        try:
            path = bar_chart(table, list(parts), args.out / "sentiment_negation.png")
            print(f"plot saved in {path}")
        except MissingDependencyError as e:
            print(f"(no plots: {e})")


def bar_chart(table: dict[str, dict[str, float]], parts: list[str], path: Path) -> Path:
    """Grouped bars: each model's held-out accuracy on plain, negated and all reviews."""
    mpl_figure = optional_import("matplotlib.figure", "the sequence examples' plots", "matplotlib")
    fig: Any = mpl_figure.Figure(figsize=(5.5, 3.6), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(parts))
    width = 0.8 / len(table)
    for k, (name, row) in enumerate(table.items()):
        values = [row[part] for part in parts]
        bars = ax.bar(x + (k - (len(table) - 1) / 2) * width, values, width, label=name)
        ax.bar_label(bars, labels=[f"{v:.0%}" for v in values], fontsize=8)
    ax.axhline(0.5, color="gray", linestyle=":", linewidth=1, label="guessing")
    ax.set_xticks(x, [f"{p} reviews" for p in parts])
    ax.set(ylim=(0, 1.25), ylabel="held-out accuracy", title="Sentiment with negation")
    ax.legend(loc="upper center", ncol=3, fontsize=8)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path


if __name__ == "__main__":
    main()
