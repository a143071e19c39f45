"""Learn: Robust PCA splits a corrupted matrix into low-rank and sparse parts."""

from __future__ import annotations

import streamlit as st

from dashboard import learn_charts, learn_services

STEP = "learn_rpca_step"  # ADMM iterations shown (a plain int)
CORRUPTION = "learn_rpca_corruption"  # percent of corrupted entries
SEED = "learn_rpca_seed"

st.session_state.setdefault(STEP, 0)


def _restart() -> None:
    # A new problem starts the solver from scratch.
    st.session_state[STEP] = 0


def _advance(by: int) -> None:
    st.session_state[STEP] = min(
        st.session_state[STEP] + by, learn_services.RPCA_MAX_STEPS
    )


def _finish(steps: int) -> None:
    st.session_state[STEP] = steps


st.title("Robust PCA")
rows, columns = learn_services.RPCA_SHAPE
rank = learn_services.RPCA_RANK
st.markdown(
    "**The result.** Candes, Li, Ma and Wright (2011) proved that a low-rank matrix "
    "can be recovered exactly even when a fraction of its entries are replaced by "
    "arbitrary values, provided the low-rank part is spread out (not concentrated in a "
    "few rows) and the corrupted entries are scattered at random. The recovery solves "
    "Principal Component Pursuit: minimise the nuclear norm of L plus lambda times the "
    "sum of absolute values of S, subject to L + S = X, with lambda = 1 / sqrt(max(m, "
    "n)). "
    f"Below, X is a {rows} x {columns} matrix of rank {rank} with a share of its "
    "entries overwritten by large values of random sign."
)

left, right = st.columns(2)
corruption = left.slider(
    "Corrupted entries (%)", 0, 50, 10, 5, key=CORRUPTION, on_change=_restart
)
seed = right.number_input("Seed", 0, 99, 0, key=SEED, on_change=_restart)
seed, fraction = int(seed), corruption / 100
converge_at = learn_services.rpca_steps_to_converge(seed, fraction)

buttons = st.columns(4)
buttons[0].button(
    "Step",
    on_click=_advance,
    args=(1,),
    key="learn_rpca_step_button",
    help="Run one more ADMM iteration.",
)
buttons[1].button(
    "Step × 5", on_click=_advance, args=(5,), key="learn_rpca_step5_button"
)
buttons[2].button(
    "Run to convergence",
    on_click=_finish,
    args=(converge_at,),
    key="learn_rpca_finish_button",
)
buttons[3].button("Reset", on_click=_restart, key="learn_rpca_reset_button")

step = st.session_state[STEP]
iterate = learn_services.rpca_iterate(seed, fraction, step)
a, b, c, d, e = st.columns(5)
a.metric(
    "Iteration", step, help=f"This problem converges after {converge_at} iterations."
)
b.metric(
    "Residual ||X - L - S|| / ||X||",
    "-" if iterate["residual"] is None else f"{iterate['residual']:.2e}",
)
c.metric(
    "Rank of L", iterate["rank"], help=f"Planted rank: {learn_services.RPCA_RANK}."
)
d.metric("Nonzeros of S", iterate["nnz"], help=f"Planted: {iterate['planted_nnz']}.")
e.metric("Recovery error ||L - L0|| / ||L0||", f"{iterate['error']:.2e}")

st.altair_chart(learn_charts.matrix_heatmaps(iterate["cells"], limit=3.0))
if len(iterate["history"]):
    st.altair_chart(learn_charts.admm_trace(iterate["history"]))
else:
    st.info("Press **Step** to run the first iteration: L and S start at zero.")

st.markdown(
    "**Each iteration** (inexact augmented Lagrangian, the usual ADMM form of PCP) "
    "shrinks the entries of X - L towards zero to get S, shrinks the singular values "
    "of X - S to get L, and adds the remaining gap to a multiplier that pushes L + S "
    "towards X. The penalty grows every iteration, so both shrinkage thresholds fall "
    "and L + S is pulled onto X. While the corruption is sparse, the rank of L and the "
    "support of S settle on the planted ones within a few iterations; past the "
    "breakdown point, L's rank climbs instead."
)
st.altair_chart(
    learn_charts.breakdown(learn_services.rpca_breakdown(seed), corruption),
    width="stretch",
)
st.markdown(
    "**Where it breaks.** The guarantee needs the corruption to be sparse. Past a "
    "point that depends on the size and the rank, PCP starts to explain corrupted "
    "entries as extra rank: L grows beyond the planted rank and its error jumps. "
    "Larger matrices tolerate a larger share. In the Robust PCA detector, a row's "
    "anomaly score is the energy of its part of S."
)
st.page_link(
    "views/data.py", label="Load your own data, then run Robust PCA on it", icon="📄"
)
st.page_link(
    "views/compare.py", label="Compare Robust PCA with the other detectors", icon="📊"
)
