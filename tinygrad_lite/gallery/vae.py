"""A variational autoencoder (VAE) with a 2-D latent on the 8x8 digits.

The encoder maps a digit x to a Gaussian over the latent plane, q(z | x) = N(mu, exp(logvar))
per coordinate; the decoder maps a point z to 64 pixel probabilities (a Bernoulli per pixel,
on the digits binarized at half intensity). Training maximizes the evidence lower bound

    ELBO(x) = E_q[log p(x | z)] - KL(q(z | x) || N(0, I))  <=  log p(x)

with one sample of z per digit and step, drawn by the reparameterization trick
z = mu + exp(logvar / 2) * eps, eps ~ N(0, I) drawn fresh each step: the randomness sits in
eps, so the gradient reaches mu and logvar through an ordinary product and sum. The KL term
of two Gaussians is in closed form, 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar).

The figure is the ELBO on the held-out digits, in nats per digit (higher is better), before
and after training, beside the log-likelihood of the best model that treats the 64 pixels as
independent coins (each pixel's frequency on the training digits): a VAE that beats it has
learned how pixels go together. The picture decodes a 15x15 grid of the latent plane, placed
at the standard normal's quantiles, so each cell covers the same prior probability.

    python examples/gallery/vae.py [--full] [--seed 0] [--out gallery_out]
"""

from __future__ import annotations

from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np

import tinygrad_lite as tl
from tinygrad_lite import nn
from tinygrad_lite.core import ArgumentError, ShapeError
from tinygrad_lite.nn import functional as F
from tinygrad_lite.optional import optional_import

from . import Exhibit
from .autoencoder import (
    BATCH_SIZE,
    PIXELS,
    SPLIT_SEED,
    epoch_count,
    held_out_digits,
    progress,
    run_mode,
    train_epochs,
)

LATENT = 2
HIDDEN = 128
QUICK_EPOCHS, FULL_EPOCHS = 40, 150
LR = 2e-3
EVAL_SAMPLES = 10  # draws of eps per held-out digit for the final ELBO
EVAL_SEED = 12345  # the held-out ELBO's eps are the same for every model and run
GRID = 15  # the latent-plane picture: GRID x GRID decoded digits


def binarize(X: np.ndarray) -> np.ndarray:
    """Pixels at or above half intensity become 1, the others 0 (float32): Bernoulli data.

    >>> binarize(np.array([[0.0, 0.4999, 0.5, 1.0]])).tolist()
    [[0.0, 0.0, 1.0, 1.0]]
    """
    return (np.asarray(X) >= 0.5).astype(np.float32)


def reparameterize(mu: Any, logvar: Any, eps: Any) -> tl.Value:
    """z = mu + exp(logvar / 2) * eps: a sample of N(mu, exp(logvar)) that is a differentiable
    function of ``mu`` and ``logvar`` (``eps`` is standard normal noise, drawn outside).

    >>> reparameterize(tl.Value([1.0, 0.0]), tl.Value([0.0, np.log(4.0)]), [0.5, -1.0]).data
    array([ 1.5, -2. ])
    """
    mu, logvar = F.as_value(mu, "reparameterize"), F.as_value(logvar, "reparameterize")
    eps = eps if isinstance(eps, tl.Value) else tl.Value(eps, requires_grad=False)
    if not mu.shape == logvar.shape == eps.shape:
        raise ShapeError(
            f"reparameterize: mu {mu.shape}, logvar {logvar.shape} and eps {eps.shape} must "
            "have one shape (draw eps with the shape of mu)"
        )
    return mu + (logvar * 0.5).exp() * eps


def gaussian_kl(mu: Any, logvar: Any) -> tl.Value:
    """KL(N(mu, exp(logvar)) || N(0, I)) in nats, summed over the last axis (one per row):
    0.5 * sum(mu^2 + exp(logvar) - 1 - logvar).

    >>> gaussian_kl(tl.Value([[0.0, 0.0], [1.0, 0.0]]), tl.Value([[0.0, 0.0], [0.0, 0.0]])).data
    array([0. , 0.5])
    """
    mu, logvar = F.as_value(mu, "gaussian_kl"), F.as_value(logvar, "gaussian_kl")
    if mu.shape != logvar.shape or mu.ndim == 0:
        raise ShapeError(
            f"gaussian_kl: mu has shape {mu.shape} and logvar {logvar.shape}; give both the "
            "same shape, (N, latent) or (latent,)"
        )
    return (mu * mu + logvar.exp() - 1.0 - logvar).sum(axis=-1) * 0.5


def bernoulli_log_likelihood(logits: Any, x: Any) -> tl.Value:
    """log p(x | logits) in nats, summed over the last axis (one per row): each pixel is a
    coin with P(1) = sigmoid(logit), so log p = sum(x * logit - log(1 + exp(logit))).

    >>> round(float(bernoulli_log_likelihood(tl.Value([0.0, 0.0]), [1.0, 0.0]).data), 4)
    -1.3863
    """
    logits = F.as_value(logits, "bernoulli_log_likelihood")
    target = np.asarray(x.data if isinstance(x, tl.Value) else x, dtype=logits.dtype)
    if target.shape != logits.shape or logits.ndim == 0:
        raise ShapeError(
            f"bernoulli_log_likelihood: logits have shape {logits.shape} but x {target.shape}; "
            "give one logit per pixel, rows of the same shape"
        )
    if target.size and not (target.min() >= 0.0 and target.max() <= 1.0):
        raise ArgumentError(
            f"bernoulli_log_likelihood: x holds values in [{target.min()}, {target.max()}]; "
            "Bernoulli pixels are 0 or 1 (binarize the data first)"
        )
    loss = F.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return -loss.sum(axis=-1)


def elbo(x: Any, logits: Any, mu: Any, logvar: Any) -> tl.Value:
    """The evidence lower bound of each row of ``x`` with one sample of z, in nats:
    log p(x | z) (the decoder's ``logits`` at z) minus KL(q(z | x) || N(0, I))."""
    return bernoulli_log_likelihood(logits, x) - gaussian_kl(mu, logvar)


def standard_normal(shape: tuple[int, ...], generator: np.random.Generator | None = None) -> Any:
    """Standard normal noise of ``shape`` (float32), from ``generator`` or ``tl.rng()``."""
    source = tl.rng() if generator is None else generator
    return source.standard_normal(shape).astype(np.float32)


class VAE(nn.Module):
    """encoder 64 -> 128 -> 64 -> (mu, logvar) in ``latent`` dims; decoder ``latent`` -> 64 ->
    128 -> 64 pixel logits. ``forward(x)`` decodes one reparameterized sample of z."""

    def __init__(self, latent: int = LATENT, hidden: int = HIDDEN) -> None:
        self.encoder = nn.Sequential(
            nn.Linear(PIXELS, hidden), nn.ReLU(), nn.Linear(hidden, hidden // 2), nn.ReLU()
        )
        self.to_mu = nn.Linear(hidden // 2, latent)  # (N, latent)
        self.to_logvar = nn.Linear(hidden // 2, latent)  # (N, latent): log of the variance
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden // 2),
            nn.ReLU(),
            nn.Linear(hidden // 2, hidden),
            nn.ReLU(),
            nn.Linear(hidden, PIXELS),  # (N, 64) logits: P(pixel on) = sigmoid(logit)
        )

    def encode(self, x: Any) -> tuple[tl.Value, tl.Value]:
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    def decode(self, z: Any) -> tl.Value:
        return self.decoder(z)

    def forward(self, x: Any, eps: Any = None) -> tl.Value:
        mu, logvar = self.encode(x)
        return self.decode(reparameterize(mu, logvar, _noise(eps, mu)))

    def elbo(self, x: Any, eps: Any = None) -> tl.Value:
        """The ELBO of each row of ``x`` (nats), with z drawn from ``eps`` (fresh if None)."""
        mu, logvar = self.encode(x)
        logits = self.decode(reparameterize(mu, logvar, _noise(eps, mu)))
        return elbo(x, logits, mu, logvar)


def _noise(eps: Any, mu: tl.Value) -> Any:
    return standard_normal(mu.shape) if eps is None else eps


def estimate_elbo(model: VAE, X: np.ndarray, samples: int = EVAL_SAMPLES) -> float:
    """The mean ELBO per row of ``X`` in nats, averaged over ``samples`` draws of z per row;
    the draws come from a fixed seed, so every model is measured with the same noise."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise ArgumentError(f"estimate_elbo: samples={samples!r}; give a whole number >= 1")
    generator = np.random.default_rng(EVAL_SEED)
    x = tl.Value(X, requires_grad=False)
    with tl.no_grad():
        total = sum(
            float(model.elbo(x, standard_normal((len(X), _latent(model)), generator)).data.mean())
            for _ in range(samples)
        )
    return total / samples


def _latent(model: VAE) -> int:
    return int(model.to_mu.out_features)


def independent_pixels_log_likelihood(X_train: np.ndarray, X_test: np.ndarray) -> float:
    """Mean log-likelihood (nats per row) of ``X_test`` under 64 independent coins, each with
    its pixel's frequency on ``X_train`` (add-one smoothed, so no probability is 0 or 1)."""
    X_train, X_test = np.asarray(X_train, dtype=np.float64), np.asarray(X_test, dtype=np.float64)
    if X_train.ndim != 2 or X_test.ndim != 2 or X_train.shape[1] != X_test.shape[1]:
        raise ShapeError(
            f"independent_pixels_log_likelihood: X_train {X_train.shape} and X_test "
            f"{X_test.shape} must be 2-D rows of the same pixels"
        )
    p = (X_train.sum(axis=0) + 1.0) / (len(X_train) + 2.0)
    log_p = X_test * np.log(p) + (1.0 - X_test) * np.log1p(-p)
    return float(log_p.sum(axis=1).mean())


def latent_grid(n: int = GRID) -> np.ndarray:
    """The ``n`` x ``n`` points of the latent plane at the standard normal's quantiles
    (1/(2n), 3/(2n), ...), as rows (n*n, 2): z1 along a row, z2 up the columns.

    >>> latent_grid(3)[:3].astype(float).round(3).tolist()
    [[-0.967, 0.967], [0.0, 0.967], [0.967, 0.967]]
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ArgumentError(f"latent_grid: n={n!r}; give a whole number >= 1")
    normal = NormalDist()
    q = np.array([normal.inv_cdf((k + 0.5) / n) for k in range(n)], dtype=np.float32)
    z1, z2 = np.meshgrid(q, q[::-1])  # top row = largest z2, as a plot's y axis
    return np.stack([z1.ravel(), z2.ravel()], axis=1)


def run(
    out: Path, *, full: bool = False, seed: int = 0, plots: bool = True, epochs: int | None = None
) -> Exhibit:
    """Train the VAE, measure the held-out ELBO before and after, and draw the latent plane."""
    tl.manual_seed(seed)
    X_train, _, X_test, y_test = held_out_digits()
    X_train, X_test = binarize(X_train), binarize(X_test)
    epochs = epoch_count(epochs, full, QUICK_EPOCHS, FULL_EPOCHS, "vae.run")
    model = VAE()
    untrained = estimate_elbo(model, X_test)
    pixels_base = independent_pixels_log_likelihood(X_train, X_test)

    def loss_fn(batch: np.ndarray) -> tl.Value:
        return -model.elbo(tl.Value(batch, requires_grad=False)).mean()  # fresh eps each step

    history: list[float] = []
    seconds = train_epochs(
        model,
        loss_fn,
        X_train,
        epochs,
        lr=LR,
        seed=seed,
        after_epoch=lambda epoch: history.append(estimate_elbo(model, X_test, samples=1)),
    )
    ours = estimate_elbo(model, X_test)
    pictures: list[Path] = []
    if plots:
        with tl.no_grad():
            means = model.encode(tl.Value(X_test, requires_grad=False))[0].data
            pixels = model.decode(tl.Value(latent_grid(), requires_grad=False)).sigmoid().data
        pictures = [
            latent_plane(pixels, GRID, Path(out) / "vae_latent_grid.png"),
            elbo_curve(history, untrained, pixels_base, means, y_test, Path(out) / "vae_elbo.png"),
        ]
    return Exhibit(
        architecture="variational autoencoder",
        title="VAE with a 2-D latent on the 8x8 digits (binarized, Bernoulli pixels)",
        figures=[
            ("test ELBO, nats/digit, vs untrained", f"{ours:.2f}", f"> {untrained:.2f}"),
            ("test ELBO vs independent pixels", f"{ours:.2f}", f"> {pixels_base:.2f}"),
        ],
        pictures=pictures,
        book=(
            "A variational autoencoder is a generative model: its encoder gives a probability "
            "distribution over codes instead of one point, and a penalty keeps those codes "
            "close to a standard normal, so that decoding any point drawn from the normal "
            "makes a new, plausible example."
        ),
        command="python examples/gallery/vae.py --full",
        notes=[
            f"{len(X_train)} training digits, {len(X_test)} held out (split seed {SPLIT_SEED}), "
            "binarized at half intensity; Bernoulli likelihood; encoder 64-128-64-(2+2), "
            f"decoder 2-64-128-64; Adam lr {LR}, batch {BATCH_SIZE}, one z per digit and step",
            f"held-out ELBO averaged over {EVAL_SAMPLES} draws of z per digit (fixed noise); "
            "independent pixels = the best model with no latent at all",
            f"{run_mode(full, FULL_EPOCHS)}: {epochs} epochs in {seconds:.1f} s; test ELBO "
            f"(1 draw) {progress(history, '.2f')}",
        ],
        model=model,
        example_input=tl.Value(X_test[:2], requires_grad=False),
    )


def latent_plane(pixels: np.ndarray, n: int, path: Path) -> Path:
    """The ``n`` x ``n`` decoded digits (rows of 64 probabilities) as one mosaic."""
    from tinygrad_lite.book.runner import figure, save_figure

    if pixels.shape != (n * n, PIXELS):
        raise ShapeError(f"latent_plane: pixels {pixels.shape}; expected ({n * n}, {PIXELS})")
    side = 9  # 8 pixels and a 1-pixel gap between tiles, drawn in a light blue
    mosaic = np.full((n * side + 1, n * side + 1), np.nan)
    for k, image in enumerate(pixels.reshape(n * n, 8, 8)):
        row, col = divmod(k, n)
        mosaic[1 + row * side : (row + 1) * side, 1 + col * side : (col + 1) * side] = image
    mpl = optional_import("matplotlib", "the VAE's pictures", "matplotlib")
    cmap = mpl.colormaps["gray_r"].with_extremes(bad="#c9d3e6")
    fig = figure(6.0, 6.2, "the VAE's pictures")
    ax = fig.subplots()
    ax.imshow(mosaic, cmap=cmap, vmin=0, vmax=1)
    q = latent_grid(n)[:n, 0]
    ticks = np.arange(n) * side + 4.5
    ax.set_xticks(ticks[::2], [f"{v:.1f}" for v in q[::2]], fontsize=7)
    ax.set_yticks(ticks[::2], [f"{v:.1f}" for v in q[::-1][::2]], fontsize=7)
    ax.set_xlabel("z1 (standard normal quantiles)")
    ax.set_ylabel("z2")
    ax.set_title(f"digits decoded from a {n}x{n} grid of the 2-D latent plane")
    return save_figure(fig, path)


def elbo_curve(
    history: list[float],
    untrained: float,
    baseline: float,
    means: np.ndarray,
    labels: np.ndarray,
    path: Path,
) -> Path:
    """Left: the held-out ELBO per epoch beside the untrained model's and the independent-pixel
    baseline. Right: the latent mean of every held-out digit, coloured by class."""
    from tinygrad_lite.book.runner import figure, save_figure

    from .autoencoder import class_colours

    fig = figure(10.0, 4.2, "the VAE's pictures")
    left, right = fig.subplots(1, 2)
    epochs = np.arange(1, len(history) + 1)
    left.plot(epochs, history, label="VAE (1 draw of z per digit)")
    left.axhline(untrained, color="grey", ls=":", label=f"untrained ({untrained:.1f})")
    left.axhline(baseline, color="tab:red", ls="--", label=f"independent pixels ({baseline:.1f})")
    left.set_ylim(min(untrained, baseline, min(history)) - 2, max(history) + 2)
    left.set_xlabel("epoch")
    left.set_ylabel("held-out ELBO (nats per digit)")
    left.set_title("ELBO on the held-out digits (Bernoulli)")
    left.legend(fontsize=8)
    colours = class_colours()
    for digit in range(10):
        points = means[labels == digit]
        right.scatter(points[:, 0], points[:, 1], s=8, color=colours[digit], label=str(digit))
    right.set_xlabel("mu 1")
    right.set_ylabel("mu 2")
    right.set_title("latent means of the held-out digits")
    right.legend(title="class", fontsize=7, ncols=2)
    return save_figure(fig, path)
