"""The command line: ``graph`` for a slide (parsed safely), ``tour`` for the books' report.

L = relu(a b + c) at a=2, b=-3, c=10 is relu(4) = 4; its gradients are dL/da = b = -3,
dL/db = a = 2, dL/dc = 1 (by hand).
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from test_viz import by_title, number_after, svg_nodes

from tinygrad_lite import cli
from tinygrad_lite.book.runner import Plotter
from tinygrad_lite.cli import tour
from tinygrad_lite.cli.expression import ExpressionError, evaluate

EXPR = "a=2; b=-3; c=10; L=(a*b+c).relu()"
ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "tinygrad_lite", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_evaluate_builds_the_named_graph():
    L = evaluate(EXPR)
    assert (L.name, L.data, L.op) == ("L", 4.0, "relu")
    z = evaluate("i1=1.5; w1=0.8; b=0.1; z=weighted_sum([w1], [i1], b); y=z.leaky_relu(0.1)")
    assert z.data == pytest.approx(0.8 * 1.5 + 0.1)
    inputs = evaluate("i=2; w=3; y=w*i", data=["i"]).parents
    assert [(v.name, v.requires_grad) for v in inputs] == [("w", True), ("i", False)]
    assert evaluate("x=10; y=x*10**400").data == float("inf")  # numbers overflow to inf


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('echo hi')",
        "a=2; a.__class__",
        "a=2; b=a.__class__.__bases__",
        "open('/etc/passwd')",
        "a=2; b=a.backward()",
        "a=2; b=(lambda: a)()",
        "a=2; b=[a for _ in range(3)]",
        "a=2; b=a.data",
        "a='text'",
        "a=2; a=3",
        "import os",
        "b=a*2",
        "a=2; b=a.relu(1, 2)",
        "a=2;;",
        "a=2\n" + "b=" + "(" * 200 + "a" + ")" * 200,
        "x" * 10_000,
    ],
)
def test_anything_but_arithmetic_is_refused(text):
    with pytest.raises(ExpressionError):
        evaluate(text)


def test_graph_command_writes_the_backward_svg(tmp_path):
    out = tmp_path / "backward.svg"
    done = run("graph", EXPR, "--backward", "-o", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    nodes = by_title(svg_nodes(out.read_text(encoding="utf-8")))
    grads = {name: number_after("= ", nodes[name]["lines"]) for name in ("dL", "da", "db", "dc")}
    assert grads == {"dL": 1.0, "da": -3.0, "db": 2.0, "dc": 1.0}


def test_graph_command_marks_data_and_prints_to_stdout(tmp_path):
    done = run("graph", "i=2; w=3; y=w*i", "--data", "i", "--renderer", "wasm", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    nodes = by_title(svg_nodes(done.stdout))
    assert "data" in nodes["i"]["classes"] and "param" in nodes["w"]["classes"]


def test_graph_command_writes_dot_text(tmp_path):
    out = tmp_path / "g.dot"
    assert cli.main(["graph", EXPR, "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8").startswith("digraph")


def test_a_bad_expression_exits_with_a_message(tmp_path):
    done = run("graph", "__import__('os')", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith("error: graph:") and "Traceback" not in done.stderr


def test_the_tour_writes_a_report(tmp_path):
    out = tmp_path / "tour"
    # the books' part only: tests/test_gallery.py tests the gallery's part
    done = run(
        "tour", "--out", str(out), "--epochs", "3", "--seeds", "2", "--no-gallery", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert "[1/14]" in done.stdout and "[14/14] the report" in done.stdout  # progress
    assert "gallery" not in done.stdout
    assert f"open {out / 'index.html'}" in done.stdout
    for name in ("ch1_neuron", "ch2_network"):
        for side in ("forward", "backward"):
            ET.fromstring((out / f"{name}_{side}.svg").read_text(encoding="utf-8"))
    report = (out / "index.html").read_text(encoding="utf-8")
    assert "Chapter 1: linear regression" in report and "Credit-card fraud" in report
    assert "<img src='ch1_neuron_backward.svg'" in report
    assert "<img src='ch1_linear_regression_cost.png'" in report  # matplotlib is installed
    backward = by_title(svg_nodes((out / "ch1_neuron_backward.svg").read_text(encoding="utf-8")))
    assert {"dcost", "derror", "da", "dz", "dw", "db"} == set(backward)
    # every graph opens its stepper page, written beside the report
    for name in ("ch1_neuron", "ch2_network"):
        assert "window.tlStepper" in (out / f"{name}_stepper.html").read_text(encoding="utf-8")
        for side in ("forward", "backward"):
            link = f"<a href='{name}_stepper.html' title='step through it'>"
            assert f"{link}<img src='{name}_{side}.svg'" in report
    assert "<img src='ch2_network_diagram.svg'" in report
    # the network's graphs use the books' names: neuron k's zk and ak, and their gradients
    network = by_title(svg_nodes((out / "ch2_network_backward.svg").read_text(encoding="utf-8")))
    assert {"dz1", "da1", "dz3", "da3", "dw4_3", "db4", "dprice"} <= set(network)
    assert "d(relu)" not in network and "d(weighted_sum)" not in network
    assert "cost: binary cross-entropy" in report
    # chapter 3 runs the seeds that reach the book besides --seeds; Zef's guide has its sections
    assert "Chapter 3: binary classification 2-3(ReLU)-1 (4 seeds)" in report
    assert "<td>every figure of p.170</td>" in report and "over seeds 0, 1, 8, 9" in report
    assert "Baselines: the mean price" in report and "<img src='bias_variance.png'" in report
    assert "A metric of your own" in report and "<img src='asymmetric_cost.png'" in report
    # the worked examples and the books' pictures (tests/test_book_plots.py checks their numbers)
    assert "Weighted sums" in report and "the book uses log base 10" in report
    for picture in (
        "activations",
        "descent_steps",
        "bce_curves",
        "mse_vs_cross_entropy",
        "ch2_plane",
        "ch2_vs_distance",
        "ch2_relu_vs_distance",
        "ch3_cost_and_accuracy",
        "ch4_confusion",
    ):
        assert f"<img src='{picture}.png'" in report and (out / f"{picture}.png").stat().st_size


def test_the_tours_default_run_shows_chapter_3s_figures(tmp_path: Path) -> None:
    # the default --seeds 5 is 0-4; seeds 8 and 9 reach the book's figures too (docs/book.md)
    (task,) = [t for t in tour.TASKS if t.function == "ch3_binary" and t.hidden_sizes is None]
    assert task.seeds(5) == [0, 1, 2, 3, 4, 8, 9]
    run_ = tour._Tour(tmp_path, None, 5, Plotter(tmp_path, enabled=False))
    tour._run_task(run_, task)
    (section,) = run_.sections
    seeds = {row[0]: row[-1] for row in section.rows[1:]}
    assert seeds["train accuracy"] == "1, 8"  # p.170's 92%
    assert seeds["every figure of p.170"] == "1, 8"
    assert seeds["every figure of p.178"] == "9"  # the matrix TP 10, FN 1, FP 2, TN 11: 88%
    assert seeds["test accuracy"] == "1, 8"  # 88% (seed 1: 100%)


# ---------------------------------------------------------------- user mistakes: one line, status 2


def one_line_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run ``main(argv)``: it must return 2 and print exactly one ``error:`` line."""
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("a=2; b=" + "-" * 3000 + "a", "nests too deeply"),
        ("a=2; b=" + "+" * 3000 + "a", "nests too deeply"),
        ("a=2; b=" + "-" * 100 + "a", "nests deeper than 60 levels"),
        ("a=" + "9" * 400 + "; b=a*2", "(400 digits) is too large for a float"),
        ("a=" + "9" * 5000, "characters; at most"),
        ("a=2; b=" + "a" + "*a" * 2000, "nests deeper than 60 levels"),
    ],
)
def test_expressions_that_break_parsers_get_one_line(
    expression: str, named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line_error(["graph", expression], capsys)
    assert named in err and err.startswith("error: graph:")


def test_a_big_number_that_fits_a_float_is_kept() -> None:
    assert evaluate("a=" + "9" * 300 + "; b=a*1").data == pytest.approx(1e300)


def test_output_paths_that_cannot_be_written_get_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    cases = {
        str(tmp_path): "is a folder; give a file name",
        str(tmp_path / "missing" / "g.svg"): "does not exist; create it first",
        str(tmp_path / "missing" / "g.dot"): "does not exist; create it first",
        str(a_file / "g.svg"): "notes.txt is a file, not a folder",
    }
    for output, named in cases.items():
        err = one_line_error(["graph", EXPR, "-o", output], capsys)
        assert "argument -o/--output" in err and named in err
    assert a_file.read_text() == "not a folder"  # nothing was overwritten


@pytest.mark.parametrize("name", ["slide.png", "slide.PDF", "slide"])
def test_graph_refuses_a_suffix_it_cannot_write(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line_error(["graph", EXPR, "-o", str(tmp_path / name)], capsys)
    assert "argument -o/--output" in err and "graph writes .svg or .dot files" in err
    assert not (tmp_path / name).exists()  # no SVG text in a .png


def test_tour_out_that_is_not_a_folder_gets_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a_file = tmp_path / "report"
    a_file.write_text("mine")
    err = one_line_error(["tour", "--out", str(a_file), "--no-plots"], capsys)
    assert "report is a file; give a folder" in err
    err = one_line_error(["tour", "--out", str(a_file / "inside"), "--no-plots"], capsys)
    assert "report is a file, not a folder" in err
    assert a_file.read_text() == "mine"


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["graph", EXPR, "--max-nodes", "0"], "--max-nodes: 0 must be at least 1"),
        (["graph", EXPR, "--max-nodes", "many"], "'many' is not a whole number"),
        (["tour", "--seeds", "-1"], "--seeds: -1 must be at least 1"),
        (["tour", "--epochs", "1.5"], "--epochs: '1.5' is not a whole number"),
        (["graph"], "required: expression"),
        (["draw"], "invalid choice: 'draw'"),
        (["graph", EXPR, "--renderer", "png"], "invalid choice: 'png'"),
    ],
)
def test_bad_options_get_one_line(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    err = one_line_error(argv, capsys)
    assert named in err and "--help" in err


def test_a_write_the_system_refuses_gets_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(self: Path, *args: object, **kwargs: object) -> int:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_text", refuse)
    err = one_line_error(["graph", EXPR, "-o", str(tmp_path / "g.dot")], capsys)
    assert "cannot write" in err and "g.dot: Permission denied" in err
