"""``tinygrad-lite tour``: train the books' hotel tasks and write a report with their pictures.

    tinygrad-lite tour --out tour_out
    tinygrad-lite tour --out tour_out --only-gallery --full

Each task of ``TASKS`` runs a function of ``tinygrad_lite.book`` (over several seeds when its
outcome depends on the initial weights) and prints ours beside the book's figures; the tour
draws the forward and backward graphs of the chapter-1 neuron and the chapter-2 network, saves
the plots of ``tinygrad_lite.book.plots``, and writes ``index.html`` with
``tinygrad_lite.report``.

After the books' tasks comes the gallery: one step per module of ``gallery.EXHIBITS``, each
trained in its quick size (``--full``: its full size), shown in a section of its own (its
figures beside their targets, its pictures, the books' words, the command that reproduces
it, its forward graph collapsed by module) and linked from the index at the top of the
report. ``--no-gallery`` skips it, ``--only-gallery`` runs it alone.

A seeded task runs seeds 0 to N-1 (``--seeds N``, 5 by default) and the seeds its
``book_seeds`` name: those docs/book.md lists as reaching the book's figures (chapter 3's
seeds 8 and 9), so the default run shows the book's figures wherever a seed reaches them.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import Value, book, gallery, viz
from ..book import curves, plots
from ..book.runner import Plotter
from ..data import hotels
from ..nn.scalar import MLP
from ..optional import MissingDependencyError, optional_import
from ..report import Section, write_html


@dataclass
class _Tour:
    out: Path
    epochs: int | None
    seeds: int
    plotter: Plotter
    sections: list[Section] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    steps: int = 0
    done: int = 0
    results: dict[str, Any] = field(default_factory=dict)  # slug -> the task's result
    index: list[tuple[str, str]] = field(default_factory=list)  # the report's links: text, anchor

    @contextmanager
    def step(self, label: str) -> Iterator[None]:
        self.done += 1
        print(f"[{self.done}/{self.steps}] {label} ...", flush=True)
        start = time.perf_counter()
        yield
        print(f"      done in {time.perf_counter() - start:.1f} s", flush=True)

    def draw(self, name: str, graph: viz.Graph, section: Section, link: str = "") -> None:
        """Render ``graph`` beside the report; ``link``: the page the picture opens."""
        path = self.out / f"{name}.svg"
        viz.render_svg(graph, path)
        self.written.append(path)
        section.images.append(self.relative(path))
        if link:
            section.links[path.name] = link

    def relative(self, path: Path) -> str:
        """``path`` as the report links it: relative to the report's folder."""
        return Path(os.path.relpath(path, self.out)).as_posix()

    def stepper(self, name: str, page: viz.Stepper) -> str:
        """Save a stepper page beside the report; its file name, for links."""
        path = page.save(self.out / f"{name}_stepper.html")
        self.written.append(path)
        return path.name


@dataclass(frozen=True)
class _Task:
    """One of the books' tasks, as the tour runs it."""

    label: str  # what the progress line says
    function: str  # its name in tinygrad_lite.book
    picture: str | None  # a plot of tinygrad_lite.book.plots, beside the cost per epoch
    seeded: bool = False  # the outcome depends on the initial weights: run several seeds
    graphs: str | None = None  # "neuron" or "network": draw its forward and backward graphs
    hidden_sizes: tuple[int, ...] | None = None
    cost: str = "mean squared error"  # the loss the cost plot shows, as its axis says it
    book_seeds: tuple[int, ...] = ()  # seeds that reach the book's figures (docs/book.md)

    def seeds(self, first: int) -> list[int]:
        """Seeds 0 .. first-1, and the ones known to reach the book's figures: so the tour's
        default run shows the book's figures wherever some seed reaches them."""
        return sorted({*range(first), *self.book_seeds}) if self.seeded else [0]


MSE = "mean squared error (standardized price)"
BCE = "binary cross-entropy"
CCE = "categorical cross-entropy"
TASKS = (
    _Task("chapter 1: linear regression, the neuron", "ch1_linear_regression", "regression_line",
          graphs="neuron", cost=MSE),
    _Task("chapter 2: linear hidden layer", "ch2_linear_hidden_layer", "predictions_vs_actual",
          cost=MSE),
    _Task("chapter 2: ReLU hidden layer, the network", "ch2_relu_hidden_layer",
          "predictions_vs_actual", seeded=True, graphs="network", cost=MSE),
    _Task("chapter 3: binary classification", "ch3_binary", "decision_regions", seeded=True,
          cost=BCE, book_seeds=(8, 9)),  # p.170's 92%: seeds 1, 8; p.178's matrix: seed 9
    _Task("chapter 3: the bigger network", "ch3_binary", "decision_regions", seeded=True,
          hidden_sizes=(5, 10), cost=BCE),
    _Task("chapter 4: multi-class classification", "ch4_multiclass", "decision_regions",
          seeded=True, cost=CCE),
    _Task("chapter 4: the bigger network", "ch4_multiclass", "decision_regions", seeded=True,
          hidden_sizes=(5, 10), cost=CCE),
)  # fmt: skip
STANDARDIZED = (
    "inputs are standardized with the training set's mean and standard deviation (and, for "
    "regression, the price too), as in the book; the cost per epoch is in those units"
)


def run(args: argparse.Namespace) -> int:
    """Train every task of ``TASKS``, measure the fraud example, train the gallery's exhibits
    and write the report."""
    plotter = Plotter(args.out, enabled=not args.no_plots, indent="      ")
    tour = _Tour(args.out, args.epochs, max(1, args.seeds), plotter)
    tour.out.mkdir(parents=True, exist_ok=True)
    books = not args.only_gallery
    exhibits = () if args.no_gallery else gallery.EXHIBITS
    # worked examples, the tasks, pictures, fraud, Zef's guide; the gallery; the report
    tour.steps = (len(TASKS) + 3 + len(ZEF) if books else 0) + len(exhibits) + 1
    if books:
        _books(tour)
    if exhibits:
        _gallery(tour, exhibits, full=args.full)
    with tour.step("the report"):
        seeds = _seed_list(list(range(tour.seeds)))
        settings = (
            f"epochs: {tour.epochs or 'as in the book'}; seeds: {seeds}, and for a task the "
            "seeds docs/book.md names as reaching the book's figures"
            if books
            else "the gallery only (tinygrad-lite tour --only-gallery)"
        )
        index = write_html(tour.out / "index.html", tour.sections, settings, tour.index)
        tour.written.append(index)
    print(f"\nwrote {len(tour.written)} files in {tour.out}/:")
    for path in tour.written:
        print(f"  {path}")
    print(f"open {index} to read the report")
    return 0


def _books(tour: _Tour) -> None:
    """The books' part of the tour: worked examples, tasks, pictures, fraud, Zef's guide."""
    with tour.step("the books' worked examples"):
        _worked_examples(tour)
    for task in TASKS:
        with tour.step(task.label):
            _run_task(tour, task)
    with tour.step("the books' pictures"):
        _book_pictures(tour)
    with tour.step("credit-card fraud: accuracy, precision, recall"):
        result = book.fraud_metrics()
        _print_report(result.report())
        tour.sections.append(Section(result.task, _result_rows(result)))
    for label, run_zef in ZEF:
        with tour.step(label):
            run_zef(tour)


def _run_task(tour: _Tour, task: _Task) -> None:
    fn = getattr(book, task.function)
    kwargs: dict[str, Any] = {}
    if tour.epochs is not None:
        kwargs["epochs"] = tour.epochs
    if task.hidden_sizes is not None:
        kwargs["hidden_sizes"] = task.hidden_sizes
    seeds = task.seeds(tour.seeds)
    if len(seeds) > 1:
        spread = book.over_seeds(fn, seeds, **kwargs)
        result = spread.closest()
        section = Section(f"{result.task} ({len(seeds)} seeds)", _spread_rows(spread))
        section.notes.append(
            "depends on the initial weights: min, median and max over seeds "
            f"{_seed_list(seeds)}; the pictures show seed {result.seed}, the one closest to the "
            "book"
        )
        _print_report(spread.report())
    else:
        result = fn(**kwargs)
        section = Section(result.task, _result_rows(result))
        _print_report(result.report())
    slug = task.function + "".join(f"_{n}" for n in task.hidden_sizes or ())
    tour.results[slug] = result
    if task.graphs == "neuron":
        _neuron_graphs(tour, result, section)
    elif task.graphs == "network":
        _network_graphs(tour, result, section)
    if task.function == "ch4_multiclass":
        section.notes += _category_note(result)
    if task.picture is not None:
        _plot(tour, section, task.picture, f"{slug}_picture.png", result)
    if result.history is not None:
        section.notes.append(f"cost: {task.cost}; {STANDARDIZED}")
        title = f"{result.task.split(' (')[0]}: cost per epoch"
        _plot(tour, section, "cost_per_epoch", f"{slug}_cost.png", result.history,
              title=title, ylabel=task.cost)  # fmt: skip
    tour.sections.append(section)


def _print_report(text: str) -> None:
    print("      " + text.replace("\n", "\n      "), flush=True)


def _plot(tour: _Tour, section: Section, plot: str, name: str, arg: Any, **kwargs: Any) -> None:
    """Save ``tinygrad_lite.book.plots.<plot>(arg, **kwargs)`` and show it in ``section``."""
    path = tour.plotter(getattr(plots, plot), name, arg, **kwargs)
    if path is not None:
        tour.written.append(path)
        section.images.append(path.name)


def _result_rows(result: Any) -> list[list[str]]:
    rows = [["figure", "ours", "book", ""]]
    for f in result.figures:
        rows.append([f.name, _cell(f, f.ours), _cell(f, f.book), f.verdict()])
    return rows


def _spread_rows(spread: Any) -> list[list[str]]:
    rows = [["figure", "min", "median", "max", "book", "seeds reaching the book"]]
    for f in spread.results[0].figures:
        v = spread.values(f.name)
        stats = [_cell(f, x) for x in (v.min(), float(np.median(v)), v.max())]
        seeds = spread.seeds_reaching(f.name) if f.book is not None else []
        rows.append([f.name, *stats, _cell(f, f.book), ", ".join(map(str, seeds)) or "-"])
    for page in spread.results[0].pages():  # the book's figures that one run can't all give
        seeds = spread.seeds_reaching_page(page)
        rows.append([f"every figure of {page}", "", "", "", "", ", ".join(map(str, seeds)) or "-"])
    return rows


def _seed_list(seeds: list[int]) -> str:
    """``0-4, 8, 9``: runs of consecutive seeds as ranges."""
    runs: list[list[int]] = []
    for s in seeds:
        if runs and s == runs[-1][-1] + 1:
            runs[-1].append(s)
        else:
            runs.append([s])
    return ", ".join(f"{r[0]}-{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs)


def _cell(figure: Any, x: float | None) -> str:
    """A number as the book's tables print it (its decimals and unit); '-' for none."""
    return "-" if x is None else str(figure._fmt(x))  # book.Figure's one formatting rule


# ---------------------------------------------------------------- the tour's graphs


def _category_note(result: Any) -> list[str]:
    """Why chapter 4's figures may be missed: the shipped ``category`` column, checked
    against the book's own statement about hotels 21-25."""
    book_says = ["silver", "gold", "silver", "gold", "bronze"]
    table = hotels()
    shipped = [str(table.category[list(table.hotel).index(h)]) for h in range(21, 26)]
    if shipped == book_says:
        return []
    return [
        "why the book's figures are missed here: the book says hotels 21-25 are "
        f"{', '.join(book_says)}, but the shipped table's category column says "
        f"{', '.join(shipped)}: it is the column as the book's text extraction lists it, one "
        "row out of step, so the categories do not follow the hotels' distance and rating, and "
        "no model we tried gets above 38% on the test set with it (docs/book.md, chapter 4)"
    ]


def _neuron_graphs(tour: _Tour, result: Any, section: Section) -> None:
    """The chapter-1 neuron with the weights training found, on the first training hotel."""
    data, linear = result.details["data"], result.model.layers[0]
    i, y = float(data.X_train[0, 0]), float(data.y_train[0, 0])
    w, b = float(linear.weight.data[0, 0]), float(linear.bias.data[0])
    section.notes.append(
        "the graphs: the trained neuron on the first training hotel (i: its standardized "
        "distance, y: its standardized price)"
    )
    cost = book.neuron(i, y, w, b)
    page = tour.stepper("ch1_neuron", viz.stepper(cost, title="chapter 1: the book's neuron"))
    cost.backward()
    tour.draw("ch1_neuron_forward", viz.draw_forward(cost), section, page)
    tour.draw("ch1_neuron_backward", viz.draw_backward(cost), section, page)
    section.notes.append(
        f"click a graph (or open {page}) to step through this backward pass one node at a time"
    )


def _network_graphs(tour: _Tour, result: Any, section: Section) -> None:
    """The chapter-2 network on the first training hotel, one box per weight, by neuron."""
    data = result.details["data"]
    linears = [m for m in result.model.layers if hasattr(m, "weight")]
    net = MLP(linears[0].weight.shape[0], [m.weight.shape[1] for m in linears])
    for layer, linear in zip(net.layers, linears):
        for k, neuron in enumerate(layer.neurons):
            for j, wj in enumerate(neuron.w):
                wj.data = float(linear.weight.data[j, k])
            neuron.b.data = float(linear.bias.data[k])
    inputs = [
        Value(float(x), requires_grad=False, name=name)
        for x, name in zip(data.X_train[0], result.details["features"])
    ]
    price = net(inputs)
    price.name = "price"
    target = Value(float(data.y_train[0, 0]), requires_grad=False, name="y")
    error = price - target
    error.name = "error"
    cost = error**2
    cost.name = "cost"
    title = "chapter 2: the 2-3-1 network on one hotel"
    page = tour.stepper("ch2_network", viz.stepper(cost, model=net, title=title))
    cost.backward()
    features = list(result.details["features"])
    tour.draw("ch2_network_diagram", viz.draw_network(net, inputs=features), section, page)
    tour.draw("ch2_network_forward", viz.draw_forward(cost, model=net, frames=False), section, page)
    tour.draw(
        "ch2_network_backward", viz.draw_backward(cost, model=net, frames=False), section, page
    )
    section.notes.append(
        "the graphs: the trained network on the first training hotel; neuron k's weighted sum "
        "is zk and its activation ak (the output neuron's z4 is the price), its weights wk_1, "
        f"wk_2 ... and bias bk. Click a graph (or open {page}) to step through the backward "
        "pass one node at a time; hover over a link of the network diagram for its weight"
    )


# ---------------------------------------------------------------- Zef's guide


BIAS_VARIANCE = dict(hidden_sizes=(1, 3, 16), bootstraps=10, epochs=300)  # a few seconds


def _reported(result: Any, note: str) -> Section:
    """Print a Zef's-guide result's report; its section of the page, with ``note``."""
    _print_report(result.report())
    section = Section(result.task, _result_rows(result))
    section.notes.append(note)
    return section


def _baselines(tour: _Tour) -> None:
    result = book.regression_baselines(**_epochs(tour))
    section = _reported(
        result,
        "Zef's guide: a network is worth its training only if it beats what needs none: the "
        "training set's mean price, and a least-squares line through the distance (MAE and "
        "RMSE in dollars)",
    )
    tour.sections.append(section)


def _bias_variance(tour: _Tour) -> None:
    kwargs: dict[str, Any] = dict(BIAS_VARIANCE)
    kwargs.update(_epochs(tour))
    result = book.bias_variance(**kwargs)
    section = _reported(
        result,
        f"the same 2-h(ReLU)-1 network trained on {kwargs['bootstraps']} bootstrap samples of "
        f"the training hotels ({kwargs['epochs']} epochs, a small version of "
        "book.bias_variance()); on the test hotels, squared bias + variance = the runs' mean "
        "test MSE, dollars squared",
    )
    _plot(tour, section, "bias_variance", "bias_variance.png", result)
    tour.sections.append(section)


def _asymmetric(tour: _Tour) -> None:
    result = book.asymmetric_cost(**_epochs(tour))
    section = _reported(
        result,
        "a metric of your own: book.underpricing_error(y_true, y_pred) counts a price "
        "predicted too low twice; fit(metrics=[...]) records it every epoch, and shifting "
        "the predictions up by the 2/3 quantile of the training residuals lowers it",
    )
    names = ("underpricing_error", "val_underpricing_error")
    title, ylabel = "underpricing error per epoch", "underpricing error (standardized price)"
    _plot(tour, section, "cost_per_epoch", "asymmetric_cost.png", result.history,
          names=names, title=title, ylabel=ylabel)  # fmt: skip
    tour.sections.append(section)


def _epochs(tour: _Tour) -> dict[str, Any]:
    return {} if tour.epochs is None else {"epochs": tour.epochs}


ZEF = (
    ("Zef's guide: baselines for the price", _baselines),
    ("Zef's guide: bias and variance", _bias_variance),
    ("Zef's guide: a metric of your own", _asymmetric),
)
# ---------------------------------------------------------------- worked examples, pictures


def _worked_examples(tour: _Tour) -> None:
    """The small examples the book works by hand, computed with the engine: one section each;
    the first weighted sum is drawn too, forward and backward."""
    sums = book.weighted_sums()
    examples = (sums, book.activation_table(), book.softmax_example())
    for example in (*examples, book.cross_entropy_examples()):
        _print_report(example.report())
        section = Section(example.title, example.table_rows(), notes=example.notes)
        tour.sections.append(section)
        if example is sums:
            z = sums.values["z"][0]
            z.backward()
            tour.draw("weighted_sum_forward", viz.draw_forward(z), section)
            tour.draw("weighted_sum_backward", viz.draw_backward(z), section)
            section.notes.append(
                "the graphs: the first neuron's weighted sum, one node of the engine, and its "
                "backward pass: dz/dw1 = i1 = 3, dz/dw2 = i2 = 2, dz/db = 1"
            )


def _book_pictures(tour: _Tour) -> None:
    """The books' pictures of functions and of the trained tasks, in one section."""
    section = Section("The books' pictures")
    section.notes.append(
        "the activations; chapter 1's cost against one weight (the U-curve, bias fixed at its "
        "best value) with gradient-descent steps computed by backward() for a learning rate "
        "too small, right and too big; binary cross-entropy's two branches; a sigmoid neuron's "
        "cost against one weight, mean squared error (not convex) beside cross-entropy "
        "(convex); chapter 2's linear network as a plane, its predictions and the ReLU "
        "network's against distance; chapter 3's cost and accuracy per epoch; chapter 4's "
        "confusion matrix on the test set"
    )
    for plot, name in (
        ("activation_curves", "activations"),
        ("descent_steps", "descent_steps"),
        ("bce_curves", "bce_curves"),
        ("mse_vs_cross_entropy", "mse_vs_cross_entropy"),
    ):
        _picture(tour, section, plot, f"{name}.png")
    ch2, ch2_relu, ch3, ch4 = (
        tour.results.get(k)
        for k in (
            "ch2_linear_hidden_layer",
            "ch2_relu_hidden_layer",
            "ch3_binary",
            "ch4_multiclass",
        )
    )
    if ch2 is not None:
        _picture(tour, section, "prediction_plane", "ch2_plane.png", ch2)
        _picture(tour, section, "predictions_vs_distance", "ch2_vs_distance.png", ch2)
    if ch2_relu is not None:  # with ReLU the predictions can bend with distance
        _picture(tour, section, "predictions_vs_distance", "ch2_relu_vs_distance.png", ch2_relu)
    if ch3 is not None and ch3.history is not None:
        title = f"{ch3.task} (seed {ch3.seed})"
        name = "ch3_cost_and_accuracy.png"
        _picture(tour, section, "cost_and_metric", name, ch3.history, title=title, cost_label=BCE)
    if ch4 is not None:
        counts = curves.confusion_counts(ch4)
        section.notes.append(
            f"chapter 4's confusion matrix (seed {ch4.seed}): {int(np.trace(counts))} of "
            f"{int(counts.sum())} test hotels on the diagonal"
        )
        _picture(tour, section, "confusion_matrix", "ch4_confusion.png", ch4)
    tour.sections.append(section)


def _picture(
    tour: _Tour, section: Section, plot: str, name: str, *args: Any, **kwargs: Any
) -> None:
    """Save ``tinygrad_lite.book.plots.<plot>(*args, **kwargs)`` and show it in ``section``."""
    path = tour.plotter(getattr(plots, plot), name, *args, **kwargs)
    if path is not None:
        tour.written.append(path)
        section.images.append(path.name)


# ---------------------------------------------------------------- the gallery

GALLERY_FOLDER = "gallery"  # inside --out: the exhibits' pictures and forward graphs


def _gallery(tour: _Tour, names: Sequence[str], full: bool) -> None:
    """One step and one section per exhibit of ``names`` (modules of tinygrad_lite.gallery),
    after a section that lists them all with their figures."""
    summary = Section(
        "Gallery: every architecture the books name, trained on this engine",
        [["architecture", "figure", "ours", "target", "seconds"]],
        anchor="gallery",
    )
    size = (
        "full-size runs (tinygrad-lite tour --full)"
        if full
        else "quick runs, trimmed so that the tour stays short (tinygrad-lite tour --full, or "
        "each section's command, runs them at full size)"
    )
    summary.notes.append(
        f"{size}; each section shows the figure beside its target, the picture, what the books "
        "say about the architecture, the command that reproduces it and its forward graph, "
        "one box per module"
    )
    tour.sections.append(summary)
    tour.index.append((summary.title, summary.anchor))
    plots = tour.plotter.enabled and _matplotlib_installed()
    for name in names:
        with tour.step(f"gallery: {name}"):
            start = time.perf_counter()
            section = _exhibit(tour, name, full, plots)
            seconds = time.perf_counter() - start
        tour.sections.append(section)
        tour.index.append((section.title, section.anchor))
        figures = section.rows[1:] or [["-", "-", "-"]]
        for k, (figure, ours, target) in enumerate(figures):
            first = section.title.split(":")[0] if k == 0 else ""
            summary.rows.append([first, figure, ours, target, f"{seconds:.1f}" if k == 0 else ""])


def _exhibit(tour: _Tour, name: str, full: bool, plots: bool) -> Section:
    """Train the exhibit ``name``; its section: figures, pictures, the books' words, the
    command and the forward graph collapsed by module."""
    folder = tour.out / GALLERY_FOLDER
    try:
        exhibit = gallery.run(name, folder, full=full, seed=0, plots=plots)
    except MissingDependencyError as e:  # an optional package the exhibit needs
        print(f"      skipped: {e}", flush=True)
        return Section(f"{name}: skipped", notes=[str(e)], anchor=f"gallery-{name}")
    _print_report(exhibit.report())
    section = Section(
        f"{exhibit.architecture}: {exhibit.title}",
        [["figure", "ours", "target"], *[list(f) for f in exhibit.figures]],
        anchor=f"gallery-{name}",
    )
    section.notes.append(f"what the books say: {exhibit.book}")
    section.notes += exhibit.notes
    section.notes.append(f"reproduce it: {exhibit.command}")
    for picture in exhibit.pictures:
        tour.written.append(Path(picture))
        section.images.append(tour.relative(Path(picture)))
    model, example = exhibit.model, exhibit.example_input
    output = None if model is None or example is None else _first_value(model(example))
    if output is not None:
        output.name = "output"
        graph = viz.draw_forward(output, model=model, collapse=model.children() or [model])
        tour.draw(f"{GALLERY_FOLDER}/{name}_forward", graph, section)
        section.notes.append(
            "the graph: the trained model's forward pass on a small input, one box per module "
            "(its parameters and the range of the values it made)"
        )
    return section


def _first_value(output: Any) -> Value | None:
    """A model's output, or the first Value of a tuple of outputs (e.g. a VAE's)."""
    outputs = output if isinstance(output, (tuple, list)) else (output,)
    return next((v for v in outputs if isinstance(v, Value)), None)


def _matplotlib_installed() -> bool:
    try:
        optional_import("matplotlib", "the gallery's pictures", "matplotlib")
    except MissingDependencyError as e:
        print(f"      (no pictures: {e})", flush=True)
        return False
    return True
