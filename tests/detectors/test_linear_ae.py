"""Linear autoencoder vs PCA (Eckart-Young): the same k-dimensional subspace."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.autoencoder import train_linear_autoencoder


def rank_k_data(seed: int, k: int = 3, n_samples: int = 400, n_features: int = 10):
    """Clear rank-k structure: k strong directions of distinct variance plus noise."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_samples, k)) * np.linspace(3.0, 1.5, k)
    basis, _ = np.linalg.qr(rng.normal(size=(n_features, k)))
    noise = 0.1 * rng.normal(size=(n_samples, n_features))
    return latent @ basis.T + noise + rng.normal(size=n_features)


@pytest.mark.parametrize("k", [1, 3])
def test_linear_ae_spans_the_pca_subspace(seed, k):
    """Largest principal angle between the decoder's span and PCA's top-k < 5 deg."""
    X = rank_k_data(seed, k)
    result = train_linear_autoencoder(X, k, random_state=seed)
    assert result.decoder.shape == (X.shape[1], k)
    assert result.angle_degrees < 5.0


def test_linear_ae_trace_records_every_step_and_converges():
    """The trace starts at step 0, ends at the last step, and the angle shrinks."""
    X = rank_k_data(0)
    result = train_linear_autoencoder(X, 3, steps=200, record_every=10)
    steps = [step for step, _, _ in result.trace]
    assert steps == list(range(0, 201, 10))
    losses = np.array([loss for _, loss, _ in result.trace])
    angles = np.array([angle for _, _, angle in result.trace])
    assert np.isfinite(losses).all() and np.isfinite(angles).all()
    assert losses[-1] < losses[0]
    assert angles[-1] < angles[0]


def test_linear_ae_loss_approaches_the_pca_optimum():
    """At convergence the mean squared error matches PCA's discarded variance."""
    X = rank_k_data(1)
    result = train_linear_autoencoder(X, 3, steps=800)
    Xc = X - X.mean(axis=0)
    singular = np.linalg.svd(Xc, compute_uv=False)
    optimum = (singular[3:] ** 2).sum() / X.shape[0]
    assert result.trace[-1][1] == pytest.approx(optimum, rel=0.05)


def test_linear_ae_rejects_k_outside_range():
    with pytest.raises(ValueError, match=r"k must be in \[1, 9\]"):
        train_linear_autoencoder(rank_k_data(0), 10)


def test_linear_ae_too_large_lr_raises():
    with pytest.raises(FloatingPointError, match="smaller lr"):
        train_linear_autoencoder(rank_k_data(0), 3, lr=5.0)
