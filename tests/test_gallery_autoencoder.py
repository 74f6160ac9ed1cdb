"""The gallery's autoencoder and variational autoencoder: their helpers on known inputs, the
gradient through the reparameterization, the quick runs' figures, pictures and programs."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_lite as tl
from tinygrad_lite import viz
from tinygrad_lite.errors import ArgumentError, ShapeError
from tinygrad_lite.gallery import EXHIBITS, Exhibit, vae
from tinygrad_lite.gallery import autoencoder as ae
from tinygrad_lite.testing import gradcheck

ROOT = Path(__file__).resolve().parents[1]


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


# ---- the VAE's terms, by hand -------------------------------------------------------------


def test_gaussian_kl_equals_the_closed_form_by_hand():
    mu = np.array([[0.5, -1.0], [0.0, 2.0]])
    logvar = np.array([[0.0, math.log(2.0)], [math.log(0.25), 0.0]])
    kl = vae.gaussian_kl(tl.Value(mu), tl.Value(logvar)).data
    # row 0: 0.5 * [(0.25 + 1 - 1 - 0) + (1 + 2 - 1 - ln 2)]
    # row 1: 0.5 * [(0 + 0.25 - 1 - ln 0.25) + (4 + 1 - 1 - 0)]
    by_hand = [
        0.5 * (0.25 + (2.0 - math.log(2.0))),
        0.5 * ((0.25 - 1.0 - math.log(0.25)) + 4.0),
    ]
    np.testing.assert_allclose(kl, by_hand, rtol=1e-12)
    # the KL of the prior to itself is 0, and it is never negative
    assert vae.gaussian_kl(np.zeros((3, 2)), np.zeros((3, 2))).data.tolist() == [0.0] * 3
    rng = np.random.default_rng(0)
    assert (vae.gaussian_kl(rng.normal(size=(50, 2)), rng.normal(size=(50, 2))).data >= 0).all()


def test_gaussian_kl_agrees_with_a_monte_carlo_estimate():
    mu, logvar = np.array([0.7, -0.3]), np.array([-0.5, 0.4])
    sd = np.exp(logvar / 2)
    z = mu + sd * np.random.default_rng(1).standard_normal((200_000, 2))
    log_q = -0.5 * (((z - mu) / sd) ** 2 + logvar + math.log(2 * math.pi))
    log_p = -0.5 * (z**2 + math.log(2 * math.pi))
    estimate = float((log_q - log_p).sum(axis=1).mean())
    assert vae.gaussian_kl(mu, logvar).item() == pytest.approx(estimate, abs=0.01)


def test_bernoulli_log_likelihood_by_hand():
    logits = np.array([[2.0, -1.0, 0.0], [0.5, 0.5, -3.0]])
    x = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])
    got = vae.bernoulli_log_likelihood(tl.Value(logits), x).data
    by_hand = [
        math.log(sigmoid(2.0)) + math.log(1 - sigmoid(-1.0)) + math.log(0.5),
        math.log(1 - sigmoid(0.5)) + math.log(sigmoid(0.5)) + math.log(1 - sigmoid(-3.0)),
    ]
    np.testing.assert_allclose(got, by_hand, rtol=1e-12)
    # finite for huge logits: a confident right answer costs nothing, a wrong one its logit
    huge = vae.bernoulli_log_likelihood(tl.Value([[500.0, -500.0]]), [[1.0, 1.0]]).data
    np.testing.assert_allclose(huge, [-500.0])


def test_elbo_is_log_likelihood_minus_kl_by_hand():
    x = np.array([[1.0, 0.0]])
    logits = np.array([[1.0, -2.0]])
    mu, logvar = np.array([[0.5, 0.0]]), np.array([[0.0, math.log(0.5)]])
    log_lik = math.log(sigmoid(1.0)) + math.log(1 - sigmoid(-2.0))
    kl = 0.5 * (0.25 + (0.5 - 1.0 - math.log(0.5)))
    got = vae.elbo(x, tl.Value(logits), tl.Value(mu), tl.Value(logvar)).item()
    assert got == pytest.approx(log_lik - kl, rel=1e-12)


def test_model_elbo_with_zero_noise_decodes_the_mean():
    tl.manual_seed(0)
    model = vae.VAE(hidden=16)
    x = vae.binarize(np.random.default_rng(0).random((3, 64)))
    mu, logvar = model.encode(x)
    expected = vae.bernoulli_log_likelihood(model.decode(mu), x) - vae.gaussian_kl(mu, logvar)
    got = model.elbo(x, eps=np.zeros((3, 2), dtype=np.float32))
    np.testing.assert_allclose(got.data, expected.data, rtol=1e-6)


def test_the_elbo_and_its_gradients_equal_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    x = (rng.random((4, 6)) > 0.5).astype(np.float64)
    logits, mu, logvar = rng.normal(size=(4, 6)), rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    ours = [tl.Value(a) for a in (logits, mu, logvar)]
    value = vae.elbo(x, *ours)
    value.sum().backward()
    theirs = [torch.tensor(a, requires_grad=True) for a in (logits, mu, logvar)]
    t_logits, t_mu, t_logvar = theirs
    dist = torch.distributions
    log_lik = dist.Bernoulli(logits=t_logits).log_prob(torch.tensor(x)).sum(-1)
    q = dist.Normal(t_mu, (t_logvar / 2).exp())
    prior = dist.Normal(torch.zeros(4, 3, dtype=torch.float64), 1.0)
    expected = log_lik - dist.kl_divergence(q, prior).sum(-1)
    expected.sum().backward()
    np.testing.assert_allclose(value.data, expected.detach().numpy(), rtol=1e-10)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- the reparameterization trick ---------------------------------------------------------


def test_reparameterize_by_hand_and_its_gradient_reaches_mu_and_logvar():
    mu = tl.Value(np.array([[0.3, -1.2], [2.0, 0.1]]))
    logvar = tl.Value(np.array([[0.0, -0.8], [0.6, 1.5]]))
    eps = np.array([[1.0, -0.5], [0.25, 2.0]])
    z = vae.reparameterize(mu, logvar, eps)
    np.testing.assert_allclose(z.data, mu.data + np.exp(logvar.data / 2) * eps)
    z.sum().backward()
    np.testing.assert_allclose(mu.grad, np.ones((2, 2)))  # dz/dmu = 1
    np.testing.assert_allclose(logvar.grad, 0.5 * np.exp(logvar.data / 2) * eps)
    assert gradcheck(lambda m, lv: vae.reparameterize(m, lv, eps), [mu, logvar])


def test_the_reconstruction_term_reaches_the_encoder_through_the_sample():
    tl.manual_seed(1)
    model = vae.VAE(hidden=8)
    x = vae.binarize(np.random.default_rng(1).random((4, 64)))
    eps = vae.standard_normal((4, 2), np.random.default_rng(2))
    mu, logvar = model.encode(x)
    # no KL here: the only way to the encoder is through z = mu + exp(logvar / 2) * eps
    log_lik = vae.bernoulli_log_likelihood(model.decode(vae.reparameterize(mu, logvar, eps)), x)
    (-log_lik.sum()).backward()
    for layer in (model.to_mu, model.to_logvar, model.encoder[0]):
        assert layer.weight.grad is not None and np.abs(layer.weight.grad).max() > 0
    # and the whole ELBO's gradient w.r.t. mu and logvar matches finite differences
    logits = model.decode(vae.reparameterize(mu, logvar, eps)).data

    def objective(m: tl.Value, lv: tl.Value) -> tl.Value:
        return vae.elbo(x, model.decode(vae.reparameterize(m, lv, eps)), m, lv).sum()

    assert logits.shape == (4, 64)
    assert gradcheck(objective, [mu.data.astype(np.float64), logvar.data.astype(np.float64)])


def test_gradcheck_of_the_kl_and_the_log_likelihood():
    rng = np.random.default_rng(3)
    assert gradcheck(vae.gaussian_kl, [rng.normal(size=(3, 2)), rng.normal(size=(3, 2))])
    x = (rng.random((3, 5)) > 0.5).astype(np.float64)
    assert gradcheck(
        lambda logits: vae.bernoulli_log_likelihood(logits, x), [rng.normal(size=(3, 5))]
    )


def test_each_forward_draws_fresh_noise_and_the_seed_repeats_it():
    tl.manual_seed(0)
    model = vae.VAE(hidden=8)
    x = np.ones((2, 64), dtype=np.float32)
    tl.manual_seed(5)
    first, second = model(x).data, model(x).data
    assert not np.allclose(first, second)
    tl.manual_seed(5)
    np.testing.assert_array_equal(model(x).data, first)


# ---- the other helpers ---------------------------------------------------------------------


def test_independent_pixels_log_likelihood_by_hand():
    X_train = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    X_test = np.array([[1.0, 0.0]])
    p = np.array([3.0 / 5.0, 2.0 / 5.0])  # add-one smoothed frequencies (2+1)/(3+2), (1+1)/5
    by_hand = math.log(p[0]) + math.log(1 - p[1])
    assert vae.independent_pixels_log_likelihood(X_train, X_test) == pytest.approx(by_hand)


def test_latent_grid_sits_at_the_normal_quantiles():
    grid = vae.latent_grid(15)
    assert grid.shape == (225, 2)
    row = grid[:15, 0]
    assert row[7] == pytest.approx(0.0, abs=1e-7)  # the median in the middle
    np.testing.assert_allclose(row, -row[::-1], atol=1e-6)
    assert row[0] == pytest.approx(-1.834, abs=1e-3)  # the 1/30 quantile of N(0, 1)
    assert grid[0, 1] > 0 > grid[-1, 1]  # top row first


def test_mean_digit_and_pca_baselines_on_known_data():
    X_train = np.array([[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]])
    X_test = np.array([[1.0, 3.0]])
    assert ae.mean_digit_mse(X_train, X_test) == pytest.approx(((1 - 2) ** 2 + (3 - 2) ** 2) / 2)
    # the training rows lie on the diagonal: one component rebuilds a test row's projection
    np.testing.assert_allclose(ae.pca_reconstruction(X_train, X_test, 1), [[2.0, 2.0]])
    rng = np.random.default_rng(0)
    A, B = rng.random((30, 5)), rng.random((7, 5))
    np.testing.assert_allclose(ae.pca_reconstruction(A, B, 5), B)  # every component: exact
    errors = [ae.pca_mse(A, B, k) for k in range(1, 6)]
    assert errors[0] < ae.mean_digit_mse(A, B) * 1.5 and errors[-1] == pytest.approx(0, abs=1e-20)


def test_pca_reconstruction_equals_scikit_learn():
    decomposition = pytest.importorskip("sklearn.decomposition")
    rng = np.random.default_rng(4)
    A, B = rng.random((40, 6)), rng.random((9, 6))
    pca = decomposition.PCA(n_components=2).fit(A)
    expected = pca.inverse_transform(pca.transform(B))
    np.testing.assert_allclose(ae.pca_reconstruction(A, B, 2), expected, atol=1e-10)


def test_first_of_each_class_and_the_epoch_count():
    labels = np.array([3, 1, 3, 1, 1, 0])
    assert ae.first_of_each_class(labels, 2).tolist() == [5, 1, 3, 0, 2]
    assert ae.epoch_count(None, False, 40, 300, "x") == 40
    assert ae.epoch_count(None, True, 40, 300, "x") == 300
    assert ae.epoch_count(7, True, 40, 300, "x") == 7


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (
            lambda: vae.reparameterize(np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 2))),
            ShapeError,
            "one shape",
        ),
        (lambda: vae.gaussian_kl(np.zeros(2), np.zeros(3)), ShapeError, "gaussian_kl"),
        (
            lambda: vae.bernoulli_log_likelihood(np.zeros((1, 2)), [[2.0, 0.0]]),
            ArgumentError,
            "binarize",
        ),
        (lambda: vae.bernoulli_log_likelihood(np.zeros((1, 2)), [1.0]), ShapeError, "logit"),
        (
            lambda: vae.estimate_elbo(vae.VAE(hidden=4), np.zeros((1, 64)), samples=0),
            ArgumentError,
            "samples=0",
        ),
        (lambda: vae.latent_grid(0), ArgumentError, "n=0"),
        (
            lambda: ae.pca_reconstruction(np.zeros((3, 2)), np.zeros((1, 2)), 3),
            ArgumentError,
            "fewer",
        ),
        (lambda: ae.mean_digit_mse(np.zeros((3, 2)), np.zeros((1, 3))), ShapeError, "columns"),
        (lambda: ae.epoch_count(0, False, 1, 2, "vae.run"), ArgumentError, "vae.run: epochs=0"),
    ],
)
def test_mistakes_raise_named_errors(call, error, words):
    with pytest.raises(error, match=words):
        call()


# ---- the quick runs ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    pytest.importorskip("sklearn")
    plots = True
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        plots = False
    out = tmp_path_factory.mktemp("gallery")
    return {name: module.run(out, plots=plots) for name, module in (("ae", ae), ("vae", vae))}


def figures(exhibit: Exhibit) -> list[tuple[float, float]]:
    """(ours, target) of every figure row, as numbers."""
    return [(float(ours), float(target.split()[-1])) for _, ours, target in exhibit.figures]


def test_quick_autoencoder_beats_the_mean_digit_and_2d_pca(quick):
    (ours, mean_digit), (same, pca) = figures(quick["ae"])
    assert ours == same
    assert ours < 0.6 * mean_digit  # 0.034 against 0.073
    assert ours < 0.8 * pca  # 0.034 against 0.052: a 2-D non-linear code beats the linear one
    assert pca < mean_digit


def test_quick_vae_elbo_beats_the_untrained_model_and_independent_pixels(quick):
    (ours, untrained), (same, pixels) = figures(quick["vae"])
    assert ours == same
    assert untrained < -40  # about 64 ln 2 = 44 nats: every pixel a fair coin
    assert ours > untrained + 20
    assert ours > pixels + 2  # about -21 against -25.2


def test_the_pictures_are_written(quick):
    pytest.importorskip("matplotlib")
    names = [p.name for exhibit in quick.values() for p in exhibit.pictures]
    assert names == [
        "autoencoder_codes.png",
        "autoencoder_reconstructions.png",
        "vae_latent_grid.png",
        "vae_elbo.png",
    ]
    for exhibit in quick.values():
        for path in exhibit.pictures:
            assert path.stat().st_size > 1000


def test_the_exhibits_are_registered_and_their_forward_graph_collapses(quick):
    assert {"autoencoder", "vae"} <= set(EXHIBITS)
    for exhibit in quick.values():
        assert exhibit.command.endswith("--full") and exhibit.book and exhibit.notes
        model, x = exhibit.model, exhibit.example_input
        assert x.shape == (2, 64)
        graph = viz.draw_forward(model(x), model=model, collapse=[model.encoder, model.decoder])
        assert "encoder" in graph.source and "decoder" in graph.source


def test_the_same_seed_gives_the_same_figures(tmp_path):
    pytest.importorskip("sklearn")
    for module in (ae, vae):
        runs = [module.run(tmp_path, plots=False, seed=3, epochs=2) for _ in range(2)]
        other = module.run(tmp_path, plots=False, seed=4, epochs=2)
        assert runs[0].figures == runs[1].figures
        weights = [[p.data for p in run.model.parameters()] for run in (*runs, other)]
        for a, b in zip(weights[0], weights[1]):
            np.testing.assert_array_equal(a, b)
        assert not all(np.array_equal(a, c) for a, c in zip(weights[0], weights[2]))


@pytest.mark.parametrize(
    ("script", "expected"),
    [("autoencoder.py", "test MSE per pixel vs 2-D PCA"), ("vae.py", "test ELBO, nats/digit")],
)
def test_the_example_programs_print_their_figure(script, expected, tmp_path):
    pytest.importorskip("sklearn")
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / "gallery" / script),
            "--epochs",
            "2",
            "--out",
            str(tmp_path),
            "--seed",
            "1",
            "--no-plots",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout
    assert "2 epochs" in result.stdout
