"""PCA detector: squared prediction error plus Hotelling's T^2 on standardised data."""

from __future__ import annotations

import logging
import numbers

import numpy as np
from scipy import linalg

from detectors.base import BaseDetector
from detectors.thresholds import hotelling_t2_limit, q_statistic_limit

logger = logging.getLogger(__name__)

_SCORES = ("t2+spe", "spe", "t2")
#: above this many rows (and 10 per feature) the axes come from the covariance
GRAM_MIN_ROWS = 20_000


class PCADetector(BaseDetector):
    """Principal component analysis with reconstruction error and Hotelling's T^2.

    The data are standardised, the top ``k`` principal components are kept, and
    each row gets two classical statistics (Jackson 1991):

    - SPE (the Q statistic): squared distance from the row to the k-dimensional
      principal subspace, i.e. its squared reconstruction error.
    - T^2: squared Mahalanobis distance inside that subspace,
      ``sum_j t_j**2 / lambda_j`` with scores ``t`` and component variances
      ``lambda``.

    Higher scores mean more anomalous.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Number of components ``k``. An int is used as is; a float in (0, 1) keeps
        the fewest components whose explained variance reaches it; None means 0.9.
        ``k`` is at most ``min(n_samples - 2, n_features - 1)``: beyond that the
        residual of every row is numerically zero and the scores are all tied.
    score : {"t2+spe", "spe", "t2"}, default="t2+spe"
        Which statistic is the score. SPE alone cannot see a row that lies far out
        *along* a principal direction (it reconstructs perfectly); adding T^2
        closes that blind spot.

    Attributes
    ----------
    components_ : ndarray of shape (k, n_features)
        Principal axes in standardised feature space.
    explained_variance_ : ndarray of shape (k,)
        Variance of the training data along each kept axis.
    residual_eigenvalues_ : ndarray
        Variances of the discarded axes (used by the Q-statistic limit).
    n_components_ : int
        The ``k`` actually used.

    Notes
    -----
    ``residuals(X)`` returns per-feature contributions that add up to the score.
    SPE contributions are the squared residuals ``(z - z_hat)**2`` (never
    negative). T^2 contributions are ``z_j * sum_k p_jk t_k / lambda_k`` (Westerhuis
    et al. 2000); these can be negative for a feature that pulls the row back
    towards the centre, but their sum is exactly T^2.

    References
    ----------
    J. E. Jackson and G. S. Mudholkar, "Control procedures for residuals
    associated with principal component analysis", Technometrics 21(3), 1979.

    Examples
    --------
    >>> import numpy as np
    >>> from detectors import PCADetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)) @ np.array([[1, 1, 0], [0, 1, 1], [0, 0, .1]])
    >>> X[7] = [0, 5, -5]
    >>> detector = PCADetector().fit(X)
    >>> int(np.argmax(detector.score_samples(X)))
    7
    """

    name = "pca"

    def __init__(
        self, *, n_components: int | float | None = None, score: str = "t2+spe"
    ):
        self.n_components = n_components
        self.score = score

    def get_params(self) -> dict:
        return {"n_components": self.n_components, "score": self.score}

    @staticmethod
    def max_components(n_samples: int, n_features: int) -> int:
        """Largest useful ``k``: beyond it every row's residual is zero."""
        return max(0, min(n_samples - 2, n_features - 1))

    def _fit(self, Z: np.ndarray) -> None:
        if self.score not in _SCORES:
            raise ValueError(
                f"PCADetector: score must be one of {_SCORES}, got {self.score!r}."
            )
        n_samples, n_features = Z.shape
        limit = self.max_components(n_samples, n_features)

        # Centre again: standardisation already did, but this keeps the maths
        # exact if a subclass changes the scaler.
        self.center_ = Z.mean(axis=0)
        variances, vt = self._principal_axes(Z)
        total = variances.sum()
        ratio = np.cumsum(variances) / total if total > 0 else np.ones_like(variances)

        k = self._choose_k(ratio, limit)
        self.n_components_ = k
        self.components_ = vt[:k]
        self.explained_variance_ = variances[:k]
        self.residual_eigenvalues_ = variances[k:]
        self.explained_variance_ratio_ = variances / total if total > 0 else variances
        logger.info("PCA kept k=%d of %d components", k, n_features)

    def _principal_axes(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Variances and axes (rows of ``vt``), largest first."""
        n_samples, n_features = Z.shape
        if n_samples > GRAM_MIN_ROWS and n_samples > 10 * n_features:
            # Tall data: the d x d covariance avoids an (n, d) copy and the (n, d)
            # left singular vectors that a thin SVD would allocate.
            gram = Z.T @ Z - n_samples * np.outer(self.center_, self.center_)
            variances, vectors = linalg.eigh(gram / (n_samples - 1))
            order = np.argsort(variances)[::-1]
            return np.maximum(variances[order], 0.0), vectors[:, order].T
        _, singular, vt = linalg.svd(Z - self.center_, full_matrices=False)
        return singular**2 / max(n_samples - 1, 1), vt

    def _choose_k(self, ratio: np.ndarray, limit: int) -> int:
        wanted = 0.9 if self.n_components is None else self.n_components
        if isinstance(wanted, numbers.Integral) and not isinstance(wanted, bool):
            if not 0 <= wanted <= limit:
                raise ValueError(
                    f"PCADetector: n_components={wanted} is out of range; with these "
                    f"data it must be between 0 and {limit} "
                    "(min(n_samples - 2, n_features - 1)), because more components "
                    "leave every row with zero residual."
                )
            return int(wanted)
        if isinstance(wanted, numbers.Real) and 0 < wanted < 1:
            k = int(np.searchsorted(ratio, wanted - 1e-12) + 1)
            return min(k, limit)
        raise ValueError(
            "PCADetector: n_components must be an int, a float in (0, 1) or None, "
            f"got {wanted!r}."
        )

    def _parts(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-feature SPE and T^2 contributions of standardised rows."""
        centred = Z - self.center_
        t = centred @ self.components_.T
        residual = centred - t @ self.components_
        spe = residual**2
        # Guard a zero-variance kept axis (only possible with a user-forced k).
        variance = np.maximum(self.explained_variance_, np.finfo(np.float64).tiny)
        t2 = centred * ((t / variance) @ self.components_)
        return spe, t2

    def _contributions(self, Z: np.ndarray) -> np.ndarray:
        spe, t2 = self._parts(Z)
        if self.score == "spe":
            return spe
        if self.score == "t2":
            return t2
        return spe + t2

    def spe(self, X) -> np.ndarray:
        """Squared prediction error (Q statistic) per row."""
        return self._parts(self._transform(X))[0].sum(axis=1)

    def t2(self, X) -> np.ndarray:
        """Hotelling's T^2 per row."""
        return self._parts(self._transform(X))[1].sum(axis=1)

    def reconstruct(self, X) -> np.ndarray:
        """Rows projected onto the principal subspace, in original units."""
        Z = self._transform(X)
        centred = Z - self.center_
        Z_hat = centred @ self.components_.T @ self.components_ + self.center_
        return self.scaler_.inverse_transform(Z_hat)

    def q_limit(self, alpha: float = 0.01) -> float:
        """Jackson-Mudholkar upper limit of SPE at significance ``alpha``."""
        self._check_fitted()
        return q_statistic_limit(self.residual_eigenvalues_, alpha)

    def t2_limit(self, alpha: float = 0.01) -> float:
        """F-distribution upper limit of Hotelling's T^2 at significance ``alpha``."""
        self._check_fitted()
        return hotelling_t2_limit(len(self.train_scores_), self.n_components_, alpha)

    def _export_state(self) -> dict[str, np.ndarray]:
        return {
            "center": self.center_,
            "components": self.components_,
            "explained_variance": self.explained_variance_,
            "residual_eigenvalues": self.residual_eigenvalues_,
            "explained_variance_ratio": self.explained_variance_ratio_,
        }

    def _import_state(self, arrays: dict[str, np.ndarray]) -> None:
        self.center_ = arrays["center"]
        self.components_ = arrays["components"]
        self.explained_variance_ = arrays["explained_variance"]
        self.residual_eigenvalues_ = arrays["residual_eigenvalues"]
        self.explained_variance_ratio_ = arrays["explained_variance_ratio"]
        self.n_components_ = int(self.components_.shape[0])
