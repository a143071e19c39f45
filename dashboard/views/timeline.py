"""Timeline page: flagged points along time, and traffic matrices as heatmaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, controls, services, state, ui
from detectors.compare import (
    anomaly_windows,
    as_times,
    blamed_features,
    block_reduce,
    combination_labels,
    od_pairs,
    pick_rows,
    time_column,
)
from detectors.pipeline import DETECTOR_TITLES

MAX_BINS, MAX_PAIRS = 300, 40
FEATURES_KEY, FLAGS_KEY = "timeline_features", "timeline_flags"


def _pick(key: str) -> None:
    picked = st.session_state[key]["selection"].get("picked") or []
    if picked and "row" in picked[0]:
        st.session_state[state.SELECTED_ROW] = int(picked[0]["row"])


def _explain_link() -> None:
    selected = st.session_state[state.SELECTED_ROW]
    if selected is not None:
        st.page_link("views/explain.py", label=f"Explain row {selected}", icon="🔍")


st.title("Timeline")

current = ui.load_current_or_stop()
prepared = current.prepared
X, rows = prepared.X, prepared.rows
column = time_column(current.spec["roles"])
if column is None:
    st.info(
        f"**{current.table.name}** has no timestamp column, so there is no time view. "
        "If a column holds times, set its role to 'timestamp' on the Data page."
    )
    st.page_link("views/data.py", label="Go to Data", icon="📄")
    st.stop()

times = as_times(current.table.frame[column].iloc[rows].to_numpy())
if times.isna().all():
    st.error(
        f"The timestamp column '{column}' has no readable times; choose another "
        "column's role on the Data page."
    )
    st.stop()

names = st.session_state[state.DETECTORS]
run = ui.run_or_stop(current, names, st.session_state[state.SEED])
policy, thresholds, flags = controls.flags_now(run, prepared)
titles = {name: DETECTOR_TITLES[name] for name in names}
has_label = prepared.y_true is not None
windows = (
    anomaly_windows(times, prepared.y_true) if has_label else anomaly_windows(times, [])
)
st.caption(
    f"**{current.table.name}** along '{column}', threshold: "
    f"{controls.describe(policy)} (change it on the Compare page). Click a red point "
    "to explain its row." + (" Shaded: rows labelled anomalous." if has_label else "")
)

labels = {"any": "Flagged by any detector", **titles}
which = st.radio(
    "Flagged points",
    list(labels),
    horizontal=True,
    key=FLAGS_KEY,
    format_func=labels.get,
)
flagged = np.any(list(flags.values()), axis=0) if which == "any" else flags[which]
flagged_by = pd.Series(combination_labels(flags, titles))
pairs = od_pairs(prepared.feature_names)

if len(pairs) >= 2:
    # A traffic matrix: one row per time bin, one column per OD pair.
    st.header("Total traffic")
    total = X.sum(axis=1)
    series = pd.DataFrame(
        {"time": times, "value": total, "row": rows, "flagged_by": flagged_by}
    )
    drawn = charts.downsample(series, flagged)
    st.altair_chart(
        charts.series_chart(
            drawn,
            series[flagged],
            windows,
            "Total traffic per bin, flagged bins in red",
            "Total over all OD pairs",
        ),
        width="stretch",
        key="timeline_total",
        on_select=lambda: _pick("timeline_total"),
        selection_mode="picked",
    )
    _explain_link()

    st.header("Time × OD pair")
    pair_index = [prepared.feature_names.index(p) for p in pairs]
    volumes = X[:, pair_index]
    model = services.rpca_with_lambda(current, None, run)
    sparse = model.sparse_[:, pair_index]
    # The busiest pairs and those with the most sparse energy, up to MAX_PAIRS.
    busiest = np.argsort(-volumes.sum(axis=0), kind="stable")[: MAX_PAIRS // 2]
    strangest = np.argsort(-np.sum(sparse**2, axis=0), kind="stable")[: MAX_PAIRS // 2]
    keep = pick_rows(len(pairs), MAX_PAIRS, np.concatenate([busiest, strangest]))
    data_reduced, starts = block_reduce(volumes[:, keep], MAX_BINS, "mean")
    sparse_reduced, _ = block_reduce(sparse[:, keep], MAX_BINS, "absmax")
    bin_times = times.iloc[starts].reset_index(drop=True)
    step = bin_times.diff().median() if len(bin_times) > 1 else pd.Timedelta(minutes=5)
    ends = bin_times.shift(-1).fillna(bin_times.iloc[-1] + step)
    if len(starts) < len(rows) or len(keep) < len(pairs):
        st.caption(
            f"{len(keep)} of {len(pairs)} OD pairs (the busiest and those with the "
            f"largest S); {len(rows):,} bins grouped into {len(starts)} "
            "(data: mean, S: the largest magnitude)."
        )

    def cells(matrix: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "time": np.repeat(bin_times.to_numpy(), len(keep)),
                "end": np.repeat(ends.to_numpy(), len(keep)),
                "pair": np.tile(np.asarray(pairs, dtype=object)[keep], len(starts)),
                "value": matrix.ravel(),
            }
        )

    left, right = st.columns(2)
    with left:
        st.altair_chart(
            charts.time_heatmap(cells(data_reduced), "Traffic per OD pair", "Volume"),
            width="stretch",
        )
    with right:
        st.altair_chart(
            charts.time_heatmap(
                cells(sparse_reduced),
                "Robust PCA sparse part S per OD pair",
                "S (standardised)",
                diverging=True,
            ),
            width="stretch",
        )
else:

    @st.fragment
    def feature_lines() -> None:
        """Per-feature lines; picking features reruns only this part."""
        default = blamed_features(X, prepared.feature_names, flagged, top=3)
        picked = st.multiselect(
            "Features",
            prepared.feature_names,
            default=default,
            key=FEATURES_KEY,
            max_selections=6,
            help="By default the features on which flagged rows stand out most.",
        )
        for feature in picked:
            j = prepared.feature_names.index(feature)
            series = pd.DataFrame(
                {"time": times, "value": X[:, j], "row": rows, "flagged_by": flagged_by}
            )
            drawn = series.iloc[
                pick_rows(len(series), charts.MAX_POINTS, np.flatnonzero(flagged))
            ]
            key = f"timeline_{feature}"
            st.altair_chart(
                charts.series_chart(
                    drawn, series[flagged], windows, f"{feature} over time", feature
                ),
                width="stretch",
                key=key,
                on_select=lambda key=key: _pick(key),
                selection_mode="picked",
            )
        _explain_link()

    feature_lines()
