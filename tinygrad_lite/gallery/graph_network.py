"""A graph convolutional network on Zachary's karate club, from one labelled member per faction.

In 1977 Wayne Zachary recorded who met whom outside the lessons of a university karate club
(34 members, 78 friendships) just before it split in two over a quarrel between the instructor
("Mr. Hi", member 0) and the club's officer (member 33). networkx ships the graph, with each
member's side after the split as the node attribute ``"club"``: nothing is downloaded.

The network is Kipf & Welling's graph convolutional network ("Semi-Supervised Classification
with Graph Convolutional Networks", ICLR 2017). One layer mixes each node's features with its
neighbours' and then applies a shared linear map:

    H' = act(A_hat @ H @ W + b),    A_hat = D^-1/2 (A + I) D^-1/2

where ``A`` is the adjacency matrix, ``I`` adds a self-loop to every node and ``D`` is the
diagonal of the degrees of ``A + I``. Two layers, 34 -> 2 (tanh) -> 2 classes, on identity
features (each member is only "who they are"); the loss sees the two leaders' labels only, and
the figure is the accuracy on the other 32 members. The 2-unit hidden layer is the learned
embedding the picture draws: each member at the point the network put them.

    from tinygrad_lite import gallery
    print(gallery.run("graph_network", "gallery_out").report())
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn, optim
from tinygrad_lite.nn import functional as F
from tinygrad_lite.nn import init

from ..core import ArgumentError, ShapeError, Value
from ..optional import optional_import
from . import Exhibit

LEADERS = (0, 33)  # Mr. Hi (the instructor) and the officer: the only labelled members
CLUBS = ("Mr. Hi", "Officer")  # class 0 and class 1, the values of the "club" attribute
FACTION_COLOURS = ("#1f77b4", "#ff7f0e")


def karate_club() -> tuple[np.ndarray, np.ndarray]:
    """Zachary's karate club: the (34, 34) 0/1 adjacency matrix and each member's faction.

    The faction is 0 for the members who sided with Mr. Hi (member 0) and 1 for those who sided
    with the officer (member 33), read from networkx's node attribute ``"club"``. Needs networkx
    (``pip install networkx``), which ships the graph.
    """
    nx = optional_import("networkx", "gallery.graph_network (the karate club)", "networkx")
    graph = nx.karate_club_graph()
    members = sorted(graph.nodes)
    adjacency = np.zeros((len(members), len(members)))
    for u, v in graph.edges:
        adjacency[u, v] = adjacency[v, u] = 1.0  # the friendships, unweighted and symmetric
    faction = np.array([CLUBS.index(graph.nodes[m]["club"]) for m in members], dtype=np.int64)
    return adjacency, faction


def normalized_adjacency(adjacency: Any) -> np.ndarray:
    """Kipf & Welling's propagation matrix D^-1/2 (A + I) D^-1/2 of an adjacency matrix ``A``.

    ``I`` gives every node a self-loop (a node keeps its own features) and ``D`` is the
    diagonal matrix of the row sums of ``A + I``; scaling by D^-1/2 on both sides keeps the
    features of a well-connected node from growing with its degree. On the path 0 - 1:

    >>> normalized_adjacency([[0, 1], [1, 0]]).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    a = np.asarray(adjacency, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1]:
        raise ShapeError(
            f"normalized_adjacency: the adjacency matrix must be square (N, N), got shape "
            f"{a.shape}; pass one row and one column per node"
        )
    if not np.all(np.isfinite(a)) or np.any(a < 0):
        raise ArgumentError(
            f"normalized_adjacency: edge weights must be finite and >= 0, got the smallest "
            f"{np.nanmin(a)!r} and largest {np.nanmax(a)!r}; pass 0/1 (or positive weights)"
        )
    a_tilde = a + np.eye(len(a))  # (N, N): every node its own neighbour
    degree = a_tilde.sum(axis=1)  # (N,): the diagonal of D, >= 1 thanks to I
    result: np.ndarray = a_tilde / np.sqrt(np.outer(degree, degree))  # a_ij / sqrt(d_i d_j)
    return result


class GraphConv(nn.Module):
    """One graph convolution: ``a_hat @ (x @ weight) + bias``, ``weight`` of shape (in, out).

    ``x`` holds one row of ``in_features`` per node, ``a_hat`` is the (N, N) propagation matrix
    of the graph (``normalized_adjacency``): each node's output is the weighted sum of its own
    and its neighbours' transformed features. The weight follows ``nn.Linear``'s (in, out)
    layout, initialised with Glorot's uniform rule as in Kipf & Welling; the bias starts at 0.

    >>> import numpy as np
    >>> layer = GraphConv(3, 2)
    >>> layer(np.ones((4, 3), dtype=np.float32), np.eye(4, dtype=np.float32)).shape
    (4, 2)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True) -> None:
        for name, n in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ShapeError(f"GraphConv: {name}={n!r} must be a positive whole number")
        self.in_features, self.out_features = int(in_features), int(out_features)
        self.weight = Value(np.empty((self.in_features, self.out_features), dtype=np.float32))
        init.xavier_uniform_(self.weight)
        self.bias = Value(np.zeros(self.out_features, dtype=np.float32)) if bias else None

    def forward(self, x: Any, a_hat: Any) -> Value:
        x = x if isinstance(x, Value) else Value(np.asarray(x), requires_grad=False)
        a = a_hat if isinstance(a_hat, Value) else Value(np.asarray(a_hat), requires_grad=False)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ShapeError(
                f"GraphConv: x must have shape (nodes, {self.in_features}), got {x.shape}; "
                "pass one row of features per node"
            )
        if a.shape != (x.shape[0], x.shape[0]):
            raise ShapeError(
                f"GraphConv: a_hat must have shape ({x.shape[0]}, {x.shape[0]}) for "
                f"{x.shape[0]} nodes, got {a.shape}; pass normalized_adjacency(A) of that graph"
            )
        out = a @ (x @ self.weight)  # (N, out): transform each node, then mix neighbours
        return out if self.bias is None else out + self.bias

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class GCN(nn.Module):
    """Two graph convolutions on one fixed graph: in -> hidden (tanh) -> classes.

    The graph's propagation matrix is kept as the buffer ``a_hat``, so ``model(x)`` takes the
    node features only; ``embed(x)`` returns the hidden layer (the node embedding).
    """

    a_hat: np.ndarray  # (N, N), a buffer: saved with the weights, gets no gradient

    def __init__(self, a_hat: Any, in_features: int, hidden: int, classes: int) -> None:
        a = np.asarray(a_hat, dtype=np.float32)
        if a.ndim != 2 or a.shape[0] != a.shape[1]:
            raise ShapeError(
                f"GCN: a_hat must be a square (N, N) matrix, got shape {a.shape}; "
                "pass normalized_adjacency(A)"
            )
        self.register_buffer("a_hat", a)
        self.conv1 = GraphConv(in_features, hidden)
        self.conv2 = GraphConv(hidden, classes)

    def embed(self, x: Any) -> Value:
        a = Value(self.a_hat, requires_grad=False)
        return self.conv1(x, a).tanh()  # (N, hidden)

    def forward(self, x: Any) -> Value:
        a = Value(self.a_hat, requires_grad=False)
        return self.conv2(self.embed(x), a)  # (N, classes): the logits


def train_semi_supervised(
    model: GCN,
    x: np.ndarray,
    labels: np.ndarray,
    labelled: Any,
    *,
    epochs: int = 200,
    lr: float = 0.01,
    weight_decay: float = 5e-4,
) -> list[float]:
    """Full-batch Adam on the cross-entropy of the ``labelled`` nodes only; the losses.

    Every node takes part in the forward pass (the graph convolutions mix them), but only the
    rows of ``labelled`` enter the loss: that is the semi-supervised setting.
    """
    index = np.asarray(labelled, dtype=np.int64)
    if index.ndim != 1 or len(index) == 0 or index.min() < 0 or index.max() >= len(labels):
        raise ArgumentError(
            f"train_semi_supervised: labelled={labelled!r} must be a non-empty list of node "
            f"numbers in 0..{len(labels) - 1}"
        )
    optimizer = optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    features = Value(np.asarray(x, dtype=np.float32), requires_grad=False)
    losses = []
    for _ in range(epochs):
        loss = F.cross_entropy(model(features)[index], labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def accuracy_on(predicted: np.ndarray, labels: np.ndarray, nodes: np.ndarray) -> float:
    """The share of ``nodes`` whose predicted class is their label.

    >>> accuracy_on(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0]), np.array([1, 2, 3]))
    0.6666666666666666
    """
    return float(np.mean(predicted[nodes] == labels[nodes]))


def fit_club(
    seed: int, *, epochs: int = 200, graph: bool = True
) -> tuple[GCN, float, np.ndarray, np.ndarray]:
    """Train the exhibit's GCN with ``seed``: the model, the accuracy on the 32 unlabelled
    members, the predictions and the 2-D hidden embedding (34, 2). ``graph=False`` trains the
    same network with A_hat = I (every member alone): what the graph adds."""
    adjacency, faction = karate_club()
    n = len(faction)
    a_hat = normalized_adjacency(adjacency) if graph else np.eye(n)
    tl.manual_seed(seed)
    model = GCN(a_hat, n, hidden=2, classes=2)
    x = np.eye(n, dtype=np.float32)  # identity features: a member is who they are
    train_semi_supervised(model, x, faction, list(LEADERS), epochs=epochs)
    with tl.no_grad():
        embedding = model.embed(x).numpy()
        predicted = model(x).numpy().argmax(axis=1)
    others = np.setdiff1d(np.arange(n), LEADERS)
    return model, accuracy_on(predicted, faction, others), predicted, embedding


def run(out: Path, *, full: bool = False, seed: int = 0, plots: bool = True) -> Exhibit:
    """Train the GCN, measure its accuracy on the 32 unlabelled members, draw the embedding."""
    start = time.perf_counter()
    epochs = 200
    model, accuracy, predicted, embedding = fit_club(seed, epochs=epochs)
    seeds = list(range(seed, seed + (20 if full else 5)))
    spread = [accuracy] + [fit_club(s, epochs=epochs)[1] for s in seeds[1:]]
    _, alone, _, _ = fit_club(seed, epochs=epochs, graph=False)
    seconds = time.perf_counter() - start
    pictures = []
    if plots:
        pictures.append(draw_club(out / "gallery_graph_network.png", embedding, predicted, seed))
    adjacency, faction = karate_club()
    return Exhibit(
        architecture="graph network",
        title="two-layer graph convolutional network on Zachary's karate club",
        figures=[
            ("accuracy on the 32 unlabelled members", f"{accuracy:.1%}", ">= 85%"),
            (
                f"min / mean over seeds {seeds[0]}-{seeds[-1]}",
                f"{min(spread):.1%} / {np.mean(spread):.1%}",
                ">= 85%",
            ),
            ("the same network without the graph (A_hat = I)", f"{alone:.1%}", "chance (~50%)"),
        ],
        pictures=pictures,
        book=(
            "Graph networks learn on data whose examples are linked: a node's representation is "
            "computed from its neighbours', so labels spread along the edges. A graph "
            "convolution is a dense layer shared by all nodes, applied after averaging each "
            "node with its neighbours; two of them let two labelled members classify a club."
        ),
        command="python examples/gallery/graph_network.py --full",
        notes=[
            f"34 members, {int(adjacency.sum() // 2)} friendships; identity features; "
            f"34 -> 2 (tanh) -> 2; Adam lr 0.01, weight decay 5e-4, {epochs} full-batch epochs; "
            f"loss on members {LEADERS[0]} and {LEADERS[1]} only",
            f"{len(seeds)} seeds in {'full' if full else 'quick'} mode "
            f"(quick 5, full 20); {seconds:.1f} s",
        ],
        model=model,
        example_input=np.eye(len(faction), dtype=np.float32),  # the graph is the input
    )


def draw_club(path: Path, embedding: np.ndarray, predicted: np.ndarray, seed: int = 0) -> Path:
    """Two panels: the club drawn by a spring layout, and each member at its learned 2-D
    embedding, both with the friendships as lines, coloured by true faction, the two labelled
    leaders as stars and the members the network got wrong circled in red."""
    from ..book.runner import figure, save_figure

    nx = optional_import("networkx", "gallery.graph_network (the karate club)", "networkx")
    adjacency, faction = karate_club()
    layout = nx.spring_layout(nx.karate_club_graph(), seed=seed)
    places = np.array([layout[m] for m in range(len(faction))])
    fig = figure(10.0, 4.6, "gallery.graph_network's picture")
    axes = fig.subplots(1, 2)
    titles = ("the club (spring layout)", "learned 2-D embedding (hidden layer, tanh)")
    for ax, xy, title in zip(axes, (places, embedding), titles):
        for u, v in zip(*np.nonzero(np.triu(adjacency))):
            ax.plot(*xy[[u, v]].T, color="0.8", linewidth=0.7, zorder=1)
        for c, name in enumerate(CLUBS):
            members = np.flatnonzero((faction == c) & ~np.isin(np.arange(len(faction)), LEADERS))
            ax.scatter(*xy[members].T, s=60, color=FACTION_COLOURS[c], label=name, zorder=2)
            leader = LEADERS[c]
            ax.scatter(
                *xy[leader],
                s=260,
                marker="*",
                color=FACTION_COLOURS[c],
                zorder=3,
                edgecolors="black",
                label=f"labelled: member {leader}",
            )
        wrong = np.flatnonzero(predicted != faction)
        ax.scatter(
            *xy[wrong].T,
            s=170,
            facecolors="none",
            edgecolors="red",
            linewidths=1.5,
            zorder=4,
            label="misclassified",
        )
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].legend(loc="best", fontsize=7)
    return save_figure(fig, path)
