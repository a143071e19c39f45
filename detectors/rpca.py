"""Robust PCA by Principal Component Pursuit, and the detector built on it."""

from __future__ import annotations

import hashlib
import logging
import time
import warnings
from numbers import Integral, Real

import numpy as np

from detectors.base import (
    BaseDetector,
    ConvergenceWarning,
    ProgressCallback,
    check_array,
)

logger = logging.getLogger(__name__)

# Inexact ALM schedule after Lin, Chen and Ma (2010): mu_0 = 1.25 / ||M||_2, and mu
# grows by rho per iteration up to 1e7 * mu_0, so thresholds stay far above float
# noise. Their rho = 1.5 reaches the residual tol at a feasible but not optimal
# point on some problems (planted 5000 x 40: error 2.8e-3 against 5e-7 with 1.3;
# 1000 x 1000 Candes setup: 1.1e-6 against 5e-7); 1.3 costs about 20 % more
# iterations and landed at the optimum on every planted case we measured.
_MU_SCALE = 1.25
_RHO = 1.3
_MU_CAP = 1e7

# Partial SVD by a randomised range finder (Halko, Martinsson and Tropp 2011)
# written with numpy QR. Measured on this 2-core machine for a 1000 x 1000 matrix
# of rank 50 (60 vectors): range finder with one power step 0.024 s, with singular
# values exact to 5e-15; scipy svds 0.32 s (ARPACK) and 0.54 s (PROPACK);
# torch.svd_lowrank 0.012 s. numpy is within 2x of torch and keeps torch out of
# this module's imports; the previous iteration's right singular vectors seed the
# test matrix, so one power step is plenty.
_OVERSAMPLE = 10
_POWER_STEPS = 1

# Below this width, or when the predicted rank is a large share of it, the exact
# eigendecomposition of the small Gram matrix is cheaper than a randomised SVD:
# for 100000 x 40, Gram + eigh + one product take 0.015 s against 0.14 s for
# numpy's thin SVD and 0.08 s for QR + SVD of R.
_DENSE_WIDTH = 100
_DENSE_SHARE = 0.25

# Extra alternating steps at the final threshold for rows not seen in fit.
_OOS_FINAL_STEPS = 200


def _soft_threshold(X: np.ndarray, tau: float, out: np.ndarray | None = None):
    """Entrywise shrinkage ``sign(x) * max(|x| - tau, 0)``, the prox of the l1 norm."""
    # x - clip(x, -tau, tau) needs two passes and no sign array.
    out = np.clip(X, -tau, tau, out=out)
    return np.subtract(X, out, out=out)


def _gram_svd(A: np.ndarray):
    """Right singular vectors and values of ``A`` (m >= n) from its Gram matrix."""
    eigenvalues, V = np.linalg.eigh(A.T @ A)
    order = np.argsort(eigenvalues)[::-1]
    singular_values = np.sqrt(np.maximum(eigenvalues[order], 0.0))
    return singular_values, V[:, order]


def _randomized_svd(
    A: np.ndarray, k: int, rng, start: np.ndarray | None, power_steps: int
):
    """Rank-``k`` truncated SVD of ``A`` by a randomised range finder.

    ``start`` (rows = right singular vectors from the previous call) seeds the
    test matrix, which makes one power step as good as several from scratch.
    """
    n = A.shape[1]
    width = min(k + _OVERSAMPLE, min(A.shape))
    omega = rng.standard_normal((n, width))
    if start is not None and start.shape[0] > 0:
        used = min(start.shape[0], width)
        omega[:, :used] = start[:used].T
    Q, _ = np.linalg.qr(A @ omega)
    for _ in range(power_steps):
        W, _ = np.linalg.qr(A.T @ Q)
        Q, _ = np.linalg.qr(A @ W)
    Ub, s, Vt = np.linalg.svd(Q.T @ A, full_matrices=False)
    return Q @ Ub[:, :k], s[:k], Vt[:k]


def _svt(
    A: np.ndarray,
    tau: float,
    rank_guess: int,
    rng,
    start=None,
    power_steps: int = _POWER_STEPS,
    out: np.ndarray | None = None,
):
    """Singular value thresholding: the prox of ``tau * ||.||_*`` at ``A``.

    Returns ``(L, rank, Vt)`` where ``Vt`` holds the kept right singular vectors;
    ``L`` is written into ``out`` when given (it must not overlap ``A``).
    A partial SVD of ``rank_guess`` vectors is tried first and grown until its
    smallest value falls below ``tau``, so no kept direction is missed.
    """
    m, n = A.shape
    width = min(m, n)
    if width <= _DENSE_WIDTH or rank_guess + _OVERSAMPLE >= _DENSE_SHARE * width:
        # Squaring the spectrum in the Gram matrix blurs singular values below
        # about 1.5e-8 ||A||_2; the mu cap keeps tau above 8e-8 ||M||_2, so those
        # values are zeroed either way.
        tall = m >= n
        s, V = _gram_svd(A if tall else A.T)
        keep = s > tau
        V = V[:, keep]
        shrink = (V * (1.0 - tau / s[keep])) @ V.T
        L = np.matmul(A, shrink, out=out) if tall else np.matmul(shrink, A, out=out)
        rank = int(keep.sum())
        Vt = V.T if tall else (V.T @ A) / s[keep][:, None]
        return L, rank, Vt

    k = max(1, rank_guess)
    while True:
        U, s, Vt = _randomized_svd(A, k, rng, start, power_steps)
        rank = int(np.count_nonzero(s > tau))
        if rank < k or k >= width:
            break
        # Every computed value exceeds tau: more directions may be above it.
        k = min(width, 2 * k)
        start = Vt
        if k + _OVERSAMPLE >= _DENSE_SHARE * width:
            return _svt(A, tau, k, rng, out=out)
    L = np.matmul(U[:, :rank] * (s[:rank] - tau), Vt[:rank], out=out)
    return L, rank, Vt[:rank]


def _spectral_norm(M: np.ndarray, rng) -> float:
    """Largest singular value of ``M``: exact if narrow, else a randomised estimate."""
    if min(M.shape) <= _DENSE_WIDTH:
        narrow = M if M.shape[0] >= M.shape[1] else M.T
        return float(np.sqrt(max(np.linalg.eigvalsh(narrow.T @ narrow)[-1], 0.0)))
    _, s, _ = _randomized_svd(M, 1, rng, None, 2)
    return float(s[0])


def _is_count(value) -> bool:
    """True for an integer >= 1 (bool excluded)."""
    return isinstance(value, Integral) and not isinstance(value, bool) and value >= 1


def _check_params(owner: str, lam, tol, max_iter, rank_hint=None) -> None:
    """Raise a ValueError naming the parameter, its range and the value received."""
    if lam is not None and (
        not isinstance(lam, Real) or not np.isfinite(lam) or lam <= 0
    ):
        raise ValueError(
            f"{owner}: lam must be a positive finite number or None, got {lam!r}."
        )
    if not isinstance(tol, Real) or not (0 < tol < 1):
        raise ValueError(f"{owner}: tol must be in (0, 1), got {tol!r}.")
    if not _is_count(max_iter):
        raise ValueError(
            f"{owner}: max_iter must be an integer >= 1, got {max_iter!r}."
        )
    if rank_hint is not None and not _is_count(rank_hint):
        raise ValueError(
            f"{owner}: rank_hint must be an integer >= 1 or None, got {rank_hint!r}."
        )


def _pcp(M, lam, tol, max_iter, rank_hint, progress):
    """Inexact ALM loop on validated float64 ``M``; see principal_component_pursuit."""
    start_time = time.perf_counter()
    m, n = M.shape
    width = min(m, n)
    rng = np.random.default_rng(0)
    info = {
        "iterations": 0,
        "converged": False,
        "residual": [],
        "rank": [],
        "nnz": [],
        "mu": [],
        "lam": float(lam),
        "seconds": 0.0,
    }

    norm_fro = float(np.linalg.norm(M))
    if norm_fro == 0.0:
        info["converged"] = True
        return np.zeros_like(M), np.zeros_like(M), info

    norm_two = _spectral_norm(M, rng)
    # Scaled so the dual starts feasible: ||Y||_2 <= 1 and max |Y| <= lam.
    Y = M / max(norm_two, np.abs(M).max() / lam)
    mu = _MU_SCALE / norm_two
    mu_max = mu * _MU_CAP

    L = np.zeros_like(M)
    S = np.zeros_like(M)
    G = np.empty_like(M)
    T = np.empty_like(M)
    rank_guess = min(width, rank_hint if rank_hint is not None else 10)
    Vt = None

    for iteration in range(1, max_iter + 1):
        np.multiply(Y, 1.0 / mu, out=G)
        G += M
        np.subtract(G, L, out=T)
        _soft_threshold(T, lam / mu, out=S)
        np.subtract(G, S, out=T)
        # The previous L is no longer needed: reuse its memory (tall data: 1e6 rows).
        L, rank, Vt = _svt(T, 1.0 / mu, rank_guess, rng, Vt, out=L)

        np.subtract(M, L, out=T)
        T -= S
        residual = float(np.linalg.norm(T)) / norm_fro
        T *= mu
        Y += T

        info["residual"].append(residual)
        info["rank"].append(rank)
        info["nnz"].append(int(np.count_nonzero(S)))
        info["mu"].append(float(mu))
        info["iterations"] = iteration
        logger.debug(
            "PCP iteration %d: residual %.3e, rank %d, nnz %d",
            iteration,
            residual,
            rank,
            info["nnz"][-1],
        )
        if progress is not None:
            progress(iteration, max_iter, residual)
        if residual < tol:
            info["converged"] = True
            break

        # Predict next rank: one more than found if it dropped, else a margin.
        if rank < rank_guess:
            rank_guess = min(width, rank + 1)
        else:
            rank_guess = min(width, rank + max(1, round(0.05 * width)))
        mu = min(mu * _RHO, mu_max)

    info["seconds"] = time.perf_counter() - start_time
    logger.info(
        "PCP on %d x %d: %d iterations, residual %.2e, rank %d, %d sparse entries, "
        "%.2f s",
        m,
        n,
        info["iterations"],
        info["residual"][-1],
        info["rank"][-1],
        info["nnz"][-1],
        info["seconds"],
    )
    return L, S, info


def _convergence_message(owner: str, info: dict, tol: float) -> str:
    return (
        f"{owner} did not converge: {info['iterations']} iterations reached a "
        f"relative residual of {info['residual'][-1]:.3g}, above tol={tol:g}. "
        "Raise max_iter or tol."
    )


def principal_component_pursuit(
    M,
    lam: float | None = None,
    tol: float = 1e-7,
    max_iter: int = 1000,
    *,
    rank_hint: int | None = None,
    progress: ProgressCallback | None = None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Split ``M`` into a low-rank part ``L`` and a sparse part ``S``.

    Solves Principal Component Pursuit, ``min ||L||_* + lam * ||S||_1`` subject
    to ``L + S = M``, with the inexact augmented Lagrange multiplier method.

    Parameters
    ----------
    M : array-like of shape (n_samples, n_features)
        Finite numeric matrix. It is not modified.
    lam : float, default=None
        Weight of the l1 term. None means ``1 / sqrt(max(n_samples, n_features))``.
    tol : float, default=1e-7
        Stop when ``||M - L - S||_F / ||M||_F < tol``.
    max_iter : int, default=1000
        Largest number of iterations.
    rank_hint : int, default=None
        Expected rank of ``L``, used as the first partial-SVD size (default 10).
        It only affects speed.
    progress : callable, default=None
        Called as ``progress(iteration, max_iter, residual)`` after each iteration.

    Returns
    -------
    L : ndarray of shape (n_samples, n_features)
        Low-rank part.
    S : ndarray of shape (n_samples, n_features)
        Sparse part; ``L + S`` equals ``M`` to within ``tol``.
    info : dict
        ``iterations`` (int), ``converged`` (bool), and per iteration
        ``residual`` (relative), ``rank`` (of ``L``), ``nnz`` (nonzeros of ``S``)
        and ``mu`` (penalty; the iteration's thresholds are ``lam / mu`` and
        ``1 / mu``); also ``lam`` (the weight used) and ``seconds``.

    Raises
    ------
    ValueError
        If ``M`` is not a finite 2-D numeric array or a parameter is out of range.

    Warns
    -----
    ConvergenceWarning
        If ``tol`` is not reached within ``max_iter`` iterations.

    Notes
    -----
    Each iteration soft-thresholds ``S`` at ``lam / mu``, thresholds the singular
    values of ``L`` at ``1 / mu``, updates the multiplier ``Y += mu (M - L - S)``
    and grows ``mu`` by 1.3 (Lin et al. 2010, Algorithm 5), so far fewer
    iterations are needed than with a constant penalty. The SVD is partial: its
    size is the previous rank plus a margin, grown until the smallest computed
    singular value falls below the threshold. Narrow matrices (at most 100
    columns or rows, such as 100000 x 40) use the exact eigendecomposition of
    the small Gram matrix instead. The random test matrices come from a fixed
    seed, so results are reproducible.

    Exact recovery needs ``L`` incoherent and ``S`` sparse with spread-out
    support (Candes et al. 2011); otherwise the split is still the PCP optimum
    but need not match a planted one.

    References
    ----------
    .. [1] E. J. Candes, X. Li, Y. Ma and J. Wright, "Robust Principal Component
       Analysis?", Journal of the ACM 58(3), 2011, eq. (1.1) and Algorithm 1.
    .. [2] Z. Lin, M. Chen and Y. Ma, "The Augmented Lagrange Multiplier Method
       for Exact Recovery of Corrupted Low-Rank Matrices", arXiv:1009.5055, 2010,
       Algorithm 5.

    Examples
    --------
    >>> import numpy as np
    >>> from detectors.rpca import principal_component_pursuit
    >>> rng = np.random.default_rng(0)
    >>> M = np.outer(rng.normal(size=40), rng.normal(size=30))
    >>> M[3, 4] += 10.0
    >>> L, S, info = principal_component_pursuit(M)
    >>> info["converged"], info["rank"][-1]
    (True, 1)
    >>> [(int(i), int(j)) for i, j in np.argwhere(np.abs(S) > 1e-3)]
    [(3, 4)]
    """
    M = check_array(M, name="M", min_samples=1)
    _check_params("principal_component_pursuit", lam, tol, max_iter, rank_hint)
    if lam is None:
        lam = 1.0 / np.sqrt(max(M.shape))
    L, S, info = _pcp(M, float(lam), tol, max_iter, rank_hint, progress)
    if not info["converged"]:
        warnings.warn(
            _convergence_message("principal_component_pursuit", info, tol),
            ConvergenceWarning,
            stacklevel=2,
        )
    return L, S, info


def _fingerprint(Z: np.ndarray) -> bytes:
    """Digest of a float64 matrix's shape and bytes, to recognise the training data."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(np.asarray(Z.shape, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(Z, dtype=np.float64).tobytes())
    return digest.digest()


def _row_space(L: np.ndarray) -> np.ndarray:
    """Orthonormal basis of the row space of ``L``, shape (rank, n_features)."""
    _, s, Vt = np.linalg.svd(L, full_matrices=False)
    if s.size == 0 or s[0] == 0.0:
        return np.zeros((0, L.shape[1]))
    rank = int(np.count_nonzero(s > s[0] * max(L.shape) * np.finfo(np.float64).eps))
    return Vt[:rank].copy()


def _sparse_rows(Z: np.ndarray, V: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Sparse part of new rows against the fixed subspace spanned by ``V``'s rows.

    Alternates ``c = V (z - s)`` and ``s = soft(z - V^T c, tau)``, which lowers
    ``0.5 ||z - V^T c - s||^2 + tau ||s||_1`` at every step, with ``tau`` walking
    down ``thresholds`` and then held at the last one until ``s`` settles.
    """
    S = np.zeros_like(Z)
    scale = max(1.0, float(np.abs(Z).max(initial=0.0)))
    schedule = list(thresholds) + [thresholds[-1]] * _OOS_FINAL_STEPS
    for step, tau in enumerate(schedule):
        coefficients = (Z - S) @ V.T
        S_next = _soft_threshold(Z - coefficients @ V, tau)
        change = float(np.abs(S_next - S).max(initial=0.0))
        S = S_next
        if step >= len(thresholds) and change <= 1e-12 * scale:
            break
    return S


class RobustPCADetector(BaseDetector):
    """Robust PCA detector: a row's score is the energy of its sparse component.

    The standardised training matrix ``Z`` is split by Principal Component
    Pursuit (:func:`principal_component_pursuit`) into a low-rank part ``L`` and
    a sparse part ``S``. Higher scores mean more anomalous.

    Parameters
    ----------
    lam : float, default=None
        Weight of the l1 term; None means ``1 / sqrt(max(n_samples, n_features))``.
    tol : float, default=1e-7
        Relative residual at which PCP stops.
    max_iter : int, default=1000
        Largest number of PCP iterations.

    Attributes
    ----------
    low_rank_ : ndarray of shape (n_samples, n_features)
        ``L`` of the standardised training data.
    sparse_ : ndarray of shape (n_samples, n_features)
        ``S`` of the standardised training data.
    components_ : ndarray of shape (rank, n_features)
        Orthonormal basis of the row space of ``L``.
    tau_ : ndarray of shape (n_iterations,)
        Thresholds ``lam / mu_k`` of the fit, reused for rows not seen in fit.
    info_ : dict
        The solver's trace, as returned by :func:`principal_component_pursuit`.
    n_features_in_ : int
        Number of features seen in fit.
    train_scores_ : ndarray of shape (n_samples,)
        Scores of the training rows.

    Notes
    -----
    Scores are defined by two rules.

    - **Rows of the training matrix** (the exact array passed to ``fit``, told
      apart by a hash of its standardised values): the contribution of feature
      ``j`` to row ``i`` is ``S[i, j] ** 2``, the PCP solution itself.
    - **Any other rows** (including a subset or a reordering of the training
      rows): the learned subspace ``V = components_`` is kept fixed and each row
      ``z`` gets the ``s`` that minimises
      ``0.5 ||z - V^T c - s||^2 + tau ||s||_1`` over ``c`` and ``s``, by
      alternating ``c = V (z - s)`` and ``s = soft(z - V^T c, tau)``. ``tau``
      follows the fit's own thresholds ``lam / mu_k`` from first to last and then
      stays at the last one, which is tiny. This mirrors the fit: with a
      vanishing ``tau`` the problem tends to ``min ||z - V^T c||_1``, which is
      PCP for one new row whose low-rank part must lie in the learned row space.
      Contributions are ``s ** 2``.

    A training row scored through the second rule (for example alone) can
    differ from its in-sample score, because in-sample PCP also weighs the
    nuclear norm. Contributions are squares, so they are never negative and
    point at the cells PCP judged corrupted. Each fit solves PCP on the whole
    matrix: memory and time grow with ``n_samples * n_features``.

    References
    ----------
    .. [1] E. J. Candes, X. Li, Y. Ma and J. Wright, "Robust Principal Component
       Analysis?", Journal of the ACM 58(3), 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from detectors.rpca import RobustPCADetector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(50, 1)) @ rng.normal(size=(1, 6))
    >>> X[10, 2] += 8.0
    >>> detector = RobustPCADetector().fit(X)
    >>> int(np.argmax(detector.train_scores_)), detector.explain(X)[10][0][0]
    (10, 2)
    """

    name = "rpca"

    def __init__(
        self, *, lam: float | None = None, tol: float = 1e-7, max_iter: int = 1000
    ) -> None:
        self.lam = lam
        self.tol = tol
        self.max_iter = max_iter

    def get_params(self) -> dict:
        """Init keyword arguments as given (what persistence stores)."""
        return {"lam": self.lam, "tol": self.tol, "max_iter": self.max_iter}

    def _fit(self, Z: np.ndarray) -> None:
        _check_params(type(self).__name__, self.lam, self.tol, self.max_iter)
        lam = self.lam if self.lam is not None else 1.0 / np.sqrt(max(Z.shape))
        L, S, info = _pcp(Z, float(lam), self.tol, self.max_iter, None, None)
        if not info["converged"]:
            # stacklevel 3: the user's fit() call, through BaseDetector.fit.
            warnings.warn(
                _convergence_message(type(self).__name__, info, self.tol),
                ConvergenceWarning,
                stacklevel=3,
            )
        self.low_rank_ = L
        self.sparse_ = S
        self.info_ = info
        self.components_ = _row_space(L)
        self.tau_ = lam / np.asarray(info["mu"] or [1.0], dtype=np.float64)
        self.fingerprint_ = _fingerprint(Z)

    def _contributions(self, Z: np.ndarray) -> np.ndarray:
        if _fingerprint(Z) == self.fingerprint_:
            return self.sparse_**2
        return _sparse_rows(Z, self.components_, self.tau_) ** 2

    def _row_scores(self, Z: np.ndarray) -> np.ndarray:
        # The training matrix is recognised whole, before scoring goes by blocks.
        if _fingerprint(Z) == self.fingerprint_:
            return (self.sparse_**2).sum(axis=1)
        return super()._row_scores(Z)

    def _export_state(self) -> dict[str, np.ndarray]:
        """Fitted arrays beyond the scaler, for saving without pickle."""
        info = self.info_
        return {
            "components_": self.components_,
            "sparse_": self.sparse_,
            "low_rank_": self.low_rank_,
            "tau_": self.tau_,
            "fingerprint_": np.frombuffer(self.fingerprint_, dtype=np.uint8).copy(),
            "info_residual": np.asarray(info["residual"], dtype=np.float64),
            "info_rank": np.asarray(info["rank"], dtype=np.int64),
            "info_nnz": np.asarray(info["nnz"], dtype=np.int64),
            "info_mu": np.asarray(info["mu"], dtype=np.float64),
            "info_converged": np.asarray(info["converged"], dtype=bool),
            "info_lam": np.asarray(info["lam"], dtype=np.float64),
            "info_seconds": np.asarray(info["seconds"], dtype=np.float64),
        }

    def _import_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Restore what :meth:`_export_state` wrote."""
        self.components_ = np.asarray(arrays["components_"], dtype=np.float64)
        self.sparse_ = np.asarray(arrays["sparse_"], dtype=np.float64)
        self.low_rank_ = np.asarray(arrays["low_rank_"], dtype=np.float64)
        self.tau_ = np.asarray(arrays["tau_"], dtype=np.float64)
        self.fingerprint_ = np.asarray(arrays["fingerprint_"], dtype=np.uint8).tobytes()
        residual = [float(v) for v in arrays["info_residual"]]
        self.info_ = {
            "iterations": len(residual),
            "converged": bool(arrays["info_converged"]),
            "residual": residual,
            "rank": [int(v) for v in arrays["info_rank"]],
            "nnz": [int(v) for v in arrays["info_nnz"]],
            "mu": [float(v) for v in arrays["info_mu"]],
            "lam": float(arrays["info_lam"]),
            "seconds": float(arrays["info_seconds"]),
        }
