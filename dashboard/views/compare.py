"""Compare page: which rows are anomalous, and do the four detectors agree?"""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import charts, controls, services, state, ui
from detectors.compare import (
    confusion_table,
    curve_points,
    distribution_table,
    flagged_table,
    intersections,
    map_table,
    operating_points,
    pair_agreement,
    scores_long,
    spearman_matrix,
)
from detectors.pipeline import DETECTOR_TITLES

MAP_KEY, UPSET_KEY, TABLE_KEY = "map_select", "upset_select", "flagged_table"


def _pick_from_map() -> None:
    picked = st.session_state[MAP_KEY]["selection"].get("picked") or []
    if picked and "row" in picked[0]:
        st.session_state[state.SELECTED_ROW] = int(picked[0]["row"])


def _pick_from_table() -> None:
    # The table's rows are only known to the script body, which reads this mark.
    st.session_state["_table_pick"] = True


def _chosen_combination() -> str | None:
    event = st.session_state.get(UPSET_KEY) or {}
    chosen = (event.get("selection") or {}).get("combination") or []
    return chosen[0].get("combination") if chosen else None


st.title("Compare detectors")

current = ui.load_current_or_stop()
prepared = current.prepared
n_rows, n_features = prepared.X.shape
has_label = prepared.y_true is not None and np.unique(prepared.y_true).size == 2
st.caption(
    f"**{current.table.name}**: {n_rows:,} rows × {n_features} features. "
    "Scores: higher = more anomalous. Change the data on the **Data** page."
)
if n_rows < n_features:
    st.warning(
        f"Only {n_rows} rows for {n_features} features: too few to train the "
        "autoencoder "
        "and VAE reliably, and PCA keeps at most "
        f"{max(0, min(n_rows - 2, n_features - 1))} components. Treat these scores "
        "with care."
    )

controls.threshold_controls(has_label)
names = st.session_state[state.DETECTORS]
run = ui.run_or_stop(current, names, st.session_state[state.SEED])
policy, thresholds, flags = controls.flags_now(run, prepared)
titles = {name: DETECTOR_TITLES[name] for name in names}

counts = st.columns(len(names))
for column, name in zip(counts, names):
    column.metric(
        f"{titles[name]} flags",
        f"{int(flags[name].sum()):,}",
        help=f"Fitted in {run.seconds[name]:.2f} s; {controls.describe(policy)}",
    )

# ---- Which rows are anomalous -------------------------------------------------
st.header("Which rows are anomalous?")
st.caption(
    "Scores on one scale: each detector's scores minus their median, divided by a "
    "robust spread, on a symmetric log axis; the dashed rule is the shared threshold. "
    "Raw scores are in the tooltips."
)
bins, rules = distribution_table(run.scores, flags, thresholds, titles)
domain = (
    float(min(bins["bin_start"].min(), rules["position"].min())),
    float(max(bins["bin_end"].max(), rules["position"].max())),
)
histograms = st.columns(2)
for i, name in enumerate(names):
    with histograms[i % 2]:
        st.altair_chart(
            charts.score_distribution(bins, rules, titles[name], domain),
            width="stretch",
        )

long = scores_long(prepared.rows, run.scores, flags, titles)
# Thin by row (all detectors together) so every flagged row keeps all its points.
row_flagged = long.groupby("row")["flagged"].any()
picked = charts.downsample(
    row_flagged.to_frame(),
    row_flagged.to_numpy(),
    max_rows=charts.MAX_POINTS // len(names),
)
shown = long[long["row"].isin(picked.index)]
if len(long) > len(shown):
    st.caption(
        f"Charts show {len(shown):,} of {len(long):,} points: every flagged row "
        "plus a random sample of the rest."
    )
st.altair_chart(charts.scores_by_row(shown, titles))

# ---- Do the detectors agree ---------------------------------------------------
st.header("Do the detectors agree?")
combination = _chosen_combination()
upset_counts, membership = intersections(flags, titles)
if combination not in set(upset_counts["combination"]):
    # The bar picked under another threshold may no longer exist.
    combination = None
left, right = st.columns([3, 2])
with left:
    if len(upset_counts):
        st.altair_chart(
            charts.upset_bars(upset_counts, combination),
            width="stretch",
            key=UPSET_KEY,
            on_select="rerun",
            selection_mode="combination",
        )
        st.altair_chart(charts.upset_matrix(membership), width="stretch")
    else:
        st.info("No detector flags any row at this threshold.")
with right:
    st.altair_chart(charts.spearman_heatmap(spearman_matrix(run.scores, titles)))
    st.altair_chart(charts.pair_agreement(pair_agreement(flags, titles)))

coords, explained = services.row_map(current)
points = map_table(
    prepared.rows, coords, flags, titles, prepared.y_true if has_label else None
)
members = points["flagged_by"] == combination if combination else np.zeros(n_rows, bool)

table = flagged_table(
    current.table.frame,
    prepared.rows,
    run.scores,
    flags,
    limit=n_rows if combination else 50,
)
if combination:
    table = table[table["row"].isin(points.loc[members, "row"])].head(200)
marks = services.current_marks(current)
if marks is not None and len(marks):
    # Colleagues' verdicts from the Share page, beside the detectors' votes.
    latest = marks.set_index("row")
    table.insert(2, "verdict", table["row"].map(latest["verdict"]))
    table.insert(3, "comment", table["row"].map(latest["comment"]))
if st.session_state.pop("_table_pick", False):
    chosen_rows = (
        (st.session_state.get(TABLE_KEY) or {}).get("selection", {}).get("rows", [])
    )
    if chosen_rows and chosen_rows[0] < len(table):
        st.session_state[state.SELECTED_ROW] = int(table.iloc[chosen_rows[0]]["row"])

selected = st.session_state[state.SELECTED_ROW]
ring = members | (points["row"] == selected).to_numpy()
drawn = charts.downsample(points, (points["flagged"] | ring).to_numpy())
if len(drawn) < len(points):
    st.caption(
        f"The map draws {len(drawn):,} of {len(points):,} rows: every flagged row "
        "plus a random sample of the rest."
    )
st.altair_chart(
    charts.row_map(drawn, tuple(explained), points[ring]),
    width="stretch",
    key=MAP_KEY,
    on_select=_pick_from_map,
    selection_mode="picked",
)

# ---- How good are they --------------------------------------------------------
if has_label:
    st.header("How well do they match the label?")
    roc, pr = curve_points(prepared.y_true, run.scores, titles)
    operating = operating_points(prepared.y_true, flags, titles)
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.roc_chart(roc, operating), width="stretch")
    with right:
        st.altair_chart(
            charts.pr_chart(pr, operating, float(np.mean(prepared.y_true))),
            width="stretch",
        )
    st.caption(f"Confusion at the current threshold ({controls.describe(policy)}):")
    st.table(
        confusion_table(prepared.y_true, flags, titles).set_index("detector").round(3)
    )
else:
    st.info(
        "No label column: ROC and precision-recall curves need one (set a column's "
        "role to 'label' on the Data page)."
    )

# ---- The rows ------------------------------------------------------------------
st.subheader(f"Flagged rows: {combination}" if combination else "Flagged rows")
st.caption(
    "Most agreed-upon first; values as in the file. Select a row to explain it; "
    "click a bar of the UpSet chart to list only its rows (double-click clears)."
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    key=TABLE_KEY,
    on_select=_pick_from_table,
    selection_mode="single-row",
    column_config=controls.flagged_columns(names),
)
if selected is not None and selected in set(prepared.rows.tolist()):
    st.page_link("views/explain.py", label=f"Explain row {selected}", icon="🔍")
