"""The gallery's two GANs: the ring of 8 Gaussians and the convolutional GAN on the digits.

Each quick run goes through its example program once (a subprocess, as `make tour` runs it);
the figures it prints and the pictures it writes are checked from that one run. The helpers
(the mode count, the energy distance, the classifier's confidence) are checked on samples
made by hand, whose answers are known.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import gallery
from tinygrad_lite.errors import ArgumentError, ShapeError
from tinygrad_lite.gallery import gan_digits, gan_ring

ROOT = Path(__file__).resolve().parents[1]


def run_example(script: str, out: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), "--out", str(out), *flags],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env=env,
    )


def figure(stdout: str, name: str) -> str:
    """The 'ours' column of the figure ``name`` in an exhibit's printed report."""
    match = re.search(rf"^{re.escape(name)}\s+(.+?)\s{{2}}", stdout, re.MULTILINE)
    assert match, f"no figure {name!r} in:\n{stdout}"
    return match.group(1)


# ---------------------------------------------------------------- the ring: data and mode count


def test_ring_centres_lie_evenly_on_the_circle() -> None:
    c = gan_ring.ring_centres(8, 2.0)
    assert c.shape == (8, 2)
    np.testing.assert_allclose(np.hypot(c[:, 0], c[:, 1]), 2.0)
    gaps = np.linalg.norm(c - np.roll(c, 1, axis=0), axis=1)  # neighbours all equally apart
    np.testing.assert_allclose(gaps, 2 * 2.0 * np.sin(np.pi / 8))
    with pytest.raises(ArgumentError, match="modes=0"):
        gan_ring.ring_centres(0)


def test_ring_samples_fill_every_mode_evenly_within_three_std() -> None:
    X = gan_ring.ring_of_gaussians(8000, np.random.default_rng(0))
    assert X.shape == (8000, 2) and X.dtype == np.float32
    found = gan_ring.count_modes(X, gan_ring.ring_centres(), gan_ring.STD)
    # 3 std in 2-D holds 1 - exp(-9/2) = 98.9% of a Gaussian's mass
    assert found.off_share == pytest.approx(np.exp(-4.5), abs=0.005)
    assert found.covered == 8 and found.counts.min() > 900 and found.counts.max() < 1100
    with pytest.raises(ArgumentError, match="n=0"):
        gan_ring.ring_of_gaussians(0, np.random.default_rng(0))


def test_count_modes_on_hand_made_samples() -> None:
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    std = 1.0  # a sample belongs to a centre within 3.0
    samples = np.array(
        [
            [0.0, 0.0],
            [2.9, 0.0],  # inside mode 0
            [3.0, 0.0],  # exactly at 3 std: counted
            [3.1, 0.0],  # just outside: no mode
            [9.0, 1.0],  # mode 1
            [5.0, 5.0],  # between all three: no mode
        ]
    )
    found = gan_ring.count_modes(samples, centres, std)
    assert found.counts.tolist() == [3, 1, 0]
    assert found.off == 2 and found.total == 6
    assert found.off_share == pytest.approx(2 / 6)
    assert found.covered == 2  # mode 2 got nothing
    # the share a mode needs counts the off-mode samples too: 1 of 6 is 16.7%
    assert gan_ring.count_modes(samples, centres, std, min_share=0.17).covered == 1
    assert gan_ring.count_modes(samples, centres, std, min_share=0.16).covered == 2
    # a wider radius takes in the off-mode samples, each by its nearest centre
    wide = gan_ring.count_modes(samples, centres, std, within=8.0)
    assert wide.off == 0 and wide.counts.tolist() == [5, 1, 0]


def test_a_collapsed_generator_covers_one_mode() -> None:
    centres = gan_ring.ring_centres()
    gen = np.random.default_rng(1)
    collapsed = centres[3] + 0.01 * gen.normal(size=(500, 2))
    found = gan_ring.count_modes(collapsed, centres, gan_ring.STD)
    assert found.covered == 1 and found.counts[3] == 500
    # a few stray samples near another mode (below 1%) do not make it covered
    strays = centres[5] + 0.01 * gen.normal(size=(4, 2))
    found = gan_ring.count_modes(np.vstack([collapsed, strays]), centres, gan_ring.STD)
    assert found.counts[5] == 4 and found.covered == 1


def test_count_modes_rejects_bad_input() -> None:
    centres = gan_ring.ring_centres()
    with pytest.raises(ShapeError, match=r"count_modes: samples \(5, 3\)"):
        gan_ring.count_modes(np.zeros((5, 3)), centres, 0.05)
    with pytest.raises(ArgumentError, match="std=0"):
        gan_ring.count_modes(np.zeros((5, 2)), centres, 0)
    with pytest.raises(ArgumentError, match="min_share=2"):
        gan_ring.count_modes(np.zeros((5, 2)), centres, 0.05, min_share=2)


# ---------------------------------------------------------------- the ring: training


def test_ring_training_is_reproducible_and_learns_from_the_discriminator() -> None:
    first = gan_ring.train(40, seed=3, snapshots=2)
    again = gan_ring.train(40, seed=3, snapshots=2)
    np.testing.assert_array_equal(first.snapshots[-1][1], again.snapshots[-1][1])
    assert [s for s, _ in first.snapshots] == [0, 40]
    other = gan_ring.train(40, seed=4, snapshots=2)
    assert not np.array_equal(first.snapshots[-1][1], other.snapshots[-1][1])
    # the generator moved: its samples after 40 steps are not its samples at step 0
    assert not np.allclose(first.snapshots[0][1], first.snapshots[-1][1])
    assert len(first.d_losses) == 40 and all(np.isfinite(first.d_losses + first.g_losses))
    with pytest.raises(ArgumentError, match="steps=0"):
        gan_ring.train(0)


def test_ring_exhibit_and_forward_graph(tmp_path: Path) -> None:
    exhibit = gan_ring.exhibit(tmp_path, steps=20, seed=0, plots=False)
    assert exhibit.architecture == "GAN" and not exhibit.pictures
    assert [f[0] for f in exhibit.figures] == ["modes covered", "samples in no mode"]
    assert exhibit.figures[0][2] == ">= 7 of 8"
    assert list(tmp_path.iterdir()) == []  # plots=False writes nothing
    out = exhibit.model(exhibit.example_input)
    assert out.shape == (2, 2)
    graph = tl.viz.draw_forward(out, model=exhibit.model, collapse=list(exhibit.model))
    assert "Linear" in graph.source


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    out = tmp_path_factory.mktemp("gan_ring")
    done = run_example("gallery/gan_ring.py", out, "--seed", "0")
    assert done.returncode == 0, done.stderr
    return done.stdout, out


def test_ring_quick_run_covers_seven_modes(ring_run: tuple[str, Path]) -> None:
    stdout, _ = ring_run
    covered = int(figure(stdout, "modes covered").split(" of ")[0])
    assert covered >= 7, stdout
    off = float(figure(stdout, "samples in no mode").rstrip("%"))
    assert 0.0 <= off < 60.0, stdout  # most samples land on a mode already in the quick run


def test_ring_picture_is_written(ring_run: tuple[str, Path]) -> None:
    pytest.importorskip("matplotlib")
    stdout, out = ring_run
    assert (out / "gan_ring.png").stat().st_size > 1000
    assert f"wrote {out / 'gan_ring.png'}" in stdout


def test_ring_is_in_the_gallery() -> None:
    assert "gan_ring" in gallery.EXHIBITS and "gan_digits" in gallery.EXHIBITS


# ---------------------------------------------------------------- the digits: measures


def test_energy_distance_on_known_samples() -> None:
    assert gan_digits.energy_distance([[0.0], [2.0]], [[0.0], [2.0]]) == 0.0
    assert gan_digits.energy_distance([[0.0]], [[3.0]]) == pytest.approx(6.0)
    # X = {0, 2}, Y = {1}: 2 E|X-Y| = 2, E|X-X'| = (0 + 2 + 2 + 0) / 4 = 1, E|Y-Y'| = 0
    assert gan_digits.energy_distance([[0.0], [2.0]], [[1.0]]) == pytest.approx(1.0)
    # Euclidean in several dimensions: (0, 0) against (3, 4) is 2 * 5
    assert gan_digits.energy_distance([[0.0, 0.0]], [[3.0, 4.0]]) == pytest.approx(10.0)
    gen = np.random.default_rng(0)
    a, b = gen.normal(size=(300, 4)), gen.normal(size=(300, 4))
    same = gan_digits.energy_distance(a, b)
    moved = gan_digits.energy_distance(a, b + 1.0)
    assert 0.0 <= same < 0.1 < moved
    assert gan_digits.energy_distance(b + 1.0, a) == pytest.approx(moved)
    with pytest.raises(ShapeError, match=r"energy_distance: samples of shapes \(3, 2\) and"):
        gan_digits.energy_distance(np.zeros((3, 2)), np.zeros((3, 4)))


def test_independent_pixels_keep_each_pixel_and_lose_the_strokes() -> None:
    # two kinds of image: all pixels 0, or all pixels 1; every pixel is 0 or 1 half the time
    images = np.repeat([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]], 50, axis=0)[:, None, :]  # (100, 1, 3)
    out = gan_digits.independent_pixels(images, 2000, np.random.default_rng(0))
    assert out.shape == (2000, 1, 3)
    assert set(np.unique(out).tolist()) == {0.0, 1.0}
    np.testing.assert_allclose(out.mean(axis=0), 0.5, atol=0.05)  # each pixel's share kept
    mixed = np.mean(out.min(axis=2) != out.max(axis=2))  # images that are neither kind
    assert mixed == pytest.approx(0.75, abs=0.05)  # 1 - 2 * (1/2)^3 when pixels are independent
    with pytest.raises(ArgumentError, match="n=0"):
        gan_digits.independent_pixels(images, 0, np.random.default_rng(0))


def test_confidence_counts_confident_rows_and_their_classes() -> None:
    p = np.zeros((40, 10))
    p[:, 9] = 1.0  # 40 confident nines ...
    p[:3] = 0.1  # ... but three rows spread evenly: not confident
    found = gan_digits.confidence(p)
    assert found == gan_digits.Confidence(share=37 / 40, classes=1)
    p[3:5] = np.eye(10)[2]  # two confident twos: 2 of 37 is 5.4% >= 5%, a second class
    assert gan_digits.confidence(p).classes == 2
    p[3] = np.eye(10)[9]  # one two left: 1 of 37 is 2.7%, too few to count
    assert gan_digits.confidence(p).classes == 1
    assert gan_digits.confidence(np.full((4, 10), 0.1)) == gan_digits.Confidence(0.0, 0)
    assert gan_digits.confidence(p, threshold=0.05).share == 1.0
    with pytest.raises(ShapeError, match="confidence"):
        gan_digits.confidence(np.ones(10))
    with pytest.raises(ArgumentError, match="threshold=0"):
        gan_digits.confidence(p, threshold=0)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    return gan_digits.split(0)


def test_the_judge_reads_real_digits_and_not_noise(digits) -> None:
    train_x, train_y, test_x, test_y = digits
    assert train_x.shape[1:] == (1, 8, 8) and len(test_x) == gan_digits.TEST
    assert train_x.min() == -1.0 and train_x.max() == 1.0
    tl.manual_seed(0)
    judge = gan_digits.Classifier(train_x, train_y)
    p = judge.probabilities(test_x)
    assert np.mean(p.argmax(axis=1) == test_y) > 0.9
    real = gan_digits.score(test_x, test_x, judge)
    noise = gan_digits.score(np.random.default_rng(0).uniform(-1, 1, (400, 64)), test_x, judge)
    assert real.confident.classes == 10 and real.confident.share > 0.6
    assert noise.confident.share < 0.1 and real.energy == 0.0 and noise.energy > 2.0


def test_tiles_lay_images_out_in_a_grid() -> None:
    images = np.arange(6, dtype=float)[:, None, None, None] * np.ones((6, 1, 8, 8))
    grid = gan_digits._tiles(images, 2)  # 2 rows of 3
    assert grid.shape == (2 * 9 - 1, 3 * 9 - 1)
    assert grid[0, 0] == 0.0 and grid[0, 9] == 1.0 and grid[9, 18] == 5.0
    assert grid[8, 0] == -1.0  # the blank line between rows


# ---------------------------------------------------------------- the digits: training


def test_digits_networks_shapes() -> None:
    z = np.zeros((3, gan_digits.NOISE), dtype=np.float32)
    G, D = gan_digits.generator(), gan_digits.discriminator()
    images = G(z)
    assert images.shape == (3, 1, 8, 8)
    assert np.all(np.abs(images.data) <= 1.0)  # tanh
    assert D(images).shape == (3, 1)


def test_digits_training_is_reproducible(digits) -> None:
    train_x = digits[0]
    first = gan_digits.train(train_x, 4, seed=1)
    again = gan_digits.train(train_x, 4, seed=1)
    np.testing.assert_array_equal(
        gan_digits.sample(first.G, 5, 0), gan_digits.sample(again.G, 5, 0)
    )
    assert first.g_losses == again.g_losses and len(first.d_losses) == 4
    seen = []
    gan_digits.train(train_x, 4, seed=1, watch=lambda step, G: seen.append(step), every=2)
    assert seen == [2, 4]
    with pytest.raises(ArgumentError, match="steps=0"):
        gan_digits.train(train_x, 0)


def test_digits_exhibit_and_forward_graph(digits, tmp_path: Path) -> None:
    exhibit = gan_digits.exhibit(tmp_path, steps=3, seed=0, plots=False)
    names = [f[0] for f in exhibit.figures]
    assert names == [
        "classes drawn confidently",
        "read confidently (p >= 0.9)",
        "energy distance to held-out digits",
    ]
    assert list(tmp_path.iterdir()) == []
    out = exhibit.model(exhibit.example_input)
    assert out.shape == (2, 1, 8, 8)
    graph = tl.viz.draw_forward(out, model=exhibit.model, collapse=list(exhibit.model))
    assert "Conv2d" in graph.source


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    out = tmp_path_factory.mktemp("gan_digits")
    done = run_example("gallery/gan_digits.py", out, "--seed", "0")
    assert done.returncode == 0, done.stderr
    return done.stdout, out


def test_digits_quick_run_draws_several_classes(digits_run: tuple[str, Path]) -> None:
    stdout, _ = digits_run
    # the quick run (1000 steps, 16 channels) is on its way: several classes, far nearer the
    # digits than noise; the full run reaches the targets (see docs/gallery.md)
    classes = int(figure(stdout, "classes drawn confidently").split(" of ")[0])
    assert classes >= 4, stdout
    share = re.search(r"^read confidently \(p >= 0.9\)\s+(\d+)%\s+> (\d+)%", stdout, re.M)
    assert share and int(share.group(1)) > int(share.group(2)), stdout  # above independent pixels
    energy = r"^energy distance to held-out digits\s+([\d.]+)\s+reported.*noise ([\d.]+)\)"
    line = re.search(energy, stdout, re.M)
    assert line, stdout
    assert float(line.group(1)) < 0.3 * float(line.group(2)), stdout


def test_digits_picture_is_written(digits_run: tuple[str, Path]) -> None:
    pytest.importorskip("matplotlib")
    stdout, out = digits_run
    assert (out / "gan_digits.png").stat().st_size > 1000
    assert f"wrote {out / 'gan_digits.png'}" in stdout
