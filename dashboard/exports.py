"""Exports of an analysis: CSV, Parquet, a self-contained HTML report, a run manifest.

Pure pandas (plus Altair for the report's charts); no Streamlit, so the pages and
the tests build the same bytes. Text that a spreadsheet would run as a formula is
neutralised in CSV; numbers are left as numbers.
"""

from __future__ import annotations

import functools
import html
import io
import json
import logging

import altair as alt
import numpy as np
import pandas as pd

from dashboard.storage import VERDICT_TITLES

logger = logging.getLogger(__name__)

# A spreadsheet treats a cell starting with one of these as a formula (OWASP's
# CSV injection guidance); a leading apostrophe makes it plain text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Storage.marks() columns, and their names in exports (apart from the data's own).
MARK_SOURCES = ["verdict", "comment", "marked_at", "author"]
MARK_COLUMNS = ["mark_verdict", "mark_comment", "mark_time", "mark_author"]
REPORT_TOP_ROWS = 200


def neutralise_cell(value):
    """``'`` + value for text that a spreadsheet would evaluate; anything else as is.

    Examples
    --------
    >>> neutralise_cell("=1+1"), neutralise_cell("-2"), neutralise_cell(-2.5)
    ("'=1+1", "'-2", -2.5)
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with formula-like text cells and column names neutralised.

    Only text cells change: numeric, boolean and datetime columns keep their values
    and types, so ``-5.3`` stays the number -5.3.
    """
    out = frame.copy()
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_object_dtype(series) or pd.api.types.is_string_dtype(series):
            out[column] = series.map(neutralise_cell, na_action="ignore")
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def results_table(
    frame: pd.DataFrame,
    rows,
    scores: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
    marks: pd.DataFrame | None = None,
    *,
    flagged_only: bool = False,
) -> pd.DataFrame:
    """One line per data row: ``row``, ``score_<name>``, ``flag_<name>`` (0/1),
    ``flagged_by``, the analyst's latest mark (``mark_verdict``, ``mark_comment``,
    ``mark_time``, ``mark_author``), then the row's values as in the file.

    Rows the detectors did not score (dropped for missing values) have empty
    scores and flags.
    """
    n_rows = len(frame)
    rows = np.asarray(rows, dtype=np.int64)
    table = pd.DataFrame({"row": np.arange(n_rows)})
    votes = np.zeros(n_rows, dtype=np.int64)
    for name in scores:
        score_col = np.full(n_rows, np.nan)
        score_col[rows] = scores[name]
        flag_col = pd.array([pd.NA] * n_rows, dtype="Int64")
        flag_col[rows] = np.asarray(flags[name], dtype=np.int64)
        table[f"score_{name}"] = score_col
        table[f"flag_{name}"] = flag_col
        votes[rows] += np.asarray(flags[name], dtype=np.int64)
    table["flagged_by"] = votes
    if marks is None:
        marks = pd.DataFrame(columns=["row", *MARK_SOURCES])
    current = marks
    current = current.drop_duplicates("row", keep="last").set_index("row")
    for column, source in zip(MARK_COLUMNS, MARK_SOURCES):
        values = current[source] if source in current else pd.Series(dtype=object)
        table[column] = (
            table["row"]
            .map(values)
            .astype(object)
            .where(table["row"].isin(values.index), None)
        )
    values = frame.reset_index(drop=True).copy()
    values.columns = [
        c if c not in table.columns else f"{c} (data)" for c in map(str, values.columns)
    ]
    table = pd.concat([table, values], axis=1)
    if flagged_only:
        table = table[table["flagged_by"] > 0].reset_index(drop=True)
    return table


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV with formula-like text neutralised (see :func:`neutralise`)."""
    return neutralise(table).to_csv(index=False).encode("utf-8")


def to_parquet_bytes(table: pd.DataFrame) -> bytes:
    """Parquet bytes of ``table``; Parquet is never evaluated, so text is kept as is."""
    buffer = io.BytesIO()
    out = table.copy()
    out.columns = [str(c) for c in out.columns]
    for column in MARK_COLUMNS:
        if column in out:
            out[column] = out[column].astype("string")
    out.to_parquet(buffer, index=False)
    return buffer.getvalue()


# -- HTML report ---------------------------------------------------------------------


def _status(table: pd.DataFrame, name: str) -> pd.Series:
    """normal / flagged, or the analyst's verdict on a flagged row."""
    flagged = table[f"flag_{name}"].fillna(0).astype(int) == 1
    verdict = table["mark_verdict"].map(VERDICT_TITLES)
    status = pd.Series(np.where(flagged, "flagged", "normal"), index=table.index)
    return status.where(~(flagged & verdict.notna()), verdict)


_STATUS_SCALE = alt.Scale(
    domain=["normal", "flagged", *VERDICT_TITLES.values()],
    range=["#9aa5b1", "#c0392b", "#6c1d14", "#2e86c1", "#d4ac0d"],
)


def report_charts(
    table: pd.DataFrame, titles: dict[str, str]
) -> list[alt.TopLevelMixin]:
    """The report's charts: scores per row, and flags per detector with verdicts."""
    names = [
        c.removeprefix("score_")
        for c in table.columns
        if c.startswith("score_") and f"flag_{c.removeprefix('score_')}" in table
    ]
    long = []
    for name in names:
        scored = table[table[f"score_{name}"].notna()]
        long.append(
            pd.DataFrame(
                {
                    "row": scored["row"],
                    "detector": titles.get(name, name),
                    "percentile": scored[f"score_{name}"].rank(pct=True) * 100,
                    "score": scored[f"score_{name}"],
                    "status": _status(scored, name),
                }
            )
        )
    long = (
        pd.concat(long, ignore_index=True)
        if long
        else pd.DataFrame(columns=["row", "detector", "percentile", "score", "status"])
    )
    # Keep every flagged or marked point and a thin, fixed sample of the rest.
    keep = long["status"] != "normal"
    rest = long[~keep]
    if len(rest) > 3000:
        rest = rest.sample(3000, random_state=0)
    points = pd.concat([long[keep], rest]).sort_values(["detector", "row"])
    scatter = (
        alt.Chart(
            points, title="Score of every row, per detector (with analyst verdicts)"
        )
        .mark_circle(size=22, opacity=0.8)
        .encode(
            x=alt.X("row:Q", title="Row"),
            y=alt.Y(
                "percentile:Q",
                title="Score percentile",
                scale=alt.Scale(domain=[0, 100]),
            ),
            color=alt.Color("status:N", title="Status", scale=_STATUS_SCALE),
            tooltip=[
                alt.Tooltip("row:Q", title="Row"),
                alt.Tooltip("detector:N", title="Detector"),
                alt.Tooltip("score:Q", title="Score", format=".4g"),
                alt.Tooltip("status:N", title="Status"),
            ],
        )
        .properties(height=150, width=320)
        .facet(facet=alt.Facet("detector:N", title=None), columns=2)
    )
    counts = (
        long[long["status"] != "normal"]
        .groupby(["detector", "status"])
        .size()
        .rename("rows")
        .reset_index()
    )
    bars = (
        alt.Chart(counts, title="Flagged rows per detector, by analyst verdict")
        .mark_bar()
        .encode(
            x=alt.X("rows:Q", title="Flagged rows"),
            y=alt.Y("detector:N", title="Detector"),
            color=alt.Color("status:N", title="Status", scale=_STATUS_SCALE),
            tooltip=[
                alt.Tooltip("detector:N", title="Detector"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("rows:Q", title="Rows"),
            ],
        )
        .properties(width=420)
    )
    return [scatter, bars]


@functools.lru_cache(maxsize=1)
def _vega_bundle() -> str | None:
    """Vega, Vega-Lite and vega-embed as one inline script, from the pinned
    vl-convert-python package; None when it is not installed."""
    try:
        import vl_convert
    except ImportError:
        return None
    return vl_convert.javascript_bundle()


def _script_json(value) -> str:
    # Inside <script>, "<" must not start a tag: escape it in the JSON text.
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


def html_report(
    table: pd.DataFrame,
    manifest: dict,
    *,
    title: str,
    titles: dict[str, str] | None = None,
) -> str:
    """A single HTML file that opens offline: summary, charts and flagged rows.

    Charts are Vega-Lite specs rendered by an inline copy of vega-embed (from
    vl-convert-python); without that package the report holds the tables only
    and says so. Every value from the data is HTML-escaped.
    """
    titles = titles or {}
    flagged = table[table["flagged_by"] > 0]
    flagged = flagged.sort_values("flagged_by", ascending=False, kind="stable")
    summary = pd.DataFrame(
        [
            {
                "detector": titles.get(n, n),
                "flagged rows": int(flagged[f"flag_{n}"].sum()),
            }
            for n in manifest.get("detectors", [])
        ]
    )
    verdicts = table["mark_verdict"].dropna().map(VERDICT_TITLES).value_counts()
    threshold = manifest.get("threshold", {})
    source, detectors = manifest["input"], manifest.get("detectors", [])
    facts = [
        ("Input", f"{source['name']} (sha256 {source['sha256']})"),
        ("Rows", f"{len(table):,}"),
        ("Detectors", ", ".join(titles.get(n, n) for n in detectors)),
        ("Threshold", f"{threshold.get('mode')} = {threshold.get('value')}"),
        ("Seed", str(manifest.get("seed"))),
        (
            "Analyst verdicts",
            ", ".join(f"{k}: {v}" for k, v in verdicts.items()) or "none",
        ),
    ]
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em;color:#222}"
        "table{border-collapse:collapse;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
        "th{background:#f4f4f4}.chart{margin:1.5em 0}</style>",
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        "<dl>"
        + "".join(
            f"<dt><b>{html.escape(k)}</b></dt><dd>{html.escape(v)}</dd>"
            for k, v in facts
        )
        + "</dl>",
        "<h2>Flags per detector</h2>",
        summary.to_html(index=False, escape=True),
    ]
    bundle = _vega_bundle()
    if bundle is None:
        parts.append(
            "<p><i>Charts left out: the vl-convert-python package that embeds "
            "the chart library is not installed. Tables only.</i></p>"
        )
    else:
        parts.append("<h2>Charts</h2>")
        # The bundle is inline, so the report needs no network to draw the charts.
        safe_bundle = bundle.replace("</script", "<\\/script")
        parts.append("<script>" + safe_bundle + "</script>")
        for i, chart in enumerate(report_charts(table, titles)):
            parts.append(f"<div class='chart' id='chart-{i}'></div>")
            spec = _script_json(chart.to_dict())
            parts.append(
                f"<script>vegaEmbed('#chart-{i}', {spec}, "
                "{actions: false, renderer: 'svg'});</script>"
            )
    shown = flagged.head(REPORT_TOP_ROWS)
    parts += [
        f"<h2>Flagged rows ({len(flagged):,}; most detectors first"
        + (f", first {REPORT_TOP_ROWS} shown" if len(flagged) > REPORT_TOP_ROWS else "")
        + ")</h2>",
        shown.to_html(
            index=False, escape=True, na_rep="", float_format="{:.6g}".format
        ),
        "<h2>Run manifest</h2>",
        f"<pre>{html.escape(json.dumps(manifest, indent=2))}</pre>",
        "</body></html>",
    ]
    return "\n".join(parts)


def run_manifest(**fields) -> dict:
    """The JSON run manifest (see :func:`detectors.cli.build_manifest`), which
    ``python -m detectors score INPUT --manifest run.json`` reproduces."""
    from detectors.cli import build_manifest

    return build_manifest(**fields)


def manifest_bytes(manifest: dict) -> bytes:
    return json.dumps(manifest, indent=2).encode("utf-8")
