"""Tidy tables that compare detectors: what the dashboard and reports chart.

Pure pandas/numpy; no Streamlit, so the same tables feed exports and tests.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats


def scores_long(rows: np.ndarray, scores: dict[str, np.ndarray], flags: dict[str, np.ndarray],
                titles: dict[str, str]) -> pd.DataFrame:
    """One line per (row, detector): raw score, percentile (ties averaged), status."""
    frames = []
    for name, values in scores.items():
        frames.append(pd.DataFrame({
            "row": rows,
            "detector": titles.get(name, name),
            "score": values,
            "log_score": np.log10(1.0 + np.maximum(values, 0.0)),
            "percentile": 100.0 * (stats.rankdata(values) - 1) / max(len(values) - 1, 1),
            "status": np.where(flags[name], "flagged", "normal"),
            "flagged": flags[name].astype(bool),
        }))
    return pd.concat(frames, ignore_index=True)


def thresholds_frame(thresholds: dict[str, float | None], titles: dict[str, str]) -> pd.DataFrame:
    """Thresholds per detector with their log10(1 + t) position for histograms."""
    items = [(titles.get(n, n), t) for n, t in thresholds.items() if t is not None]
    frame = pd.DataFrame(items, columns=["detector", "threshold"])
    frame["log_threshold"] = np.log10(1.0 + np.maximum(frame["threshold"].astype(float), 0.0))
    return frame


def pair_agreement(flags: dict[str, np.ndarray], titles: dict[str, str]) -> pd.DataFrame:
    """Rows flagged by both detectors of each pair, and their Jaccard index."""
    records = []
    for a, b in itertools.product(flags, repeat=2):
        both = int(np.sum(flags[a] & flags[b]))
        either = int(np.sum(flags[a] | flags[b]))
        records.append({
            "detector_a": titles.get(a, a),
            "detector_b": titles.get(b, b),
            "both": both,
            "jaccard": both / either if either else 0.0,
        })
    return pd.DataFrame(records)


def flagged_table(frame: pd.DataFrame, rows: np.ndarray, scores: dict[str, np.ndarray],
                  flags: dict[str, np.ndarray], limit: int = 50) -> pd.DataFrame:
    """Flagged rows with the number of detectors that flag them, their scores'
    percentile ranks and their original values; most agreed-upon first."""
    names = list(scores)
    votes = np.sum([flags[n] for n in names], axis=0)
    mean_pct = np.mean([stats.rankdata(scores[n]) / len(scores[n]) for n in names], axis=0)
    table = pd.DataFrame({"row": rows, "detectors_flagging": votes})
    for name in names:
        table[f"score_{name}"] = scores[name]
    table["_order"] = mean_pct
    table = table[votes > 0].sort_values(["detectors_flagging", "_order"], ascending=False)
    table = table.drop(columns="_order").head(limit)
    values = frame.iloc[table["row"].to_numpy()].reset_index(drop=True)
    values.columns = [f"value: {c}" for c in values.columns]
    return pd.concat([table.reset_index(drop=True), values], axis=1)


def score_histogram(scores: np.ndarray, flags: np.ndarray, bins: int = 40) -> pd.DataFrame:
    """Exact counts of flagged and normal rows per bin of log10(1 + score).

    Binning here (not in the chart) keeps histograms exact for any row count.
    """
    values = np.log10(1.0 + np.maximum(np.asarray(scores, dtype=np.float64), 0.0))
    edges = np.histogram_bin_edges(values, bins=bins)
    records = []
    for status, mask in (("normal", ~flags), ("flagged", flags)):
        counts, _ = np.histogram(values[mask], bins=edges)
        records.append(pd.DataFrame({
            "bin_start": edges[:-1], "bin_end": edges[1:], "status": status, "rows": counts,
        }))
    frame = pd.concat(records, ignore_index=True)
    return frame[frame["rows"] > 0].reset_index(drop=True)
