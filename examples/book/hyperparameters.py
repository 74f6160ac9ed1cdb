"""Hyperparameters on the hotel data: batch size, learning rate, early stopping, k-fold.

* full-batch, mini-batch and stochastic gradient descent: the same loop, other batch sizes;
* learning rates from too small to too large (the last one diverges);
* early stopping on 6 hotels held out of the training set;
* 4-fold cross-validation choosing between the 2-3-1 and 2-5-10-1 "hot" classifiers.

    python examples/book/hyperparameters.py [--epochs 100] [--out DIR]

``--epochs`` sets the epochs of the batch-size and learning-rate runs; early stopping runs
up to 30 times as many, cross-validation 8 times as many.
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_lite import book
from tinygrad_lite.book import plots
from tinygrad_lite.book.runner import Plotter, arguments


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=100, argv=argv)
    plot = Plotter(args.out, not args.no_plots)

    variants = book.gradient_descent_variants(epochs=args.epochs)
    print(variants.report())
    for label, steps in variants.details["steps_per_epoch"].items():
        seconds = variants.details["seconds"][label]
        print(f"  {label}: {steps} steps per epoch, {seconds:.2f} s")
    plot(
        plots.cost_per_epoch,
        "hp_batch_sizes.png",
        variants.details["histories"],
        names=("mse_usd",),
        ylabel="train MSE (dollars squared)",
        title="Batch size: steps per epoch",
        log=True,
    )

    rates = book.learning_rates(epochs=args.epochs)
    print("\n" + rates.report())
    print(f"  diverged: learning rates {rates.details['diverged']}")
    histories = {f"lr {lr:g}": h for lr, h in rates.details["histories"].items()}
    plot(
        plots.cost_per_epoch,
        "hp_learning_rates.png",
        histories,
        names=("mse_usd",),
        ylabel="train MSE (dollars squared)",
        title="Learning rates",
        log=True,
    )

    stopping = book.early_stopping(max_epochs=30 * args.epochs, patience=args.epochs)
    print("\n" + stopping.report())
    plot(
        plots.cost_per_epoch,
        "hp_early_stopping.png",
        stopping.history,
        ylabel="MSE (standardized price)",
        title="Early stopping: training and validation cost",
        log=True,
        val_label="validation",
    )

    folds = book.k_fold_validation(epochs=8 * args.epochs)
    print("\n" + folds.report())
    plot.report()


if __name__ == "__main__":
    main()
