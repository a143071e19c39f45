"""Altair charts of the Learn pages: pure functions from tidy frames to charts.

Same rules as charts.py: each chart has a title, axis titles and a tooltip.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

# The Robust PCA heatmaps draw four 40 x 40 matrices (6400 cells), above
# Altair's 5000-row guard; charts.py lifts it too, but this module may load first.
alt.data_transformers.disable_max_rows()

# Zeros (980 of the 1,030 bundled digits) in light grey so the rare digits stand out.
DIGIT_COLORS = alt.Scale(
    domain=[str(d) for d in range(10)],
    range=["#c8cdd3", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#17becf", "#bcbd22"],
)  # fmt: skip
METHODS = ["PCA (first principal direction)", "Linear AE (decoder column)"]
METHOD_COLORS = alt.Scale(domain=METHODS, range=["#1f2d3d", "#c0392b"])


def error_vs_latent(curve: pd.DataFrame, selected: int) -> alt.LayerChart:
    """Mean reconstruction error per latent size z and method, the chosen z marked.

    ``curve`` has method, latent_dim and mean_error.
    """
    base = alt.Chart(curve).encode(
        x=alt.X(
            "latent_dim:Q",
            title="Latent size z (log scale)",
            scale=alt.Scale(type="log", base=2),
        ),
        y=alt.Y("mean_error:Q", title="Error per image"),
        color=alt.Color(
            "method:N",
            title="Model",
            scale=alt.Scale(
                domain=["Autoencoder", "PCA (best linear)"],
                range=["#c0392b", "#1f2d3d"],
            ),
        ),
        tooltip=[
            alt.Tooltip("method:N", title="Model"),
            alt.Tooltip("latent_dim:Q", title="z"),
            alt.Tooltip("mean_error:Q", title="Mean error", format=".2f"),
        ],
    )
    chosen = (
        alt.Chart(pd.DataFrame({"latent_dim": [selected]}))
        .mark_rule(color="#9aa5b1", strokeDash=[4, 3], size=2)
        .encode(
            x=alt.X("latent_dim:Q", title="Latent size z (log scale)"),
            tooltip=[alt.Tooltip("latent_dim:Q", title="Chosen z")],
        )
    )
    return (base.mark_line() + base.mark_circle(size=60) + chosen).properties(
        title="Reconstruction error against latent size", height=260
    )


def error_by_digit(by_digit: pd.DataFrame, latent_dim: int) -> alt.Chart:
    """Mean reconstruction error per digit class; ``by_digit`` has digit,
    mean_error and images."""
    return (
        alt.Chart(by_digit, title=f"Which digits reconstruct worst (z = {latent_dim})")
        .mark_bar()
        .encode(
            x=alt.X("digit:O", title="Digit", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("mean_error:Q", title="Error per image"),
            color=alt.condition(
                alt.datum.digit == 0, alt.value("#9aa5b1"), alt.value("#c0392b")
            ),
            tooltip=[
                alt.Tooltip("digit:O", title="Digit"),
                alt.Tooltip("mean_error:Q", title="Mean error", format=".2f"),
                alt.Tooltip("images:Q", title="Images"),
            ],
        )
        .properties(height=260)
    )


def cloud_with_directions(
    cloud: pd.DataFrame, directions: pd.DataFrame
) -> alt.LayerChart:
    """The 2-D cloud with the PCA and linear-AE directions drawn through its mean."""
    points = (
        alt.Chart(cloud)
        .mark_circle(size=18, opacity=0.45, color="#9aa5b1")
        .encode(
            x=alt.X("x1:Q", title="Feature 1"),
            y=alt.Y("x2:Q", title="Feature 2"),
            tooltip=[
                alt.Tooltip("x1:Q", title="Feature 1", format=".2f"),
                alt.Tooltip("x2:Q", title="Feature 2", format=".2f"),
            ],
        )
    )
    lines = (
        alt.Chart(directions)
        .mark_line(opacity=0.8)
        .encode(
            x=alt.X("x1:Q", title="Feature 1"),
            y=alt.Y("x2:Q", title="Feature 2"),
            color=alt.Color(
                "direction:N",
                title="Direction",
                scale=METHOD_COLORS,
                legend=alt.Legend(labelLimit=320),
            ),
            # Same field, title and domain as the colour: one merged legend.
            strokeDash=alt.StrokeDash(
                "direction:N",
                title="Direction",
                scale=alt.Scale(domain=METHODS, range=[[1, 0], [6, 4]]),
            ),
            # The lines coincide once trained: a wide PCA line under a thin AE one.
            strokeWidth=alt.StrokeWidth(
                "direction:N",
                title="Direction",
                scale=alt.Scale(domain=METHODS, range=[7, 2.5]),
            ),
            tooltip=[alt.Tooltip("direction:N", title="Direction")],
        )
    )
    return (points + lines).properties(
        title="PCA and the linear autoencoder find the same line", height=360
    )


def angle_trace(trace: pd.DataFrame) -> alt.Chart:
    """Largest principal angle between the AE's and PCA's subspaces per step."""
    return (
        alt.Chart(trace, title="Principal angle to PCA's subspace during training")
        .mark_line(color="#c0392b")
        .encode(
            x=alt.X("step:Q", title="Gradient-descent step"),
            y=alt.Y("angle:Q", title="Angle (degrees)"),
            tooltip=[
                alt.Tooltip("step:Q", title="Step"),
                alt.Tooltip("angle:Q", title="Angle (degrees)", format=".3f"),
            ],
        )
        .properties(height=220)
    )


def loss_trace(trace: pd.DataFrame, optimum: float) -> alt.LayerChart:
    """Training loss per step against PCA's optimum (a dashed rule)."""
    line = (
        alt.Chart(trace)
        .mark_line(color="#1f2d3d")
        .encode(
            x=alt.X("step:Q", title="Gradient-descent step"),
            y=alt.Y(
                "loss:Q",
                title="Loss per row",
                scale=alt.Scale(type="log"),
            ),
            tooltip=[
                alt.Tooltip("step:Q", title="Step"),
                alt.Tooltip("loss:Q", title="Loss", format=".5f"),
            ],
        )
    )
    rule = (
        alt.Chart(pd.DataFrame({"optimum": [optimum]}))
        .mark_rule(color="#c0392b", strokeDash=[4, 3], size=2)
        .encode(
            y=alt.Y("optimum:Q", title="Loss per row"),
            tooltip=[
                alt.Tooltip(
                    "optimum:Q", title="PCA optimum (Eckart-Young)", format=".5f"
                )
            ],
        )
    )
    return (line + rule).properties(
        title="Loss against PCA's optimum (dashed)", height=220
    )


def latent_scatter(
    codes: pd.DataFrame, title: str, marker: tuple[float, float] | None = None
) -> alt.LayerChart:
    """Images placed at their 2-D latent code, coloured by digit; an optional
    marker shows the point being decoded."""
    points = (
        alt.Chart(codes)
        .mark_circle(size=22, opacity=0.7)
        .encode(
            x=alt.X("z1:Q", title="Latent z1"),
            y=alt.Y("z2:Q", title="Latent z2"),
            color=alt.Color("digit:N", title="Digit", scale=DIGIT_COLORS),
            tooltip=[
                alt.Tooltip("image:Q", title="Image"),
                alt.Tooltip("digit:N", title="Digit"),
                alt.Tooltip("error:Q", title="Reconstruction error", format=".2f"),
            ],
        )
    )
    layers = points
    if marker is not None:
        cross = (
            alt.Chart(pd.DataFrame({"z1": [marker[0]], "z2": [marker[1]]}))
            .mark_point(shape="cross", size=400, color="black", strokeWidth=3)
            .encode(
                x=alt.X("z1:Q", title="Latent z1"),
                y=alt.Y("z2:Q", title="Latent z2"),
                tooltip=[
                    alt.Tooltip("z1:Q", title="Decoded z1", format=".2f"),
                    alt.Tooltip("z2:Q", title="Decoded z2", format=".2f"),
                ],
            )
        )
        layers = points + cross
    return layers.properties(title=title, height=320)


MATRIX_ORDER = [
    "X = observed",
    "L = low-rank part",
    "S = sparse part",
    "L0 = planted low rank",
]


def matrix_heatmaps(cells: pd.DataFrame, limit: float) -> alt.Chart:
    """X, L, S and the planted L0 side by side on one diverging colour scale.

    ``cells`` has matrix, row, column and value.
    """
    return (
        alt.Chart(cells)
        .mark_rect()
        .encode(
            x=alt.X("column:O", title="Column", axis=None),
            y=alt.Y("row:O", title="Row", axis=None),
            color=alt.Color(
                "value:Q",
                title="Value",
                scale=alt.Scale(
                    scheme="redblue", domain=[-limit, limit], clamp=True, reverse=True
                ),
            ),
            tooltip=[
                alt.Tooltip("matrix:N", title="Matrix"),
                alt.Tooltip("row:O", title="Row"),
                alt.Tooltip("column:O", title="Column"),
                alt.Tooltip("value:Q", title="Value", format=".3f"),
            ],
        )
        .properties(width=170, height=170)
        .facet(
            facet=alt.Facet("matrix:N", title=None, sort=MATRIX_ORDER),
            columns=4,
            title="Observed X, its split into L + S, and the truth L0",
        )
    )


def admm_trace(history: pd.DataFrame) -> alt.VConcatChart:
    """Residual, rank of L, nonzeros of S and recovery error per ADMM iteration;
    the residual and the error on log scales, since they fall by orders of
    magnitude."""
    panels = [
        ("residual", "Residual ||X - L - S|| / ||X||", "Residual", "log", ".2e"),
        ("rank", "Rank of L", "Rank", "linear", "d"),
        ("nnz", "Nonzeros of S", "Nonzeros", "linear", "d"),
        ("error", "Recovery error ||L - L0|| / ||L0||", "Error", "log", ".2e"),
    ]
    charts = [
        alt.Chart(history, title=title)
        .mark_line(point=True)
        .encode(
            x=alt.X("iteration:Q", title="ADMM iteration"),
            y=alt.Y(f"{field}:Q", title=axis, scale=alt.Scale(type=scale)),
            tooltip=[
                alt.Tooltip("iteration:Q", title="Iteration"),
                alt.Tooltip(f"{field}:Q", title=title, format=number),
            ],
        )
        .properties(width=300, height=130)
        for field, title, axis, scale, number in panels
    ]
    # Two by two: four panels in a row overflow the page.
    return alt.vconcat(
        alt.hconcat(*charts[:2]),
        alt.hconcat(*charts[2:]),
        title="The solver, one iteration at a time",
    )


def breakdown(sweep: pd.DataFrame, selected: float) -> alt.LayerChart:
    """Recovery error of L against the share of corrupted entries."""
    base = alt.Chart(sweep).encode(
        x=alt.X("corruption:Q", title="Corrupted entries (%)"),
        y=alt.Y("error:Q", title="Recovery error"),
        tooltip=[
            alt.Tooltip("corruption:Q", title="Corrupted (%)"),
            alt.Tooltip("error:Q", title="||L - L0|| / ||L0||", format=".2e"),
            alt.Tooltip("rank:Q", title="Rank of L"),
            alt.Tooltip("converged:N", title="Converged"),
        ],
    )
    rule = (
        alt.Chart(pd.DataFrame({"corruption": [selected]}))
        .mark_rule(color="#c0392b", strokeDash=[4, 3], size=2)
        .encode(
            x=alt.X("corruption:Q", title="Corrupted entries (%)"),
            tooltip=[alt.Tooltip("corruption:Q", title="Chosen corruption (%)")],
        )
    )
    return (
        base.mark_line(color="#1f2d3d")
        + base.mark_circle(size=60, color="#1f2d3d")
        + rule
    ).properties(title="Where recovery breaks down", height=260)
