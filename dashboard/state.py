"""Session-state keys and their defaults: UI choices only, never models or data."""

from __future__ import annotations

import os

import streamlit as st

SOURCE = "source"  # "sample:<key>", "upload:<sha256>" or "saved:<id>"
OPENED = "opened_analysis"  # id of the saved analysis last opened (link or list)
UPLOAD_NAME = "upload_name"
UPLOAD_BYTES = "upload_bytes"
MISSING = "missing"  # "impute" or "drop"
ROLE_OVERRIDES = "role_overrides"  # {column: role}
CONTAMINATION = "contamination"
DETECTORS = "detectors"
SEED = "seed"
THRESHOLD_MODE = "threshold_mode"  # "contamination", "fpr" or "alpha" (ThresholdPolicy)
TARGET_FPR = "target_fpr"
ALPHA = "alpha"
SELECTED_ROW = "selected_row"  # original data row picked in a chart or table, or None

DEFAULT_SAMPLE = "cardio"
ALL_DETECTORS = ["pca", "ae", "vae", "rpca"]


def _default_detectors() -> list[str]:
    # A deployment (or the browser tests) may start with fewer detectors to answer sooner.
    configured = os.environ.get("ANOMALY_LENS_DETECTORS", "")
    names = [n.strip() for n in configured.split(",") if n.strip() in ALL_DETECTORS]
    return list(dict.fromkeys(names)) or list(ALL_DETECTORS)


DEFAULTS = {
    SOURCE: f"sample:{DEFAULT_SAMPLE}",
    UPLOAD_NAME: None,
    UPLOAD_BYTES: None,
    MISSING: "impute",
    ROLE_OVERRIDES: {},
    CONTAMINATION: 0.05,
    DETECTORS: _default_detectors(),
    SEED: 0,
    OPENED: None,
    THRESHOLD_MODE: "contamination",
    TARGET_FPR: 0.01,
    ALPHA: 0.01,
    SELECTED_ROW: None,
}


def init() -> None:
    """Set every key once; later runs keep the user's choices."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(
            key, value.copy() if hasattr(value, "copy") else value
        )
