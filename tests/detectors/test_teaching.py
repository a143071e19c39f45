"""Library code of the Learn pages: stepwise PCP, toy data and the digit models."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from detectors import teaching
from detectors.rpca import principal_component_pursuit


@pytest.mark.parametrize("corruption", [0.0, 0.1, 0.3], ids=lambda c: f"corrupt{c}")
def test_pcp_steps_match_principal_component_pursuit(seed, corruption):
    """Run to the solver's tolerance, the stepwise iterates equal its result."""
    M, _, _ = teaching.planted_low_rank(
        30, 25, rank=2, corruption=corruption, random_state=seed
    )
    n_steps = teaching.pcp_steps_to_converge(M, tol=1e-7)
    last = teaching.pcp_iterate(M, n_steps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        L, S, info = principal_component_pursuit(M, tol=1e-7)

    assert last.iteration == info["iterations"]
    scale = np.abs(M).max()
    np.testing.assert_allclose(last.L, L, atol=1e-6 * scale)
    np.testing.assert_allclose(last.S, S, atol=1e-6 * scale)
    assert last.rank == info["rank"][-1]


def test_pcp_steps_residual_decreases(seed):
    """The residual falls to below 1e-7; ALM need not lower it at every single step,
    but it does over any five."""
    M, _, _ = teaching.planted_low_rank(
        30, 30, rank=2, corruption=0.1, random_state=seed
    )
    n_steps = teaching.pcp_steps_to_converge(M, tol=1e-7, max_iter=200)
    residuals = np.array([s.residual for s in teaching.pcp_steps(M, max_iter=n_steps)])

    assert residuals[-1] < 1e-7 < residuals[0]
    assert np.all(residuals[5:] < residuals[:-5])


def test_pcp_steps_report_rank_and_nonzeros(seed):
    M, L0, S0 = teaching.planted_low_rank(
        40, 40, rank=2, corruption=0.05, random_state=seed
    )
    last = teaching.pcp_iterate(M, teaching.pcp_steps_to_converge(M))

    assert last.rank == 2 == np.linalg.matrix_rank(last.L, tol=1e-6)
    assert last.nnz == np.count_nonzero(last.S)
    assert np.count_nonzero(np.abs(last.S) > 1e-6) == np.count_nonzero(S0)
    assert teaching.recovery_error(last.L, L0) < 1e-5


def test_pcp_iterate_zero_steps_and_zero_matrix():
    assert teaching.pcp_iterate(np.ones((4, 3)), 0) is None
    assert list(teaching.pcp_steps(np.zeros((4, 3)))) == []


def test_planted_low_rank_shares_and_rank(seed):
    M, L0, S0 = teaching.planted_low_rank(
        20, 10, rank=3, corruption=0.3, random_state=seed
    )

    np.testing.assert_array_equal(M, L0 + S0)
    assert np.linalg.matrix_rank(L0) == 3
    assert np.count_nonzero(S0) == 60
    assert np.abs(S0[S0 != 0]).min() >= 2.5
    with pytest.raises(ValueError, match="corruption must be in"):
        teaching.planted_low_rank(corruption=1.5)


def test_breakdown_sweep_recovers_sparse_and_fails_dense():
    low, high = teaching.breakdown_sweep([0.05, 0.5])

    assert low.error < 1e-5 and low.rank == 2
    assert high.error > 0.3 and high.rank > 2


def test_pca_optimum_is_the_discarded_variance(seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(500, 3)) * [3.0, 2.0, 0.5] + 7.0
    Xc = X - X.mean(axis=0)
    eigenvalues = np.sort(np.linalg.eigvalsh(Xc.T @ Xc / len(X)))

    assert teaching.pca_optimum(X, 1) == pytest.approx(eigenvalues[:2].sum())
    assert teaching.pca_optimum(X, 3) == pytest.approx(0.0, abs=1e-9)


def test_elongated_cloud_long_axis_has_the_requested_angle():
    X = teaching.elongated_cloud(4000, angle_degrees=30.0, ratio=4.0, random_state=0)
    _, _, vt = np.linalg.svd(X - X.mean(axis=0), full_matrices=False)
    angle = np.degrees(np.arctan2(vt[0, 1], vt[0, 0])) % 180

    assert angle == pytest.approx(30.0, abs=2.0)
    with pytest.raises(ValueError, match="ratio must be >= 1"):
        teaching.elongated_cloud(ratio=0.5)


def test_tile_images_places_inverted_images_on_a_grid():
    images = np.zeros((3, 784))
    images[1] = 1.0
    grid = teaching.tile_images(images, columns=2, gap=2)

    assert grid.shape == (58, 58)
    assert grid[0, 0] == 1.0 and grid[0, 30] == 0.0 and grid[0, 28] == 1.0
    assert grid[30:, 30:].min() == 1.0  # the empty fourth cell stays white


@pytest.fixture(scope="module")
def digits():
    """Small stand-in for MNIST: two blob shapes in [0, 1], 120 images."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:28, :28]
    centres = [(10, 10), (18, 18)]
    images, labels = [], []
    for i in range(120):
        cy, cx = centres[i % 2]
        blob = np.exp(
            -((yy - cy - rng.normal()) ** 2 + (xx - cx - rng.normal()) ** 2) / 12
        )
        images.append(blob.ravel())
        labels.append(i % 2)
    return np.asarray(images, dtype=np.float32), np.asarray(labels)


def test_digit_autoencoder_shapes_and_wider_bottleneck_helps(digits):
    X, _ = digits
    narrow = teaching.train_digit_autoencoder(X, 1, epochs=6)
    wide = teaching.train_digit_autoencoder(X, 8, epochs=6)

    assert narrow.codes.shape == (120, 1) and wide.reconstructions.shape == (120, 784)
    assert np.all((wide.reconstructions >= 0) & (wide.reconstructions <= 1))
    assert np.isfinite(wide.errors).all() and wide.kl is None
    assert wide.errors.mean() < 0.8 * narrow.errors.mean()
    again = teaching.train_digit_autoencoder(X, 8, epochs=6)
    assert again.errors == pytest.approx(wide.errors)


def test_digit_vae_beta_trades_kl_for_reconstruction(digits):
    X, _ = digits
    loose = teaching.train_digit_vae(X, 0.1, epochs=4)
    tight = teaching.train_digit_vae(X, 50.0, epochs=4)

    assert loose.codes.shape == (120, 2)
    assert tight.kl < 0.1 * loose.kl
    assert tight.errors.mean() > loose.errors.mean()
    assert teaching.latent_grid(tight, n=3).shape == (3 * 29 - 1, 3 * 29 - 1)
    assert loose.decode([[0.0, 0.0]]).shape == (1, 784)


def test_digit_models_refuse_unscaled_pixels(digits):
    X, _ = digits
    with pytest.raises(ValueError, match=r"scaled to \[0, 1\]"):
        teaching.train_digit_autoencoder(X * 255, 2, epochs=1)
    with pytest.raises(ValueError, match=r"shape \(n_samples, 784\)"):
        teaching.train_digit_vae(X[:, :100], 1.0, epochs=1)
