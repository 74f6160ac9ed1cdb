"""The graph network exhibit: the normalized adjacency, the graph convolution, the club run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import gallery, viz
from tinygrad_lite.errors import ArgumentError, ShapeError
from tinygrad_lite.testing import gradcheck

pytest.importorskip("networkx", reason="the karate club ships with networkx")
graph = pytest.importorskip("tinygrad_lite.gallery.graph_network")

ROOT = Path(__file__).resolve().parent.parent


def test_normalized_adjacency_of_a_path_of_three_by_hand():
    # 0 - 1 - 2 with self-loops: degrees 2, 3, 2, so entry (i, j) is 1 / sqrt(d_i d_j)
    a_hat = graph.normalized_adjacency([[0, 1, 0], [1, 0, 1], [0, 1, 0]])
    s6 = 1 / np.sqrt(6)
    expected = np.array([[1 / 2, s6, 0], [s6, 1 / 3, s6], [0, s6, 1 / 2]])
    np.testing.assert_allclose(a_hat, expected, rtol=1e-12)


def test_normalized_adjacency_keeps_a_lonely_node_and_reads_weights():
    # node 2 has no edge: its self-loop alone gives it weight 1
    a_hat = graph.normalized_adjacency([[0, 2, 0], [2, 0, 0], [0, 0, 0]])
    np.testing.assert_allclose(a_hat, [[1 / 3, 2 / 3, 0], [2 / 3, 1 / 3, 0], [0, 0, 1]])


def test_normalized_adjacency_of_the_club_is_symmetric_with_top_eigenvalue_one():
    adjacency, faction = graph.karate_club()
    a_hat = graph.normalized_adjacency(adjacency)
    assert adjacency.shape == (34, 34) and adjacency.sum() == 2 * 78
    np.testing.assert_allclose(a_hat, a_hat.T)
    # D^-1/2 (A + I) D^-1/2 is similar to the random-walk matrix: its largest eigenvalue is 1
    assert np.linalg.eigvalsh(a_hat).max() == pytest.approx(1.0)
    assert faction[0] == 0 and faction[33] == 1 and np.bincount(faction).tolist() == [17, 17]


@pytest.mark.parametrize(
    ("bad", "error", "words"),
    [
        (np.zeros((2, 3)), ShapeError, "(2, 3)"),
        (np.zeros(4), ShapeError, "(4,)"),
        ([[0, -1], [-1, 0]], ArgumentError, "-1"),
        ([[0, np.nan], [np.nan, 0]], ArgumentError, ">= 0"),
    ],
)
def test_normalized_adjacency_names_a_bad_matrix(bad, error, words):
    with pytest.raises(error, match="normalized_adjacency") as info:
        graph.normalized_adjacency(bad)
    assert words in str(info.value)


def test_graph_conv_is_a_hat_times_x_times_w_plus_b():
    tl.manual_seed(0)
    layer = graph.GraphConv(3, 2)
    gen = np.random.default_rng(0)
    x = gen.normal(size=(4, 3)).astype(np.float32)
    a_hat = graph.normalized_adjacency(gen.integers(0, 2, size=(4, 4))).astype(np.float32)
    layer.bias.data[:] = [0.5, -1.0]
    out = layer(x, a_hat)
    np.testing.assert_allclose(out.numpy(), a_hat @ x @ layer.weight.data + [0.5, -1.0], rtol=1e-5)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert graph.GraphConv(3, 2, bias=False).bias is None


def test_graph_conv_gradients_match_finite_differences():
    gen = np.random.default_rng(1)
    a_hat = tl.Value(graph.normalized_adjacency([[0, 1, 1], [1, 0, 0], [1, 0, 0]]))
    x = tl.Value(gen.normal(size=(3, 2)))
    w = tl.Value(gen.normal(size=(2, 2)))
    layer = graph.GraphConv(2, 2)

    def through_layer(x, w, b):
        layer.weight, layer.bias = w, b  # the copies gradcheck perturbs
        return layer(x, a_hat).tanh()

    assert gradcheck(through_layer, [x, w, tl.Value(gen.normal(size=2))])


def test_graph_conv_names_bad_shapes():
    layer = graph.GraphConv(3, 2)
    with pytest.raises(ShapeError, match=r"GraphConv: x must have shape \(nodes, 3\)"):
        layer(np.ones((4, 5)), np.eye(4))
    with pytest.raises(ShapeError, match=r"GraphConv: a_hat must have shape \(4, 4\)"):
        layer(np.ones((4, 3)), np.eye(3))
    with pytest.raises(ShapeError, match="GraphConv: out_features=0"):
        graph.GraphConv(3, 0)


def test_gcn_keeps_its_graph_as_a_buffer_and_names_a_bad_one():
    model = graph.GCN(graph.normalized_adjacency(np.ones((3, 3))), 3, 2, 2)
    assert sorted(model.state_dict()) == [
        "a_hat",
        "conv1.bias",
        "conv1.weight",
        "conv2.bias",
        "conv2.weight",
    ]
    assert model(np.eye(3)).shape == (3, 2) and model.embed(np.eye(3)).shape == (3, 2)
    assert not any(p is model.a_hat for p in model.parameters())
    with pytest.raises(ShapeError, match=r"GCN: a_hat must be a square .* \(2, 3\)"):
        graph.GCN(np.ones((2, 3)), 3, 2, 2)


def test_train_semi_supervised_names_bad_labelled_nodes():
    model = graph.GCN(np.eye(3), 3, 2, 2)
    with pytest.raises(ArgumentError, match="labelled"):
        graph.train_semi_supervised(model, np.eye(3), np.array([0, 1, 0]), [5])


def test_accuracy_on_counts_only_the_given_nodes():
    predicted, labels = np.array([1, 1, 0, 0]), np.array([1, 0, 0, 1])
    assert graph.accuracy_on(predicted, labels, np.array([0, 2])) == 1.0
    assert graph.accuracy_on(predicted, labels, np.array([1, 3])) == 0.0


def _run(out, **kw):
    return gallery.run("graph_network", out, **kw)


def _share(text):
    return float(text.rstrip("%")) / 100


def test_quick_run_classifies_the_club_from_its_two_leaders(tmp_path):
    pytest.importorskip("matplotlib")
    exhibit = _run(tmp_path, seed=0)
    figures = {name: ours for name, ours, _ in exhibit.figures}
    accuracy = _share(figures["accuracy on the 32 unlabelled members"])
    assert accuracy >= 0.85
    worst, mean = map(_share, figures["min / mean over seeds 0-4"].split(" / "))
    assert worst >= 0.85 and mean >= worst
    # without the edges, the 32 members the loss never sees are not classified better than chance
    alone = _share(figures["the same network without the graph (A_hat = I)"])
    assert alone <= 0.65 < accuracy
    (picture,) = exhibit.pictures
    assert picture.name == "gallery_graph_network.png" and picture.stat().st_size > 1000
    # the forward graph collapsed by module works on the example input
    model, x = exhibit.model, exhibit.example_input
    drawing = viz.draw_forward(model(x), model=model, collapse=[model.conv1, model.conv2])
    assert "conv1" in drawing.source and "conv2" in drawing.source


def test_same_seed_same_model_and_figure():
    first_model, first, _, first_embedding = graph.fit_club(3, epochs=50)
    second_model, second, _, second_embedding = graph.fit_club(3, epochs=50)
    np.testing.assert_array_equal(first_model.conv1.weight.data, second_model.conv1.weight.data)
    np.testing.assert_array_equal(first_embedding, second_embedding)
    assert first == second
    assert "graph_network" in gallery.EXHIBITS


def test_the_example_program_prints_its_figure(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "examples/gallery/graph_network.py", "--no-plots", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert "accuracy on the 32 unlabelled members" in done.stdout
    assert "python examples/gallery/graph_network.py --full" in done.stdout
    assert not any(tmp_path.iterdir())  # --no-plots writes nothing
