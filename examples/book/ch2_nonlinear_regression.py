"""Chapter 2 of "A Visual Introduction to Deep Learning": a hidden layer, linear then ReLU.

Distance and rating predict the price through a hidden layer of 3 neurons (2-3-1), 800
epochs of full-batch gradient descent at learning rate 0.08. With a linear hidden layer the
network can only draw a plane (train MSE 923.8, the least-squares optimum); with ReLU it
bends, and the result depends on the initial weights, so it runs over several seeds.

    python examples/book/ch2_nonlinear_regression.py [--epochs 800] [--seeds 10] [--out DIR]
"""

from __future__ import annotations

from collections.abc import Sequence

from tinygrad_lite import book
from tinygrad_lite.book import plots
from tinygrad_lite.book.runner import Plotter, arguments


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=800, seeds=10, argv=argv)
    linear = book.ch2_linear_hidden_layer(epochs=args.epochs)
    print(linear.report(), end="\n\n")

    spread = book.over_seeds(book.ch2_relu_hidden_layer, range(args.seeds), epochs=args.epochs)
    print(spread.report(), end="\n\n")
    relu = spread.closest()
    print(relu.report())

    plot = Plotter(args.out, not args.no_plots)
    for name, result in (("linear", linear), ("relu", relu)):
        plot(
            plots.cost_per_epoch,
            f"ch2_{name}_cost.png",
            result.history,
            names=("mse_usd", "val_mse_usd"),
            ylabel="MSE (dollars squared)",
            title=f"{result.details['network']}: MSE per epoch",
            log=True,
        )
        plot(plots.predictions_vs_actual, f"ch2_{name}_predictions.png", result)
    plot.report()


if __name__ == "__main__":
    main()
