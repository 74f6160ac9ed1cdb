"""The books' tasks as library functions: the examples, the tests and the tour share them.

Each task trains (or measures) what the book does and returns a ``TaskResult``: our figures
beside the book's, the training ``History`` and the trained model. Tasks whose outcome
depends on the initial weights take a ``seed``; ``over_seeds`` runs one over several seeds
and summarises the spread.

>>> from tinygrad_lite import book
>>> print(book.ch1_linear_regression().report())
Chapter 1: linear regression, 1 neuron (seed 0)
figure                ours        book
train MSE             16.4        16.4  matches
test MSE             144.5       144.5  matches

The book's worked examples (``weighted_sums``, ``activation_table``, ``softmax_example``,
``cross_entropy_examples``) are computed with Values and return a ``WorkedExample``; the
numbers behind the books' pictures are in ``book.curves`` and the pictures in ``book.plots``.

>>> [z.data for z in weighted_sums().values["z"]]
[5.5, -1.5]

The hotel tasks follow "A Visual Introduction to Deep Learning" (learning rate 0.08,
full-batch gradient descent, standardized inputs and prices); ``docs/book.md`` lists every
figure, ours, and the conventions that reproduce the book's numbers.
"""

from .fraud import fraud_metrics
from .hotels import (
    ch1_linear_regression,
    ch2_linear_hidden_layer,
    ch2_relu_hidden_layer,
    ch3_binary,
    ch4_multiclass,
    classification_data,
    mlp,
    regression_data,
)
from .hyperparameters import (
    early_stopping,
    gradient_descent_variants,
    k_fold_validation,
    learning_rates,
)
from .neuron import neuron
from .results import Figure, SeedSpread, TaskResult, over_seeds, table
from .worked import (
    WorkedExample,
    activation_table,
    cross_entropy_examples,
    softmax_example,
    weighted_sums,
)
from .zef import asymmetric_cost, bias_variance, regression_baselines, underpricing_error

__all__ = [
    "Figure",
    "SeedSpread",
    "TaskResult",
    "asymmetric_cost",
    "bias_variance",
    "ch1_linear_regression",
    "ch2_linear_hidden_layer",
    "ch2_relu_hidden_layer",
    "ch3_binary",
    "ch4_multiclass",
    "classification_data",
    "early_stopping",
    "fraud_metrics",
    "gradient_descent_variants",
    "k_fold_validation",
    "learning_rates",
    "mlp",
    "neuron",
    "over_seeds",
    "regression_baselines",
    "regression_data",
    "table",
    "underpricing_error",
    # the worked examples (book/worked.py)
    "WorkedExample",
    "activation_table",
    "cross_entropy_examples",
    "softmax_example",
    "weighted_sums",
]
