"""Threshold functions and the one policy shared by all detectors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from detectors import PCADetector
from detectors.thresholds import (
    ThresholdPolicy,
    contamination_threshold,
    flag,
    fpr_threshold,
    hotelling_t2_limit,
    q_statistic_limit,
)

finite_scores = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=300
)


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(
        st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=300, unique=True
    ),
    contamination=st.floats(0.001, 0.999),
)
def test_contamination_flags_expected_count_without_ties(scores, contamination):
    """With distinct scores, exactly ceil(c * n) rows are flagged, and they are the top ones."""
    scores = np.array(scores)
    flags = flag(scores, contamination_threshold(scores, contamination))
    expected = max(1, math.ceil(contamination * scores.size - 1e-9))
    assert flags.sum() == expected
    assert scores[flags].min() >= scores[~flags].max(initial=-np.inf)


@settings(max_examples=60, deadline=None)
@given(reference=finite_scores, rate=st.floats(0.001, 0.999))
def test_fpr_threshold_never_exceeds_target_rate(reference, rate):
    """At most floor(rate * n) reference rows are at or above the threshold."""
    reference = np.array(reference)
    flagged = flag(reference, fpr_threshold(reference, rate)).sum()
    assert flagged <= math.floor(rate * reference.size + 1e-9)


def test_contamination_threshold_value():
    assert contamination_threshold([0.1, 0.5, 0.3, 0.9], 0.5) == 0.5
    assert contamination_threshold(np.arange(100.0), 0.05) == 95.0


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, float("nan")])
def test_contamination_out_of_range_names_parameter(bad):
    with pytest.raises(ValueError, match="contamination must be in"):
        contamination_threshold([1.0, 2.0], bad)


def test_q_limit_single_residual_axis_is_scaled_chi2():
    """With one discarded axis of variance v, SPE = v * chi2(1): the JM limit is
    close to the exact chi-squared quantile."""
    limit = q_statistic_limit([2.0], alpha=0.05)
    exact = 2.0 * stats.chi2.ppf(0.95, 1)
    assert limit == pytest.approx(exact, rel=0.05)


def test_q_limit_many_equal_axes_matches_chi2():
    """With m equal residual variances, SPE/v ~ chi2(m): JM matches within 1 %."""
    limit = q_statistic_limit(np.full(10, 0.5), alpha=0.01)
    assert limit == pytest.approx(0.5 * stats.chi2.ppf(0.99, 10), rel=0.01)


def test_q_limit_is_false_alarm_rate_on_gaussian_data():
    """On Gaussian data the share of SPE above the 5 % limit is close to 5 %."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 8)) * np.array([5, 4, 3, 1, 1, 1, 1, 1])
    detector = PCADetector(n_components=3).fit(X)
    rate = np.mean(detector.spe(X) > detector.q_limit(0.05))
    assert 0.04 < rate < 0.06


def test_t2_limit_formula():
    n, k, alpha = 100, 3, 0.05
    expected = k * (n - 1) * (n + 1) / (n * (n - k)) * stats.f.ppf(0.95, k, n - k)
    assert hotelling_t2_limit(n, k, alpha) == pytest.approx(expected)
    assert hotelling_t2_limit(n, 0, alpha) == 0.0


def test_policy_alpha_uses_pca_limits_and_quantile_elsewhere():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(500, 5))
    X[3] = 12
    detector = PCADetector(n_components=2).fit(X)
    policy = ThresholdPolicy("alpha", 0.01)
    threshold, flags = policy.apply(detector.train_scores_, detector=detector, X=X)
    assert threshold is None and flags[3]
    expected = (detector.spe(X) > detector.q_limit(0.01)) | (
        detector.t2(X) > detector.t2_limit(0.01)
    )
    np.testing.assert_array_equal(flags, expected)
    threshold, flags = policy.apply(np.arange(100.0))
    assert threshold == pytest.approx(98.01)
    assert flags.sum() == 1


def test_policy_fpr_needs_reference_rows():
    with pytest.raises(ValueError, match="needs reference rows"):
        ThresholdPolicy("fpr", 0.05).apply(np.arange(10.0))
    scores = np.arange(100.0)
    reference = scores < 50  # rows 0..49 are normal
    threshold, flags = ThresholdPolicy("fpr", 0.1).apply(scores, reference=reference)
    assert flags[:50].sum() == 5 and flags[50:].all()


def test_policy_rejects_unknown_mode():
    with pytest.raises(ValueError, match="mode must be one of"):
        ThresholdPolicy("top-k", 0.1)
