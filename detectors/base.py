"""Shared detector contract: validation, standardisation and the base class."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

logger = logging.getLogger(__name__)

#: rows scored at a time (bounds the memory of scoring, not its result)
SCORE_BLOCK_ROWS = 65_536

# progress(step, total, loss): long fits report through this; loss may be None.
ProgressCallback = Callable[[int, int, "float | None"], None]


class NotFittedError(ValueError, AttributeError):
    """Raised when a detector is used before ``fit``."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before reaching its tolerance."""


def check_array(X, *, name: str = "X", min_samples: int = 2) -> np.ndarray:
    """Return ``X`` as a finite 2-D float64 array, or raise a ValueError that says why.

    The input is never modified: a copy is made whenever a conversion is needed.
    """
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{name} must be numeric; could not convert it to float ({exc}). "
            "Pass only numeric feature columns."
        ) from None
    if X.ndim == 1:
        raise ValueError(
            f"{name} must be 2-D (n_samples, n_features), got a 1-D array of length "
            f"{X.shape[0]}. Use X.reshape(-1, 1) for a single feature."
        )
    if X.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n_samples, n_features), got {X.ndim}-D.")
    n_samples, n_features = X.shape
    if n_features == 0:
        raise ValueError(f"{name} has no feature columns; at least 1 is required.")
    if n_samples < min_samples:
        raise ValueError(
            f"{name} has {n_samples} row(s); at least {min_samples} are required."
        )
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        raise ValueError(
            f"{name} contains NaN or infinity (first at row {bad[0]}, column {bad[1]}). "
            "Drop or impute missing values before scoring."
        )
    return X


class StandardScaler:
    """Column standardisation that is safe for constant and near-constant columns.

    A column whose spread is within floating-point noise of its mean gets scale 1,
    so float error (std 1e-15) is never blown up to +-1. Values near the float
    maximum are scaled in two steps so the variance never overflows.
    """

    def fit(self, X: np.ndarray) -> StandardScaler:
        # Pre-divide by the column's largest magnitude so squares cannot overflow.
        magnitude = np.max(np.abs(X), axis=0)
        magnitude[magnitude == 0] = 1.0
        Xs = X / magnitude
        mean_s = Xs.mean(axis=0)
        std_s = Xs.std(axis=0)
        self.mean_ = mean_s * magnitude
        tiny = 1e3 * np.finfo(np.float64).eps * np.maximum(np.abs(mean_s), 1e-300)
        constant = std_s <= np.maximum(tiny, 1e-300)
        self.scale_ = np.where(constant, 1.0, std_s * magnitude)
        self.constant_ = constant
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        # Subtract after scaling so (x - mean) never overflows near the float maximum.
        return X / self.scale_ - self.mean_ / self.scale_

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        return Z * self.scale_ + self.mean_

    def to_dict(self) -> dict:
        return {
            "mean": self.mean_.tolist(),
            "scale": self.scale_.tolist(),
            "constant": self.constant_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict) -> StandardScaler:
        scaler = cls()
        scaler.mean_ = np.asarray(state["mean"], dtype=np.float64)
        scaler.scale_ = np.asarray(state["scale"], dtype=np.float64)
        scaler.constant_ = np.asarray(state["constant"], dtype=bool)
        return scaler


class BaseDetector(ABC):
    """Base class of the four detectors.

    Subclasses implement ``_fit(Z)`` and ``_contributions(Z)`` on standardised data.
    ``score_samples`` is the row sum of the contributions, so ``residuals`` always
    adds up to the score exactly. Higher scores mean more anomalous. Thresholds live
    in :mod:`detectors.thresholds`, never in the detector.
    """

    #: short name used by the CLI and the dashboard ("pca", "ae", "vae", "rpca")
    name: str = ""

    def fit(self, X, y=None) -> BaseDetector:
        """Learn the model of normal data from ``X`` of shape (n_samples, n_features).

        ``y`` is accepted for scikit-learn compatibility and ignored: fitting never
        uses labels.
        """
        X = check_array(X)
        self._check_fit_input(X)
        self.n_features_in_ = X.shape[1]
        self.scaler_ = self._make_scaler(X)
        self._fit(self.scaler_.transform(X))
        self.train_scores_ = self.score_samples(X)
        return self

    def _check_fit_input(self, X: np.ndarray) -> None:  # noqa: B027 (optional hook)
        """Hook: parameter and data checks that need the training shape."""

    def _make_scaler(self, X: np.ndarray) -> StandardScaler:
        """Hook: the input scaling; standardisation unless a subclass says otherwise."""
        return StandardScaler().fit(X)

    def _check_fitted(self) -> None:
        if not hasattr(self, "scaler_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X) first."
            )

    def _transform(self, X) -> np.ndarray:
        self._check_fitted()
        X = check_array(X, min_samples=1)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} was fitted "
                f"with {self.n_features_in_} features."
            )
        return self.scaler_.transform(X)

    def residuals(self, X) -> np.ndarray:
        """Per-feature contributions to each row's score, shape (n_samples, n_features).

        Row sums equal :meth:`score_samples`. Contributions are signed where the
        score has a cross term (PCA's Hotelling T^2); see each class's Notes.
        """
        return self._contributions(self._transform(X))

    def score_samples(self, X) -> np.ndarray:
        """Anomaly score of each row, shape (n_samples,); higher = more anomalous."""
        return self._row_scores(self._transform(X))

    def _row_scores(self, Z: np.ndarray) -> np.ndarray:
        # Row blocks keep scoring's (n, d) temporaries small on a million rows;
        # each row's score depends on that row alone.
        scores = np.empty(Z.shape[0])
        for start in range(0, Z.shape[0], SCORE_BLOCK_ROWS):
            block = slice(start, start + SCORE_BLOCK_ROWS)
            scores[block] = self._contributions(Z[block]).sum(axis=1)
        return scores

    def explain(self, X, top: int = 5) -> list[list[tuple[int, float]]]:
        """Top ``top`` features per row as ``(feature_index, contribution)`` pairs,
        largest contribution first."""
        contributions = self.residuals(X)
        top = min(top, contributions.shape[1])
        order = np.argsort(-contributions, axis=1, kind="stable")[:, :top]
        return [
            [(int(j), float(row[j])) for j in idx]
            for row, idx in zip(contributions, order)
        ]

    @abstractmethod
    def _fit(self, Z: np.ndarray) -> None:
        """Learn from standardised training data ``Z``."""

    @abstractmethod
    def _contributions(self, Z: np.ndarray) -> np.ndarray:
        """Per-feature score contributions of standardised rows ``Z``."""
