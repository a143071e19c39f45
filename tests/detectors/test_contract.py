"""The contract every detector keeps (sklearn-style common checks)."""

from __future__ import annotations

import numpy as np
import pytest

from detectors import NotFittedError
from detectors.persistence import load_detector, save_detector
from detectors.pipeline import DETECTOR_NAMES, make_detector

# Small, fast settings: the contract is about behaviour, not accuracy.
FAST = {"ae": {"epochs": 30}, "vae": {"epochs": 30}}


def build(name: str, seed: int = 0):
    return make_detector(name, seed=seed, params=FAST.get(name))


@pytest.fixture(params=DETECTOR_NAMES)
def name(request) -> str:
    return request.param


def test_fit_returns_self(name, planted):
    X, _ = planted
    detector = build(name)
    assert detector.fit(X) is detector


def test_scores_have_one_finite_value_per_row(name, planted):
    X, _ = planted
    scores = build(name).fit(X).score_samples(X)
    assert scores.shape == (X.shape[0],)
    assert np.isfinite(scores).all()


def test_residuals_shape_and_sum_to_score(name, planted):
    X, _ = planted
    detector = build(name).fit(X)
    residuals = detector.residuals(X)
    assert residuals.shape == X.shape
    np.testing.assert_allclose(
        residuals.sum(axis=1), detector.score_samples(X), rtol=1e-9, atol=1e-12
    )


def test_planted_outlier_scores_highest(name, planted):
    X, outlier = planted
    scores = build(name).fit(X).score_samples(X)
    assert int(np.argmax(scores)) == outlier


def test_planted_feature_deviation_is_top_contributor(name, seed):
    """A large deviation in feature j of one row: that row ranks first and j is its
    top contributor in explain()."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(300, 2))
    X = latent @ rng.normal(size=(2, 5)) + 0.05 * rng.normal(size=(300, 5))
    row, feature = 123, 3
    X[row, feature] += 8 * X[:, feature].std()
    detector = build(name, seed).fit(X)
    assert int(np.argmax(detector.score_samples(X))) == row
    assert detector.explain(X[row : row + 1])[0][0][0] == feature


def test_same_seed_gives_identical_scores(name, planted):
    X, _ = planted
    first = build(name, 7).fit(X).score_samples(X)
    second = build(name, 7).fit(X).score_samples(X)
    np.testing.assert_array_equal(first, second)


def test_unfitted_detector_says_call_fit(name, planted):
    X, _ = planted
    with pytest.raises(NotFittedError, match="call fit"):
        build(name).score_samples(X)


def test_feature_count_mismatch_names_both_counts(name, planted):
    X, _ = planted
    detector = build(name).fit(X)
    with pytest.raises(
        ValueError, match=r"X has 5 features, but .* fitted with 6 features"
    ):
        detector.score_samples(X[:, :5])


def test_input_array_is_not_modified(name, planted):
    X, _ = planted
    original = X.copy()
    detector = build(name).fit(X)
    detector.score_samples(X)
    detector.residuals(X)
    np.testing.assert_array_equal(X, original)


def test_nan_input_is_refused_with_the_position(name, planted):
    X, _ = planted
    X = X.copy()
    X[4, 2] = np.nan
    with pytest.raises(
        ValueError, match=r"NaN or infinity \(first at row 4, column 2\)"
    ):
        build(name).fit(X)


def test_save_load_round_trip_gives_identical_scores(name, planted, tmp_path):
    X, _ = planted
    detector = build(name).fit(X)
    json_path = save_detector(
        detector,
        tmp_path / name,
        feature_names=[f"f{i}" for i in range(6)],
        threshold={"mode": "contamination", "value": 0.05},
    )
    loaded, document = load_detector(json_path)
    assert document["feature_names"][0] == "f0"
    assert "numpy" in document["versions"]
    np.testing.assert_array_equal(loaded.score_samples(X), detector.score_samples(X))
    new_rows = X[:10] + 0.5
    np.testing.assert_array_equal(
        loaded.score_samples(new_rows), detector.score_samples(new_rows)
    )


def test_fewer_rows_than_features_is_handled(name):
    """8 rows x 12 features: scores stay finite (AE/VAE also warn)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 12))
    with pytest.warns(UserWarning) if name in ("ae", "vae") else _nullcontext():
        scores = build(name).fit(X).score_samples(X)
    assert np.isfinite(scores).all()


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_single_feature_is_scored(name):
    """One feature: the far value scores highest."""
    x = np.concatenate([np.linspace(-1, 1, 59), [9.0]]).reshape(-1, 1)
    scores = build(name).fit(x).score_samples(x)
    assert np.isfinite(scores).all()
    assert int(np.argmax(scores)) == 59


def test_duplicate_rows_score_identically(name):
    rng = np.random.default_rng(3)
    X = np.repeat(rng.normal(size=(30, 4)), 4, axis=0)
    scores = build(name).fit(X).score_samples(X).reshape(30, 4)
    np.testing.assert_allclose(
        scores, np.broadcast_to(scores[:, :1], scores.shape), rtol=1e-6, atol=1e-9
    )


def test_values_near_float_max_do_not_overflow(name, planted):
    """Data scaled to ~1e307 give the same ranking as the unscaled data, no inf."""
    X, outlier = planted
    huge = X / np.abs(X).max() * 1.5e308
    with np.errstate(over="raise"):
        scores = build(name).fit(huge).score_samples(huge)
    assert np.isfinite(scores).all()
    assert int(np.argmax(scores)) == outlier


def test_constant_column_gives_finite_scores(name, planted):
    """A constant and a near-constant column (float noise) never produce NaN."""
    X, outlier = planted
    X = np.column_stack([X, np.full(len(X), 7.0), np.full(len(X), -11.512925464970229)])
    X[::3, -1] = np.nextafter(X[0, -1], 0)
    scores = build(name).fit(X).score_samples(X)
    assert np.isfinite(scores).all()
    assert int(np.argmax(scores)) == outlier


def test_scoring_in_row_blocks_changes_no_score(name, planted, monkeypatch):
    """Scores computed 7 rows at a time equal those of one block (to rounding:
    float32 for the networks), for the training rows and for new rows."""
    from detectors import base

    X, _ = planted
    detector = build(name).fit(X)
    new_rows = X[:50] * 1.1
    whole = detector.score_samples(X), detector.score_samples(new_rows)
    monkeypatch.setattr(base, "SCORE_BLOCK_ROWS", 7)
    rtol = 1e-5 if name in ("ae", "vae") else 1e-9
    np.testing.assert_allclose(detector.score_samples(X), whole[0], rtol=rtol)
    np.testing.assert_allclose(detector.score_samples(new_rows), whole[1], rtol=rtol)
