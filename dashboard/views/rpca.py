"""Robust PCA inside: the X = L + S split, the solver's trace, and lambda."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import charts, services, state, ui
from detectors.compare import convergence_table, matrix_cells, pick_rows

MAX_ROWS, MAX_COLUMNS = 120, 60
FACTORS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)
LAMBDA_KEY = "rpca_lambda_factor"

st.title("Robust PCA inside")

current = ui.load_current_or_stop()
prepared = current.prepared
n_rows, n_features = prepared.X.shape
default = 1.0 / np.sqrt(max(n_rows, n_features))
names = st.session_state[state.DETECTORS]
run = ui.run_or_stop(current, names, st.session_state[state.SEED])
st.caption(
    f"**{current.table.name}**: Principal Component Pursuit splits the standardised "
    "data X into a low-rank part L (the structure most rows share) and a sparse part S "
    "(the few "
    "cells that break it). Robust PCA scores a row by the energy of its row of S."
)


def _label(factor: float) -> str:
    value = f"{factor * default:.4g}"
    return f"{value} ★ default" if factor == 1.0 else f"{value} ({factor:g}×)"


@st.fragment
def decomposition() -> None:
    """The lambda control and everything it changes; reruns alone."""
    # Plain text options: session state must stay serialisable (no format_func).
    labels = [_label(f) for f in FACTORS]
    choice = st.select_slider(
        "Lambda: weight of the sparse part (★ = the default 1/√max(m, n))",
        options=labels,
        value=_label(1.0),
        key=LAMBDA_KEY,
        help="Smaller lambda lets more cells into S; larger lambda keeps S sparser and "
        "pushes more into L. Each new value is fitted once and then cached; the "
        "Compare page always uses the default.",
    )
    factor = FACTORS[labels.index(choice)] if choice in labels else 1.0
    lam = None if factor == 1.0 else float(factor * default)
    try:
        model = services.rpca_with_lambda(current, lam, run)
    except (ValueError, FloatingPointError) as exc:
        st.error(f"Robust PCA could not run with lambda = {_label(factor)}: {exc}")
        st.stop()
    info = model.info_
    Z = model.scaler_.transform(prepared.X)
    S, L = model.sparse_, model.low_rank_
    nonzero = np.abs(S) > 0

    cols = st.columns(4)
    cols[0].metric(
        "Lambda",
        f"{info['lam']:.4g}",
        help=f"Default 1/√max({n_rows}, {n_features}) = {default:.4g}",
    )
    cols[1].metric(
        "Rank of L",
        f"{info['rank'][-1] if info['rank'] else 0}",
        help=f"of at most {min(n_rows, n_features)}",
    )
    cols[2].metric(
        "Nonzero cells of S",
        f"{nonzero.mean():.1%}",
        help=f"{int(nonzero.sum()):,} of {S.size:,} cells; "
        f"{int(nonzero.any(axis=1).sum()):,} rows touched",
    )
    cols[3].metric(
        "Iterations",
        f"{info['iterations']}",
        delta="converged" if info["converged"] else "not converged",
        delta_color="off" if info["converged"] else "inverse",
    )

    # Keep the rows and columns where S is largest, plus an even sample of the rest.
    energy_rows = np.argsort(-np.sum(S**2, axis=1), kind="stable")[: MAX_ROWS // 3]
    energy_cols = np.argsort(-np.sum(S**2, axis=0), kind="stable")[: MAX_COLUMNS // 2]
    rows = pick_rows(n_rows, MAX_ROWS, energy_rows)
    columns = pick_rows(n_features, MAX_COLUMNS, energy_cols)
    cells = matrix_cells(
        {"X (standardised)": Z, "L: low rank": L, "S: sparse": S},
        rows,
        columns,
        prepared.rows,
        prepared.feature_names,
    )
    limit = float(np.quantile(np.abs(Z[np.ix_(rows, columns)]), 0.99)) or 1.0
    if len(rows) < n_rows or len(columns) < n_features:
        st.caption(
            f"Heatmaps show {len(rows)} of {n_rows:,} rows and {len(columns)} of "
            f"{n_features} features: those with the largest S, plus an even sample."
        )
    st.altair_chart(
        charts.matrix_heatmaps(cells, limit, "X = L + S, on one colour scale")
    )
    st.altair_chart(charts.convergence_chart(convergence_table(info)))
    st.caption(
        "The solver stops when ‖X − L − S‖ / ‖X‖ falls below its tolerance; the rank "
        "of L and the nonzeros of S settle as the penalty grows."
    )


decomposition()
