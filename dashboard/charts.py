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
# Streamlit's default autosize "fit" squeezes titles, axes and legends into the
# height as well; "fit-x" stretches the width and keeps each plot's own height.
FIT_WIDTH = alt.AutoSizeParams(type="fit-x", contains="padding")


def downsample(
    frame: pd.DataFrame,
    keep: pd.Series | np.ndarray,
    max_rows: int = MAX_POINTS,
    seed: int = 0,
) -> pd.DataFrame:
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
        alt.Chart(long)
        .mark_circle(size=18, opacity=0.75)
        .encode(
            x=alt.X("row:Q", title="Row"),
            y=alt.Y(
                "percentile:Q",
                title="Score percentile (0 = most normal)",
                scale=alt.Scale(domain=[0, 100]),
            ),
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
        .facet(
            facet=alt.Facet("detector:N", title=None, sort=list(titles.values())),
            columns=2,
            title="Score of every row, per detector",
        )
    )


def pair_agreement(pairs: pd.DataFrame) -> alt.LayerChart:
    """Heatmap: number of rows both detectors flag (diagonal: flagged by one)."""
    base = alt.Chart(pairs).encode(
        x=alt.X("detector_a:N", title="Detector", sort=None),
        y=alt.Y("detector_b:N", title="Detector", sort=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "both:Q", title="Rows flagged by both", scale=alt.Scale(scheme="reds")
        ),
        tooltip=[
            alt.Tooltip("detector_a:N", title="Detector A"),
            alt.Tooltip("detector_b:N", title="Detector B"),
            alt.Tooltip("both:Q", title="Flagged by both"),
            alt.Tooltip("jaccard:Q", title="Jaccard", format=".2f"),
        ],
    )
    text = base.mark_text(fontSize=13).encode(
        text="both:Q",
        color=alt.condition(
            alt.datum.both > pairs["both"].max() / 2,
            alt.value("white"),
            alt.value("black"),
        ),
    )
    return (cells + text).properties(
        autosize=FIT_WIDTH,
        title="Rows flagged by both detectors",
        height=220,
        width=260,
    )


VOTE_COLORS = alt.Scale(
    domain=[0, 1, 2, 3, 4],
    range=["#c5ccd3", "#f4c542", "#f08a24", "#d7301f", "#7f0000"],
)
DIVERGING = "redblue"


def _axis(title: str, **kwargs) -> alt.Axis:
    return alt.Axis(title=title, **kwargs)


def score_distribution(
    bins: pd.DataFrame, rules: pd.DataFrame, detector: str, domain: tuple[float, float]
) -> alt.LayerChart:
    """One detector's calibrated score histogram with the shared threshold as a rule.

    ``bins`` and ``rules`` come from :func:`detectors.compare.distribution_table`;
    ``domain`` is the shared x range so the four charts line up.
    """
    bars = (
        alt.Chart(bins[bins["detector"] == detector])
        .mark_bar(opacity=0.85, orient="vertical")
        .encode(
            x=alt.X(
                "bin_start:Q",
                title="Calibrated score: symlog(robust z)",
                scale=alt.Scale(domain=list(domain), nice=False),
            ),
            x2="bin_end:Q",
            y=alt.Y("rows:Q", title="Rows", stack=True),
            color=alt.Color("status:N", title="Flag", scale=FLAG_COLORS),
            tooltip=[
                alt.Tooltip("raw_start:Q", title="Raw score from", format=".4g"),
                alt.Tooltip("raw_end:Q", title="Raw score to", format=".4g"),
                alt.Tooltip("rows:Q", title="Rows"),
                alt.Tooltip("status:N", title="Flag"),
                alt.Tooltip("bin_start:Q", title="Calibrated from", format=".2f"),
            ],
        )
    )
    rule = (
        alt.Chart(rules[rules["detector"] == detector])
        .mark_rule(color="#1f2d3d", strokeDash=[4, 3], size=2)
        .encode(
            x=alt.X("position:Q", title="Calibrated score: symlog(robust z)"),
            tooltip=[
                alt.Tooltip("threshold:Q", title="Threshold (raw score)", format=".4g"),
                alt.Tooltip("share_flagged:Q", title="Share flagged", format=".1%"),
            ],
        )
    )
    return (bars + rule).properties(
        autosize=FIT_WIDTH,
        title=f"{detector}: score distribution and threshold",
        height=150,
    )


def _with_legend(points: pd.DataFrame, curves: pd.DataFrame) -> pd.DataFrame:
    # Operating points share the curves' colour field, so colours and legend match.
    legend = curves.drop_duplicates("detector").set_index("detector")["legend"]
    return points.assign(legend=points["detector"].map(legend))


def roc_chart(curves: pd.DataFrame, points: pd.DataFrame) -> alt.LayerChart:
    """ROC curves of all detectors (AUC in the legend) with each detector's
    operating point at the current threshold."""
    legend = alt.Color("legend:N", title="Detector (ROC-AUC)")
    points = _with_legend(points, curves)
    lines = (
        alt.Chart(curves)
        .mark_line(strokeWidth=2)
        .encode(
            x=alt.X("x:Q", title="False-positive rate", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y(
                "y:Q",
                title="True-positive rate (recall)",
                scale=alt.Scale(domain=[0, 1]),
            ),
            color=legend,
            tooltip=[
                alt.Tooltip("legend:N", title="Detector"),
                alt.Tooltip("x:Q", title="False-positive rate", format=".3f"),
                alt.Tooltip("y:Q", title="True-positive rate", format=".3f"),
            ],
        )
    )
    chance = (
        alt.Chart(pd.DataFrame({"x": [0.0, 1.0], "y": [0.0, 1.0]}))
        .mark_line(color="#9aa5b1", strokeDash=[3, 3])
        .encode(
            x=alt.X("x:Q", title="False-positive rate"),
            y=alt.Y("y:Q", title="True-positive rate (recall)"),
        )
    )
    dots = (
        alt.Chart(points.dropna(subset=["fpr", "tpr"]))
        .mark_point(size=90, filled=True, stroke="black", strokeWidth=1)
        .encode(
            x=alt.X("fpr:Q", title="False-positive rate"),
            y=alt.Y("tpr:Q", title="True-positive rate (recall)"),
            color=legend,
            tooltip=[
                alt.Tooltip("detector:N", title="Detector at the threshold"),
                alt.Tooltip("flagged:Q", title="Rows flagged"),
                alt.Tooltip("fpr:Q", title="False-positive rate", format=".3f"),
                alt.Tooltip("tpr:Q", title="True-positive rate", format=".3f"),
            ],
        )
    )
    return (chance + lines + dots).properties(
        autosize=FIT_WIDTH,
        title=alt.TitleParams(
            "Detection quality against the label",
            subtitle="ROC curves; dots mark the current threshold",
        ),
        height=300,
    )


def pr_chart(
    curves: pd.DataFrame, points: pd.DataFrame, base_rate: float
) -> alt.LayerChart:
    """Precision-recall curves of all detectors (average precision in the legend),
    the share of anomalies as the chance level, and each operating point."""
    points = _with_legend(points, curves)
    lines = (
        alt.Chart(curves)
        .mark_line(strokeWidth=2, interpolate="step-after")
        .encode(
            x=alt.X("x:Q", title="Recall", scale=alt.Scale(domain=[0, 1])),
            y=alt.Y("y:Q", title="Precision", scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("legend:N", title="Detector (average precision)"),
            tooltip=[
                alt.Tooltip("legend:N", title="Detector"),
                alt.Tooltip("x:Q", title="Recall", format=".3f"),
                alt.Tooltip("y:Q", title="Precision", format=".3f"),
            ],
        )
    )
    chance = (
        alt.Chart(pd.DataFrame({"base_rate": [base_rate]}))
        .mark_rule(color="#9aa5b1", strokeDash=[3, 3])
        .encode(
            y=alt.Y("base_rate:Q", title="Precision"),
            tooltip=[
                alt.Tooltip(
                    "base_rate:Q", title="Share of anomalies (chance)", format=".3f"
                )
            ],
        )
    )
    dots = (
        alt.Chart(points.dropna(subset=["recall", "precision"]))
        .mark_point(size=90, filled=True, stroke="black", strokeWidth=1)
        .encode(
            x=alt.X("recall:Q", title="Recall"),
            y=alt.Y("precision:Q", title="Precision"),
            color=alt.Color("legend:N", title="Detector (average precision)"),
            tooltip=[
                alt.Tooltip("detector:N", title="Detector at the threshold"),
                alt.Tooltip("flagged:Q", title="Rows flagged"),
                alt.Tooltip("recall:Q", title="Recall", format=".3f"),
                alt.Tooltip("precision:Q", title="Precision", format=".3f"),
            ],
        )
    )
    return (lines + chance + dots).properties(
        autosize=FIT_WIDTH,
        title=alt.TitleParams(
            "Precision-recall curves",
            subtitle="Dashed: share of anomalies (chance level)",
        ),
        height=300,
    )


UPSET_AXIS = 110  # pixels for y-axis labels, equal in both UpSet views so they align


def upset_bars(counts: pd.DataFrame, selected: str | None = None) -> alt.LayerChart:
    """UpSet top half: rows per exact combination of flagging detectors, largest
    first, counts written on the bars. Clicking a bar selects its combination."""
    pick = alt.selection_point(
        name="combination", fields=["combination"], on="click", clear="dblclick"
    )
    # The field title serves tooltips and readers of the spec; the matrix below
    # labels the combinations, so the axis itself stays bare.
    x = alt.X(
        "combination:N",
        title="Combination",
        sort=alt.SortField("order"),
        axis=alt.Axis(labels=False, ticks=False, title=None),
    )
    highlight = alt.condition(
        alt.datum.combination == (selected or ""),
        alt.value("#c0392b"),
        alt.value("#34495e"),
    )
    bars = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y(
                "rows:Q",
                title="Rows flagged by exactly these",
                axis=alt.Axis(minExtent=UPSET_AXIS),
            ),
            color=highlight,
            tooltip=[
                alt.Tooltip("combination:N", title="Flagged by exactly"),
                alt.Tooltip("rows:Q", title="Rows"),
                alt.Tooltip("degree:Q", title="Detectors"),
            ],
        )
        .add_params(pick)
    )
    labels = (
        alt.Chart(counts)
        .mark_text(dy=-7, fontSize=12)
        .encode(
            x=x,
            y=alt.Y("rows:Q", title="Rows flagged by exactly these"),
            text=alt.Text("rows:Q"),
        )
    )
    return (bars + labels).properties(
        autosize=FIT_WIDTH,
        title=alt.TitleParams(
            "Which detectors flag the same rows",
            subtitle="UpSet: one bar per exact combination; click one to list its rows",
        ),
        height=180,
    )


def upset_matrix(membership: pd.DataFrame) -> alt.LayerChart:
    """UpSet bottom half: which detectors make up each combination (filled dots,
    joined by a line)."""
    x = alt.X(
        "combination:N",
        title="Combination (largest first)",
        sort=alt.SortField("order"),
        axis=alt.Axis(labels=False, ticks=False),
    )
    y = alt.Y(
        "detector:N", title="Detector", axis=alt.Axis(minExtent=UPSET_AXIS, title=None)
    )
    tooltip = [
        alt.Tooltip("combination:N", title="Combination"),
        alt.Tooltip("detector:N", title="Detector"),
        alt.Tooltip("member:N", title="Flags these rows"),
        alt.Tooltip("rows:Q", title="Rows"),
    ]
    dots = (
        alt.Chart(membership)
        .mark_circle(size=110)
        .encode(
            x=x,
            y=y,
            color=alt.condition(
                alt.datum.member, alt.value("#34495e"), alt.value("#dde2e6")
            ),
            tooltip=tooltip,
        )
    )
    links = (
        alt.Chart(membership[membership["member"]])
        .mark_rule(color="#34495e", strokeWidth=2)
        .encode(x=x, y=alt.Y("min(detector):N", title="Detector"), y2="max(detector):N")
    )
    return (links + dots).properties(
        autosize=FIT_WIDTH,
        title=alt.TitleParams("Detectors in each combination", fontSize=12),
        height=30 * max(membership["detector"].nunique(), 1),
    )


def spearman_heatmap(matrix: pd.DataFrame) -> alt.LayerChart:
    """Rank correlation between detectors' scores, -1 to 1, values written in."""
    base = alt.Chart(matrix).encode(
        x=alt.X("detector_a:N", title="Detector", sort=None),
        y=alt.Y("detector_b:N", title="Detector", sort=None),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(
            "rho:Q",
            title="Spearman ρ",
            scale=alt.Scale(scheme=DIVERGING, domain=[-1, 1]),
        ),
        tooltip=[
            alt.Tooltip("detector_a:N", title="Detector A"),
            alt.Tooltip("detector_b:N", title="Detector B"),
            alt.Tooltip("rho:Q", title="Spearman ρ", format=".3f"),
        ],
    )
    text = base.mark_text(fontSize=13).encode(
        text=alt.Text("rho:Q", format=".2f"),
        color=alt.condition(
            "abs(datum.rho) > 0.6", alt.value("white"), alt.value("black")
        ),
    )
    return (cells + text).properties(
        autosize=FIT_WIDTH,
        title=alt.TitleParams(
            "Do the detectors rank rows alike?",
            subtitle="Spearman rank correlation of the scores",
        ),
        height=220,
        width=280,
    )


def row_map(
    points: pd.DataFrame,
    explained: tuple[float, float],
    highlight: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """Rows on the first two principal components, coloured by how many
    detectors flag them; flagged rows drawn larger and on top. Clicking a point
    selects its row. ``highlight`` rows (a chosen combination or row) get a ring.
    """
    pick = alt.selection_point(
        name="picked", fields=["row"], on="click", clear="dblclick"
    )
    x_title = f"First principal component ({explained[0]:.0%} of variance)"
    y_title = f"Second principal component ({explained[1]:.0%} of variance)"
    tooltip = [
        alt.Tooltip("row:Q", title="Row"),
        alt.Tooltip("votes:Q", title="Detectors flagging"),
        alt.Tooltip("flagged_by:N", title="Flagged by"),
        alt.Tooltip("pc1:Q", title="PC 1", format=".2f"),
        alt.Tooltip("pc2:Q", title="PC 2", format=".2f"),
    ]
    if "label" in points:
        tooltip.append(alt.Tooltip("label:N", title="Label"))
    dots = (
        alt.Chart(points)
        .mark_circle(opacity=0.85)
        .encode(
            x=alt.X("pc1:Q", title=x_title),
            y=alt.Y("pc2:Q", title=y_title),
            color=alt.Color("votes:O", title="Detectors flagging", scale=VOTE_COLORS),
            size=alt.Size(
                "votes:O",
                title="Detectors flagging",
                scale=alt.Scale(domain=[0, 1, 2, 3, 4], range=[14, 45, 60, 75, 90]),
            ),
            order=alt.Order("votes:Q", sort="ascending"),
            tooltip=tooltip,
        )
        .add_params(pick)
    )
    layers = [dots]
    if highlight is not None and len(highlight):
        # The ring goes underneath, so a click on a ringed row still reaches the
        # selectable dot drawn over its centre.
        layers.insert(
            0,
            alt.Chart(highlight)
            .mark_point(size=220, color="#111111", strokeWidth=2)
            .encode(
                x=alt.X("pc1:Q", title=x_title),
                y=alt.Y("pc2:Q", title=y_title),
                tooltip=tooltip,
            ),
        )
    return alt.layer(*layers).properties(
        autosize=FIT_WIDTH,
        title=alt.TitleParams(
            "Map of the rows, coloured by agreement",
            subtitle="Every flagged row is drawn; click a point to explain it",
        ),
        height=360,
    )


def profile_chart(profile: pd.DataFrame) -> alt.Chart:
    """The row's deviation from the typical value of each feature (robust units)."""
    return (
        alt.Chart(profile, title="How far this row is from typical, per feature")
        .mark_bar()
        .encode(
            x=alt.X("deviation:Q", title="Deviation from the median (robust SDs)"),
            y=alt.Y("feature:N", title="Feature", sort=alt.SortField("rank")),
            color=alt.condition(
                alt.datum.deviation > 0, alt.value("#c0392b"), alt.value("#2e86c1")
            ),
            tooltip=[
                alt.Tooltip("feature:N", title="Feature"),
                alt.Tooltip("value:Q", title="This row", format=".4g"),
                alt.Tooltip("typical:Q", title="Typical (median)", format=".4g"),
                alt.Tooltip("deviation:Q", title="Deviation", format=".2f"),
            ],
        )
        .properties(height=alt.Step(16))
    )


def contributions_chart(table: pd.DataFrame) -> alt.FacetChart:
    """Each detector's largest per-feature contributions to this row's score."""
    return (
        alt.Chart(table)
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title="Contribution to the score"),
            y=alt.Y("feature:N", title="Feature", sort="-x"),
            color=alt.condition(
                alt.datum.contribution >= 0, alt.value("#c0392b"), alt.value("#2e86c1")
            ),
            tooltip=[
                alt.Tooltip("detector:N", title="Detector"),
                alt.Tooltip("feature:N", title="Feature"),
                alt.Tooltip("contribution:Q", title="Contribution", format=".4g"),
                alt.Tooltip("share:Q", title="Share of the score", format=".1%"),
            ],
        )
        .properties(width=260, height=alt.Step(14))
        .facet(
            facet=alt.Facet("detector:N", title=None),
            columns=2,
            title="Why each detector scores this row: per-feature residuals",
        )
        .resolve_scale(x="independent", y="independent")
    )


def sparse_chart(cells: pd.DataFrame) -> alt.Chart:
    """Robust PCA's nonzero sparse cells for one row."""
    return (
        alt.Chart(
            cells, title="Robust PCA: cells of this row that L cannot explain (S)"
        )
        .mark_bar()
        .encode(
            x=alt.X("sparse:Q", title="Sparse part S (standardised units)"),
            y=alt.Y("feature:N", title="Feature", sort="-x"),
            color=alt.condition(
                alt.datum.sparse > 0, alt.value("#c0392b"), alt.value("#2e86c1")
            ),
            tooltip=[
                alt.Tooltip("feature:N", title="Feature"),
                alt.Tooltip("sparse:Q", title="S", format=".4g"),
                alt.Tooltip("value:Q", title="This row's value", format=".4g"),
            ],
        )
        .properties(height=alt.Step(16))
    )


def image_panels(cells: pd.DataFrame, title: str) -> alt.FacetChart:
    """Square images side by side (input, reconstructions, residuals), each on its
    own colour scale."""
    return (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("x:O", title="Pixel column", axis=None),
            y=alt.Y("y:O", title="Pixel row", axis=None),
            color=alt.Color(
                "value:Q",
                title="Intensity",
                scale=alt.Scale(scheme="greys"),
                legend=None,
            ),
            tooltip=[
                alt.Tooltip("panel:N", title="Image"),
                alt.Tooltip("x:O", title="Pixel column"),
                alt.Tooltip("y:O", title="Pixel row"),
                alt.Tooltip("value:Q", title="Value", format=".3f"),
            ],
        )
        .properties(width=150, height=150)
        .facet(
            facet=alt.Facet(
                "panel:N", title=None, sort=list(dict.fromkeys(cells["panel"]))
            ),
            columns=4,
            title=title,
        )
        .resolve_scale(color="independent")
    )


def position_chart(
    series: pd.DataFrame, marker: pd.DataFrame, title: str
) -> alt.LayerChart:
    """A feature over time with a rule at the chosen row."""
    line = (
        alt.Chart(series)
        .mark_line(color="#34495e", strokeWidth=1)
        .encode(
            x=alt.X("time:T", title="Time"),
            y=alt.Y("value:Q", title="Value"),
            tooltip=[
                alt.Tooltip("time:T", title="Time"),
                alt.Tooltip("value:Q", title="Value", format=".4g"),
            ],
        )
    )
    rule = (
        alt.Chart(marker)
        .mark_rule(color="#c0392b", size=2)
        .encode(
            x=alt.X("time:T", title="Time"),
            tooltip=[
                alt.Tooltip("time:T", title="This row's time"),
                alt.Tooltip("row:Q", title="Row"),
            ],
        )
    )
    return (line + rule).properties(autosize=FIT_WIDTH, title=title, height=180)


def matrix_heatmaps(
    cells: pd.DataFrame,
    limit: float,
    title: str,
    x_title: str = "Feature",
    y_title: str = "Row",
) -> alt.FacetChart:
    """Several matrices (e.g. X, L, S) as heatmaps on one symmetric colour scale."""
    return (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X(
                "feature:N",
                title=x_title,
                sort=None,
                axis=alt.Axis(labels=cells["feature"].nunique() <= 40),
            ),
            y=alt.Y(
                "row:O",
                title=y_title,
                axis=alt.Axis(labels=cells["row"].nunique() <= 60),
            ),
            color=alt.Color(
                "value:Q",
                title="Standardised value",
                scale=alt.Scale(
                    scheme=DIVERGING, domain=[-limit, limit], reverse=True, clamp=True
                ),
            ),
            tooltip=[
                alt.Tooltip("matrix:N", title="Matrix"),
                alt.Tooltip("row:Q", title=y_title),
                alt.Tooltip("feature:N", title=x_title),
                alt.Tooltip("value:Q", title="Value", format=".3g"),
            ],
        )
        .properties(width=240, height=280)
        .facet(
            column=alt.Column(
                "matrix:N", title=None, sort=list(dict.fromkeys(cells["matrix"]))
            ),
            title=title,
        )
    )


def convergence_chart(trace: pd.DataFrame) -> alt.FacetChart:
    """Robust PCA's solver trace: residual (log10), rank of L and nonzeros of S."""
    return (
        alt.Chart(trace)
        .mark_line(point=True)
        .encode(
            x=alt.X("iteration:Q", title="Iteration"),
            y=alt.Y("value:Q", title="Value"),
            tooltip=[
                alt.Tooltip("quantity:N", title="Quantity"),
                alt.Tooltip("iteration:Q", title="Iteration"),
                alt.Tooltip("value:Q", title="Value", format=".4g"),
            ],
        )
        .properties(width=230, height=160)
        .facet(
            column=alt.Column(
                "quantity:N", title=None, sort=list(dict.fromkeys(trace["quantity"]))
            ),
            title="Convergence of the solver",
        )
        .resolve_scale(y="independent")
    )


def series_chart(
    series: pd.DataFrame,
    flagged: pd.DataFrame,
    windows: pd.DataFrame,
    title: str,
    y_title: str = "Value",
) -> alt.LayerChart:
    """A series over time, flagged points in red (click one to pick its row),
    labelled anomaly windows shaded."""
    x = alt.X("time:T", title="Time")
    layers = []
    if len(windows):
        layers.append(
            alt.Chart(windows)
            .mark_rect(color="#f5b7b1", opacity=0.45)
            .encode(
                x=alt.X("start:T", title="Time"),
                x2="end:T",
                tooltip=[
                    alt.Tooltip("start:T", title="Labelled anomaly from"),
                    alt.Tooltip("end:T", title="to"),
                    alt.Tooltip("rows:Q", title="Rows"),
                ],
            )
        )
    layers.append(
        alt.Chart(series)
        .mark_line(color="#34495e", strokeWidth=1)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title),
            tooltip=[
                alt.Tooltip("time:T", title="Time"),
                alt.Tooltip("value:Q", title=y_title, format=".4g"),
            ],
        )
    )
    pick = alt.selection_point(
        name="picked", fields=["row"], on="click", clear="dblclick"
    )
    layers.append(
        alt.Chart(flagged)
        .mark_circle(color="#c0392b", size=40, opacity=0.9)
        .encode(
            x=x,
            y=alt.Y("value:Q", title=y_title),
            tooltip=[
                alt.Tooltip("time:T", title="Time"),
                alt.Tooltip("row:Q", title="Row"),
                alt.Tooltip("value:Q", title=y_title, format=".4g"),
                alt.Tooltip("flagged_by:N", title="Flagged by"),
            ],
        )
        .add_params(pick)
    )
    return alt.layer(*layers).properties(autosize=FIT_WIDTH, title=title, height=200)


def time_heatmap(
    cells: pd.DataFrame, title: str, color_title: str, diverging: bool = False
) -> alt.Chart:
    """Time x OD-pair heatmap of a traffic matrix (or of its sparse part)."""
    scale = (
        alt.Scale(scheme=DIVERGING, domainMid=0, reverse=True)
        if diverging
        else alt.Scale(scheme="viridis")
    )
    return (
        alt.Chart(cells, title=title)
        .mark_rect()
        .encode(
            x=alt.X("time:T", title="Time"),
            x2="end:T",
            y=alt.Y(
                "pair:N",
                title="Origin -> destination",
                sort=None,
                axis=alt.Axis(labels=cells["pair"].nunique() <= 50),
            ),
            color=alt.Color("value:Q", title=color_title, scale=scale),
            tooltip=[
                alt.Tooltip("time:T", title="Bin start"),
                alt.Tooltip("pair:N", title="OD pair"),
                alt.Tooltip("value:Q", title=color_title, format=".4g"),
            ],
        )
        .properties(autosize=FIT_WIDTH, height=320)
    )
