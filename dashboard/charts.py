"""Altair charts: pure functions from tidy DataFrames to charts.

Each chart has a title, axis titles and a tooltip. Charts never hold more than
``MAX_POINTS`` rows (Altair refuses more than 5000 by default); flagged rows are
always kept when a frame is thinned.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

MAX_POINTS = 4000

# Flagged rows are always drawn, so a chart can exceed Altair's 5000-row guard
# when many rows are flagged; the sampling below keeps the rest small.
alt.data_transformers.disable_max_rows()
FLAG_COLORS = alt.Scale(domain=["normal", "flagged"], range=["#9aa5b1", "#c0392b"])


def downsample(frame: pd.DataFrame, keep: pd.Series | np.ndarray, max_rows: int = MAX_POINTS,
               seed: int = 0) -> pd.DataFrame:
    """At most ``max_rows`` rows of ``frame``: every row where ``keep`` is true, plus
    an evenly seeded sample of the rest. Row order is preserved."""
    if len(frame) <= max_rows:
        return frame
    keep = np.asarray(keep, dtype=bool)
    kept = np.flatnonzero(keep)
    rest = np.flatnonzero(~keep)
    room = max(max_rows - kept.size, 0)
    rng = np.random.default_rng(seed)
    sampled = rng.choice(rest, size=min(room, rest.size), replace=False)
    return frame.iloc[np.sort(np.concatenate([kept, sampled]))]


def scores_by_row(long: pd.DataFrame, titles: dict[str, str]) -> alt.Chart:
    """Each detector's score per row (rank-normalised), flagged rows highlighted.

    ``long`` has columns row, detector, score, percentile, status.
    """
    return (
        alt.Chart(long, title="Score of every row, per detector")
        .mark_circle(size=18, opacity=0.75)
        .encode(
            x=alt.X("row:Q", title="Row"),
            y=alt.Y("percentile:Q", title="Score percentile (0 = most normal)",
                    scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("status:N", title="Flag", scale=FLAG_COLORS),
            tooltip=[
                alt.Tooltip("row:Q", title="Row"),
                alt.Tooltip("detector:N", title="Detector"),
                alt.Tooltip("score:Q", title="Raw score", format=".4g"),
                alt.Tooltip("percentile:Q", title="Percentile", format=".1f"),
                alt.Tooltip("status:N", title="Flag"),
            ],
        )
        .properties(height=140, width=260)
        .facet(facet=alt.Facet("detector:N", title=None, sort=list(titles.values())),
               columns=2)
    )


def score_histogram(bins: pd.DataFrame, thresholds: pd.DataFrame, title: str) -> alt.LayerChart:
    """Pre-binned distribution of one detector's scores with its threshold as a rule.

    ``bins`` has bin_start, bin_end (log10(1 + score)), status and rows.
    """
    bars = (
        alt.Chart(bins)
        .mark_bar(opacity=0.85)
        .encode(
            x=alt.X("bin_start:Q", title="log10(1 + score)"),
            x2="bin_end:Q",
            y=alt.Y("rows:Q", title="Rows", stack=True),
            color=alt.Color("status:N", title="Flag", scale=FLAG_COLORS),
            tooltip=[alt.Tooltip("bin_start:Q", title="From", format=".3f"),
                     alt.Tooltip("bin_end:Q", title="To", format=".3f"),
                     alt.Tooltip("rows:Q", title="Rows"),
                     alt.Tooltip("status:N", title="Flag")],
        )
    )
    rule = (
        alt.Chart(thresholds)
        .mark_rule(color="#1f2d3d", strokeDash=[4, 3], size=2)
        .encode(
            x="log_threshold:Q",
            tooltip=[alt.Tooltip("threshold:Q", title="Threshold (raw score)", format=".4g")],
        )
    )
    return (bars + rule).properties(title=title, height=150)


def pair_agreement(pairs: pd.DataFrame) -> alt.LayerChart:
    """Heatmap: number of rows both detectors flag (diagonal: flagged by one)."""
    base = alt.Chart(pairs, title="Rows flagged by both detectors").encode(
        x=alt.X("detector_a:N", title="Detector", sort=None),
        y=alt.Y("detector_b:N", title="Detector", sort=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("both:Q", title="Rows flagged by both", scale=alt.Scale(scheme="reds")),
        tooltip=[
            alt.Tooltip("detector_a:N", title="Detector A"),
            alt.Tooltip("detector_b:N", title="Detector B"),
            alt.Tooltip("both:Q", title="Flagged by both"),
            alt.Tooltip("jaccard:Q", title="Jaccard", format=".2f"),
        ],
    )
    text = base.mark_text(fontSize=13).encode(
        text="both:Q",
        color=alt.condition(alt.datum.both > pairs["both"].max() / 2,
                            alt.value("white"), alt.value("black")),
    )
    return (cells + text).properties(height=220, width=260)


def quality_bars(metrics: pd.DataFrame) -> alt.Chart:
    """ROC-AUC and average precision per detector (needs a label)."""
    return (
        alt.Chart(metrics, title="Detection quality against the label")
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title="Value", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("detector:N", title="Detector"),
            color=alt.Color("metric:N", title="Metric"),
            yOffset="metric:N",
            tooltip=[alt.Tooltip("detector:N", title="Detector"),
                     alt.Tooltip("metric:N", title="Metric"),
                     alt.Tooltip("value:Q", title="Value", format=".3f")],
        )
        .properties(height=200)
    )
