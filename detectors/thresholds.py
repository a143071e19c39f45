"""Thresholds, kept apart from scores: a policy turns any detector's scores into flags.

Scores are pure numbers (higher = more anomalous). Every function here is cheap
and never refits a model, so the dashboard can move a threshold freely.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

MODES = ("contamination", "fpr", "alpha")


def _check_fraction(value: float, name: str, *, upper_inclusive: bool = False) -> float:
    value = float(value)
    ok = 0 < value <= 1 if upper_inclusive else 0 < value < 1
    if not ok or math.isnan(value):
        upper = "1]" if upper_inclusive else "1)"
        raise ValueError(f"{name} must be in (0, {upper}, got {value!r}.")
    return value


def contamination_threshold(scores, contamination: float = 0.05) -> float:
    """Score of the ``ceil(contamination * n)``-th highest row.

    Flagging ``scores >= threshold`` flags that many rows when no scores tie.

    Examples
    --------
    >>> contamination_threshold([0.1, 0.5, 0.3, 0.9], contamination=0.5)
    0.5
    """
    contamination = _check_fraction(contamination, "contamination")
    scores = np.asarray(scores, dtype=np.float64)
    n_flag = max(1, math.ceil(contamination * scores.size - 1e-9))
    return float(np.partition(scores, scores.size - n_flag)[scores.size - n_flag])


def fpr_threshold(reference_scores, target_fpr: float = 0.01) -> float:
    """Threshold whose false-positive rate on reference (normal) rows is at most
    ``target_fpr``: the smallest reference score that leaves at most that share of
    reference rows at or above it is exceeded by one ulp."""
    target_fpr = _check_fraction(target_fpr, "target_fpr")
    reference = np.sort(np.asarray(reference_scores, dtype=np.float64))
    if reference.size == 0:
        raise ValueError("fpr_threshold needs at least one reference (normal) score.")
    allowed = math.floor(target_fpr * reference.size + 1e-9)
    # Everything strictly above the (n - allowed)-th smallest score is flagged.
    cut = reference[reference.size - allowed - 1]
    return float(np.nextafter(cut, np.inf))


def q_statistic_limit(residual_eigenvalues, alpha: float = 0.01) -> float:
    """Jackson-Mudholkar (1979) upper control limit of the SPE / Q statistic.

    ``residual_eigenvalues`` are the variances of the discarded principal axes.
    Falls back to Box's (1954) scaled chi-squared approximation when the
    Jackson-Mudholkar exponent ``h0`` is not positive.
    """
    alpha = _check_fraction(alpha, "alpha")
    lam = np.asarray(residual_eigenvalues, dtype=np.float64)
    lam = lam[lam > 0]
    if lam.size == 0:
        return 0.0
    theta1, theta2, theta3 = (np.sum(lam**p) for p in (1, 2, 3))
    h0 = 1.0 - 2.0 * theta1 * theta3 / (3.0 * theta2**2)
    if h0 <= 0:
        g, h = theta2 / theta1, theta1**2 / theta2
        return float(g * stats.chi2.ppf(1 - alpha, h))
    c_alpha = stats.norm.ppf(1 - alpha)
    term = (
        c_alpha * math.sqrt(2 * theta2 * h0**2) / theta1
        + 1.0
        + theta2 * h0 * (h0 - 1.0) / theta1**2
    )
    return float(theta1 * term ** (1.0 / h0))


def hotelling_t2_limit(n_samples: int, n_components: int, alpha: float = 0.01) -> float:
    """Upper limit of Hotelling's T^2 for a new row, from the F distribution:
    ``k (n-1)(n+1) / (n (n-k)) * F(1-alpha; k, n-k)``."""
    alpha = _check_fraction(alpha, "alpha")
    n, k = int(n_samples), int(n_components)
    if k == 0:
        return 0.0
    if n <= k:
        raise ValueError(
            f"hotelling_t2_limit needs more rows than components, got n={n}, k={k}."
        )
    factor = k * (n - 1) * (n + 1) / (n * (n - k))
    return float(factor * stats.f.ppf(1 - alpha, k, n - k))


def flag(scores, threshold: float) -> np.ndarray:
    """Boolean flags: ``scores >= threshold``."""
    return np.asarray(scores, dtype=np.float64) >= threshold


@dataclass(frozen=True)
class ThresholdPolicy:
    """One rule applied to every detector so their flags are comparable.

    Parameters
    ----------
    mode : {"contamination", "fpr", "alpha"}
        ``contamination``: flag the top ``value`` fraction of rows.
        ``fpr``: flag rows above the score that a ``value`` share of reference
        (normal) rows exceed; needs a reference mask (e.g. rows labelled normal).
        ``alpha``: significance level. For PCA, a row is flagged when its SPE
        exceeds the Jackson-Mudholkar limit or its T^2 the F-distribution limit;
        detectors without a distributional limit use the ``1 - value`` quantile
        of their scores on the data, which is the same false-alarm rate if the
        data are normal.
    value : float
        The fraction, rate or significance level, in (0, 1).
    """

    mode: str = "contamination"
    value: float = 0.05

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(
                f"ThresholdPolicy: mode must be one of {MODES}, got {self.mode!r}."
            )
        _check_fraction(self.value, f"ThresholdPolicy({self.mode}) value")

    def apply(self, scores, *, detector=None, X=None, reference=None):
        """Return ``(threshold, flags)`` for one detector's scores.

        ``threshold`` is None when the flags do not come from one cut on the
        score (PCA under ``alpha``, which checks SPE and T^2 separately).
        """
        scores = np.asarray(scores, dtype=np.float64)
        if self.mode == "contamination":
            threshold = contamination_threshold(scores, self.value)
            return threshold, flag(scores, threshold)
        if self.mode == "fpr":
            if reference is None or not np.any(reference):
                raise ValueError(
                    "ThresholdPolicy(fpr) needs reference rows known to be normal "
                    "(a label column with normal rows); choose 'contamination' otherwise."
                )
            threshold = fpr_threshold(
                scores[np.asarray(reference, dtype=bool)], self.value
            )
            return threshold, flag(scores, threshold)
        if detector is not None and hasattr(detector, "q_limit") and X is not None:
            flags = (detector.spe(X) > detector.q_limit(self.value)) | (
                detector.t2(X) > detector.t2_limit(self.value)
            )
            return None, flags
        threshold = float(np.quantile(scores, 1 - self.value))
        return threshold, scores > threshold
