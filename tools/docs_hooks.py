"""MkDocs hooks (``hooks:`` in mkdocs.yml): the site's figures, drawn while the site is built.

Nothing here is committed as a picture: the graphs are drawn by ``tinygrad_lite.viz`` (SVG;
the ``dot`` program when it is on the PATH, else the WebAssembly Graphviz that pip installs),
the plots by ``tinygrad_lite.book.plots`` after training the books' tasks (a few seconds),
and the backprop stepper pages by ``viz.stepper`` (one self-contained HTML file each, no
network). They are added to the build as files under ``generated/``, so the pages link to
them like any other file and ``mkdocs build --strict`` checks those links.

The benchmark page's plot and summary table are made from the results that
``docs/benchmarks.md`` quotes (its "Results" section), so the table, the plot and the
quoted output cannot disagree.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

GENERATED = "generated"
BENCH_TABLE = "<!-- benchmark-summary -->"
_log: list[str] = []


# ---------------------------------------------------------------- the figures


def _neuron() -> Any:
    """The book's neuron on one hotel (tinygrad_lite.book.neuron), after backward."""
    from tinygrad_lite import book

    cost = book.neuron([1.5, -0.5], y=2.0, w=[0.8, -0.4], b=0.1, activation="relu")
    cost.backward()
    return cost


def _hotel_net() -> tuple[Any, Any]:
    """Chapter 2's 2-3-1 network on one hotel (standardized distance and rating), squared
    error: nn.scalar's MLP, so every weight is a number of its own in the graph."""
    import tinygrad_lite as tl
    from tinygrad_lite.nn.scalar import MLP

    random.seed(3)  # nn.scalar draws its weights from Python's random, as micrograd does
    net = MLP(2, [3, 1])
    distance = tl.Value(-0.9, requires_grad=False, name="distance")
    rating = tl.Value(1.2, requires_grad=False, name="rating")
    price = net([distance, rating])
    y = tl.Value(0.3, requires_grad=False, name="y")
    error = price - y
    error.name = "error"
    cost = error**2
    cost.name = "cost"
    return cost, net


def _graphs() -> dict[str, bytes]:
    from tinygrad_lite import viz

    out: dict[str, bytes] = {}
    cost = _neuron()
    out["neuron_forward.svg"] = viz.render_svg(viz.draw_forward(cost)).encode()
    out["neuron_backward.svg"] = viz.render_svg(viz.draw_backward(cost)).encode()
    page = viz.stepper(cost, title="the book's neuron on one hotel")
    out["stepper_neuron.html"] = page.html.encode()

    cost, net = _hotel_net()
    cost.backward()
    out["hotel_net.svg"] = viz.render_svg(
        viz.draw_network(net, inputs=["distance", "rating"])
    ).encode()
    out["hotel_net_backward.svg"] = viz.render_svg(viz.draw_backward(cost, model=net)).encode()
    cost, net = _hotel_net()  # the stepper shows backward from the start: a fresh graph
    page = viz.stepper(cost, model=net, title="the book's 2-3-1 network on one hotel")
    out["stepper_hotel_net.html"] = page.html.encode()

    model, scores = _small_cnn()
    graph = viz.draw_forward(scores, model=model, collapse=model.children())
    out["cnn_forward.svg"] = viz.render_svg(graph).encode()
    return out


def _small_cnn() -> tuple[Any, Any]:
    """learn_bigger_picture.md's CNN on two 8x8 images."""
    import numpy as np

    import tinygrad_lite as tl
    from tinygrad_lite import nn

    tl.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4 * 4 * 4, 10),
    )
    images = np.random.default_rng(0).random((2, 1, 8, 8)).astype(np.float32)
    return model, model(tl.Value(images, requires_grad=False))


def _plots(folder: Path) -> dict[str, bytes]:
    from tinygrad_lite import book
    from tinygrad_lite.book import plots

    jobs: dict[str, Callable[[Path], Any]] = {
        "activation_curves.png": plots.activation_curves,
        "descent_steps.png": plots.descent_steps,
        "bce_curves.png": plots.bce_curves,
        "mse_vs_cross_entropy.png": plots.mse_vs_cross_entropy,
    }
    ch1 = book.ch1_linear_regression()
    ch2 = book.ch2_relu_hidden_layer(seed=5)
    ch3 = book.ch3_binary(seed=8)
    ch4 = book.ch4_multiclass(seed=0)
    stop = book.early_stopping()
    # the small study of learn_performance.md, whose numbers the tests check
    bv = book.bias_variance(hidden_sizes=(1, 3, 16), bootstraps=10, epochs=300)
    jobs.update(
        {
            "ch1_regression_line.png": lambda p: plots.regression_line(ch1, p),
            "ch1_cost.png": lambda p: plots.cost_per_epoch(ch1.history, p, title=ch1.task),
            "ch2_predictions_vs_distance.png": lambda p: plots.predictions_vs_distance(ch2, p),
            "ch3_cost_and_accuracy.png": lambda p: plots.cost_and_metric(ch3.history, p),
            "ch3_decision_regions.png": lambda p: plots.decision_regions(ch3, p),
            "ch4_confusion_matrix.png": lambda p: plots.confusion_matrix(ch4, p),
            "early_stopping.png": lambda p: plots.cost_per_epoch(
                stop.history, p, title=stop.task, val_label="validation"
            ),
            "bias_variance.png": lambda p: plots.bias_variance(bv, p),
        }
    )
    out = {}
    for name, draw in jobs.items():
        path = folder / name
        draw(path)
        out[name] = path.read_bytes()
    return out


# ---------------------------------------------------------------- the benchmark results


def benchmark_rows(markdown: str) -> list[dict[str, str]]:
    """The timed rows of the results table quoted in benchmarks.md (an indented block)."""
    results = re.split(r"^## Results$", markdown, maxsplit=1, flags=re.M)[-1]
    header: list[str] | None = None
    rows = []
    for line in results.splitlines():
        line = line.strip()
        if not line.startswith("|"):
            if header is not None and rows:
                break  # the first table only: the memory table has other columns
            continue
        cells = [c.strip() for c in line.strip("|").split("|")]
        if header is None:
            header = cells
        elif not set("".join(cells)) <= set("-: "):
            rows.append(dict(zip(header, cells)))
    return rows


def _median(row: dict[str, str]) -> tuple[float, str]:
    number, unit = row["median"].split(" ", 1)
    return float(number.replace(",", "")), unit


def _short(workload: str) -> str:
    code, rest = workload.split(" ", 1)
    size = re.search(r"([\d,]+) additions$", rest)
    return f"{code} ({size.group(1)})" if code == "W5" and size else code


def benchmark_plot(rows: list[dict[str, str]], path: Path) -> None:
    """One panel per workload: each engine's median time, tinygrad_lite highlighted."""
    from matplotlib.figure import Figure

    workloads: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        workloads.setdefault(row["workload"], []).append(row)
    fig = Figure(figsize=(11, 1.7 * ((len(workloads) + 1) // 2) + 0.6), layout="constrained")
    axes = fig.subplots((len(workloads) + 1) // 2, 2, squeeze=False).ravel()
    for ax, (workload, engines) in zip(axes, workloads.items()):
        names = [e["engine"] for e in engines]
        values = [_median(e)[0] for e in engines]
        colors = ["C1" if n.startswith("tinygrad_lite") else "C0" for n in names]
        ax.barh(names, values, color=colors)
        ax.invert_yaxis()
        ax.set_title(workload, fontsize=9, loc="left")
        ax.set_xlabel(f"median, {_median(engines[0])[1]} (shorter is faster)", fontsize=8)
        ax.tick_params(labelsize=8)
    for ax in axes[len(workloads) :]:
        ax.set_visible(False)
    fig.savefig(path, dpi=100)


def benchmark_summary(rows: list[dict[str, str]]) -> str:
    """A markdown table: per workload, tinygrad_lite's median beside its competitors'."""
    lines = [
        "| workload | engine | median | tinygrad_lite / competitor | target | status |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {_short(row['workload'])} | {row['engine']} | {row['median']} "
            f"| {row['tinygrad_lite / competitor']} | {row['target']} | {row['status']} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- the hooks


def on_files(files: Files, config: Any) -> Files:
    """Draw everything once per build and add it to the site as ``generated/NAME``."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    start = time.perf_counter()
    made = _graphs()
    with tempfile.TemporaryDirectory() as tmp:
        made.update(_plots(Path(tmp)))
        bench = Path(config["docs_dir"]) / "benchmarks.md"
        rows = benchmark_rows(bench.read_text(encoding="utf-8"))
        if not rows:
            raise RuntimeError("docs/benchmarks.md: no results table under '## Results'")
        benchmark_plot(rows, Path(tmp) / "benchmarks.png")
        made["benchmarks.png"] = (Path(tmp) / "benchmarks.png").read_bytes()
    for name, content in made.items():
        files.append(File.generated(config, f"{GENERATED}/{name}", content=content))
    _log.append(f"docs hooks: {len(made)} figures in {time.perf_counter() - start:.1f} s")
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """The benchmark page's summary table, from the results it quotes."""
    if BENCH_TABLE in markdown:
        markdown = markdown.replace(BENCH_TABLE, benchmark_summary(benchmark_rows(markdown)))
    return markdown


def on_post_build(config: Any) -> None:
    for line in _log:
        print(line)
    _log.clear()
