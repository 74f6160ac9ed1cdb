"""The books' worked examples: the numbers the book prints, computed with the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import book
from tinygrad_lite.book.worked import LOG_BASE_NOTE


def test_weighted_sums_are_the_books_and_backpropagate() -> None:
    w = book.weighted_sums()
    z1, z2 = w.values["z"]
    assert (z1.data, z2.data) == (5.5, -1.5)  # 0.5*3 + 1.5*2 + 1 and -0.5*3 + 1*2 - 2
    assert z1.op == "weighted_sum" and [p.name for p in z1.parents] == [
        "w1", "w2", "i1", "i2", "b",
    ]  # fmt: skip
    z2.backward()  # dz/dw_k = i_k, dz/db = 1; the inputs are data
    assert [(p.name, p.grad) for p in z2.parents if p.requires_grad] == [
        ("w1", 3.0), ("w2", 2.0), ("b", 1.0),
    ]  # fmt: skip
    lines = w.report().splitlines()
    assert lines[2].split()[-2:] == ["5.5", "5.5"] and lines[3].split()[-2:] == ["-1.5", "-1.5"]
    assert "-0.5*3.0 + 1.0*2.0 - 2.0" in lines[3]


def test_activation_table_matches_the_book_at_its_precision() -> None:
    t = book.activation_table()
    assert t.values["z"].tolist() == [-3.0, 2.0, -1.5, 3.0]
    assert t.values["sigmoid"].round(2).tolist() == [0.05, 0.88, 0.18, 0.95]
    assert t.values["exp"].round(2)[:3].tolist() == [0.05, 7.39, 0.22]
    assert round(float(t.values["exp"][3]), 1) == 20.1
    assert t.values["ReLU"].tolist() == [0.0, 2.0, 0.0, 3.0]
    assert t.values["linear"].tolist() == [-3.0, 2.0, -1.5, 3.0]
    np.testing.assert_allclose(t.values["sigmoid"], 1 / (1 + np.exp(-t.values["z"])), rtol=1e-15)
    assert t.values["agrees_with_book"]
    assert "every value the book prints matches" in t.report()
    # inputs the book has no figures for: a dash in its columns, no claim of agreement
    other = book.activation_table([0.0])
    assert other.rows == [["0.0", "0.0", "0.0", "0.50", "-", "1.00", "-"]]


def test_softmax_example_predicts_point_one_three_and_six() -> None:
    s = book.softmax_example()
    p = s.values["predicted"]
    assert p.round(2).tolist() == [0.1, 0.3, 0.6] and p.sum() == pytest.approx(1.0)
    z = np.array([1.0, 2.1, 2.8])
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(), rtol=1e-15)
    assert s.values["actual"].tolist() == [0.0, 1.0, 0.0]  # silver, one-hot
    assert s.rows[-1] == ["sum", "", "27.33", "1.00", "1"]
    with pytest.raises(tl.ArgumentError, match="one output per class"):
        book.softmax_example([1.0, 2.0])
    with pytest.raises(tl.ArgumentError, match="not a class"):
        book.softmax_example(actual="platinum")


def test_cross_entropy_examples_show_the_library_and_the_books_logarithm() -> None:
    ce = book.cross_entropy_examples()
    assert ce.values["natural"] == pytest.approx([-math.log(0.3), -math.log(0.6)], rel=1e-12)
    assert [round(x, 2) for x in ce.values["natural"]] == [1.2, 0.51]
    assert [round(x, 2) for x in ce.values["base10"]] == [0.52, 0.22]  # the book's figures
    assert ce.values["base10"] == pytest.approx([-math.log10(0.3), -math.log10(0.6)])
    report = ce.report()
    assert "the book uses log base 10; the library, like PyTorch, uses the natural log" in report
    assert LOG_BASE_NOTE in ce.notes
    assert [r[4:] for r in ce.rows] == [["1.20", "0.52", "0.52"], ["0.51", "0.22", "0.22"]]
    # the cost is a Value: its gradient on the outputs is predicted - actual
    loss = ce.values["losses"][0]
    loss.backward()
    (z,) = loss.parents
    np.testing.assert_allclose(z.grad, [[0.1, 0.3 - 1.0, 0.6]], atol=1e-12)


def test_cross_entropy_examples_agree_with_torch(torch) -> None:  # type: ignore[no-untyped-def]
    ce = book.cross_entropy_examples()
    for (p, actual), ours in zip(book.worked.CROSS_ENTROPY_EXAMPLES, ce.values["natural"]):
        logits = torch.log(torch.tensor([p], dtype=torch.float64))
        label = torch.tensor([list(tl.data.CATEGORIES).index(actual)])
        assert torch.nn.functional.cross_entropy(logits, label).item() == pytest.approx(ours)


def test_worked_examples_name_the_mistake() -> None:
    with pytest.raises(tl.ArgumentError, match="one weight per input"):
        book.weighted_sums(neurons=(((1.0,), 0.0),), book=(None,))
    with pytest.raises(tl.ArgumentError, match="one per neuron"):
        book.weighted_sums(book=(5.5,))
    with pytest.raises(tl.ArgumentError, match="sum to 1"):
        book.cross_entropy_examples([((0.5, 0.5, 0.5), "gold")], book=(None,))
    with pytest.raises(tl.ArgumentError, match="not one of"):
        book.cross_entropy_examples([((0.2, 0.3, 0.5), "tin")], book=(None,))
