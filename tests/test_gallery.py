"""The gallery: the feedforward, CNN, recurrent and attention exhibits, and the tour's gallery.

The example programs run as subprocesses in quick mode and must print a figure that reaches
its target; the tour's gallery is tested with fake exhibits (fast) and one real one.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
import types
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import cli, gallery, nn
from tinygrad_lite.errors import ArgumentError
from tinygrad_lite.gallery import attention, cnn, feedforward, recurrent
from tinygrad_lite.optional import MissingDependencyError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "gallery"
MINE = ("feedforward", "cnn", "recurrent", "attention")

# figure printed by the example, how it must compare, and the bar (the module's target)
REACHES = {
    "feedforward": [("test accuracy", ">=", feedforward.TARGET)],
    "cnn": [("test accuracy", ">=", cnn.TARGET)],
    "recurrent": [
        ("LSTM held-out MSE", "<", recurrent.LEARNED),
        ("plain RNN held-out MSE", ">", 0.10),  # it stays near always-1.0's 0.167
    ],
    "attention": [("held-out exact match", ">=", attention.TARGET)],
}
PICTURES = {
    "feedforward": ["feedforward.png"],
    "cnn": ["cnn_filters.png"],
    "recurrent": ["recurrent.png"],
    "attention": ["attention.png"],
}


def number(text: str) -> float:
    """``97.8%`` -> 0.978, ``0.0031`` -> 0.0031."""
    return float(text[:-1]) / 100 if text.endswith("%") else float(text)


def printed_figure(stdout: str, name: str) -> float:
    """The number after ``name`` in an exhibit's printed report (``Exhibit.report()``)."""
    match = re.search(rf"^{re.escape(name)}\s+(\S+)\s", stdout, re.MULTILINE)
    assert match, f"{name!r} not printed in:\n{stdout}"
    return number(match.group(1))


def start_example(name: str, out: Path, *flags: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return subprocess.Popen(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--out", str(out), *flags],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env,
    )


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Every example of mine started at once (each uses one core: on two cores the four take
    about half the time they take one after another); name -> (process, its folder)."""
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    pytest.importorskip("matplotlib", reason="the exhibits draw with matplotlib")
    started = {}
    for name in MINE:
        out = tmp_path_factory.mktemp(name)
        started[name] = (start_example(name, out, "--seed", "0"), out)
    yield started
    for process, _ in started.values():
        if process.poll() is None:
            process.kill()
            process.communicate()


# ---------------------------------------------------------------- the examples, quick mode


@pytest.mark.parametrize("name", MINE)
def test_the_example_reaches_its_figure_in_quick_mode(name: str, examples: dict[str, Any]) -> None:
    process, out = examples[name]
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    assert "(quick mode)" in stdout
    for figure, compare, bar in REACHES[name]:
        ours = printed_figure(stdout, figure)
        reached = {">=": ours >= bar, "<": ours < bar, ">": ours > bar}[compare]
        assert reached, f"{name}: {figure} = {ours}, not {compare} {bar}"
    for picture in PICTURES[name]:
        path = out / picture
        assert path.stat().st_size > 1000, f"{picture} was not drawn"
        assert f"wrote {path}" in stdout


def test_the_programs_flags(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What every examples/gallery/*.py runs, in-process: --no-plots writes nothing."""
    monkeypatch.setattr(attention, "QUICK", dataclasses.replace(attention.QUICK, steps=5))
    out = tmp_path / "pictures"
    exhibit = gallery.main("attention", ["--out", str(out), "--no-plots", "--seed", "3"])
    printed = capsys.readouterr().out
    assert printed.startswith(exhibit.report()) and "(quick mode)" in printed
    assert exhibit.pictures == [] and not list(out.iterdir())  # the folder made, left empty
    same = gallery.run("attention", tmp_path / "again", seed=3, plots=False).model.state_dict()
    for key, weights in exhibit.model.state_dict().items():  # --seed 3 reached the run
        np.testing.assert_array_equal(weights, same[key])
    with pytest.raises(SystemExit):
        gallery.main("attention", ["--seed", "x"])


def test_every_gallery_example_has_a_smoke_test() -> None:
    """Every program of examples/gallery/ is named in some tests/test_gallery*.py file."""
    tests = "".join(p.read_text(encoding="utf-8") for p in ROOT.glob("tests/test_gallery*.py"))
    for script in sorted(EXAMPLES.glob("*.py")):
        name = script.stem
        assert f'"{name}"' in tests or f"{name}.py" in tests, f"{script.name} has no smoke test"


def test_every_exhibit_is_a_module_with_a_run_function() -> None:
    import importlib

    assert set(MINE) <= set(gallery.EXHIBITS)
    assert len(set(gallery.EXHIBITS)) == len(gallery.EXHIBITS)
    for name in gallery.EXHIBITS:
        module = importlib.import_module(f"tinygrad_lite.gallery.{name}")
        assert callable(module.run), name


def test_an_unknown_exhibit_is_named_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ArgumentError, match=r"gallery.run: no exhibit 'gan'; give one of .*cnn"):
        gallery.run("gan", tmp_path / "out")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- the exhibits, trimmed

TINY = {  # a few steps each: enough to test the plumbing and the seeding, not the figure
    "feedforward": {"epochs": 1},
    "cnn": {"epochs": 1},
    "recurrent": {"steps": 6, "length": 6},
    "attention": {"steps": 5},
}
MODULES = {"feedforward": feedforward, "cnn": cnn, "recurrent": recurrent, "attention": attention}


def tiny_run(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seed: int = 0) -> Any:
    module = MODULES[name]
    monkeypatch.setattr(module, "QUICK", dataclasses.replace(module.QUICK, **TINY[name]))
    return gallery.run(name, tmp_path, seed=seed, plots=False)


@pytest.mark.parametrize("name", MINE)
def test_the_same_seed_gives_the_same_figures_and_weights(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    if name in ("feedforward", "cnn"):
        pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    first = tiny_run(name, monkeypatch, tmp_path)
    again = tiny_run(name, monkeypatch, tmp_path)
    assert first.figures == again.figures
    weights, same = first.model.state_dict(), again.model.state_dict()
    assert weights.keys() == same.keys()
    for key in weights:
        np.testing.assert_array_equal(weights[key], same[key])
    other = tiny_run(name, monkeypatch, tmp_path, seed=1)
    assert any(not np.array_equal(weights[k], v) for k, v in other.model.state_dict().items())
    assert first.pictures == [] and not list(tmp_path.iterdir())  # plots=False draws nothing
    # the forward graph the tour draws: one box per module, from the small example input
    output = first.model(first.example_input)
    assert output.shape[0] == 2
    graph = tl.viz.draw_forward(output, model=first.model, collapse=first.model.children())
    assert "collapsed" in graph.source
    assert first.command == f"python examples/gallery/{name}.py --full"
    assert first.book and first.notes and first.architecture


def test_reversal_rows_are_the_rows_backwards() -> None:
    X, Y = attention.reversal_rows(50, length=7, symbols=5, seed=0)
    assert X.shape == Y.shape == (50, 7)
    assert X.min() >= 1 and X.max() <= 5  # id 0 is copy_task's blank: never in a row
    np.testing.assert_array_equal(Y, X[:, ::-1])
    np.testing.assert_array_equal(attention.reversal_rows(50, 7, 5, seed=0)[0], X)


class _Scores:
    """A stand-in model whose scores pick ``ids`` exactly."""

    def __init__(self, ids: np.ndarray, vocab: int) -> None:
        self.scores = np.eye(vocab, dtype=np.float32)[ids]  # (N, L, vocab)

    def __call__(self, X: np.ndarray) -> tl.Value:
        return tl.Value(self.scores, requires_grad=False)


def test_exact_match_counts_wholly_right_rows() -> None:
    Y = np.array([[1, 2, 3], [3, 2, 1], [1, 1, 1], [2, 2, 2]])
    written = Y.copy()
    written[1, 0] = 2  # one symbol wrong in row 1
    written[2] = [2, 2, 2]  # row 2 wholly wrong
    rows, symbols = attention.exact_match(_Scores(written, 4), Y, Y)  # type: ignore[arg-type]
    assert rows == pytest.approx(2 / 4)  # rows 0 and 3
    assert symbols == pytest.approx(8 / 12)


def test_the_attention_weights_are_one_distribution_per_position() -> None:
    tl.manual_seed(0)
    model = attention.Reverser(vocab=6, length=5, d_model=8, heads=2)
    X, _ = attention.reversal_rows(3, 5, 5, seed=0)
    weights = model.attention_weights(X)
    assert weights.shape == (3, 2, 5, 5)  # (N, heads, L, L)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
    assert model(X).shape == (3, 5, 6)


def test_open_forget_gates_raises_only_the_forget_block() -> None:
    tl.manual_seed(0)
    model = recurrent.Regressor("LSTM", hidden=3)
    before = model.rnn.bias_hh_l0.data.copy()
    recurrent.open_forget_gates(model, 3, shift=1.0)
    change = model.rnn.bias_hh_l0.data - before  # gate order i, f, g, o: 3 rows each
    np.testing.assert_allclose(change, [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    assert model(np.zeros((4, 7, 2), np.float32)).shape == (4,)


# ---------------------------------------------------------------- the tour's gallery


def fake_exhibit(name: str) -> types.ModuleType:
    """A module shaped like a gallery exhibit: a tiny model and a picture, no training."""

    def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Any:
        tl.manual_seed(seed)
        model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        pictures = []
        if plots:
            picture = out / f"{name}.png"
            picture.write_bytes(b"\x89PNG fake picture " * 80)
            pictures.append(picture)
        return gallery.Exhibit(
            architecture=f"{name} net",
            title=f"the {name} net on nothing",
            figures=[("size", "full" if full else "quick", "-"), ("seed", str(seed), "0")],
            pictures=pictures,
            book=f"what the books say about {name}",
            command=f"python examples/gallery/{name}.py --full",
            notes=[f"{name}'s note"],
            model=model,
            example_input=tl.Value(np.ones((2, 3), np.float32), requires_grad=False),
        )

    module = types.ModuleType(f"tinygrad_lite.gallery.{name}")
    module.run = run  # type: ignore[attr-defined]
    return module


def with_fakes(monkeypatch: pytest.MonkeyPatch, *names: str, real: tuple[str, ...] = ()) -> None:
    for name in names:
        monkeypatch.setitem(sys.modules, f"tinygrad_lite.gallery.{name}", fake_exhibit(name))
    monkeypatch.setattr(gallery, "EXHIBITS", (*names, *real))


def test_the_tour_writes_one_section_per_exhibit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with_fakes(monkeypatch, "fake_one", "fake_two")
    out = tmp_path / "tour"
    assert cli.main(["tour", "--only-gallery", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "[1/3] gallery: fake_one" in printed and "[3/3] the report" in printed
    page = (out / "index.html").read_text(encoding="utf-8")
    for name in ("fake_one", "fake_two"):
        start = page.index(f"<h2 id='gallery-{name}'>{name} net: the {name} net on nothing</h2>")
        end = page.find("<h2", start + 1)
        section = page[start : end if end > 0 else len(page)]
        assert "<td>size</td><td>quick</td><td>-</td>" in section  # no --full: quick
        assert f"what the books say about {name}" in section
        assert f"reproduce it: python examples/gallery/{name}.py --full" in section
        assert f"{name}&#x27;s note" in section
        assert f"<img src='gallery/{name}.png'" in section
        assert f"<img src='gallery/{name}_forward.svg'" in section
        svg = (out / "gallery" / f"{name}_forward.svg").read_text(encoding="utf-8")
        ET.fromstring(svg)  # well-formed SVG
        assert "Linear" in svg and "collapsed" in svg  # one box per module
        assert f"<li><a href='#gallery-{name}'>{name} net: the {name} net on nothing</a>" in page
    # the gallery's first section lists every exhibit; the index links to it
    assert "<h2 id='gallery'>Gallery" in page and "<a href='#gallery'>Gallery" in page
    assert page.index("<nav>") < page.index("<h2 id='gallery'>")
    assert "Chapter 1" not in page  # --only-gallery: no books' tasks


def test_tour_full_and_no_plots_reach_the_exhibits(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_fakes(monkeypatch, "fake_one")
    out = tmp_path / "tour"
    assert cli.main(["tour", "--only-gallery", "--full", "--no-plots", "--out", str(out)]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<td>size</td><td>full</td>" in page
    assert not (out / "gallery" / "fake_one.png").exists()
    assert "<img src='gallery/fake_one_forward.svg'" in page  # the graph needs no matplotlib


def test_an_exhibit_missing_a_package_is_skipped_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with_fakes(monkeypatch, "fake_one")
    broken = types.ModuleType("tinygrad_lite.gallery.fake_needs")

    def run(out: Path, **kwargs: Any) -> Any:
        raise MissingDependencyError("fake_needs needs the optional package 'networkx'")

    broken.run = run  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tinygrad_lite.gallery.fake_needs", broken)
    monkeypatch.setattr(gallery, "EXHIBITS", ("fake_needs", "fake_one"))
    out = tmp_path / "tour"
    assert cli.main(["tour", "--only-gallery", "--no-plots", "--out", str(out)]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<h2 id='gallery-fake_needs'>fake_needs: skipped</h2>" in page
    assert "optional package &#x27;networkx&#x27;" in page
    assert "<h2 id='gallery-fake_one'>" in page  # the next exhibit still ran


def test_no_gallery_and_only_gallery_exclude_each_other(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli.main(["tour", "--no-gallery", "--only-gallery"]) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_the_tour_shows_a_real_exhibit(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("sklearn", reason="the digits ship with scikit-learn")
    pytest.importorskip("matplotlib", reason="the exhibits draw with matplotlib")
    with_fakes(monkeypatch, real=("feedforward",))
    out = tmp_path / "tour"
    assert cli.main(["tour", "--only-gallery", "--out", str(out)]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "<h2 id='gallery-feedforward'>feedforward network" in page
    match = re.search(r"<td>test accuracy</td><td>([\d.]+)%</td><td>&gt;= 95%</td>", page)
    assert match and float(match.group(1)) / 100 >= feedforward.TARGET
    assert (out / "gallery" / "feedforward.png").stat().st_size > 1000
    svg = (out / "gallery" / "feedforward_forward.svg").read_text(encoding="utf-8")
    assert svg.count("Linear") >= 3  # the MLP's three dense layers, one box each
