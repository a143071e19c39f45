"""Small page helpers shared by the pages: error display and the data header."""

from __future__ import annotations

import logging

import streamlit as st

from dashboard import services

logger = logging.getLogger(__name__)


def load_current_or_stop(label: str | None = None) -> services.Current:
    """The current data set, or a plain message and a stop (never a traceback)."""
    try:
        return services.current(label)
    except ValueError as exc:  # DatasetError is a ValueError
        logger.info("data set refused: %s", exc)
        st.error(str(exc))
        st.info("Pick a bundled sample or upload another file on the **Data** page.")
        st.page_link("views/data.py", label="Go to Data", icon="📄")
        st.stop()


def run_or_stop(current: services.Current, names, seed: int):
    """Fit (once) and score, or explain why the detectors could not run."""
    try:
        return services.analysis(current, names, seed)
    except (ValueError, FloatingPointError) as exc:
        logger.warning("scoring failed on %s: %s", current.table.name, exc)
        st.error(f"{current.table.name}: the detectors could not run: {exc}")
        st.stop()
