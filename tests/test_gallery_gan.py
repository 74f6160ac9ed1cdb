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
        [sys.executable, str(ROOT / "examples" / "gallery" / script), "--out", str(out), *flags],
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
    done = run_example("gan_ring.py", out, "--seed", "0")
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
    assert f"picture: {out / 'gan_ring.png'}" in stdout


def test_ring_is_in_the_gallery() -> None:
    assert "gan_ring" in gallery.EXHIBITS and "gan_digits" in gallery.EXHIBITS
