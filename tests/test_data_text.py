"""Text data: the standard-library corpus, tokenizers, padding, language-model batches and the
generated sequence tasks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_lite as tl
from tinygrad_lite import data
from tinygrad_lite.data import DataError

# ---------------------------------------------------------------- the corpus


def test_stdlib_corpus_is_python_source_without_tests() -> None:
    corpus = data.stdlib_corpus(max_files=40)
    assert len(corpus) == 40
    assert all(name.endswith(".py") for name in corpus.names)
    assert not any("/test/" in f"/{name}" or "site-packages" in name for name in corpus.names)
    assert "def " in corpus.text and "import " in corpus.text
    assert corpus.characters == sum(len(t) for t in corpus.texts) > 100_000


def test_corpus_split_holds_whole_files_out_reproducibly() -> None:
    corpus = data.stdlib_corpus(max_files=20, max_file_chars=500)
    train, held = corpus.split(held_out=0.25, seed=3)
    assert len(held) == 5 and len(train) == 15
    assert set(train.names).isdisjoint(held.names)
    assert sorted(train.names + held.names) == sorted(corpus.names)
    assert corpus.split(held_out=0.25, seed=3)[1].names == held.names
    with pytest.raises(DataError, match="held_out=1.5"):
        corpus.split(held_out=1.5)


def test_stdlib_corpus_checks_its_arguments() -> None:
    with pytest.raises(DataError, match="stdlib_corpus: max_files=0"):
        data.stdlib_corpus(max_files=0)
    with pytest.raises(DataError, match="max_file_chars='10'"):
        data.stdlib_corpus(max_file_chars="10")  # type: ignore[arg-type]


# ---------------------------------------------------------------- tokenizers


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_char_tokenizer_round_trips_its_own_text(text: str) -> None:
    tokens = data.CharTokenizer(text)
    ids = tokens.encode(text)
    assert ids.dtype == np.int64 and ids.shape == (len(text),)
    assert tokens.decode(ids) == text
    assert 0 not in ids.tolist() or data.CharTokenizer.UNKNOWN in text


def test_char_tokenizer_maps_unseen_characters_to_unknown() -> None:
    tokens = data.CharTokenizer("abc")
    assert len(tokens) == 4
    assert tokens.encode("abz").tolist() == [1, 2, 0]
    assert tokens.decode([1, 0]) == "a\ufffd"
    assert tokens.decode(np.arange(1, 4)[::-1]) == "cba"  # any integer array, strided too
    with pytest.raises(DataError, match="integer ids"):  # a Value holds floats, not ids
        tokens.decode(tl.Value(np.array([2.0, 3.0])))
    with pytest.raises(DataError, match="ids from 0 to 9, but the vocabulary has 4 tokens"):
        tokens.decode([0, 9])
    with pytest.raises(DataError, match="give a str"):
        tokens.encode(["a"])  # type: ignore[arg-type]
    with pytest.raises(DataError, match="integer ids"):
        tokens.decode([1.0, 2.0])


def test_word_tokenizer_orders_by_frequency_and_pads_with_zero() -> None:
    words = data.WordTokenizer(["Not bad!", "not good", "good good"], min_count=1)
    assert words.vocab[:3] == ["<pad>", "<unk>", "good"]
    assert words.vocab[3] == "not"
    assert words.split("Not bad!") == ["not", "bad", "!"]
    ids = words.encode("not great")
    assert ids.tolist() == [words.index["not"], words.unk_id]
    assert words.decode([0, *ids.tolist(), 0]) == "not <unk>"
    assert data.WordTokenizer(["a a b c"], min_count=2).vocab == ["<pad>", "<unk>", "a"]
    assert len(data.WordTokenizer(["a b c d"], max_size=4)) == 4
    with pytest.raises(DataError, match="give a list of texts"):
        data.WordTokenizer("one text")


# ---------------------------------------------------------------- batching


def test_pad_sequences_pads_cuts_and_counts() -> None:
    ids, lengths = data.pad_sequences([[1, 2, 3, 4], [5], []], pad_id=9, length=3)
    assert ids.tolist() == [[1, 2, 3], [5, 9, 9], [9, 9, 9]]
    assert lengths.tolist() == [3, 1, 0]
    with pytest.raises(DataError, match="sequence 1 holds float64"):
        data.pad_sequences([[1], [0.5]])


def test_next_token_batches_cover_the_stream_once_shifted_by_one() -> None:
    stream = np.arange(101)
    batches = list(data.next_token_batches(stream, seq_len=10, batch_size=4, seed=0))
    assert [x.shape[0] for x, _ in batches] == [4, 4, 2]
    xs = np.concatenate([x for x, _ in batches])
    ys = np.concatenate([y for _, y in batches])
    np.testing.assert_array_equal(ys, xs + 1)
    assert sorted(xs[:, 0].tolist()) == list(range(0, 100, 10))  # every window once
    with pytest.raises(DataError, match="no window of seq_len=200"):
        next(data.next_token_batches(stream, seq_len=200, batch_size=1))
    with pytest.raises(DataError, match="one stream of integer ids"):
        next(data.next_token_batches(np.zeros((2, 5), dtype=np.int64), 2, 1))


# ---------------------------------------------------------------- generated tasks


def test_adding_problem_marks_one_step_in_each_half_and_sums_them() -> None:
    X, y = data.adding_problem(200, length=30, seed=5)
    assert X.shape == (200, 30, 2) and X.dtype == np.float32 and y.shape == (200,)
    marks = X[:, :, 1]
    np.testing.assert_array_equal(marks.sum(axis=1), 2.0)
    np.testing.assert_array_equal(marks[:, :15].sum(axis=1), 1.0)
    np.testing.assert_allclose(y, (X[:, :, 0] * marks).sum(axis=1), rtol=1e-6)
    assert abs(((y - 1.0) ** 2).mean() - 1 / 6) < 0.04  # the bar a model must beat
    np.testing.assert_array_equal(
        data.adding_problem(3, 8, seed=1)[0], data.adding_problem(3, 8, seed=1)[0]
    )


def test_copy_task_writes_the_symbols_back_after_the_marker() -> None:
    X, Y = data.copy_task(50, length=5, delay=7, symbols=6, seed=2)
    assert X.shape == Y.shape == (50, 17)
    np.testing.assert_array_equal(Y[:, -5:], X[:, :5])
    assert (X[:, :5] >= 1).all() and (X[:, :5] <= 6).all()
    assert (X[:, 11] == 7).all() and (X[:, 5:11] == 0).all() and (X[:, 12:] == 0).all()
    assert (Y[:, :12] == 0).all()


def test_addition_strings_are_correct_sums() -> None:
    for line in data.addition_strings(300, digits=3, seed=0):
        question, answer = line.split("=")
        a, b = question.split("+")
        assert int(a) + int(b) == int(answer) and max(int(a), int(b)) < 1000
    with pytest.raises(DataError, match="digits=40"):
        data.addition_strings(1, digits=40)


def test_negation_flips_the_label_and_every_word_is_in_both_classes() -> None:
    s = data.negation_sentiment(2000, seed=0)
    assert len(s.texts) == 2000 and 0.45 < s.labels.mean() < 0.55 and 0.45 < s.negated.mean() < 0.55
    for text, label, negated in zip(s.texts[:300], s.labels, s.negated, strict=False):
        words = text.split()
        positive = bool(
            set(words)
            & {"good", "great", "fine", "wonderful", "pleasant", "brilliant", "enjoyable"}
        )
        assert negated == bool(set(words) & {"not", "hardly", "never"})
        assert label == int(positive != negated)
    by_class = [
        {w for t, lab in zip(s.texts, s.labels, strict=True) if lab == k for w in t.split()}
        for k in (0, 1)
    ]
    assert by_class[0] == by_class[1]  # no single word gives the label away
    with pytest.raises(DataError, match="negated_fraction=2"):
        data.negation_sentiment(5, negated_fraction=2)
