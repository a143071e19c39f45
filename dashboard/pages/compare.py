"""Compare page: the four detectors side by side on the current data set."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, state, ui
from detectors.compare import (
    flagged_table,
    pair_agreement,
    score_histogram,
    scores_long,
    thresholds_frame,
)
from detectors.pipeline import DETECTOR_TITLES, evaluate
from detectors.thresholds import ThresholdPolicy

st.title("Compare detectors")

current = ui.load_current_or_stop()
prepared = current.prepared
n_rows, n_features = prepared.X.shape
st.caption(
    f"**{current.table.name}**: {n_rows:,} rows × {n_features} features. "
    "Scores: higher = more anomalous. Change the data on the **Data** page."
)
if n_rows < n_features:
    st.warning(
        f"Only {n_rows} rows for {n_features} features: too few to train the autoencoder "
        "and VAE reliably, and PCA keeps at most "
        f"{max(0, min(n_rows - 2, n_features - 1))} components. Treat these scores with care."
    )

st.slider(
    "Contamination: share of rows each detector flags", min_value=0.005, max_value=0.5,
    step=0.005, key=state.CONTAMINATION, format="%.3f",
    help="Changing it re-thresholds the stored scores; nothing is refitted.",
)

names = st.session_state[state.DETECTORS]
run = ui.run_or_stop(current, names, st.session_state[state.SEED])
policy = ThresholdPolicy("contamination", st.session_state[state.CONTAMINATION])
thresholds, flags = {}, {}
for name in names:
    thresholds[name], flags[name] = policy.apply(run.scores[name])

titles = {name: DETECTOR_TITLES[name] for name in names}
long = scores_long(prepared.rows, run.scores, flags, titles)
# Thin by row (all detectors together) so every flagged row keeps all its points.
row_flagged = long.groupby("row")["flagged"].any()
picked = charts.downsample(row_flagged.to_frame(), row_flagged.to_numpy(),
                           max_rows=charts.MAX_POINTS // len(names))
shown = long[long["row"].isin(picked.index)]

counts = st.columns(len(names))
for column, name in zip(counts, names):
    column.metric(f"{titles[name]} flags", f"{int(flags[name].sum()):,}",
                  help=f"Fitted in {run.seconds[name]:.2f} s")

if prepared.y_true is not None:
    quality = []
    for name in names:
        result = evaluate(prepared.y_true, run.scores[name])
        quality += [
            {"detector": titles[name], "metric": "ROC-AUC", "value": result["roc_auc"]},
            {"detector": titles[name], "metric": "Average precision",
             "value": result["average_precision"]},
        ]
    st.altair_chart(charts.quality_bars(pd.DataFrame(quality)), width="stretch")
else:
    st.info("No label column: quality metrics need one (set a column's role to 'label').")

if len(long) > len(shown):
    st.caption(
        f"Charts show {len(shown):,} of {len(long):,} points: every flagged row plus a "
        "random sample of the rest."
    )
st.altair_chart(charts.scores_by_row(shown, titles))

histograms = st.columns(2)
threshold_table = thresholds_frame(thresholds, titles)
for i, name in enumerate(names):
    rule = threshold_table[threshold_table["detector"] == titles[name]]
    with histograms[i % 2]:
        st.altair_chart(
            charts.score_histogram(score_histogram(run.scores[name], flags[name]), rule,
                                   f"{titles[name]}: score distribution and threshold"),
            width="stretch",
        )

st.altair_chart(charts.pair_agreement(pair_agreement(flags, titles)))

st.subheader("Flagged rows")
st.caption("Most agreed-upon first; values as in the file.")
st.dataframe(
    flagged_table(current.table.frame, prepared.rows, run.scores, flags),
    hide_index=True, width="stretch",
)
