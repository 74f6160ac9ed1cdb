"""Chapter 1 of "A Visual Introduction to Deep Learning": one neuron predicts a hotel's price.

A single linear neuron, price = w * distance + b, learns from chapter 1's 8 training hotels
by full-batch gradient descent (learning rate 0.08, 100 epochs, distance and price
standardized with the training set's mean and standard deviation). Each epoch: predict,
measure the cost (mean squared error), feed it back, adjust w and b.

    python examples/book/ch1_linear_regression.py [--epochs 100] [--out tour_out]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from tinygrad_lite import book
from tinygrad_lite.book import plots
from tinygrad_lite.book.runner import Plotter, arguments


def main(argv: Sequence[str] | None = None) -> None:
    args = arguments(__doc__, epochs=100, argv=argv)
    result = book.ch1_linear_regression(epochs=args.epochs)
    print(result.report())

    # the neuron's weight and bias, back in dollars and miles
    data = result.details["data"]
    layer = result.model[0]
    w = float(layer.weight.data[0, 0])
    b = float(layer.bias.data[0])
    x_mean, x_std = float(np.ravel(data.x_scale.mean_)[0]), float(np.ravel(data.x_scale.std_)[0])
    y_mean, y_std = float(data.y_scale.mean_), float(data.y_scale.std_)
    slope = w * y_std / x_std
    intercept = y_mean + y_std * (b - w * x_mean / x_std)
    print(f"\nstandardized: price_z = {w:.4f} * distance_z + {b:.4f}")
    print(f"in dollars:   price = {slope:.2f} $/mile * distance + {intercept:.2f} $")

    plot = Plotter(args.out, not args.no_plots)
    plot(
        plots.cost_per_epoch,
        "ch1_cost.png",
        result.history,
        names=("mse_usd", "val_mse_usd"),
        ylabel="MSE (dollars squared)",
        title="Chapter 1: MSE per epoch",
        log=True,
    )
    plot(plots.regression_line, "ch1_line.png", result)
    plot.report()


if __name__ == "__main__":
    main()
