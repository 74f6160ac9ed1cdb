"""Generated sequence tasks: each tests one thing a sequence model must be able to do.

* ``adding_problem``: remember two numbers marked somewhere in a long sequence and add them
  (the classic test of long-range memory: a plain RNN forgets, an LSTM remembers);
* ``copy_task``: read symbols, wait, then write them back in order;
* ``addition_strings``: ``"123+45=168"``, arithmetic learned from text alone;
* ``negation_sentiment``: sentences whose meaning flips with "not" or "hardly", so a model
  that only counts words (a bag of words) cannot tell ``not good`` from ``good``.

Every generator takes a ``seed`` (a whole number, a NumPy Generator, or None for
``tl.manual_seed``'s generator), so a data set is reproducible.

>>> from tinygrad_lite import data
>>> data.addition_strings(2, digits=2, seed=0)
['85+51=136', '63+26=89']
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..checks import whole_number
from .errors import DataError
from .splits import Seed, random_generator


def adding_problem(n: int, length: int = 50, seed: Seed = None) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences of ``length`` steps with two features each, and their targets.

    Feature 0 is a random number in [0, 1); feature 1 is 1 at exactly two steps (one in each
    half of the sequence) and 0 elsewhere. The target is the sum of the two marked numbers:
    predicting 1.0 always gives a mean squared error of about 0.167, the bar to beat.

    >>> X, y = adding_problem(4, length=10, seed=0)
    >>> X.shape, y.shape, X[:, :, 1].sum(axis=1).tolist()
    ((4, 10, 2), (4,), [2.0, 2.0, 2.0, 2.0])
    """
    n = whole_number("adding_problem", "n", n, error=DataError)
    length = whole_number("adding_problem", "length", length, low=2, error=DataError)
    gen = random_generator(seed, "adding_problem")
    X = np.zeros((n, length, 2), dtype=np.float32)  # (N, L, 2)
    X[:, :, 0] = gen.random((n, length))
    half = length // 2
    rows = np.arange(n)
    first = gen.integers(0, half, n)
    second = gen.integers(half, length, n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    y = (X[rows, first, 0] + X[rows, second, 0]).astype(np.float32)
    return X, y


def copy_task(
    n: int, length: int = 10, delay: int = 20, symbols: int = 8, seed: Seed = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)`` token ids of shape (n, length + delay + length) for the copy task.

    ``X`` holds ``length`` random symbols (ids 1 to ``symbols``), then ``delay - 1`` blanks
    (id 0), a go marker (id ``symbols + 1``) and ``length`` blanks. ``Y`` is blank until the
    last ``length`` steps, where it holds the symbols to write back. A model that outputs
    blanks and then guesses scores a cross-entropy of ``length * log(symbols) / total steps``.

    >>> X, Y = copy_task(1, length=3, delay=2, symbols=4, seed=0)
    >>> X.tolist(), Y.tolist()
    ([[4, 3, 3, 0, 5, 0, 0, 0]], [[0, 0, 0, 0, 0, 4, 3, 3]])
    """
    n = whole_number("copy_task", "n", n, error=DataError)
    length = whole_number("copy_task", "length", length, error=DataError)
    delay = whole_number("copy_task", "delay", delay, error=DataError)
    symbols = whole_number("copy_task", "symbols", symbols, error=DataError)
    gen = random_generator(seed, "copy_task")
    total = 2 * length + delay
    data = gen.integers(1, symbols + 1, (n, length))
    X = np.zeros((n, total), dtype=np.int64)
    Y = np.zeros((n, total), dtype=np.int64)
    X[:, :length] = data
    X[:, length + delay - 1] = symbols + 1
    Y[:, length + delay :] = data
    return X, Y


def addition_strings(n: int, digits: int = 3, seed: Seed = None) -> list[str]:
    """``n`` sums written out, ``"a+b=c"``, with ``a`` and ``b`` drawn uniformly from 0 to
    ``10**digits - 1`` (so most have ``digits`` digits, some fewer)."""
    n = whole_number("addition_strings", "n", n, error=DataError)
    digits = whole_number("addition_strings", "digits", digits, error=DataError)
    if digits > 18:
        raise DataError(f"addition_strings: digits={digits}; give at most 18 (64-bit integers)")
    gen = random_generator(seed, "addition_strings")
    a, b = gen.integers(0, 10**digits, (2, n))
    return [f"{x}+{y}={x + y}" for x, y in zip(a.tolist(), b.tolist(), strict=True)]


class Sentences(NamedTuple):
    """Sentences, their labels (1 positive, 0 negative) and whether each is negated."""

    texts: list[str]
    labels: np.ndarray
    negated: np.ndarray


_POSITIVE = ("good", "great", "fine", "wonderful", "pleasant", "brilliant", "enjoyable")
_NEGATIVE = ("bad", "awful", "boring", "terrible", "dull", "poor", "unpleasant")
_NEGATORS = ("not", "hardly", "never", "not at all")
_SUBJECTS = ("the film", "the movie", "the plot", "the acting", "the ending", "the music")
_VERBS = ("was", "is", "seemed", "felt")
_INTENSIFIERS = ("", "", "very ", "really ", "quite ")


def negation_sentiment(n: int, negated_fraction: float = 0.5, seed: Seed = None) -> Sentences:
    """``n`` short reviews such as ``"the plot was not very good"``, labelled by meaning.

    A fraction ``negated_fraction`` of them put a negator ("not", "hardly", "never", "not at
    all") before the adjective, which flips the label. Every word appears in positive and
    negative sentences alike, so only the order of the words tells them apart: "good" is
    positive, "not good" negative, "not bad" positive.

    >>> s = negation_sentiment(4, seed=1)
    >>> s.texts[3], int(s.labels[3]), bool(s.negated[3])
    ('the movie was not at all bad', 1, True)
    """
    n = whole_number("negation_sentiment", "n", n, error=DataError)
    if not 0.0 <= negated_fraction <= 1.0:
        raise DataError(
            f"negation_sentiment: negated_fraction={negated_fraction!r}; give a number in [0, 1]"
        )
    gen = random_generator(seed, "negation_sentiment")
    texts, labels, negated = [], np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    for i in range(n):
        positive = bool(gen.random() < 0.5)
        negated[i] = gen.random() < negated_fraction
        words = [
            _SUBJECTS[gen.integers(len(_SUBJECTS))],
            _VERBS[gen.integers(len(_VERBS))],
        ]
        intensifier = _INTENSIFIERS[gen.integers(len(_INTENSIFIERS))]
        if negated[i]:
            negator = _NEGATORS[gen.integers(len(_NEGATORS))]
            words.append(negator)
            if negator != "not":
                intensifier = ""  # "hardly very good" is not English
        adjectives = _POSITIVE if positive else _NEGATIVE
        words.append(intensifier + adjectives[gen.integers(len(adjectives))])
        texts.append(" ".join(words))
        labels[i] = int(positive != negated[i])
    return Sentences(texts, labels, negated)
