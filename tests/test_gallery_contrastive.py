"""The SimCLR exhibit: NT-Xent against NumPy, finite differences and torch, the augmentations
on known images, the linear probe, and the quick run."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import gallery, viz
from tinygrad_lite.errors import ArgumentError, ShapeError
from tinygrad_lite.gallery import contrastive as C
from tinygrad_lite.testing import gradcheck

ROOT = Path(__file__).resolve().parents[1]


# --- NT-Xent -------------------------------------------------------------------------------------


def nt_xent_numpy(z: np.ndarray, tau: float) -> float:
    """The loss written out row by row: -log of the partner's share of exp(cos / tau)."""
    n2 = len(z)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2
        others = [np.exp(unit[i] @ unit[k] / tau) for k in range(n2) if k != i]
        total += -np.log(np.exp(unit[i] @ unit[j] / tau) / sum(others))
    return total / n2


@pytest.mark.parametrize(("rows", "dim", "tau"), [(2, 3, 1.0), (6, 4, 0.5), (8, 5, 0.1)])
def test_nt_xent_matches_a_direct_numpy_computation(rows, dim, tau):
    z = np.random.default_rng(rows).standard_normal((rows, dim))
    assert C.nt_xent(tl.Value(z), tau).item() == pytest.approx(nt_xent_numpy(z, tau), rel=1e-10)


def test_nt_xent_gradient_matches_finite_differences():
    z = np.random.default_rng(0).standard_normal((6, 3))
    assert gradcheck(lambda v: C.nt_xent(v, 0.5), [tl.Value(z)])


def test_nt_xent_matches_torch_value_and_gradient():
    torch = pytest.importorskip("torch")
    z = np.random.default_rng(1).standard_normal((8, 4))
    ours = tl.Value(z)
    loss = C.nt_xent(ours, 0.3)
    loss.backward()
    zt = torch.tensor(z, requires_grad=True)
    unit = torch.nn.functional.normalize(zt, dim=1)
    logits = unit @ unit.T / 0.3
    logits = logits.masked_fill(torch.eye(8, dtype=torch.bool), float("-inf"))
    target = torch.tensor([4, 5, 6, 7, 0, 1, 2, 3])
    theirs = torch.nn.functional.cross_entropy(logits, target)
    theirs.backward()
    assert loss.item() == pytest.approx(theirs.item(), rel=1e-9)
    np.testing.assert_allclose(ours.grad, zt.grad.numpy(), rtol=1e-7, atol=1e-10)


def test_nt_xent_is_low_when_partners_agree_and_checks_its_arguments():
    gen = np.random.default_rng(2)
    views = gen.standard_normal((16, 8))
    agreeing = np.concatenate([views, views + 0.01 * gen.standard_normal((16, 8))])
    unrelated = gen.standard_normal((32, 8))
    assert C.nt_xent(agreeing, 0.1).item() < 0.5 < C.nt_xent(unrelated, 0.1).item()
    with pytest.raises(ShapeError, match=r"nt_xent: z of shape \(3, 2\)"):
        C.nt_xent(np.ones((3, 2)))
    with pytest.raises(ArgumentError, match="temperature=0"):
        C.nt_xent(np.ones((4, 2)), temperature=0)


# --- augmentations -------------------------------------------------------------------------------


def shifted(image: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0) : h + min(dy, 0), max(dx, 0) : w + min(dx, 0)] = image[
        max(-dy, 0) : h + min(-dy, 0), max(-dx, 0) : w + min(-dx, 0)
    ]
    return out


def test_shifts_alone_move_each_image_by_at_most_one_pixel():
    images = np.random.default_rng(3).random((40, 8, 8)).astype(np.float32)
    out = C.shift_and_rotate(images, np.random.default_rng(4), max_shift=1, max_degrees=0)
    moves = set()
    for before, after in zip(images, out, strict=True):
        found = [
            (dy, dx)
            for dy in (-1, 0, 1)
            for dx in (-1, 0, 1)
            if np.allclose(after, shifted(before, dy, dx), atol=1e-6)
        ]
        assert len(found) == 1
        moves.add(found[0])
    assert len(moves) >= 5  # the shifts are drawn at random


def test_rotations_turn_a_pixel_about_the_centre():
    image = np.zeros((200, 8, 8), dtype=np.float32)
    image[:, 1, 3] = 1.0  # 2.5 rows above the centre (3.5, 3.5), half a column left
    out = C.shift_and_rotate(image, np.random.default_rng(5), max_shift=0, max_degrees=15)
    rows, cols = np.mgrid[0:8, 0:8]
    mass = out.sum(axis=(1, 2))
    cy = (out * rows).sum(axis=(1, 2)) / mass - 3.5
    cx = (out * cols).sum(axis=(1, 2)) / mass - 3.5
    radius = np.hypot(2.5, 0.5)
    assert np.abs(np.hypot(cy, cx) - radius).max() < 0.1  # bilinear weights keep the centre
    turned = np.degrees(np.arctan2(cx, -cy) - np.arctan2(-0.5, 2.5))
    assert np.abs(turned).max() <= 15.5 and np.abs(turned).max() > 10
    assert mass.min() > 0.85  # nothing fell off the edge


def test_random_erase_blanks_one_rectangle_or_nothing():
    ones = np.ones((50, 8, 8), dtype=np.float32)
    out = C.random_erase(ones, np.random.default_rng(6), p=1.0, sizes=(2, 4))
    for image in out:
        r, c = np.nonzero(image == 0)
        h, w = r.max() - r.min() + 1, c.max() - c.min() + 1
        assert 2 <= h <= 4 and 2 <= w <= 4 and len(r) == h * w  # one full rectangle
    assert (C.random_erase(ones, np.random.default_rng(6), p=0.0) == 1).all()
    with pytest.raises(ArgumentError, match="p=1.5"):
        C.random_erase(ones, np.random.default_rng(0), p=1.5)
    with pytest.raises(ArgumentError, match=r"sizes=\(3, 9\)"):
        C.random_erase(ones, np.random.default_rng(0), sizes=(3, 9))


def test_augment_keeps_shape_and_range_and_differs_each_time():
    images = np.random.default_rng(7).random((10, 8, 8)).astype(np.float32)
    gen = np.random.default_rng(8)
    a, b = C.augment(images, gen), C.augment(images, gen)
    assert a.shape == images.shape and a.dtype == np.float32
    assert a.min() >= 0 and a.max() <= 1 and not np.allclose(a, b)
    with pytest.raises(ShapeError, match=r"shift_and_rotate: images of shape \(64,\)"):
        C.augment(np.zeros(64), gen)


# --- the linear probe ----------------------------------------------------------------------------


def test_linear_probe_separates_separable_classes_and_repeats_its_draws():
    pytest.importorskip("sklearn")
    gen = np.random.default_rng(9)
    labels = gen.permutation(np.repeat(np.arange(3), 40))
    centres = np.array([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    X = centres[labels] + 0.3 * gen.standard_normal((120, 2))
    scores = C.linear_probe(X[:90], labels[:90], X[90:], labels[90:], 3, 4, seed=0)
    assert scores.shape == (4,) and (scores == 1.0).all()
    noisy = X + 3.0 * gen.standard_normal(X.shape)
    first = C.linear_probe(noisy[::2], labels[::2], noisy[1::2], labels[1::2], 2, 5, seed=1)
    np.testing.assert_array_equal(
        first, C.linear_probe(noisy[::2], labels[::2], noisy[1::2], labels[1::2], 2, 5, seed=1)
    )
    assert len(set(first.tolist())) > 1  # different labelled rows, different scores


# --- the exhibit ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    return gallery.run("contrastive", tmp_path_factory.mktemp("simclr"), seed=0, plots=True)


def test_quick_run_beats_raw_pixels(quick):
    figures = {name: ours for name, ours, _ in quick.figures}
    learned = float(figures["held-out accuracy, contrastive features"].rstrip("%"))
    raw = float(figures["held-out accuracy, raw pixels"].rstrip("%"))
    assert 80 < raw < learned  # pixels already do well on the digits; the features do better
    wins, draws = figures["draws of the labels where features win"].split(" of ")
    assert int(wins) > int(draws) // 2
    assert "contrastive" in gallery.EXHIBITS


def test_quick_run_writes_its_pictures_and_draws_its_model(quick):
    assert [p.name for p in quick.pictures] == ["contrastive_accuracy.png", "contrastive_views.png"]
    assert all(p.stat().st_size > 1000 for p in quick.pictures)
    model = quick.model
    out = model(quick.example_input)
    assert out.shape == (2, 64)
    graph = viz.draw_forward(out, model=model, collapse=[model.encoder, model.head])
    assert graph.source


def test_same_seed_same_figures():
    pytest.importorskip("sklearn")
    tiny = replace(C.QUICK, train_steps=3, batch=32, hidden=16, features=8, draws=2)
    first, second = C.train_and_measure(tiny, seed=5), C.train_and_measure(tiny, seed=5)
    assert first.losses == second.losses
    np.testing.assert_array_equal(first.learned, second.learned)
    np.testing.assert_array_equal(first.test_features, second.test_features)
    assert C.train_and_measure(tiny, seed=6).losses != first.losses


def test_example_program_prints_its_figure(tmp_path):
    pytest.importorskip("sklearn")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "examples/gallery/contrastive.py", "--no-plots", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=180, cwd=ROOT, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "held-out accuracy, contrastive features" in done.stdout
    assert "held-out accuracy, raw pixels" in done.stdout
