"""PCA detector: SPE, Hotelling T^2, choice of k and the hard cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from detectors import PCADetector
from tests.conftest import CASES


def _rank_of(scores: np.ndarray, row: int) -> int:
    """1-based rank of ``row`` when sorted by descending score."""
    return int(np.sum(scores > scores[row])) + 1


def test_pca_residuals_sum_to_score(planted):
    """Per-feature contributions add up to the row's score exactly."""
    X, _ = planted
    detector = PCADetector().fit(X)
    np.testing.assert_allclose(
        detector.residuals(X).sum(axis=1), detector.score_samples(X), rtol=1e-12
    )


def test_pca_score_is_spe_plus_t2(planted):
    X, _ = planted
    detector = PCADetector(n_components=2).fit(X)
    np.testing.assert_allclose(
        detector.score_samples(X), detector.spe(X) + detector.t2(X)
    )


def test_pca_spe_matches_reconstruction_error(planted):
    """SPE equals the squared error of reconstruct() in standardised units."""
    X, _ = planted
    detector = PCADetector(n_components=2, score="spe").fit(X)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    Z_hat = (detector.reconstruct(X) - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(
        detector.score_samples(X), ((Z - Z_hat) ** 2).sum(axis=1), rtol=1e-9
    )


def test_pca_chooses_k_by_explained_variance(seed):
    """Two equally strong latent directions plus small noise: 90 % of the variance
    needs exactly 2 components."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(6, 2)))
    X = rng.normal(size=(300, 2)) @ basis.T + 0.01 * rng.normal(size=(300, 6))
    # Standardising columns is a diagonal scaling: the structure stays rank 2.
    assert PCADetector().fit(X).n_components_ == 2


def test_pca_case16_outlier_along_main_axis_ranks_first():
    """Case 16: row 40 lies far out along y = x; T^2 + SPE ranks it 1st, SPE alone 58th."""
    X = pd.read_csv(CASES / "16-outlier-along-main-axis.csv").to_numpy()
    assert _rank_of(PCADetector().fit(X).score_samples(X), 40) == 1
    spe_only = PCADetector(n_components=1, score="spe").fit(X).score_samples(X)
    assert _rank_of(spe_only, 40) == 58


def test_pca_case03_t2_spe_ranks_row7_first():
    """Case 03 (numbers only): T^2+SPE at k=3 ranks row 7 first, SPE alone 23rd."""
    frame = pd.read_csv(
        CASES / "03-semicolon-decimal-comma.csv", sep=";", decimal=",", thousands="."
    )
    X = frame.drop(columns="zeitpunkt").to_numpy(dtype=float)
    assert _rank_of(PCADetector(n_components=3).fit(X).score_samples(X), 7) == 1
    assert (
        _rank_of(PCADetector(n_components=3, score="spe").fit(X).score_samples(X), 7)
        == 23
    )


@pytest.mark.parametrize("k", [1, 2, 3])
@pytest.mark.parametrize("score", ["t2+spe", "spe"])
def test_pca_case09_constant_columns_top3(k, score):
    """Case 09: constant columns do not produce NaN; rows 41, 97, 163 are the top 3."""
    X = pd.read_csv(CASES / "09-constant-columns.csv").to_numpy()
    scores = PCADetector(n_components=k, score=score).fit(X).score_samples(X)
    assert np.isfinite(scores).all()
    assert set(np.argsort(-scores)[:3]) == {41, 97, 163}


def test_pca_case12_k_too_large_names_the_limit():
    """Case 12: 8 rows x 12 columns allow at most k = 6; k = 10 is refused clearly."""
    X = pd.read_csv(CASES / "12-eight-rows-twelve-cols.csv").to_numpy()
    assert PCADetector.max_components(*X.shape) == 6
    with pytest.raises(ValueError, match=r"n_components=10 .* between 0 and 6"):
        PCADetector(n_components=10).fit(X)
    detector = PCADetector(n_components=0.999).fit(X)
    assert detector.n_components_ <= 6
    assert np.isfinite(detector.score_samples(X)).all()


def test_pca_single_feature_scores_squared_z():
    """One feature: k = 0 and the score is the squared z-score."""
    x = np.array([[1.0], [2.0], [3.0], [4.0], [40.0]])
    detector = PCADetector().fit(x)
    z = (x[:, 0] - x.mean()) / x.std()
    assert detector.n_components_ == 0
    np.testing.assert_allclose(detector.score_samples(x), z**2)


def test_pca_huge_values_scale_without_overflow():
    """Values near the float maximum are scaled without overflow to inf."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3)) * 1e307
    X[5] = [1.7e308, -1.7e308, 1.7e308]
    with np.errstate(over="raise", invalid="raise"):
        scores = PCADetector().fit(X).score_samples(X)
    assert np.isfinite(scores).all()
    assert int(np.argmax(scores)) == 5


def test_pca_duplicate_rows_are_scored_identically():
    rng = np.random.default_rng(3)
    X = np.repeat(rng.normal(size=(20, 4)), 5, axis=0)
    scores = PCADetector().fit(X).score_samples(X)
    grouped = scores.reshape(20, 5)
    np.testing.assert_allclose(grouped, np.broadcast_to(grouped[:, :1], grouped.shape))


def test_pca_rejects_unknown_score():
    with pytest.raises(ValueError, match="score must be one of"):
        PCADetector(score="mahalanobis").fit(np.eye(5))


def test_pca_tall_data_axes_match_the_svd():
    """Above GRAM_MIN_ROWS the covariance path gives the SVD's variances, subspace
    and scores (to rounding)."""
    from detectors import pca as pca_module

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30_000, 6)) @ rng.normal(size=(6, 6))
    X[5] += 20
    tall = PCADetector(n_components=3).fit(X)
    original = pca_module.GRAM_MIN_ROWS
    pca_module.GRAM_MIN_ROWS = 10**9
    try:
        reference = PCADetector(n_components=3).fit(X)
    finally:
        pca_module.GRAM_MIN_ROWS = original
    np.testing.assert_allclose(
        tall.explained_variance_, reference.explained_variance_, rtol=1e-9
    )
    np.testing.assert_allclose(
        np.abs(tall.components_ @ reference.components_.T), np.eye(3), atol=1e-8
    )
    np.testing.assert_allclose(
        tall.score_samples(X), reference.score_samples(X), rtol=1e-7
    )
    assert int(np.argmax(tall.score_samples(X))) == 5
