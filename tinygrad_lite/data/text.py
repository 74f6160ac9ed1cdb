"""Text for sequence models, with nothing to download: a corpus, tokenizers and batches.

The corpus is the Python standard library's own source code, read from the running
interpreter: several megabytes of real, public text that is on every machine that runs
this library. A tokenizer turns text into token ids (integers) and back; the batches are
the arrays of ids a model trains on.

>>> from tinygrad_lite import data
>>> chars = data.CharTokenizer("hello world")
>>> ids = chars.encode("hold")
>>> ids.tolist(), chars.decode(ids)
([4, 6, 5, 2], 'hold')
>>> words = data.WordTokenizer(["the film was good", "the film was not good"])
>>> words.encode("the film was bad").tolist()  # a word never seen is <unk> (id 1)
[2, 3, 4, 1]
"""

from __future__ import annotations

import re
import sysconfig
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..checks import whole_number
from ..core import Value
from .errors import DataError
from .splits import Seed, random_generator

# folders of the standard library that hold no library code (tests, bundled third-party
# packages) or text that is not UTF-8 Python
_SKIPPED_FOLDERS = {"site-packages", "dist-packages", "test", "tests", "idle_test", "__pycache__"}


class TextCorpus:
    """Named texts (one per file); ``split`` holds whole files out, so held-out text is text
    the model has never seen a line of."""

    def __init__(self, names: Sequence[str], texts: Sequence[str]) -> None:
        if len(names) != len(texts):
            raise DataError(f"TextCorpus: {len(names)} names for {len(texts)} texts; give one each")
        self.names, self.texts = list(names), list(texts)

    def __len__(self) -> int:
        return len(self.texts)

    def __repr__(self) -> str:
        return f"TextCorpus({len(self)} files, {self.characters:,} characters)"

    @property
    def characters(self) -> int:
        return sum(len(t) for t in self.texts)

    @property
    def text(self) -> str:
        """Every file, one after another, each ending with a newline."""
        return "".join(t if t.endswith("\n") else t + "\n" for t in self.texts)

    def split(self, held_out: float = 0.1, seed: Seed = 0) -> tuple[TextCorpus, TextCorpus]:
        """``(train, held_out)``: a fraction ``held_out`` of the files, drawn at random."""
        if not 0.0 < held_out < 1.0 or len(self) < 2:
            raise DataError(
                f"TextCorpus.split: held_out={held_out!r} of {len(self)} files; give a fraction "
                "between 0 and 1 of a corpus of at least 2 files"
            )
        order = random_generator(seed, "TextCorpus.split").permutation(len(self))
        n_held = min(max(1, round(held_out * len(self))), len(self) - 1)
        held, kept = sorted(order[:n_held]), sorted(order[n_held:])
        return self._subset(kept), self._subset(held)

    def _subset(self, rows: Iterable[int]) -> TextCorpus:
        rows = list(rows)
        return TextCorpus([self.names[i] for i in rows], [self.texts[i] for i in rows])


def stdlib_corpus(max_files: int | None = None, max_file_chars: int | None = None) -> TextCorpus:
    """The ``.py`` files of the running interpreter's standard library (tests left out).

    Files come in the order of their paths; ``max_files`` keeps that many, spread evenly over
    the library, and ``max_file_chars`` cuts each file after that many characters. The
    result depends on the Python version, so store the figures you measure with it.

    >>> corpus = stdlib_corpus(max_files=3, max_file_chars=1000)
    >>> len(corpus), corpus.names[0].endswith(".py"), len(corpus.texts[0]) <= 1000
    (3, True, True)
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(
        p
        for p in root.rglob("*.py")
        if not _SKIPPED_FOLDERS.intersection(p.relative_to(root).parts[:-1])
    )
    if max_files is not None:
        count = whole_number("stdlib_corpus", "max_files", max_files, error=DataError)
        if count < len(paths):
            paths = [paths[i] for i in np.linspace(0, len(paths) - 1, count).round().astype(int)]
    limit = None
    if max_file_chars is not None:
        limit = whole_number("stdlib_corpus", "max_file_chars", max_file_chars, error=DataError)
    names, texts = [], []
    for path in paths:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # unreadable or not UTF-8: not part of the corpus
        names.append(str(path.relative_to(root)))
        texts.append(text[:limit])
    if not texts:
        raise DataError(f"stdlib_corpus: no readable .py file under {root}")
    return TextCorpus(names, texts)


class CharTokenizer:
    """One token per character: the characters of ``text``, in code-point order, after the
    unknown token (id 0, decoded as U+FFFD) that stands for any character not in ``text``."""

    UNKNOWN = "\ufffd"

    def __init__(self, text: str | Iterable[str]) -> None:
        chars = set("".join(text) if not isinstance(text, str) else text) - {self.UNKNOWN}
        self.vocab = [self.UNKNOWN, *sorted(chars)]
        self.index = {c: i for i, c in enumerate(self.vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"CharTokenizer({len(self)} characters)"

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters, shape (len(text),)."""
        if not isinstance(text, str):
            raise DataError(f"CharTokenizer.encode: got a {type(text).__name__}; give a str")
        get = self.index.get
        return np.fromiter((get(c, 0) for c in text), dtype=np.int64, count=len(text))

    def decode(self, ids: Any) -> str:
        """The text of a sequence of ids."""
        return "".join(self.vocab[i] for i in _ids("CharTokenizer.decode", ids, len(self)))


class WordTokenizer:
    """One token per word or punctuation mark, lower-cased: ``<pad>`` is id 0, ``<unk>`` (any
    word not kept) id 1, then the words of ``texts``, most frequent first (ties in order of
    first appearance). ``min_count`` drops rarer words; ``max_size`` caps the vocabulary."""

    PAD, UNKNOWN = "<pad>", "<unk>"
    pad_id, unk_id = 0, 1

    def __init__(
        self, texts: Iterable[str], min_count: int = 1, max_size: int | None = None
    ) -> None:
        if isinstance(texts, str):
            raise DataError("WordTokenizer: texts is one str; give a list of texts")
        least = whole_number("WordTokenizer", "min_count", min_count, error=DataError)
        self.counts = Counter(w for text in texts for w in self.split(text))
        kept = [w for w, n in self.counts.most_common() if n >= least]
        if max_size is not None:
            size = whole_number("WordTokenizer", "max_size", max_size, low=3, error=DataError)
            kept = kept[: size - 2]
        self.vocab = [self.PAD, self.UNKNOWN, *kept]
        self.index = {w: i for i, w in enumerate(self.vocab)}

    def __len__(self) -> int:
        return len(self.vocab)

    def __repr__(self) -> str:
        return f"WordTokenizer({len(self)} words)"

    @staticmethod
    def split(text: str) -> list[str]:
        """``text`` as lower-case words and punctuation marks: ``"Not bad!"`` -> not, bad, !"""
        if not isinstance(text, str):
            raise DataError(f"WordTokenizer: got a {type(text).__name__} as text; give a str")
        return re.findall(r"\w+|[^\w\s]", text.lower())

    def encode(self, text: str) -> np.ndarray:
        get = self.index.get
        return np.array([get(w, 1) for w in self.split(text)], dtype=np.int64)

    def decode(self, ids: Any) -> str:
        """The words of ``ids`` joined by spaces; padding is left out."""
        words = (self.vocab[i] for i in _ids("WordTokenizer.decode", ids, len(self)) if i != 0)
        return " ".join(words)


def _ids(owner: str, ids: Any, size: int) -> list[int]:
    arr = np.asarray(ids.data if isinstance(ids, Value) else ids)
    if arr.dtype.kind not in "iu" or arr.ndim > 1:
        raise DataError(
            f"{owner}: ids of dtype {arr.dtype} and shape {arr.shape}; give one sequence of "
            "integer ids (decode a batch row by row)"
        )
    if arr.size and (arr.min() < 0 or arr.max() >= size):
        raise DataError(
            f"{owner}: ids from {arr.min()} to {arr.max()}, but the vocabulary has {size} "
            f"tokens (ids 0 to {size - 1})"
        )
    return arr.reshape(-1).tolist()


def pad_sequences(
    sequences: Sequence[Any], pad_id: int = 0, length: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Sequences of ids of different lengths as one array, ``(ids, lengths)``.

    ``ids`` has shape (N, L), each row padded at the end with ``pad_id``; ``L`` is the longest
    sequence, or ``length`` (longer sequences are then cut). ``lengths`` (N,) counts each
    row's real tokens, for masks and for picking each row's last step.

    >>> ids, lengths = pad_sequences([[5, 6, 7], [8]])
    >>> ids.tolist(), lengths.tolist()
    ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    rows = [np.asarray(s).reshape(-1) for s in sequences]
    for i, row in enumerate(rows):
        if row.size and row.dtype.kind not in "iu":
            raise DataError(f"pad_sequences: sequence {i} holds {row.dtype}; give integer ids")
    longest = max((len(r) for r in rows), default=0)
    if length is not None:
        longest = whole_number("pad_sequences", "length", length, error=DataError)
    ids = np.full((len(rows), longest), pad_id, dtype=np.int64)
    lengths = np.zeros(len(rows), dtype=np.int64)
    for i, row in enumerate(rows):
        kept = row[:longest]
        ids[i, : len(kept)] = kept
        lengths[i] = len(kept)
    return ids, lengths


def next_token_batches(
    ids: Any, seq_len: int, batch_size: int, seed: Seed = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(x, y)`` batches for a language model: ``x`` (B, T) is a window of
    ``seq_len`` ids of the stream ``ids``, ``y`` the same window one token later (the token
    to predict at each step). Windows do not overlap and come in random order; a last batch
    may be smaller.

    >>> import numpy as np
    >>> x, y = next(next_token_batches(np.arange(10), seq_len=3, batch_size=2, seed=0))
    >>> x.shape, (y - x).tolist()
    ((2, 3), [[1, 1, 1], [1, 1, 1]])
    """
    stream = np.asarray(ids)
    if stream.ndim != 1 or stream.dtype.kind not in "iu":
        raise DataError(
            f"next_token_batches: ids of dtype {stream.dtype} and shape {stream.shape}; give "
            "one stream of integer ids, shape (n,)"
        )
    T = whole_number("next_token_batches", "seq_len", seq_len, error=DataError)
    B = whole_number("next_token_batches", "batch_size", batch_size, error=DataError)
    windows = (len(stream) - 1) // T
    if windows < 1:
        raise DataError(
            f"next_token_batches: a stream of {len(stream)} ids has no window of seq_len={T} "
            "with a next token; give more text or a shorter seq_len"
        )
    starts = random_generator(seed, "next_token_batches").permutation(windows) * T
    offsets = np.arange(T)
    for i in range(0, windows, B):
        at = starts[i : i + B, None] + offsets  # (B, T)
        yield stream[at], stream[at + 1]
