"""Cached lesson results for the Learn pages, wrapped from detectors.teaching.

Same habits as services.py: plain hashable arguments, ``max_entries`` on every
cache, ``cache_data`` for arrays and frames, ``cache_resource`` only for trained
networks (shared between sessions and never mutated). Lessons use fixed seeds,
so every visitor sees the same, already computed result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from datasets import load_table
from datasets.samples import sample_path
from detectors import teaching
from detectors.autoencoder import train_linear_autoencoder

#: Latent sizes the Bottleneck page offers (each trained once, then cached).
LATENT_SIZES = (2, 4, 8, 16, 32, 64)
#: KL weights the AE vs VAE page offers.
BETAS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
#: Corruption levels of the Robust PCA breakdown sweep.
CORRUPTIONS = tuple(round(0.05 * i, 2) for i in range(11))
#: Size and rank of the Robust PCA lesson matrix.
RPCA_SHAPE = (40, 40)
RPCA_RANK = 2
#: Robust PCA lesson: iterations shown at most (the solver converges well before).
RPCA_MAX_STEPS = 150

_SEED = 0


# Digits ------------------------------------------------------------------------


@st.cache_data(max_entries=1, show_spinner="Loading the bundled MNIST digits…")
def digits() -> tuple[np.ndarray, np.ndarray]:
    """The bundled MNIST sample: pixels in [0, 1], shape (n, 784), and each digit."""
    frame = load_table(sample_path("mnist")).frame
    pixels = frame[[f"pixel{i}" for i in range(784)]].to_numpy(np.float32) / 255.0
    return pixels, frame["digit"].to_numpy(np.int64)


@st.cache_resource(
    max_entries=len(LATENT_SIZES),
    show_spinner="Training an autoencoder (a second or two)…",
)
def bottleneck_model(latent_dim: int) -> teaching.DigitModel:
    """The 784-256-z autoencoder trained on the bundled digits."""
    X, _ = digits()
    return teaching.train_digit_autoencoder(X, latent_dim, random_state=_SEED)


@st.cache_data(max_entries=len(LATENT_SIZES), show_spinner=False)
def bottleneck_view(latent_dim: int) -> dict:
    """Originals and reconstructions (one of each digit, then the worst eight),
    mean error per digit and the overall mean error for one z."""
    X, digit = digits()
    model = bottleneck_model(latent_dim)
    examples = np.array([np.flatnonzero(digit == d)[0] for d in np.unique(digit)])
    worst = np.argsort(model.errors)[::-1][:8]
    by_digit = (
        pd.DataFrame({"digit": digit, "error": model.errors})
        .groupby("digit")
        .agg(mean_error=("error", "mean"), images=("error", "size"))
        .reset_index()
    )
    return {
        "mean_error": float(model.errors.mean()),
        "examples": teaching.tile_images(
            np.vstack([X[examples], model.reconstructions[examples]]),
            columns=len(examples),
        ),
        "worst": teaching.tile_images(
            np.vstack([X[worst], model.reconstructions[worst]]), columns=len(worst)
        ),
        "worst_table": pd.DataFrame(
            {"image": worst, "digit": digit[worst], "error": model.errors[worst]}
        ),
        "by_digit": by_digit,
    }


@st.cache_data(max_entries=1, show_spinner=False)
def bottleneck_curve() -> pd.DataFrame:
    """Mean reconstruction error for every offered z (trains the missing ones),
    beside the best any linear map with z numbers can do (PCA)."""
    X, _ = digits()
    rows = [
        ("Autoencoder", z, float(bottleneck_model(z).errors.mean()))
        for z in LATENT_SIZES
    ]
    optima = teaching.pca_optima(X, LATENT_SIZES)
    rows += [
        ("PCA (best linear)", z, optimum)
        for z, optimum in zip(LATENT_SIZES, optima, strict=True)
    ]
    return pd.DataFrame(rows, columns=["method", "latent_dim", "mean_error"])


@st.cache_resource(
    max_entries=len(BETAS) + 1,
    show_spinner="Training a network with a 2-D latent space…",
)
def latent_model(kind: str, beta: float | None = None) -> teaching.DigitModel:
    """The 784-256-2 AE (``kind="ae"``) or VAE with KL weight ``beta``."""
    if kind == "ae":
        # The same network as the Bottleneck page at z = 2: train it once.
        return bottleneck_model(2)
    X, _ = digits()
    return teaching.train_digit_vae(X, float(beta), random_state=_SEED)


@st.cache_data(max_entries=len(BETAS) + 1, show_spinner=False)
def latent_codes(kind: str, beta: float | None = None) -> pd.DataFrame:
    """Latent coordinates, digit and reconstruction error of every image."""
    _, digit = digits()
    model = latent_model(kind, beta)
    return pd.DataFrame(
        {
            "z1": model.codes[:, 0],
            "z2": model.codes[:, 1],
            "digit": digit.astype(str),
            "error": model.errors,
            "image": np.arange(len(digit)),
        }
    ).sort_values("digit", kind="stable")  # rare digits drawn last, on top


@st.cache_data(max_entries=len(BETAS) + 1, show_spinner=False)
def latent_summary(kind: str, beta: float | None = None) -> dict:
    """Mean reconstruction error and (VAE) mean KL divergence."""
    model = latent_model(kind, beta)
    return {"mean_error": float(model.errors.mean()), "kl": model.kl}


@st.cache_data(max_entries=64, show_spinner=False)
def vae_decode(beta: float, z1: float, z2: float) -> np.ndarray:
    """The digit the VAE with KL weight ``beta`` decodes at (z1, z2), as a picture."""
    image = latent_model("vae", beta).decode([[z1, z2]])
    return teaching.tile_images(image, columns=1, gap=0)


@st.cache_data(max_entries=len(BETAS), show_spinner=False)
def vae_grid(beta: float) -> np.ndarray:
    """Decoded digits on a 9 x 9 grid over [-2.5, 2.5]^2 of the VAE's latent plane."""
    return teaching.latent_grid(latent_model("vae", beta))


# Linear autoencoder ------------------------------------------------------------


@st.cache_data(max_entries=32, show_spinner="Training the linear autoencoder…")
def linear_ae(ratio: float, steps: int, lr: float, seed: int) -> dict:
    """Cloud, PCA and AE directions, and the training trace for one setting."""
    X = teaching.elongated_cloud(300, ratio=ratio, random_state=seed)
    result = train_linear_autoencoder(X, 1, steps=steps, lr=lr, random_state=seed)
    mean = X.mean(axis=0)
    pca = result.pca_basis[:, 0]
    ae = result.decoder[:, 0] / np.linalg.norm(result.decoder[:, 0])
    # Display only: a direction and its negative span the same line.
    ae = ae if ae @ pca >= 0 else -ae
    half = 2.5 * np.sqrt(((X - mean) @ pca).var())
    directions = pd.DataFrame(
        [
            (name, end * half * d[0] + mean[0], end * half * d[1] + mean[1])
            for name, d in (
                ("PCA (first principal direction)", pca),
                ("Linear AE (decoder column)", ae),
            )
            for end in (-1, 1)
        ],
        columns=["direction", "x1", "x2"],
    )
    trace = pd.DataFrame(result.trace, columns=["step", "loss", "angle"])
    return {
        "cloud": pd.DataFrame(X, columns=["x1", "x2"]),
        "directions": directions,
        "trace": trace,
        "optimum": teaching.pca_optimum(X, 1),
        "angle": float(result.angle_degrees),
        "loss": float(trace["loss"].iloc[-1]),
    }


# Robust PCA --------------------------------------------------------------------


@st.cache_data(max_entries=16, show_spinner=False)
def rpca_problem(
    seed: int, corruption: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The planted matrix ``(M, L0, S0)`` of the lesson."""
    return teaching.planted_low_rank(
        *RPCA_SHAPE, rank=RPCA_RANK, corruption=corruption, random_state=seed
    )


@st.cache_data(max_entries=16, show_spinner=False)
def rpca_steps_to_converge(seed: int, corruption: float) -> int:
    """Iterations the solver needs on this problem (residual below 1e-7)."""
    M, _, _ = rpca_problem(seed, corruption)
    return teaching.pcp_steps_to_converge(M, max_iter=RPCA_MAX_STEPS)


@st.cache_data(max_entries=128, show_spinner=False)
def rpca_iterate(seed: int, corruption: float, step: int) -> dict:
    """Matrices and diagnostics after ``step`` ADMM iterations (0: nothing split
    yet), with the residual, rank, nonzeros and error of every iteration so far."""
    M, L0, S0 = rpca_problem(seed, corruption)
    L, S = np.zeros_like(M), np.zeros_like(M)
    history = []
    for iterate in teaching.pcp_steps(M, max_iter=step):
        L, S = iterate.L, iterate.S
        history.append(
            (
                iterate.iteration,
                iterate.residual,
                iterate.rank,
                iterate.nnz,
                teaching.recovery_error(L, L0),
            )
        )
    cells = []
    for name, matrix in (
        ("X = observed", M),
        ("L = low-rank part", L),
        ("S = sparse part", S),
        ("L0 = planted low rank", L0),
    ):
        rows, cols = np.indices(matrix.shape)
        cells.append(
            pd.DataFrame(
                {
                    "matrix": name,
                    "row": rows.ravel(),
                    "column": cols.ravel(),
                    "value": matrix.ravel(),
                }
            )
        )
    history = pd.DataFrame(
        history, columns=["iteration", "residual", "rank", "nnz", "error"]
    )
    last = history.iloc[-1] if len(history) else None
    return {
        "cells": pd.concat(cells, ignore_index=True),
        "history": history,
        "error": teaching.recovery_error(L, L0),
        "residual": None if last is None else float(last["residual"]),
        "rank": 0 if last is None else int(last["rank"]),
        "nnz": 0 if last is None else int(last["nnz"]),
        "planted_nnz": int(np.count_nonzero(S0)),
    }


@st.cache_data(max_entries=4, show_spinner="Solving PCP at every corruption level…")
def rpca_breakdown(seed: int) -> pd.DataFrame:
    """Recovery error of the low-rank part at 0 %, 5 %, ..., 50 % corruption."""
    points = teaching.breakdown_sweep(
        CORRUPTIONS,
        n_rows=RPCA_SHAPE[0],
        n_columns=RPCA_SHAPE[1],
        rank=RPCA_RANK,
        random_state=seed,
    )
    return pd.DataFrame(
        [(100 * p.corruption, p.error, p.rank, p.converged) for p in points],
        columns=["corruption", "error", "rank", "converged"],
    )
