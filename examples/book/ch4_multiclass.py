"""Chapter 4 of "A Visual Introduction to Deep Learning": bronze, silver or gold? (multi-class)

Three output neurons, one per category, turned into probabilities by softmax; the labels
are one-hot rows and the cost is categorical cross-entropy (800 epochs, learning rate
0.08). The small network is 2-3(ReLU)-3, the bigger one 2-5-10-3.

    python examples/book/ch4_multiclass.py [--epochs 800] [--seeds 10] [--out DIR]
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_lite import book
from tinygrad_lite.book import plots
from tinygrad_lite.book.runner import Plotter, arguments
from tinygrad_lite.data import CATEGORIES


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=800, seeds=10, argv=argv)
    seeds = range(args.seeds)
    small = book.over_seeds(book.ch4_multiclass, seeds, epochs=args.epochs)
    print(small.report(), end="\n\n")
    bigger = book.over_seeds(book.ch4_multiclass, seeds, epochs=args.epochs, hidden_sizes=(5, 10))
    print(bigger.report(), end="\n\n")

    best = bigger.closest()
    print(f"training confusion matrix of the bigger network, seed {best.seed}")
    print("(rows: actual, columns: predicted, in the order " + ", ".join(CATEGORIES) + ")")
    print(best.details["confusion"])

    plot = Plotter(args.out, not args.no_plots)
    for name, result in (("small", small.closest()), ("bigger", best)):
        plot(
            plots.cost_per_epoch,
            f"ch4_{name}_cost.png",
            result.history,
            ylabel="categorical cross-entropy",
            title=f"{result.details['network']}: cost per epoch",
        )
        plot(plots.decision_regions, f"ch4_{name}_regions.png", result)
    plot.report()


if __name__ == "__main__":
    main()
