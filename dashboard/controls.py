"""The shared threshold: one ThresholdPolicy for every detector, set on any page."""

from __future__ import annotations

import numpy as np
import streamlit as st

from dashboard import state
from detectors.compare import apply_policy
from detectors.thresholds import ThresholdPolicy

MODE_TITLES = {
    "contamination": "Contamination (share of rows flagged)",
    "fpr": "Target false-positive rate on rows labelled normal",
    "alpha": "Significance level alpha (PCA: Q and T² limits)",
}


def threshold_controls(has_label: bool) -> None:
    """The mode and its value; every chart follows them without refitting."""
    modes = list(MODE_TITLES) if has_label else ["contamination", "alpha"]
    if st.session_state[state.THRESHOLD_MODE] not in modes:
        st.session_state[state.THRESHOLD_MODE] = "contamination"
    left, right = st.columns([2, 3])
    with left:
        mode = st.radio(
            "Threshold",
            modes,
            key=state.THRESHOLD_MODE,
            persist_state="session",
            format_func=MODE_TITLES.get,
            help="One rule for all four detectors, so their flags compare. Changing it "
            "re-thresholds the stored scores; nothing is refitted.",
        )
    with right:
        if mode == "contamination":
            st.slider(
                "Contamination: share of rows each detector flags",
                0.001,
                0.5,
                step=0.001,
                key=state.CONTAMINATION,
                format="%.3f",
                persist_state="session",
            )
        elif mode == "fpr":
            st.slider(
                "Target false-positive rate on label-normal rows",
                0.001,
                0.2,
                step=0.001,
                key=state.TARGET_FPR,
                format="%.3f",
                persist_state="session",
                help="Each detector's cut leaves at most this share of the rows "
                "labelled normal above it.",
            )
        else:
            st.slider(
                "Alpha (significance level)",
                0.001,
                0.2,
                step=0.001,
                key=state.ALPHA,
                format="%.3f",
                persist_state="session",
                help="PCA flags a row when its SPE passes the Jackson-Mudholkar "
                "limit or its T² the F limit; the other detectors flag above "
                "their 1 - alpha score quantile.",
            )
    if not has_label:
        st.caption(
            "A target false-positive rate needs a label column with normal rows."
        )


def policy() -> ThresholdPolicy:
    """The policy currently chosen (falls back to contamination without a label)."""
    mode = st.session_state[state.THRESHOLD_MODE]
    value = {
        "contamination": state.CONTAMINATION,
        "fpr": state.TARGET_FPR,
        "alpha": state.ALPHA,
    }[mode]
    return ThresholdPolicy(mode, float(st.session_state[value]))


def describe(chosen: ThresholdPolicy) -> str:
    return f"{MODE_TITLES[chosen.mode].split(' (')[0]} = {chosen.value:g}"


def flags_now(run, prepared) -> tuple[ThresholdPolicy, dict, dict]:
    """Thresholds and flags of the run's detectors under the chosen policy."""
    chosen = policy()
    reference = None
    if prepared.y_true is not None:
        reference = np.asarray(prepared.y_true) == 0
    if chosen.mode == "fpr" and (reference is None or not reference.any()):
        chosen = ThresholdPolicy(
            "contamination", float(st.session_state[state.CONTAMINATION])
        )
    thresholds, flags = apply_policy(
        chosen, run.scores, run.models, prepared.X, reference
    )
    return chosen, thresholds, flags


def flagged_columns(names) -> dict:
    """Column formats of the flagged-rows table: votes as a bar, scores to 4
    significant digits."""
    config = {
        "detectors_flagging": st.column_config.ProgressColumn(
            "detectors flagging", min_value=0, max_value=len(names), format="%d"
        )
    }
    for name in names:
        config[f"score_{name}"] = st.column_config.NumberColumn(format="%.4g")
    return config
