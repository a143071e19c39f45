"""Library code behind the Learn pages: toy data, small models and a stepwise PCP.

Nothing here is a detector. Each function computes one lesson's result from
plain arrays so the dashboard only caches and draws it. The networks are the
detectors' own (:class:`~detectors.autoencoder.Autoencoder`,
:class:`~detectors.vae.VAE`) trained by the detectors' shared loop, so a lesson
shows the model the Compare page runs, only smaller and trained briefly.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch

from detectors._torch import init_weights_, make_generator, train_module
from detectors.autoencoder import Autoencoder, reconstruction_loss
from detectors.base import ConvergenceWarning

# The solver's own operators and penalty schedule, so the stepwise iterates follow
# the detector's path exactly.
from detectors.rpca import (
    _MU_CAP,
    _MU_SCALE,
    _RHO,
    _soft_threshold,
    _svt,
    principal_component_pursuit,
)
from detectors.vae import VAE, vae_loss

logger = logging.getLogger(__name__)

#: MNIST images are 28 x 28 pixels.
DIGIT_SIDE = 28

# Brief training for the digit lessons: about a second per model on one core
# for ~1000 images, enough for recognisable reconstructions, not for the best.
_DIGIT_HIDDEN = 256
_DIGIT_EPOCHS = 8
_DIGIT_BATCH = 64
_DIGIT_LR = 5e-3

# Digits ------------------------------------------------------------------------


def tile_images(images: np.ndarray, columns: int, gap: int = 2) -> np.ndarray:
    """Arrange flattened 28 x 28 images on a grid, row by row, for display.

    Parameters
    ----------
    images : ndarray of shape (n_images, 784)
        Pixel values in [0, 1].
    columns : int
        Images per grid row.
    gap : int, default=2
        White pixels between images.

    Returns
    -------
    ndarray of shape (height, width)
        One grayscale picture in [0, 1], inverted so ink is dark on white.

    Examples
    --------
    >>> tile_images(np.zeros((3, 784)), columns=2, gap=1).shape
    (57, 57)
    """
    images = np.asarray(images, dtype=np.float32).reshape(-1, DIGIT_SIDE, DIGIT_SIDE)
    n_rows = -(-len(images) // columns)
    step = DIGIT_SIDE + gap
    grid = np.ones((n_rows * step - gap, columns * step - gap), dtype=np.float32)
    for i, image in enumerate(images):
        top, left = (i // columns) * step, (i % columns) * step
        # Ink is dark on a light page, as people draw digits.
        grid[top : top + DIGIT_SIDE, left : left + DIGIT_SIDE] = 1.0 - np.clip(
            image, 0, 1
        )
    return grid


@dataclass
class DigitModel:
    """A small network trained on digit images, and what it does to them.

    Attributes
    ----------
    kind : str
        "ae" or "vae".
    latent_dim : int
    beta : float or None
        KL weight (VAE only).
    module : torch.nn.Module
        The trained network in evaluation mode. Read-only: it may be shared.
    codes : ndarray of shape (n_samples, latent_dim)
        Bottleneck values (the posterior mean for the VAE).
    reconstructions : ndarray of shape (n_samples, 784)
        Decoded codes, in [0, 1].
    errors : ndarray of shape (n_samples,)
        Summed squared pixel error per image.
    kl : float or None
        Mean KL divergence of the encoder from the prior (VAE only).
    history : dict of list of float
        Per-epoch training losses.
    """

    kind: str
    latent_dim: int
    beta: float | None
    module: torch.nn.Module
    codes: np.ndarray
    reconstructions: np.ndarray
    errors: np.ndarray
    kl: float | None
    history: dict

    def decode(self, codes) -> np.ndarray:
        """Images (n, 784) in [0, 1] decoded from latent points (n, latent_dim)."""
        points = torch.as_tensor(np.atleast_2d(codes), dtype=torch.float32)
        with torch.no_grad():
            return self.module.decode(points).numpy().astype(np.float64)


def _check_digits(X) -> torch.Tensor:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2 or X.shape[1] != DIGIT_SIDE * DIGIT_SIDE:
        raise ValueError(f"X must have shape (n_samples, 784), got {X.shape}.")
    if X.size and (X.min() < 0 or X.max() > 1):
        raise ValueError("X must hold pixel values scaled to [0, 1] (divide by 255).")
    return torch.as_tensor(X)


def train_digit_autoencoder(
    X, latent_dim: int, *, epochs: int = _DIGIT_EPOCHS, random_state: int = 0
) -> DigitModel:
    """Train the 784-256-z autoencoder with a sigmoid output on digit images.

    Parameters
    ----------
    X : array-like of shape (n_samples, 784)
        Pixels in [0, 1].
    latent_dim : int
        Bottleneck width z.
    epochs : int, default=8
        Passes over the data (Adam, batches of 64, no early stopping).
    random_state : int, default=0
        Seeds initialisation and shuffling.

    Returns
    -------
    DigitModel
        With ``kind="ae"``; errors are on the training images themselves.
    """
    data = _check_digits(X)
    generator = make_generator(random_state)
    module = Autoencoder(
        (data.shape[1], _DIGIT_HIDDEN, int(latent_dim)), "relu", "sigmoid"
    )
    init_weights_(module, generator)

    def batch_loss(model, batch, training):
        return reconstruction_loss(model(batch), batch), {}

    history = _train(
        module, data, batch_loss, epochs, generator, f"digit AE z={latent_dim}"
    )
    with torch.no_grad():
        codes = module.encode(data)
        recon = module.decode(codes)
    return _digit_model(
        "ae", int(latent_dim), None, module, data, codes, recon, None, history
    )


def train_digit_vae(
    X,
    beta: float,
    *,
    latent_dim: int = 2,
    epochs: int = _DIGIT_EPOCHS,
    random_state: int = 0,
) -> DigitModel:
    """Train a 784-256-z VAE with a sigmoid output and KL weight ``beta``.

    Parameters
    ----------
    X : array-like of shape (n_samples, 784)
        Pixels in [0, 1].
    beta : float
        Weight of the KL term; 1 is the plain evidence lower bound.
    latent_dim : int, default=2
    epochs : int, default=8
    random_state : int, default=0
        Seeds initialisation, shuffling and the reparameterisation noise.

    Returns
    -------
    DigitModel
        With ``kind="vae"``; ``codes`` are the posterior means and the
        reconstructions decode them.

    References
    ----------
    D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014.
    """
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta!r}.")
    data = _check_digits(X)
    generator = make_generator(random_state)
    module = VAE((data.shape[1], _DIGIT_HIDDEN, int(latent_dim)), "relu", "sigmoid")
    init_weights_(module, generator)

    def batch_loss(model, batch, training):
        recon, mu, logvar = model(batch, generator if training else None)
        loss, recon_term, kl_term = vae_loss(recon, batch, mu, logvar, beta)
        return loss, {"recon": recon_term, "kl": kl_term}

    history = _train(
        module, data, batch_loss, epochs, generator, f"digit VAE beta={beta}"
    )
    with torch.no_grad():
        mu, logvar = module.encode(data)
        recon = module.decode(mu)
        kl = float((-0.5 * (1 + logvar - mu**2 - logvar.exp()).sum(dim=1)).mean())
    return _digit_model(
        "vae", int(latent_dim), float(beta), module, data, mu, recon, kl, history
    )


def _train(module, data, batch_loss, epochs, generator, label) -> dict:
    return train_module(
        module,
        data.numpy(),
        batch_loss,
        epochs=int(epochs),
        batch_size=_DIGIT_BATCH,
        lr=_DIGIT_LR,
        weight_decay=0.0,
        validation_fraction=0.0,
        patience=None,
        grad_clip=5.0,
        generator=generator,
        label=label,
    )


def _digit_model(kind, latent_dim, beta, module, data, codes, recon, kl, history):
    module.eval()
    recon = recon.numpy().astype(np.float64)
    errors = ((recon - data.numpy()) ** 2).sum(axis=1)
    return DigitModel(
        kind,
        latent_dim,
        beta,
        module,
        codes.numpy().astype(np.float64),
        recon,
        errors,
        kl,
        history,
    )


def latent_grid(model: DigitModel, limit: float = 2.5, n: int = 9) -> np.ndarray:
    """Decoded images of an ``n`` x ``n`` grid over ``[-limit, limit]^2``, tiled.

    The top row is the largest second coordinate, so the picture reads like the
    latent scatter plot. Only for 2-D latent spaces.
    """
    if model.latent_dim != 2:
        raise ValueError(
            f"latent_grid needs a 2-D latent space, got {model.latent_dim}."
        )
    ticks = np.linspace(-limit, limit, n)
    points = np.array([(x, y) for y in ticks[::-1] for x in ticks])
    return tile_images(model.decode(points), columns=n, gap=1)


# Linear autoencoder ------------------------------------------------------------


def elongated_cloud(
    n_samples: int = 300,
    *,
    angle_degrees: float = 30.0,
    ratio: float = 3.0,
    random_state: int = 0,
) -> np.ndarray:
    """A 2-D Gaussian cloud whose long axis points at ``angle_degrees``.

    ``ratio`` is the standard deviation along the long axis over that along the
    short one; the short axis has standard deviation 1 and the mean is (2, 1),
    so the lesson must centre the data as PCA does.

    Examples
    --------
    >>> elongated_cloud(50).shape
    (50, 2)
    """
    if not ratio >= 1:
        raise ValueError(f"ratio must be >= 1, got {ratio!r}.")
    rng = np.random.default_rng(random_state)
    theta = np.radians(angle_degrees)
    axes = np.array([[np.cos(theta), np.sin(theta)], [-np.sin(theta), np.cos(theta)]])
    return rng.normal(size=(n_samples, 2)) * [ratio, 1.0] @ axes + [2.0, 1.0]


def pca_optimum(X, k: int) -> float:
    """Smallest mean (per row) summed squared error of any rank-``k`` linear
    reconstruction of the centred ``X``: the discarded eigenvalues' sum
    (Eckart-Young)."""
    return pca_optima(X, [k])[0]


def pca_optima(X, ks) -> list[float]:
    """:func:`pca_optimum` for several ``k`` from one singular value decomposition."""
    Xc = np.asarray(X, dtype=np.float64)
    Xc = Xc - Xc.mean(axis=0)
    energy = np.linalg.svd(Xc, compute_uv=False) ** 2 / len(Xc)
    return [float(energy[int(k) :].sum()) for k in ks]


# Robust PCA, one iteration at a time ------------------------------------------


def planted_low_rank(
    n_rows: int = 40,
    n_columns: int = 40,
    *,
    rank: int = 2,
    corruption: float = 0.1,
    magnitude: float = 5.0,
    random_state: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A rank-``rank`` matrix with a random ``corruption`` share of entries replaced.

    Returns ``(M, L0, S0)`` with ``M = L0 + S0``. ``L0`` has entries of
    standard deviation about 1; each corrupted entry gets ``S0`` uniform in
    ``+-[magnitude / 2, magnitude]`` with a random sign, on a support drawn
    uniformly at random, the setting of Candes et al. (2011).

    Examples
    --------
    >>> M, L0, S0 = planted_low_rank(10, 8, rank=1, corruption=0.25)
    >>> int(np.linalg.matrix_rank(L0)), int(np.count_nonzero(S0))
    (1, 20)
    """
    if not 0 <= corruption <= 1:
        raise ValueError(f"corruption must be in [0, 1], got {corruption!r}.")
    rng = np.random.default_rng(random_state)
    L0 = (
        rng.normal(size=(n_rows, rank))
        @ rng.normal(size=(rank, n_columns))
        / np.sqrt(rank)
    )
    n_bad = int(round(corruption * n_rows * n_columns))
    where = rng.choice(n_rows * n_columns, size=n_bad, replace=False)
    values = rng.uniform(magnitude / 2, magnitude, size=n_bad) * rng.choice(
        [-1.0, 1.0], n_bad
    )
    S0 = np.zeros(n_rows * n_columns)
    S0[where] = values
    S0 = S0.reshape(n_rows, n_columns)
    return L0 + S0, L0, S0


def recovery_error(L, L0) -> float:
    """Relative Frobenius error ``||L - L0|| / ||L0||``."""
    return float(np.linalg.norm(np.asarray(L) - L0) / max(np.linalg.norm(L0), 1e-300))


@dataclass(frozen=True)
class PCPStep:
    """One iterate of the inexact ALM solver for Principal Component Pursuit.

    ``residual`` is ``||M - L - S||_F / ||M||_F``; ``rank`` counts the singular
    values kept by the shrinkage, ``nnz`` the nonzero entries of ``S``.
    """

    iteration: int
    L: np.ndarray
    S: np.ndarray
    residual: float
    rank: int
    nnz: int


def pcp_steps(M, lam: float | None = None, max_iter: int = 500) -> Iterator[PCPStep]:
    """Yield the iterates of inexact ALM for PCP one at a time.

    The same updates, in the same order and with the same penalty schedule, as
    :func:`detectors.rpca.principal_component_pursuit`: shrink the entries of
    ``S`` at ``lam / mu``, shrink the singular values of ``L`` at ``1 / mu``,
    move the multiplier by ``mu (M - L - S)`` and grow ``mu`` by the solver's
    factor. It runs until ``max_iter`` (no tolerance): the caller decides when
    to stop.

    Parameters
    ----------
    M : array-like of shape (n_rows, n_columns)
    lam : float, default=None
        Weight of the l1 term; None means ``1 / sqrt(max(n_rows, n_columns))``.
    max_iter : int, default=500

    Yields
    ------
    PCPStep
        Copies of ``L`` and ``S`` after each iteration, starting at 1.

    Examples
    --------
    >>> M, L0, S0 = planted_low_rank(20, 20, rank=1, corruption=0.05)
    >>> residuals = [step.residual for step, _ in zip(pcp_steps(M), range(30))]
    >>> residuals[-1] < 1e-6 < residuals[0]
    True
    """
    M = np.asarray(M, dtype=np.float64)
    lam = 1.0 / np.sqrt(max(M.shape)) if lam is None else float(lam)
    norm_fro = float(np.linalg.norm(M))
    if norm_fro == 0.0:
        return
    rng = np.random.default_rng(0)
    width = min(M.shape)
    norm_two = float(np.linalg.norm(M, 2))
    # Scaled so the dual starts feasible (Lin et al. 2010): ||Y||_2 <= 1, |Y| <= lam.
    Y = M / max(norm_two, np.abs(M).max() / lam)
    mu = _MU_SCALE / norm_two
    mu_max = mu * _MU_CAP
    L = np.zeros_like(M)
    for iteration in range(1, max_iter + 1):
        S = _soft_threshold(M - L + Y / mu, lam / mu)
        # A full-width rank guess takes the exact path, fine for teaching sizes.
        L, rank, _ = _svt(M - S + Y / mu, 1.0 / mu, width, rng)
        gap = M - L - S
        Y = Y + mu * gap
        yield PCPStep(
            iteration,
            L.copy(),
            S.copy(),
            float(np.linalg.norm(gap)) / norm_fro,
            int(rank),
            int(np.count_nonzero(S)),
        )
        mu = min(mu * _RHO, mu_max)


def pcp_iterate(M, n_steps: int, lam: float | None = None) -> PCPStep | None:
    """The iterate after ``n_steps`` iterations (None for 0 steps)."""
    last = None
    for iterate in pcp_steps(M, lam, max_iter=int(n_steps)):
        last = iterate
    return last


def pcp_steps_to_converge(M, tol: float = 1e-7, max_iter: int = 500) -> int:
    """Iterations :func:`pcp_steps` needs to bring the residual below ``tol``."""
    step = None
    for step in pcp_steps(M, max_iter=max_iter):
        if step.residual < tol:
            break
    return 0 if step is None else step.iteration


@dataclass(frozen=True)
class BreakdownPoint:
    """Recovery at one corruption level."""

    corruption: float
    error: float
    rank: int
    converged: bool


def breakdown_sweep(
    corruptions,
    *,
    n_rows: int = 40,
    n_columns: int = 40,
    rank: int = 2,
    random_state: int = 0,
) -> list[BreakdownPoint]:
    """Solve PCP on planted problems of growing corruption; report the error of ``L``.

    Uses the detector's own solver. Recovery is exact (error near 0) while the
    corruption is sparse enough and fails past a breakdown point that depends
    on the size and rank (Candes et al. 2011, Theorem 1.1).
    """
    points = []
    for corruption in corruptions:
        M, L0, _ = planted_low_rank(
            n_rows,
            n_columns,
            rank=rank,
            corruption=float(corruption),
            random_state=random_state,
        )
        with warnings.catch_warnings():
            # Non-convergence is reported in the result, not as a warning.
            warnings.simplefilter("ignore", ConvergenceWarning)
            L, _, info = principal_component_pursuit(M, max_iter=300)
        points.append(
            BreakdownPoint(
                float(corruption),
                recovery_error(L, L0),
                int(info["rank"][-1]),
                bool(info["converged"]),
            )
        )
    logger.info(
        "PCP breakdown sweep on %d x %d rank %d: errors %s",
        n_rows,
        n_columns,
        rank,
        ", ".join(f"{p.corruption:.0%} {p.error:.1e}" for p in points),
    )
    return points
