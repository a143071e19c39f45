"""Session-state keys and their defaults: UI choices only, never models or data."""

from __future__ import annotations

import streamlit as st

SOURCE = "source"            # "sample:<key>" or "upload:<sha256>"
UPLOAD_NAME = "upload_name"
UPLOAD_BYTES = "upload_bytes"
MISSING = "missing"          # "impute" or "drop"
ROLE_OVERRIDES = "role_overrides"  # {column: role}
CONTAMINATION = "contamination"
DETECTORS = "detectors"
SEED = "seed"

DEFAULT_SAMPLE = "cardio"

DEFAULTS = {
    SOURCE: f"sample:{DEFAULT_SAMPLE}",
    UPLOAD_NAME: None,
    UPLOAD_BYTES: None,
    MISSING: "impute",
    ROLE_OVERRIDES: {},
    CONTAMINATION: 0.05,
    DETECTORS: ["pca", "ae", "vae", "rpca"],
    SEED: 0,
}


def init() -> None:
    """Set every key once; later runs keep the user's choices."""
    for key, value in DEFAULTS.items():
        st.session_state.setdefault(key, value.copy() if hasattr(value, "copy") else value)
