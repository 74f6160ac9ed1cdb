"""The credit-card fraud example: 93% accuracy that catches no fraud at all.

Of 100 transactions 7 are fraud. Answering "not fraud" every time is 93% accurate and
useless. The book's model (confusion matrix TN 90, FP 3, FN 5, TP 2) is less accurate but
finds fraud; precision and recall measure how well.

    python examples/book/fraud_metrics.py [--out DIR]
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_lite import book
from tinygrad_lite.book import plots
from tinygrad_lite.book.runner import Plotter, arguments


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=0, argv=argv)  # nothing is trained: --epochs is ignored
    result = book.fraud_metrics()
    print(result.report(), end="\n\n")
    c = result.details["counts"]
    print("confusion matrix (rows: actual, columns: predicted)")
    print(f"             fraud  not fraud\nfraud      {c.tp:>7} {c.fn:>10}")
    print(f"not fraud  {c.fp:>7} {c.tn:>10}")

    names = ["accuracy", "precision", "recall", "F1"]
    plot = Plotter(args.out, not args.no_plots)
    plot(
        plots.bars,
        "fraud_metrics.png",
        names,
        [result.figure(n).ours for n in names],
        title="The book's fraud model: one number is not enough",
        ylabel="%",
    )
    plot.report()


if __name__ == "__main__":
    main()
