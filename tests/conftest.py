"""Shared fixtures: paths to ../shared and small planted-outlier data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CASES = SHARED / "cases" / "inputs"
DATASETS = SHARED / "datasets"
APP = str(ROOT / "dashboard" / "app.py")

# Two cores are shared by everything on these machines: one torch thread per test
# process keeps runs predictable (the library itself never changes this).
torch.set_num_threads(1)


@pytest.fixture(params=[0, 1, 2], ids=lambda s: f"seed{s}")
def seed(request) -> int:
    """Tests using this must pass for any seed."""
    return request.param


@pytest.fixture
def planted(seed):
    """200 rows of 6 correlated features (rank-2 structure plus noise) with row 17
    moved far off the structure. Returns (X, outlier_row)."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(200, 2))
    mixing = rng.normal(size=(2, 6))
    X = latent @ mixing + 0.05 * rng.normal(size=(200, 6))
    X[17] += 6.0 * np.array([1, -1, 1, -1, 1, -1])
    return X, 17


def fit_count() -> int:
    """How many detector runs the dashboard's shared store has fitted so far."""
    from dashboard.services import run_store

    return run_store().fits
