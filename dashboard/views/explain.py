"""Explain page: why was this row flagged?"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, controls, state, ui
from datasets.samples import SAMPLES
from detectors.compare import (
    as_image,
    as_times,
    contributions_table,
    flagged_table,
    image_cells,
    image_side,
    pixel_columns,
    rank_table,
    row_profile,
    row_residuals,
    sparse_cells,
    time_column,
)
from detectors.pipeline import DETECTOR_TITLES

PICK_TABLE, PICK_INPUT = "explain_table", "explain_row_input"
TOP_FEATURES = 15


def _pick_from_table() -> None:
    st.session_state["_explain_table_pick"] = True


def _pick_from_input() -> None:
    value = st.session_state.get(PICK_INPUT)
    if value is not None:
        st.session_state[state.SELECTED_ROW] = int(value)


st.title("Explain a row")

current = ui.load_current_or_stop()
prepared = current.prepared
X, rows = prepared.X, prepared.rows
names = st.session_state[state.DETECTORS]
run = ui.run_or_stop(current, names, st.session_state[state.SEED])
policy, thresholds, flags = controls.flags_now(run, prepared)
titles = {name: DETECTOR_TITLES[name] for name in names}
st.caption(
    f"**{current.table.name}**, threshold: {controls.describe(policy)} (change it on "
    "the Compare page). Pick a row below, or click a point on the Compare page's map."
)

candidates = flagged_table(current.table.frame, rows, run.scores, flags, limit=200)
if st.session_state.pop("_explain_table_pick", False):
    picked = (
        (st.session_state.get(PICK_TABLE) or {}).get("selection", {}).get("rows", [])
    )
    if picked and picked[0] < len(candidates):
        st.session_state[state.SELECTED_ROW] = int(candidates.iloc[picked[0]]["row"])

position_of = {int(r): i for i, r in enumerate(rows)}
selected = st.session_state[state.SELECTED_ROW]
if selected is not None and int(selected) not in position_of:
    st.warning(
        f"Row {selected} is not among the scored rows (it was dropped for missing "
        "values, or belongs to another data set); showing the top row instead."
    )
    selected = None
if selected is None:
    if len(candidates):
        selected = int(candidates.iloc[0]["row"])
    else:
        mean_rank = np.mean(
            [np.argsort(np.argsort(run.scores[n])) for n in names], axis=0
        )
        selected = int(rows[int(np.argmax(mean_rank))])
position = position_of[int(selected)]

with st.expander("Choose the row", expanded=False):
    st.number_input(
        "Row number (0-based, as in the file)",
        min_value=0,
        max_value=int(rows.max()),
        step=1,
        value=None,
        key=PICK_INPUT,
        on_change=_pick_from_input,
    )
    st.caption("Or select one of the flagged rows, most agreed-upon first:")
    st.dataframe(
        candidates,
        hide_index=True,
        width="stretch",
        height=240,
        key=PICK_TABLE,
        on_select=_pick_from_table,
        selection_mode="single-row",
        column_config=controls.flagged_columns(names),
    )

# ---- Rank under each detector ------------------------------------------------------
st.header(f"Row {selected}")
ranks = rank_table(run.scores, flags, position, titles)
for column, (_, item) in zip(st.columns(len(ranks)), ranks.iterrows()):
    column.metric(
        f"{item['detector']} rank",
        f"#{item['rank']:,} of {item['of']:,}",
        delta="flagged" if item["flagged"] else "not flagged",
        delta_color="inverse" if item["flagged"] else "off",
        help=f"Score {item['score']:.4g}; rank 1 is the most anomalous row.",
    )

# ---- Values, residuals, sparse cells ----------------------------------------------
residuals = row_residuals(run.models, X, position)
contributions = contributions_table(residuals, prepared.feature_names, titles, top=10)
profile = row_profile(X, prepared.feature_names, position)
# Show the features that deviate most, plus those the detectors blame most.
blamed = set(contributions["feature"])
order = profile["deviation"].abs().rank(ascending=False, method="first")
shown = profile[(order <= TOP_FEATURES) | profile["feature"].isin(blamed)].copy()
shown["rank"] = shown["deviation"].abs().rank(ascending=False, method="first")

left, right = st.columns(2)
with left:
    st.altair_chart(charts.profile_chart(shown), width="stretch")
    with st.expander(f"All {len(profile)} values beside the typical ones"):
        st.dataframe(
            profile,
            hide_index=True,
            width="stretch",
            column_config={
                "deviation": st.column_config.NumberColumn(
                    "deviation (robust SDs)", format="%.2f"
                )
            },
        )
with right:
    st.altair_chart(charts.contributions_chart(contributions))

if "rpca" in run.models:
    model = run.models["rpca"]
    cells = sparse_cells(model.sparse_[position], X[position], prepared.feature_names)
    if len(cells):
        st.altair_chart(charts.sparse_chart(cells.head(30)), width="stretch")
        st.caption(
            f"{len(cells)} of {X.shape[1]} cells of this row are in Robust PCA's "
            "sparse "
            "part S: these are the values the low-rank structure L cannot explain."
        )
    else:
        st.info(
            "Robust PCA's sparse part S is zero in this row: the low-rank part L "
            "explains it completely."
        )

# ---- Images ------------------------------------------------------------
pixels = pixel_columns(current.spec["roles"])
sample = SAMPLES.get(current.source.partition(":")[2])
if pixels is not None and (
    len(pixels) == 784 or (sample is not None and sample.kind == "images")
):
    st.header("As an image")
    side = image_side(len(pixels))
    names_x = prepared.feature_names
    original = (
        pd.to_numeric(current.table.frame.iloc[int(selected)][pixels], errors="coerce")
        .fillna(0.0)
        .to_numpy(dtype=np.float64)
    )

    def image(values, fill=0.0):
        return as_image(values, names_x, pixels, fill)

    panels = {"Input": original}
    if "pca" in run.models:
        recon = run.models["pca"].reconstruct(X[position : position + 1])[0]
        panels["PCA reconstruction"] = image(recon, original)
        panels["PCA residual |x - x̂|"] = image(np.abs(X[position] - recon))
    if "rpca" in run.models:
        model = run.models["rpca"]
        low_rank = model.scaler_.inverse_transform(
            model.low_rank_[position : position + 1]
        )
        panels["Robust PCA low-rank L"] = image(low_rank[0], original)
        panels["Robust PCA sparse |S|"] = image(
            np.abs(model.sparse_[position] * model.scaler_.scale_)
        )
    for name in ("ae", "vae"):
        if name in residuals:
            panels[f"{titles[name]} residual (scaled)"] = image(
                np.sqrt(residuals[name])
            )
    st.altair_chart(
        charts.image_panels(
            image_cells(panels, side),
            f"Row {selected}: input, reconstructions, residuals",
        )
    )
    if {"ae", "vae"} & set(names):
        st.caption(
            "The autoencoder and VAE expose only their per-pixel residuals, so "
            "their reconstructions are not drawn. Constant pixels are not features; "
            "they are shown as in the input."
        )

# ---- Position on the series --------------------------------------------------
column = time_column(current.spec["roles"])
if column is not None:
    times = as_times(current.table.frame[column].iloc[rows].to_numpy())
    feature = contributions.groupby("feature")["contribution"].sum().abs().idxmax()
    j = prepared.feature_names.index(feature)
    series = pd.DataFrame({"time": times, "value": X[:, j], "row": rows}).dropna(
        subset=["time"]
    )
    keep = (series["row"] == selected).to_numpy()
    series = charts.downsample(series, keep)
    marker = pd.DataFrame({"time": [times.iloc[position]], "row": [selected]})
    st.altair_chart(
        charts.position_chart(
            series, marker, f"Where row {selected} sits on '{feature}' over '{column}'"
        ),
        width="stretch",
    )
    st.page_link("views/timeline.py", label="Open the timeline", icon="🕒")
