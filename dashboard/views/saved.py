"""Saved analyses: list, open, rename and delete what the team has saved."""

from __future__ import annotations

import logging
import sqlite3

import pandas as pd
import streamlit as st

from dashboard import services, state
from dashboard.storage import StorageError
from detectors.pipeline import DETECTOR_TITLES

logger = logging.getLogger(__name__)

st.title("Saved analyses")
try:
    db = services.storage()
    analyses = db.list_analyses()
except (StorageError, OSError, sqlite3.Error) as exc:
    # A broken or unreadable database gets a message, never a traceback.
    logger.error("saved analyses unavailable: %s", exc)
    st.error(
        f"The saved-analyses database cannot be read ({exc}). Ask whoever runs "
        "this server to check the file named by ANOMALY_LENS_DB."
    )
    st.stop()

if not analyses:
    st.info("Nothing saved yet. Save an analysis on the **Save, share, export** page.")
    st.page_link("views/share.py", label="Save the current analysis", icon="🔗")
    st.stop()

st.dataframe(
    pd.DataFrame(
        {
            "name": [a.name for a in analyses],
            "saved (UTC)": [a.created_at for a in analyses],
            "file": [a.source_name for a in analyses],
            "rows": [a.n_rows for a in analyses],
            "detectors": [
                ", ".join(DETECTOR_TITLES.get(d, d) for d in a.detectors)
                for a in analyses
            ],
            "rows marked": [a.n_marks for a in analyses],
            "id": [a.id for a in analyses],
        }
    ),
    hide_index=True,
    width="stretch",
)

by_id = {a.id: a for a in analyses}
labels = {a.id: f"{a.name} ({a.created_at})" for a in analyses}
chosen = st.selectbox(
    "Analysis", list(by_id), key="saved_choice", format_func=labels.get
)
analysis = by_id[chosen]
opened = st.session_state[state.SOURCE] == f"saved:{analysis.id}"

open_col, rename_col, delete_col = st.columns(3)
with open_col:
    st.subheader("Open")
    st.caption("Opens it as saved, read-only; the address bar then holds its link.")
    if st.button("Open analysis", type="primary", key="saved_open", disabled=opened):
        try:
            services.open_saved(analysis.id)
        except StorageError as exc:
            st.error(str(exc))
        else:
            st.switch_page("views/compare.py")
    if opened:
        st.caption("This analysis is open now.")
with rename_col:
    st.subheader("Rename")
    with st.form("rename_form"):
        new_name = st.text_input(
            "New name",
            value=analysis.name,
            max_chars=200,
            key=f"saved_new_name_{analysis.id}",
        )
        if st.form_submit_button("Rename"):
            try:
                db.rename(analysis.id, new_name)
            except StorageError as exc:
                st.error(str(exc))
            else:
                # The cached copy carries the old name.
                services.saved_analysis.clear()
                st.rerun()
with delete_col:
    st.subheader("Delete")
    sure = st.checkbox("Delete it for everyone, with its marks", key="saved_sure")
    if st.button("Delete analysis", disabled=not sure, key="saved_delete"):
        try:
            db.delete(analysis.id)
        except StorageError as exc:
            st.error(str(exc))
        else:
            if opened:
                st.session_state[state.SOURCE] = state.DEFAULTS[state.SOURCE]
                st.session_state[state.OPENED] = None
                st.query_params.pop("analysis", None)
            services.saved_analysis.clear()
            st.rerun()
