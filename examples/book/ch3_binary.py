"""Chapter 3 of "A Visual Introduction to Deep Learning": is a hotel "hot"? (binary)

Distance and rating go through 3 ReLU neurons into one sigmoid neuron, the probability that
the hotel is in demand; the cost is binary cross-entropy (800 epochs, learning rate 0.08).
Besides accuracy, the confusion matrix, precision, recall and F1 say which mistakes it
makes. A bigger network, 2-5-10-1, fits every training hotel.

    python examples/book/ch3_binary.py [--epochs 800] [--seeds 10] [--out DIR]
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_lite import book
from tinygrad_lite.book import plots
from tinygrad_lite.book.runner import Plotter, arguments


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=800, seeds=10, argv=argv)
    seeds = range(args.seeds)
    small = book.over_seeds(book.ch3_binary, seeds, epochs=args.epochs)
    print(small.report(), end="\n\n")
    best = small.closest()
    print(best.report(), end="\n\n")
    counts = best.details["counts"]
    print("training confusion matrix (rows: actual, columns: predicted)")
    print(f"           hot  not hot\nhot     {counts.tp:>5} {counts.fn:>8}")
    print(f"not hot {counts.fp:>5} {counts.tn:>8}\n")

    bigger = book.over_seeds(book.ch3_binary, seeds, epochs=args.epochs, hidden_sizes=(5, 10))
    print(bigger.report())

    plot = Plotter(args.out, not args.no_plots)
    for name, result in (("small", best), ("bigger", bigger.closest())):
        plot(
            plots.cost_per_epoch,
            f"ch3_{name}_cost.png",
            result.history,
            ylabel="binary cross-entropy",
            title=f"{result.details['network']}: cost per epoch",
        )
        plot(plots.decision_regions, f"ch3_{name}_regions.png", result)
    plot.report()


if __name__ == "__main__":
    main()
