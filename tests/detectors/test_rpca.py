"""Tests for Principal Component Pursuit and RobustPCADetector."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from detectors.base import ConvergenceWarning, StandardScaler
from detectors.rpca import (
    RobustPCADetector,
    _soft_threshold,
    _svt,
    principal_component_pursuit,
)

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases" / "inputs"


def planted(n_rows, n_cols, rank, fraction=0.05, seed=0):
    """Candes et al. (2011) model: N(0, 1/n) factors (n columns), +-1 errors."""
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(n_cols)
    L0 = rng.normal(0, scale, (n_rows, rank)) @ rng.normal(0, scale, (rank, n_cols))
    support = rng.random((n_rows, n_cols)) < fraction
    S0 = np.where(support, rng.choice([-1.0, 1.0], size=L0.shape), 0.0)
    return L0, S0, support


def low_rank_data(n_rows=200, n_features=8, rank=2, seed=0):
    """Exactly rank-``rank`` data with standard normal factors."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_rows, rank)) @ rng.normal(size=(rank, n_features))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pcp_recovers_planted_low_rank_and_sparse(seed):
    """200 x 200, rank 5, 5 % corrupted: L to 1e-5 and S's support exactly."""
    L0, S0, support = planted(200, 200, 5, seed=seed)

    L, S, info = principal_component_pursuit(L0 + S0)

    assert info["converged"]
    assert np.linalg.norm(L - L0) / np.linalg.norm(L0) < 1e-5
    np.testing.assert_array_equal(np.abs(S) > 1e-6, support)
    assert info["rank"][-1] == 5


def test_pcp_recovers_tall_and_wide_alike():
    """A tall matrix (narrow SVD path) and its transpose give transposed answers."""
    L0, S0, support = planted(3000, 30, 2, seed=3)
    M = L0 + S0

    L, S, _ = principal_component_pursuit(M, lam=0.03)
    Lt, _, _ = principal_component_pursuit(M.T, lam=0.03)

    assert np.linalg.norm(L - L0) / np.linalg.norm(L0) < 1e-5
    np.testing.assert_array_equal(np.abs(S) > 1e-6, support)
    np.testing.assert_allclose(Lt.T, L, atol=1e-9)


def test_pcp_case15_finds_the_four_corrupted_cells():
    """Case 15 raw: |S| > 1 at exactly (7,2), (19,5), (33,0), (51,6), 0 elsewhere."""
    M = pd.read_csv(CASES / "15-rpca-lowrank-sparse.csv").to_numpy(dtype=float)

    L, S, info = principal_component_pursuit(M)

    assert [tuple(cell) for cell in np.argwhere(np.abs(S) > 1)] == [
        (7, 2),
        (19, 5),
        (33, 0),
        (51, 6),
    ]
    assert np.count_nonzero(S) == 4
    singular_values = np.linalg.svd(L, compute_uv=False)
    assert singular_values[1] / singular_values[0] < 1e-8
    assert info["rank"][-1] == 1


def test_detector_case15_ranks_corrupted_rows_top4():
    """Case 15 z-scored: rows 7, 19, 33 and 51 are the four highest scores."""
    X = pd.read_csv(CASES / "15-rpca-lowrank-sparse.csv").to_numpy(dtype=float)

    scores = RobustPCADetector().fit(X).train_scores_

    assert set(np.argsort(-scores)[:4]) == {7, 19, 33, 51}


def test_detector_case16_ranks_main_axis_outlier_first():
    """Case 16: the point far out along y = x (row 40) ranks first."""
    X = pd.read_csv(CASES / "16-outlier-along-main-axis.csv").to_numpy(dtype=float)

    scores = RobustPCADetector().fit(X).score_samples(X)

    assert np.argmax(scores) == 40


def test_pcp_info_holds_the_trace():
    """info has per-iteration residual, rank and nnz, and lam = 1/sqrt(max(m, n))."""
    L0, S0, _ = planted(30, 50, 2, seed=4)

    L, S, info = principal_component_pursuit(L0 + S0)

    assert info["lam"] == 1.0 / np.sqrt(50)
    assert info["converged"] is True
    assert isinstance(info["iterations"], int)
    for key in ("residual", "rank", "nnz", "mu"):
        assert len(info[key]) == info["iterations"]
    assert info["residual"][-1] < 1e-7
    assert info["nnz"][-1] == np.count_nonzero(S)
    assert info["seconds"] >= 0.0
    assert np.linalg.norm(L0 + S0 - L - S) / np.linalg.norm(L0 + S0) < 1e-7


def test_pcp_warns_when_max_iter_is_reached():
    """Two iterations are not enough: ConvergenceWarning names the remedy."""
    L0, S0, _ = planted(40, 40, 2, seed=5)

    with pytest.warns(ConvergenceWarning, match=r"2 iterations.*Raise max_iter or tol"):
        _, _, info = principal_component_pursuit(L0 + S0, max_iter=2)

    assert info["converged"] is False
    assert info["iterations"] == 2


def test_detector_warns_when_max_iter_is_reached():
    """The detector's warning names the class and the parameter to raise."""
    with pytest.warns(ConvergenceWarning, match="RobustPCADetector did not converge"):
        RobustPCADetector(max_iter=2).fit(low_rank_data())


def test_pcp_calls_progress_every_iteration():
    """progress(step, total, residual) is called once per iteration, in order."""
    L0, S0, _ = planted(40, 40, 2, seed=6)
    calls = []

    _, _, info = principal_component_pursuit(
        L0 + S0, max_iter=500, progress=lambda *args: calls.append(args)
    )

    assert [step for step, _, _ in calls] == list(range(1, info["iterations"] + 1))
    assert {total for _, total, _ in calls} == {500}
    assert [residual for _, _, residual in calls] == info["residual"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lam": -1.0}, "lam must be a positive"),
        ({"tol": 0.0}, r"tol must be in \(0, 1\), got 0.0"),
        ({"max_iter": 0}, "max_iter must be an integer >= 1, got 0"),
        ({"rank_hint": 0}, "rank_hint must be an integer >= 1"),
    ],
)
def test_pcp_rejects_bad_parameters(kwargs, match):
    """Each bad parameter is named with its allowed range and the value received."""
    with pytest.raises(ValueError, match=match):
        principal_component_pursuit(np.ones((5, 4)), **kwargs)


def test_pcp_rejects_non_finite_input():
    """NaN in M is refused with its position."""
    M = np.ones((5, 4))
    M[2, 1] = np.nan

    with pytest.raises(ValueError, match="row 2, column 1"):
        principal_component_pursuit(M)


def test_pcp_leaves_input_unchanged_and_handles_zeros():
    """M is not modified; an all-zero M gives L = S = 0 at once."""
    L0, S0, _ = planted(30, 30, 2, seed=7)
    M = L0 + S0
    before = M.copy()

    principal_component_pursuit(M)
    L, S, info = principal_component_pursuit(np.zeros((6, 5)))

    np.testing.assert_array_equal(M, before)
    assert not L.any() and not S.any()
    assert info["converged"] and info["iterations"] == 0


def test_soft_threshold_shrinks_towards_zero():
    """soft(x, 1) on known values."""
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.5])

    np.testing.assert_array_equal(
        _soft_threshold(x, 1.0), [-2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.5]
    )


@pytest.mark.parametrize("shape", [(400, 300), (300, 400), (500, 20), (20, 500)])
def test_svt_matches_full_svd_thresholding(shape):
    """Partial (randomised) and narrow (Gram) paths equal thresholding a full SVD."""
    rng = np.random.default_rng(8)
    A = rng.normal(size=(shape[0], 6)) @ rng.normal(size=(6, shape[1]))
    A += 0.01 * rng.normal(size=shape)
    tau = 1.0
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    expected = (U * np.maximum(s - tau, 0.0)) @ Vt

    L, rank, _ = _svt(A, tau, 2, np.random.default_rng(0))

    assert rank == 6
    np.testing.assert_allclose(L, expected, atol=1e-9 * s[0])


def test_detector_new_row_on_low_rank_part_scores_zero():
    """A new row equal to a training row's low-rank part has no sparse part."""
    X = low_rank_data(seed=9)
    detector = RobustPCADetector().fit(X)
    row = detector.scaler_.inverse_transform(detector.low_rank_[[5]])

    assert detector.score_samples(row)[0] == pytest.approx(0.0, abs=1e-12)


def test_detector_new_row_spike_is_scored_and_explained():
    """A new row with one spike scores far above training rows, spike feature first."""
    X = low_rank_data(seed=10)
    detector = RobustPCADetector().fit(X)
    row = X[[5]].copy()
    row[0, 3] += 10 * X[:, 3].std()

    score = detector.score_samples(row)[0]

    # The spike is 10 standard deviations, so 10 in standardised units.
    assert score == pytest.approx(100.0, rel=1e-3)
    assert score > 10 * detector.train_scores_.max()
    assert detector.explain(row)[0][0][0] == 3
    assert detector.residuals(row)[0, 3] == pytest.approx(score, rel=1e-4)


@pytest.mark.parametrize(("row", "feature"), [(17, 0), (120, 5), (199, 7)])
def test_detector_planted_deviation_ranks_row_and_feature_first(row, feature):
    """A large deviation in one cell: its row ranks first, its feature explains it."""
    X = low_rank_data(seed=11)
    X[row, feature] += 6 * X[:, feature].std()

    detector = RobustPCADetector().fit(X)

    assert np.argmax(detector.score_samples(X)) == row
    assert detector.explain(X)[row][0][0] == feature


def test_detector_training_contributions_are_sparse_squared():
    """On the training matrix, residuals are S**2 and sum to the scores."""
    X = low_rank_data(seed=12)
    X[3, 1] += 5.0

    detector = RobustPCADetector().fit(X)

    np.testing.assert_array_equal(detector.residuals(X), detector.sparse_**2)
    np.testing.assert_allclose(
        detector.residuals(X).sum(axis=1), detector.train_scores_
    )
    assert detector.components_.shape[1] == 8
    np.testing.assert_allclose(
        detector.components_ @ detector.components_.T,
        np.eye(detector.components_.shape[0]),
        atol=1e-10,
    )


def test_detector_keeps_parameters_unchanged():
    """__init__ stores its keyword arguments as given."""
    detector = RobustPCADetector(lam=0.5, tol=1e-6, max_iter=10)

    assert (detector.lam, detector.tol, detector.max_iter) == (0.5, 1e-6, 10)
    assert detector.get_params() == {"lam": 0.5, "tol": 1e-6, "max_iter": 10}
    with pytest.raises(TypeError):
        RobustPCADetector(0.5)


def test_detector_export_import_round_trip_gives_identical_scores():
    """Exported arrays restore a detector whose scores match bit for bit."""
    X = low_rank_data(seed=13)
    X[7, 2] += 5.0
    new_rows = X[:10] + 0.1
    fitted = RobustPCADetector().fit(X)

    restored = RobustPCADetector()
    restored.scaler_ = StandardScaler.from_dict(fitted.scaler_.to_dict())
    restored.n_features_in_ = fitted.n_features_in_
    restored._import_state(
        {key: value.copy() for key, value in fitted._export_state().items()}
    )

    np.testing.assert_array_equal(restored.score_samples(X), fitted.train_scores_)
    np.testing.assert_array_equal(
        restored.score_samples(new_rows), fitted.score_samples(new_rows)
    )
    assert restored.info_["residual"] == fitted.info_["residual"]
    assert restored.info_["converged"] == fitted.info_["converged"]
