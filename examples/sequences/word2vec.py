"""Words as vectors: word2vec (skip-gram with negative sampling) on the standard library.

Every word of the vocabulary gets two vectors: one for when it is the centre word (``W_in``)
and one for when it is a neighbour (``W_out``). For each word of the text and each word near
it (within ``--window`` words), the model raises the dot product of the centre's vector with
the neighbour's, and lowers the dot product with ``--negatives`` words drawn at random (the
"negative samples", drawn with probability proportional to count^0.75). The loss is the
logistic loss of each dot product, ``binary_cross_entropy_with_logits``: 1 for the real
neighbour, 0 for the random words. Words used in the same places (``int`` and ``str``, ``true``
and ``false``) end up with similar vectors, since they must predict the same neighbours.

The text is the standard library's own source, code and comments, split into words by
``data.WordTokenizer`` (punctuation dropped). Frequent words (``self``, ``the``) are thinned
out at random, as in the paper, so that they do not drown the rest. Adam on the mean loss of
a batch of pairs: plain SGD on the summed loss (word2vec's own update, one pair at a time)
moves a frequent word's vectors by the sum of hundreds of pairs' steps at once when the pairs
come in batches, and in a trial here it pushed every vector into one direction.

    python examples/sequences/word2vec.py [--steps 6000] [--dim 64] [--seed 0]

Prints the nearest neighbours (cosine similarity of W_in rows) of a few words, and saves the
training loss beside a map of a few words' vectors as word2vec.png in --out.

Reference: Mikolov et al., "Distributed Representations of Words and Phrases and their
Compositionality" (2013).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.book.runner import Plotter
from tinygrad_lite.nn import functional as F
from tinygrad_lite.optional import optional_import

QUERIES = ("true", "int", "self", "append", "error", "return", "file", "len")


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    add = parser.add_argument
    add("--files", type=int, default=None, help="standard-library files to read (default all)")
    add("--vocab", type=int, default=20_000, help="most frequent words kept (others dropped)")
    add("--min-count", type=int, default=30, help="rarer words are dropped")
    add("--dim", type=int, default=64, help="size of a word's vector")
    add("--window", type=int, default=3, help="neighbours up to this many words away")
    add("--negatives", type=int, default=5, help="random words per real neighbour")
    add("--subsample", type=float, default=1e-4, help="thinning threshold (0: keep all words)")
    add("--batch", type=int, default=1024, help="(centre, neighbour) pairs per step")
    add("--steps", type=int, default=6000, help="optimizer steps")
    add("--lr", type=float, default=0.005, help="Adam's learning rate (falls linearly to 0)")
    add("--queries", nargs="+", default=list(QUERIES), help="words to show the neighbours of")
    add("--neighbours", type=int, default=6, help="neighbours per query word")
    add("--seed", type=int, default=0)
    add("--out", type=Path, default=Path("tour_out"), help="folder for the plot")
    add("--no-plots", action="store_true", help="print the numbers only")
    return parser.parse_args(argv)


class SkipGram(nn.Module):
    """Two tables of word vectors; ``model(centres, candidates)`` scores each candidate
    neighbour of each centre word by the dot product of their vectors."""

    def __init__(self, vocab: int, dim: int) -> None:
        self.w_in = nn.Embedding(vocab, dim)  # a word as the centre
        self.w_out = nn.Embedding(vocab, dim)  # a word as a neighbour
        # word2vec's start: small random centre vectors, zero neighbour vectors
        nn.init.uniform_(self.w_in.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.w_out.weight)

    def forward(self, centres: np.ndarray, candidates: np.ndarray) -> tl.Value:
        v = self.w_in(centres)  # (B, D)
        u = self.w_out(candidates)  # (B, 1 + K, D): the real neighbour, then K random words
        return (u * v.reshape(v.shape[0], 1, v.shape[1])).sum(axis=-1)  # (B, 1 + K) scores


class NegativeSampler:
    """Draws word ids with probability proportional to count ** power (0.75 in the paper:
    rare words a little more often than their counts say, frequent ones a little less)."""

    def __init__(self, counts: np.ndarray, power: float = 0.75) -> None:
        weights = np.asarray(counts, dtype=np.float64) ** power
        self.cdf = np.cumsum(weights / weights.sum())  # (V,)

    def __call__(self, shape: tuple[int, ...], gen: np.random.Generator) -> np.ndarray:
        ids = np.searchsorted(self.cdf, gen.random(shape), side="right")
        return np.minimum(ids, len(self.cdf) - 1)  # guard against rounding at the top


def keep_probability(counts: np.ndarray, threshold: float) -> np.ndarray:
    """The paper's thinning: a word of frequency f is kept with probability
    sqrt(t / f) + t / f (at most 1), so words far above the threshold t lose most copies."""
    if threshold <= 0:
        return np.ones(len(counts))
    f = counts / counts.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(f > 0, threshold / f, 1.0)
    return np.minimum(1.0, np.sqrt(ratio) + ratio)


def skipgram_pairs(
    ids: np.ndarray, window: int, gen: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """(centres, neighbours): every word of ``ids`` with every word within its window, in
    random order. Each centre draws its window size from 1..``window``, as in the paper, so
    near neighbours count more than far ones."""
    reach = gen.integers(1, window + 1, len(ids))  # (n,): each centre's window
    centres, neighbours = [], []
    for d in range(1, window + 1):
        right = reach[:-d] >= d  # centre i sees i + d
        left = reach[d:] >= d  # centre i + d sees i
        centres += [ids[:-d][right], ids[d:][left]]
        neighbours += [ids[d:][right], ids[:-d][left]]
    c, n = np.concatenate(centres), np.concatenate(neighbours)
    order = gen.permutation(len(c))  # shuffled over the whole text: no batch is one file
    return c[order], n[order]


def batches(
    ids: np.ndarray, keep: np.ndarray, window: int, batch: int, gen: np.random.Generator
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless batches of pairs: each pass over the text thins it anew, then pairs it up."""
    while True:
        kept = ids[gen.random(len(ids)) < keep[ids]]
        c, n = skipgram_pairs(kept, window, gen)
        for i in range(0, len(c) - batch + 1, batch):
            yield c[i : i + batch], n[i : i + batch]


def nearest(vectors: np.ndarray, word: int, k: int) -> list[tuple[int, float]]:
    """The ``k`` words whose rows of ``vectors`` have the highest cosine with ``word``'s.

    The vectors are centred first: the direction that every word shares (the frequent words'
    above all) says nothing about any one of them, and it would make all words look alike."""
    centred = vectors - vectors.mean(axis=0)
    unit = centred / np.maximum(np.linalg.norm(centred, axis=1, keepdims=True), 1e-12)
    cosine = unit @ unit[word]  # (V,)
    cosine[word] = -np.inf
    best = np.argsort(-cosine)[:k]
    return [(int(i), float(cosine[i])) for i in best]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = arguments(argv)
    corpus = data.stdlib_corpus(max_files=args.files)
    words = data.WordTokenizer(corpus.texts, min_count=args.min_count, max_size=args.vocab)
    is_word = np.array([w[0].isalnum() or w[0] == "_" for w in words.vocab])  # no punctuation
    is_word[: words.unk_id + 1] = False  # nor <pad>, <unk>
    stream = np.concatenate([words.encode(t) for t in corpus.texts])
    ids = stream[is_word[stream]].astype(np.int32)  # the words of the text, in order
    counts = np.bincount(ids, minlength=len(words)).astype(np.float64)  # (V,)
    keep = keep_probability(counts, args.subsample)
    print(
        f"standard library: {len(corpus)} files, {len(ids):,} words "
        f"({int(is_word.sum()):,} distinct kept); about {keep[ids].sum():,.0f} left per pass "
        "after thinning the frequent ones"
    )

    tl.manual_seed(args.seed)
    gen = np.random.default_rng(args.seed)
    model = SkipGram(len(words), args.dim)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    sampler = NegativeSampler(counts)
    K = args.negatives
    labels = np.zeros((args.batch, 1 + K), dtype=np.float32)  # (B, 1 + K)
    labels[:, 0] = 1.0  # column 0 is the real neighbour
    losses: list[float] = []
    start = time.perf_counter()
    pairs = batches(ids, keep, args.window, args.batch, gen)
    for step in range(1, args.steps + 1):
        centres, neighbours = next(pairs)
        candidates = np.concatenate([neighbours[:, None], sampler((len(centres), K), gen)], 1)
        scores = model(centres, candidates)  # (B, 1 + K)
        # the logistic loss of every score, summed over the 1 + K candidates of each pair
        loss = F.binary_cross_entropy_with_logits(scores, labels, "sum") / len(centres)
        optimizer.zero_grad()
        loss.backward()
        optimizer.lr = args.lr * max(1e-4, 1.0 - step / args.steps)
        optimizer.step()
        losses.append(float(loss.item()))
        if step % max(1, args.steps // 10) == 0 or step == args.steps:
            print(
                f"step {step:>6}: loss {np.mean(losses[-100:]):.3f} "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    seconds = time.perf_counter() - start
    pairs_seen = args.steps * args.batch
    print(
        f"trained on {pairs_seen:,} pairs in {seconds:.0f} s; loss {losses[0]:.3f} -> "
        f"{np.mean(losses[-100:]):.3f} (the first step: {(1 + K) * np.log(2):.3f} = (1+K) ln 2)"
    )

    vectors = model.w_in.weight.data
    print("\nnearest neighbours (cosine similarity of the word vectors):")
    found: dict[str, list[str]] = {}
    for query in args.queries:
        if query not in words.index or not is_word[words.index[query]]:
            print(f"  {query:>8}: not in the vocabulary")
            continue
        near = nearest(vectors, words.index[query], args.neighbours)
        found[query] = [words.vocab[i] for i, _ in near]
        print(f"  {query:>8}: " + ", ".join(f"{words.vocab[i]} {c:.2f}" for i, c in near))

    plot = Plotter(args.out, not args.no_plots)
    plot(word2vec_picture, "word2vec.png", losses, vectors, words.index)
    plot.report()
    return {"losses": losses, "neighbours": found}


# words of four kinds, to see where training put them (those missing from the vocabulary are
# left out of the picture)
GROUPS = {
    "types": ("int", "float", "str", "bytes", "bool", "list", "dict", "tuple", "set"),
    "constants": ("true", "false", "none"),
    "exceptions": ("valueerror", "typeerror", "keyerror", "oserror", "indexerror", "runtimeerror"),
    "files": ("open", "read", "write", "close", "file", "path", "directory"),
}


def word2vec_picture(
    losses: list[float], vectors: np.ndarray, index: dict[str, int], path: Path
) -> Path:
    """Left: the loss per step and its running mean. Right: the vectors of a few words of four
    kinds, projected on the two directions along which those words differ most (PCA)."""
    mpl_figure = optional_import("matplotlib.figure", "the word2vec plot", "matplotlib")
    fig = mpl_figure.Figure(figsize=(11.0, 4.2), layout="constrained")
    ax, words_ax = fig.subplots(1, 2)
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, color="lightgray", linewidth=0.5, label="each step")
    width = min(100, len(losses))
    mean = np.convolve(losses, np.ones(width) / width, mode="valid")
    ax.plot(steps[width - 1 :], mean, label=f"mean of {width} steps")
    ax.set(xlabel="step", ylabel="loss per pair", title="skip-gram with negative sampling")
    ax.legend()

    shown = [(g, w) for g, ws in GROUPS.items() for w in ws if w in index]
    if len(shown) >= 3:
        picked = vectors[[index[w] for _, w in shown]]  # (n, D)
        picked = picked - picked.mean(axis=0)
        _, _, directions = np.linalg.svd(picked, full_matrices=False)
        xy = picked @ directions[:2].T  # (n, 2): the first two principal components
        for k, group in enumerate(GROUPS):
            rows = [i for i, (g, _) in enumerate(shown) if g == group]
            words_ax.scatter(xy[rows, 0], xy[rows, 1], color=f"C{k}", label=group)
            for i in rows:
                words_ax.annotate(
                    shown[i][1], xy[i], xytext=(3, 3), textcoords="offset points", fontsize=8
                )
        words_ax.legend(fontsize=8)
    words_ax.set(title="word vectors (2 principal components)", xticks=[], yticks=[])
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


if __name__ == "__main__":
    main()
