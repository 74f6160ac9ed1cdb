"""What the CNN examples share: the 8x8 digits as images, a small CNN, and training it.

Not an example itself: the programs beside it import it (their folder is on ``sys.path``
when they run).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import data, nn, optim
from tinygrad_lite.nn import functional as F
from tinygrad_lite.train import History, evaluate, fit


def digit_images(seed: int = 0, test_size: float = 0.2) -> tuple[np.ndarray, ...]:
    """scikit-learn's 1,797 8x8 digits as float32 images (N, 1, 8, 8), split train/test."""
    X, y = data.digits(flatten=False)
    X = X.astype(np.float32)[:, None]  # (N, 1, 8, 8): one channel
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=test_size, seed=seed)
    return X_train, y_train, X_test, y_test


def small_cnn(channels: tuple[int, int] = (16, 32), classes: int = 10) -> nn.Sequential:
    """conv 3x3 -> ReLU -> conv 3x3 -> ReLU -> max-pool 2x2 -> dense: for 8x8 images."""
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1),  # (N, c1, 8, 8)
        nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1),  # (N, c2, 8, 8)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (N, c2, 4, 4)
        nn.Flatten(),
        nn.Linear(c2 * 16, 64),
        nn.ReLU(),
        nn.Linear(64, classes),
    )


def train(
    model: nn.Module,
    X: np.ndarray,
    y: np.ndarray,
    X_val: np.ndarray | None,
    y_val: np.ndarray | None,
    epochs: int,
    lr: float = 1e-3,
    batch_size: int = 64,
    seed: int = 0,
    params: list[tl.Value] | None = None,
    transform: Any = None,
) -> tuple[History, float]:
    """Adam on the cross-entropy; returns the history and the seconds it took."""
    optimizer = optim.Adam(params if params is not None else model.parameters(), lr=lr)
    train_data: Any = (X, y)
    if transform is not None:
        train_data = data.DataLoader(
            X, y, batch_size=batch_size, shuffle=True, seed=seed, transform=transform
        )
    start = time.perf_counter()
    history = fit(
        model,
        F.cross_entropy,
        optimizer,
        train_data,
        epochs=epochs,
        batch_size=None if transform is not None else batch_size,
        validation_data=None if X_val is None else (X_val, y_val),
        metrics=["accuracy"],
        seed=seed,
        verbose=False,
    )
    return history, time.perf_counter() - start


def accuracy(model: nn.Module, X: np.ndarray, y: np.ndarray) -> float:
    return float(evaluate(model, F.cross_entropy, X, y, metrics=["accuracy"])["accuracy"])
