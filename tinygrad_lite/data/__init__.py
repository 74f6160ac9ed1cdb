"""Data for training: the books' data sets, batches, splits and preprocessing, on NumPy arrays.

>>> from tinygrad_lite import data
>>> h = data.hotels()
>>> X_train, y_train, X_test, y_test = h.arrays(split="ch1_split", features=["distance_mi"])
>>> scaler = data.Standardizer().fit(X_train)
>>> Z = scaler.transform(X_train)
>>> print(Z.ravel().round(2))
[-0.73  2.06 -0.91 -1.12 -0.45 -0.06  0.33  0.89]
"""

from ..optional import MissingDependencyError
from . import datasets, transforms
from .datasets import (
    CATEGORIES,
    FEATURES,
    Hotels,
    TrainTest,
    digits,
    hotels,
    mnist,
    moons,
    read_idx,
    spirals,
)
from .errors import DataError
from .loader import DataLoader
from .preprocessing import Standardizer, one_hot
from .sequences import (
    Sentences,
    adding_problem,
    addition_strings,
    copy_task,
    negation_sentiment,
)
from .splits import k_fold, random_generator, train_test_split, train_val_test_split
from .text import (
    CharTokenizer,
    TextCorpus,
    WordTokenizer,
    next_token_batches,
    pad_sequences,
    stdlib_corpus,
)
from .transforms import Compose, GaussianNoise, RandomCrop, RandomHorizontalFlip

__all__ = [
    "stdlib_corpus",
    "pad_sequences",
    "next_token_batches",
    "negation_sentiment",
    "copy_task",
    "addition_strings",
    "adding_problem",
    "WordTokenizer",
    "TextCorpus",
    "Sentences",
    "CATEGORIES",
    "CharTokenizer",
    "FEATURES",
    "Compose",
    "DataError",
    "DataLoader",
    "GaussianNoise",
    "Hotels",
    "MissingDependencyError",
    "RandomCrop",
    "RandomHorizontalFlip",
    "Standardizer",
    "TrainTest",
    "datasets",
    "digits",
    "hotels",
    "k_fold",
    "mnist",
    "moons",
    "one_hot",
    "random_generator",
    "read_idx",
    "spirals",
    "train_test_split",
    "train_val_test_split",
    "transforms",
]
