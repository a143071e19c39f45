"""Textbook Principal Component Pursuit, kept in bench/ as the baseline to beat.

Alternating directions with a constant penalty ``mu = m n / (4 ||M||_1)`` and a
full SVD every iteration (Candes, Li, Ma and Wright 2011, Algorithm 1). It is
written plainly on purpose: it is what a careful reader of the paper would
write, not a tuned solver.
"""

from __future__ import annotations

import time

import numpy as np


def textbook_pcp(M, lam=None, tol=1e-7, max_iter=10000, time_budget=None):
    """Return ``(L, S, info)`` for ``min ||L||_* + lam ||S||_1`` s.t. ``L + S = M``.

    ``info`` has ``iterations``, ``converged``, ``residual`` (last value),
    ``seconds`` and ``stopped`` (``"tol"``, ``"max_iter"`` or ``"time_budget"``).
    With ``time_budget`` (CPU seconds of this process) the loop stops once that
    much CPU time is spent: CPU time, unlike wall time, does not depend on how
    busy a shared machine is.
    """
    start = time.perf_counter()
    cpu_start = time.process_time()
    M = np.asarray(M, dtype=np.float64)
    m, n = M.shape
    if lam is None:
        lam = 1.0 / np.sqrt(max(m, n))
    mu = m * n / (4.0 * np.abs(M).sum())
    norm_fro = np.linalg.norm(M)

    L = np.zeros_like(M)
    S = np.zeros_like(M)
    Y = np.zeros_like(M)
    residual = np.inf
    stopped = "max_iter"
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 (read after the loop)
        U, sigma, Vt = np.linalg.svd(M - S + Y / mu, full_matrices=False)
        sigma = np.maximum(sigma - 1.0 / mu, 0.0)
        keep = sigma > 0
        L = (U[:, keep] * sigma[keep]) @ Vt[keep]
        T = M - L + Y / mu
        S = np.sign(T) * np.maximum(np.abs(T) - lam / mu, 0.0)
        gap = M - L - S
        Y = Y + mu * gap
        residual = np.linalg.norm(gap) / norm_fro
        if residual < tol:
            stopped = "tol"
            break
        if time_budget is not None and time.process_time() - cpu_start > time_budget:
            stopped = "time_budget"
            break
    info = {
        "iterations": iteration,
        "converged": stopped == "tol",
        "residual": float(residual),
        "seconds": time.perf_counter() - start,
        "stopped": stopped,
    }
    return L, S, info
