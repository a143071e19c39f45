"""Save, share, export: store the current analysis, copy its link, download it, and
mark flagged rows as confirmed anomalies, false alarms or unsure."""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import streamlit as st

from dashboard import exports, services, state, ui
from dashboard.storage import VERDICT_TITLES, VERDICTS, StorageError
from datasets.samples import sample_path
from detectors.persistence import library_versions
from detectors.pipeline import DETECTOR_TITLES
from detectors.thresholds import ThresholdPolicy

logger = logging.getLogger(__name__)
SHOWN_ROW_NUMBERS = 30
# Above this many rows the export files are built only when asked for.
EAGER_EXPORT_ROWS = 100_000


def _policy_and_flags(run, prepared) -> tuple[ThresholdPolicy, dict]:
    """The threshold chosen on the Compare page, applied to the run's scores."""
    ss = st.session_state
    mode = ss.get("threshold_mode", "contamination")
    value = ss.get(services.THRESHOLD_VALUE_KEYS.get(mode, state.CONTAMINATION))
    reference = None if prepared.y_true is None else np.asarray(prepared.y_true) == 0
    if value is None or (mode == "fpr" and (reference is None or not reference.any())):
        mode, value = "contamination", ss[state.CONTAMINATION]
    policy = ThresholdPolicy(mode, float(value))
    return policy, run.flags(policy, X=prepared.X, reference=reference)


def _input_identity(current) -> tuple[str, str]:
    """(file name, sha256 of the file's bytes) of the current data."""
    kind, _, key = current.source.partition(":")
    if kind == "saved":
        saved = services.saved_analysis(key)
        return saved.source_name, saved.input_sha256
    if kind == "sample":
        path = sample_path(key)
        return path.name, hashlib.sha256(path.read_bytes()).hexdigest()
    return current.table.name, key


def _md(text: str) -> str:
    """User text made literal inside Markdown: no links, images or HTML from a name."""
    return re.sub(r"([\\`*_{}\[\]()#+\-.!|<>~$:])", r"\\\1", str(text))


def _link(analysis_id: str) -> str:
    """This server's address with ``?analysis=<id>``."""
    parts = urlsplit(st.context.url or "")
    if not parts.scheme:
        return f"?analysis={analysis_id}"
    # Keep a reverse proxy's path prefix; drop this page's own path segment.
    base = parts.path.rsplit("/", 1)[0] + "/"
    return urlunsplit((parts.scheme, parts.netloc, base, f"analysis={analysis_id}", ""))


st.title("Save, share and export")
current = ui.load_current_or_stop()
prepared = current.prepared
names = list(st.session_state[state.DETECTORS])
seed = int(st.session_state[state.SEED])
run = ui.run_or_stop(current, names, seed)
policy, flags = _policy_and_flags(run, prepared)
db = services.storage()
titles = {name: DETECTOR_TITLES[name] for name in names}
input_name, input_sha256 = _input_identity(current)

source_kind, _, source_key = current.source.partition(":")
saved_id = source_key if source_kind == "saved" else None
as_saved = services.saved_run(current, names, seed) is not None
saved = services.saved_analysis(saved_id) if saved_id else None

# ---- Save --------------------------------------------------------------------------
st.header("Save")
if saved is not None and as_saved:
    st.success(
        f"Viewing the saved analysis **{_md(saved.name)}** (saved "
        f"{saved.created_at}). Its data, settings and scores are read-only; "
        "feedback marks are added to it. Change roles or data to fork it, then "
        "save the fork as a new analysis."
    )
    st.caption("Link for colleagues (opens exactly these results):")
    st.code(_link(saved.id), language=None)
    if saved.threshold != {"mode": policy.mode, "value": policy.value}:
        st.info(
            f"Saved with threshold {saved.threshold['mode']} = "
            f"{saved.threshold['value']}; you are looking at {policy.mode} = "
            f"{policy.value:g}. Exports follow what you see."
        )
elif saved is not None:
    st.warning(
        f"Forked from **{_md(saved.name)}**: roles, missing-value handling, "
        "detectors or seed changed, so these scores were refitted. Save them as "
        "a new analysis."
    )

with st.form("save_form"):
    default_name = f"{Path(input_name).name}: {', '.join(titles.values())}"
    name = st.text_input("Name", value=default_name, max_chars=200, key="save_name")
    save_label = "Save as a new analysis" if saved is not None else "Save analysis"
    if st.form_submit_button(save_label, type="primary"):
        try:
            new_id = db.save_analysis(
                name=name,
                frame=current.table.frame,
                source_name=input_name,
                input_sha256=input_sha256,
                rows=prepared.rows,
                spec=current.spec,
                missing=st.session_state[state.MISSING],
                detectors=names,
                scores=run.scores,
                flags=flags,
                seed=seed,
                threshold={"mode": policy.mode, "value": policy.value},
                versions=library_versions(),
                params={},
                seconds=run.seconds,
                models=run.models,
                notes=list(current.table.notes),
            )
        except (StorageError, OSError, ValueError, sqlite3.Error) as exc:
            logger.warning("saving failed: %s", exc)
            st.error(f"Could not save the analysis: {exc}")
        else:
            services.open_saved(new_id)
            st.rerun()

# ---- Feedback ----------------------------------------------------------------------
st.header("Feedback on flagged rows")
marks = None
if saved_id:
    try:
        marks = db.marks(saved_id)
    except (StorageError, sqlite3.Error) as exc:
        logger.warning("marks of %s unreadable: %s", saved_id, exc)
        st.error(
            f"The feedback marks cannot be read just now ({exc}); try again shortly."
        )
table = exports.results_table(
    current.table.frame, prepared.rows, run.scores, flags, marks
)
flagged = table[table["flagged_by"] > 0].sort_values(
    "flagged_by", ascending=False, kind="stable"
)
row_numbers = flagged["row"].sort_values().tolist()
listed = ", ".join(map(str, row_numbers[:SHOWN_ROW_NUMBERS]))
more = (
    f" and {len(row_numbers) - SHOWN_ROW_NUMBERS} more"
    if len(row_numbers) > SHOWN_ROW_NUMBERS
    else ""
)
st.markdown(
    f"**{len(row_numbers)} flagged rows** ({policy.mode} = {policy.value:g}): "
    f"rows {listed or 'none'}{more}."
)

if saved_id is None:
    st.info("Save the analysis first: marks are stored with a saved analysis.")
elif not len(flagged):
    st.info("No row is flagged at this threshold.")
else:
    with st.form("mark_form", clear_on_submit=True):
        left, right = st.columns([1, 2])
        with left:
            row = st.selectbox("Flagged row", flagged["row"].tolist(), key="mark_row")
            verdict = st.radio(
                "Verdict", VERDICTS, format_func=VERDICT_TITLES.get, key="mark_verdict"
            )
        with right:
            comment = st.text_area(
                "Comment (optional)", max_chars=2000, key="mark_comment"
            )
            author = st.text_input(
                "Your name (optional)",
                max_chars=100,
                key="mark_author",
                value=services.signed_in_user() or "",
            )
        if st.form_submit_button("Save mark"):
            try:
                db.add_mark(saved_id, row, verdict, comment, author or None)
            except (StorageError, sqlite3.Error) as exc:
                st.error(f"The mark was not saved: {exc}")
            else:
                st.toast(f"Row {row} marked: {VERDICT_TITLES[verdict]}.")
                st.rerun()

columns = ["row", "flagged_by", *exports.MARK_COLUMNS, *[f"score_{n}" for n in names]]
values = [c for c in table.columns if c not in columns and not c.startswith("flag_")]
st.dataframe(
    flagged[columns + values[:12]],
    hide_index=True,
    width="stretch",
    column_config={
        "mark_verdict": st.column_config.TextColumn("verdict"),
        "flagged_by": st.column_config.NumberColumn("detectors flagging"),
    },
)
if marks is not None and len(marks):
    st.altair_chart(exports.report_charts(table, titles)[1], width="stretch")

# ---- Export ------------------------------------------------------------------------
st.header("Export")
scope = st.radio(
    "Rows",
    ["flagged", "all"],
    horizontal=True,
    key="export_scope",
    format_func={"flagged": "Flagged rows only", "all": "All rows"}.get,
)
export_table = flagged.sort_values("row") if scope == "flagged" else table
stem = Path(input_name).stem.removesuffix(".csv") or "analysis"
manifest = exports.run_manifest(
    input_name=input_name,
    input_sha256=input_sha256,
    preprocessing=current.spec,
    missing=st.session_state[state.MISSING],
    detectors=names,
    params={},
    seed=seed,
    threshold={"mode": policy.mode, "value": policy.value},
    versions=library_versions(),
    scores=run.scores,
    flags=flags,
)
report_title = f"Anomaly Lens: {saved.name if saved is not None else input_name}"
ready = len(export_table) <= EAGER_EXPORT_ROWS or st.toggle(
    f"Prepare the export files ({len(export_table):,} rows: this takes a while on "
    "every change)",
    key="export_ready",
)
if ready:
    buttons = st.columns(4)
    # Built on every run (well under a second on the bundled samples): deferred
    # callables cannot live in the serialisable session state config.toml enforces.
    buttons[0].download_button(
        "CSV",
        exports.to_csv_bytes(export_table),
        f"{stem}-{scope}.csv",
        "text/csv",
        key="download_csv",
        on_click="ignore",
        icon="📄",
        help="Formula-like text gets a leading ' so spreadsheets show it as text.",
    )
    buttons[1].download_button(
        "Parquet",
        exports.to_parquet_bytes(export_table),
        f"{stem}-{scope}.parquet",
        "application/vnd.apache.parquet",
        key="download_parquet",
        on_click="ignore",
        icon="🧱",
    )
    buttons[2].download_button(
        "HTML report",
        exports.html_report(table, manifest, title=report_title, titles=titles).encode(
            "utf-8"
        ),
        f"{stem}-report.html",
        "text/html",
        key="download_report",
        on_click="ignore",
        icon="📊",
        help="One file with the charts inline; opens without a network.",
    )
    buttons[3].download_button(
        "Run manifest",
        exports.manifest_bytes(manifest),
        f"{stem}-run.json",
        "application/json",
        key="download_manifest",
        on_click="ignore",
        icon="🧾",
        help="Reproduce the scores: "
        "python -m detectors score INPUT --manifest run.json",
    )
# Backticks removed: a file name must not end the code span and become Markdown.
command = (
    f"python -m detectors score {Path(input_name).name} --manifest {stem}-run.json"
).replace("`", "")
st.caption(f"Reproduce these scores bit for bit from the original file: `{command}`")
if len(prepared.rows) < len(table):
    st.caption("Rows dropped for missing values have empty scores in the exports.")
