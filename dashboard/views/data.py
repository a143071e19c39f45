"""Data page: pick a bundled sample or upload a file; see and adjust column roles."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import services, state, ui
from datasets.samples import SAMPLES

ROLE_CHOICES = [
    "feature",
    "categorical",
    "label",
    "id",
    "ip",
    "port",
    "timestamp",
    "constant",
    "empty",
    "text",
]


def _forget_roles() -> None:
    # Role edits belong to one data set; a new one starts from the inference.
    st.session_state[state.ROLE_OVERRIDES] = {}
    st.session_state.pop("role_editor", None)


def _choose_sample() -> None:
    st.session_state[state.SOURCE] = f"sample:{st.session_state['sample_choice']}"
    _forget_roles()


def _take_upload() -> None:
    upload = st.session_state.get("upload_widget")
    if upload is None:
        return
    data = upload.getvalue()
    st.session_state[state.UPLOAD_BYTES] = data
    st.session_state[state.UPLOAD_NAME] = upload.name
    st.session_state[state.SOURCE] = services.upload_source(data)
    _forget_roles()


st.title("Data")
left, right = st.columns(2)
with left:
    options = services.sample_options()
    current_source = st.session_state[state.SOURCE]
    sample_key = (
        current_source.split(":", 1)[1]
        if current_source.startswith("sample:")
        else None
    )
    keys = list(options)
    st.selectbox(
        "Bundled sample",
        keys,
        format_func=options.get,
        key="sample_choice",
        index=keys.index(sample_key) if sample_key in keys else 0,
        on_change=_choose_sample,
        help="Real labelled data shipped with Anomaly Lens; see datasets/README.md.",
    )
    if sample_key in SAMPLES:
        st.caption(SAMPLES[sample_key].description)
with right:
    st.file_uploader(
        "…or upload a CSV, CSV.GZ, TSV or Parquet file",
        type=["csv", "gz", "tsv", "txt", "log", "parquet"],
        key="upload_widget",
        on_change=_take_upload,
    )

st.radio(
    "Rows with missing or non-finite feature values",
    ["impute", "drop"],
    key=state.MISSING,
    horizontal=True,
    format_func={"impute": "Impute the column median", "drop": "Drop those rows"}.get,
)

current = ui.load_current_or_stop()
table, prepared = current.table, current.prepared
st.subheader(
    f"{table.name}: {len(table.frame):,} rows × {table.frame.shape[1]} columns"
)
if table.schema:
    st.info(f"Recognised format: **{table.schema}**; column roles use its defaults.")
for note in table.notes:
    st.info(note)
for line in prepared.report:
    st.info(line)
st.success(
    f"{prepared.X.shape[0]:,} rows and {prepared.X.shape[1]} features go to the detectors."
)

roles = current.spec["roles"]
if list(roles.values()).count("ip") >= 2 and "timestamp" in roles.values():
    with st.expander("Turn these flows into a traffic matrix (time bins × OD pairs)"):
        st.caption(
            "PCA and Robust PCA find volume anomalies in this form (Lakhina et al. "
            "2004). The matrix replaces the flows as the current data set."
        )
        left, middle, right = st.columns(3)
        bin_width = left.selectbox("Bin", ["1min", "5min", "15min", "1h"], index=1)
        value = middle.selectbox("Volume", ["bytes", "packets", "flows"])
        prefix = right.selectbox(
            "Group addresses",
            [None, 24],
            format_func={None: "hosts", 24: "/24 networks"}.get,
        )
        top = st.number_input("Keep the busiest OD pairs", 5, 500, 50, step=5)
        if st.button("Build the traffic matrix", key="tm_build"):
            ss = st.session_state
            upload = ss[state.SOURCE].startswith("upload:")
            name = ss[state.UPLOAD_NAME] if upload else None
            raw = ss[state.UPLOAD_BYTES] if upload else None
            try:
                data = services.traffic_matrix_csv(
                    ss[state.SOURCE],
                    name,
                    raw,
                    current.spec,
                    (bin_width, ("src", "dst"), value, prefix, int(top)),
                )
            except ValueError as exc:
                st.error(str(exc))
            else:
                stem = table.name.split(".")[0]
                ss[state.UPLOAD_BYTES] = data
                ss[state.UPLOAD_NAME] = f"{stem}-traffic-matrix-{bin_width}.csv"
                ss[state.SOURCE] = services.upload_source(data)
                _forget_roles()
                st.rerun()

st.subheader("Column roles")
st.caption(
    "Change a role to override the inference; features feed the detectors, the label "
    "is only used to measure them."
)
roles = current.spec["roles"]
reasons = current.spec.get("reasons", {})
role_table = pd.DataFrame(
    {
        "column": list(roles),
        "role": list(roles.values()),
        "why": [reasons.get(c, "") for c in roles],
    }
)
edited = st.data_editor(
    role_table,
    key="role_editor",
    hide_index=True,
    width="stretch",
    disabled=["column", "why"],
    column_config={
        "role": st.column_config.SelectboxColumn(
            "role", options=ROLE_CHOICES, required=True
        )
    },
)
changed = {
    column: role
    for column, role, original in zip(
        edited["column"], edited["role"], role_table["role"]
    )
    if role != original
}
if changed:
    st.session_state[state.ROLE_OVERRIDES] = {
        **st.session_state[state.ROLE_OVERRIDES],
        **changed,
    }
    st.rerun()
if st.session_state[state.ROLE_OVERRIDES]:
    if st.button("Reset roles to the inferred ones"):
        st.session_state[state.ROLE_OVERRIDES] = {}
        st.rerun()

st.subheader("Preview")
st.dataframe(table.frame.head(500), width="stretch")
