"""The transfer learning exhibit: the frozen features, the few-shot sampler, the quick run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import gallery, viz
from tinygrad_lite.errors import ArgumentError
from tinygrad_lite.gallery import transfer

pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
ROOT = Path(__file__).resolve().parent.parent


def test_few_per_class_draws_that_many_of_each_class_without_repeats():
    labels = np.array([0, 1, 2] * 10 + [2] * 5)
    picks = transfer.few_per_class(labels, 4, np.random.default_rng(0))
    assert len(set(picks.tolist())) == 12
    assert np.bincount(labels[picks]).tolist() == [4, 4, 4]
    again = transfer.few_per_class(labels, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(picks, again)


@pytest.mark.parametrize("bad", [0, 11, 2.5, True])
def test_few_per_class_names_an_impossible_count(bad):
    labels = np.array([0] * 10 + [1] * 20)
    with pytest.raises(ArgumentError, match="few_per_class: per_class="):
        transfer.few_per_class(labels, bad, np.random.default_rng(0))


def test_with_new_head_shares_and_freezes_the_features_and_trains_only_the_head():
    tl.manual_seed(0)
    base = transfer.small_cnn()
    model = transfer.with_new_head(base, 3)
    features, head = model[0], model[1]
    assert features[0] is base[0] and features[2] is base[2]  # shared, not copied
    assert all(not p.requires_grad for p in features.parameters())
    assert head.weight.shape == (32 * 16, 3) and head.weight.requires_grad
    x = np.random.default_rng(0).random((4, 1, 8, 8)).astype(np.float32)
    before = base[0].weight.data.copy()
    transfer.train(model, model.parameters(), x, np.array([0, 1, 2, 0]), 3, lr=0.1)
    np.testing.assert_array_equal(base[0].weight.data, before)
    assert base[0].weight.grad is None and head.weight.grad is not None


def test_with_new_head_names_a_network_it_cannot_cut():
    with pytest.raises(ArgumentError, match="with_new_head: layer 6 .* got ReLU"):
        transfer.with_new_head(tl.nn.Sequential(*[tl.nn.ReLU() for _ in range(8)]), 3)
    with pytest.raises(ArgumentError, match="got NoneType"):
        transfer.with_new_head(tl.nn.Sequential(tl.nn.Linear(2, 2)), 3)


def test_accuracy_counts_the_argmax():
    model = tl.nn.Linear(2, 2, dtype=np.float64)
    model.weight.data[:] = np.eye(2)
    model.bias.data[:] = 0.0
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    assert transfer.accuracy(model, X, np.array([0, 1, 1, 1])) == 0.75


def test_a_tiny_comparison_is_reproducible_and_leaves_the_filters_alone():
    kwargs = dict(per_class=2, draws=2, pretrain_epochs=1, epochs=5, seed=3)
    first, second = transfer.compare(**kwargs), transfer.compare(**kwargs)
    assert first.transfer == second.transfer and first.scratch == second.scratch
    assert len(first.transfer) == len(first.scratch) == len(first.random) == 2
    assert first.unchanged and first.labelled == 10
    assert all(0.0 <= a <= 1.0 for a in first.transfer + first.scratch + first.random)
    with pytest.raises(ArgumentError, match="draws=0"):
        transfer.compare(draws=0)
    with pytest.raises(ArgumentError, match="shift=-1 must be a whole number >= 0"):
        transfer.compare(shift=-1)


def test_run_reports_the_comparison_and_draws_it(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    real = transfer.compare

    def tiny(*, per_class, draws, pretrain_epochs, seed):  # the glue, not the figure: tiny sizes
        return real(per_class=2, draws=draws, pretrain_epochs=1, epochs=3, seed=seed)

    monkeypatch.setattr(transfer, "compare", tiny)
    exhibit = gallery.run("transfer", tmp_path, seed=0)
    names = [name for name, _, _ in exhibit.figures]
    assert names[1:3] == [
        "frozen 0-4 filters + new head, on 5-9",
        "the same network from scratch, on 5-9",
    ]
    assert exhibit.figures[-1][2] == "> 1 of 2"
    (picture,) = exhibit.pictures
    assert picture.name == "gallery_transfer.png" and picture.stat().st_size > 1000
    model, x = exhibit.model, exhibit.example_input
    assert x.shape == (2, 1, 8, 8) and model(x).shape == (2, 5)
    drawing = viz.draw_forward(model(x), model=model, collapse=[model[0], model[1]])
    # the frozen features record no graph: the head's input is drawn as data, 512 features
    assert "1  Linear" in drawing.source and "2x512" in drawing.source
    assert "transfer" in gallery.EXHIBITS


def test_quick_run_of_the_example_program_transfer_beats_scratch(tmp_path):
    pytest.importorskip("matplotlib")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "examples/gallery/transfer.py", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr

    def share(figure):
        (found,) = re.findall(rf"{re.escape(figure)}\s+([\d.]+)%", done.stdout)
        return float(found) / 100

    assert share("pretrained CNN on held-out 0-4") >= 0.95
    transferred = share("frozen 0-4 filters + new head, on 5-9")
    scratch = share("the same network from scratch, on 5-9")
    assert transferred > scratch >= 0.85
    assert re.search(r"draws where transfer beats scratch\s+2 of 2", done.stdout)
    assert "python examples/gallery/transfer.py --full" in done.stdout
    assert (tmp_path / "gallery_transfer.png").stat().st_size > 1000
