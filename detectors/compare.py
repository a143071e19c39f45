"""Tidy tables that compare detectors: what the dashboard and reports chart.

Pure pandas/numpy; no Streamlit, so the same tables feed exports and tests.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy import stats


def scores_long(
    rows: np.ndarray,
    scores: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
    titles: dict[str, str],
) -> pd.DataFrame:
    """One line per (row, detector): raw score, percentile (ties averaged), status."""
    frames = []
    for name, values in scores.items():
        frames.append(
            pd.DataFrame(
                {
                    "row": rows,
                    "detector": titles.get(name, name),
                    "score": values,
                    "log_score": np.log10(1.0 + np.maximum(values, 0.0)),
                    "percentile": 100.0
                    * (stats.rankdata(values) - 1)
                    / max(len(values) - 1, 1),
                    "status": np.where(flags[name], "flagged", "normal"),
                    "flagged": flags[name].astype(bool),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def pair_agreement(
    flags: dict[str, np.ndarray], titles: dict[str, str]
) -> pd.DataFrame:
    """Rows flagged by both detectors of each pair, and their Jaccard index."""
    records = []
    for a, b in itertools.product(flags, repeat=2):
        both = int(np.sum(flags[a] & flags[b]))
        either = int(np.sum(flags[a] | flags[b]))
        records.append(
            {
                "detector_a": titles.get(a, a),
                "detector_b": titles.get(b, b),
                "both": both,
                "jaccard": both / either if either else 0.0,
            }
        )
    return pd.DataFrame(records)


def flagged_table(
    frame: pd.DataFrame,
    rows: np.ndarray,
    scores: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
    limit: int = 50,
) -> pd.DataFrame:
    """Flagged rows with the number of detectors that flag them, their scores'
    percentile ranks and their original values; most agreed-upon first."""
    names = list(scores)
    votes = np.sum([flags[n] for n in names], axis=0)
    mean_pct = np.mean(
        [stats.rankdata(scores[n]) / len(scores[n]) for n in names], axis=0
    )
    table = pd.DataFrame({"row": rows, "detectors_flagging": votes})
    for name in names:
        table[f"score_{name}"] = scores[name]
    table["_order"] = mean_pct
    table = table[votes > 0].sort_values(
        ["detectors_flagging", "_order"], ascending=False
    )
    table = table.drop(columns="_order").head(limit)
    values = frame.iloc[table["row"].to_numpy()].reset_index(drop=True)
    values.columns = [f"value: {c}" for c in values.columns]
    return pd.concat([table.reset_index(drop=True), values], axis=1)


# ---------------------------------------------------------------------------
# Comparable scales and the shared threshold
# ---------------------------------------------------------------------------


def robust_center_scale(scores) -> tuple[float, float]:
    """Median and robust spread of scores: IQR / 1.349 (the standard deviation
    for Gaussian data); when more than half the scores tie (Robust PCA gives many
    rows a score of exactly 0) the standard deviation, and 1 if that is 0 too."""
    scores = np.asarray(scores, dtype=np.float64)
    median = float(np.median(scores))
    q1, q3 = np.quantile(scores, [0.25, 0.75])
    spread = float(q3 - q1) / 1.349
    if not spread > 0:
        spread = float(np.std(scores))
    if not spread > 0:
        spread = 1.0
    return median, spread


def robust_z(scores) -> np.ndarray:
    """Scores centred on their median and divided by a robust spread, so
    detectors with very different raw units share one axis."""
    median, spread = robust_center_scale(scores)
    return (np.asarray(scores, dtype=np.float64) - median) / spread


def symlog(values) -> np.ndarray:
    """``sign(v) * log10(1 + |v|)``: keeps heavy tails and the sign readable."""
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.log10(1.0 + np.abs(values))


def cut_score(scores, flags, threshold: float | None) -> float:
    """Where the threshold sits on a detector's score axis.

    ``threshold`` is used as is when the policy gave one; otherwise (PCA under
    the alpha policy, which checks SPE and T^2 separately) the lowest flagged
    score, or just above the highest score when nothing is flagged.
    """
    scores = np.asarray(scores, dtype=np.float64)
    flags = np.asarray(flags, dtype=bool)
    if threshold is not None:
        return float(threshold)
    if flags.any():
        return float(scores[flags].min())
    return float(np.nextafter(scores.max(), np.inf))


def distribution_table(
    scores: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
    thresholds: dict[str, float | None],
    titles: dict[str, str],
    bins: int = 40,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Exact histograms of every detector's calibrated scores on one shared axis,
    and where each threshold falls on it.

    The axis is ``symlog(robust_z(score))``. Returns ``(bins, rules)``: ``bins``
    has detector, bin_start, bin_end, status, rows, and raw_start / raw_end (the
    bin's edges as raw scores of that detector); ``rules`` has detector,
    threshold (raw), position (on the shared axis) and share_flagged.
    """
    calibrated = {}
    positions = {}
    centres = {}
    for name, values in scores.items():
        values = np.asarray(values, dtype=np.float64)
        median, spread = robust_center_scale(values)
        centres[name] = (median, spread)
        calibrated[name] = symlog((values - median) / spread)
        cut = cut_score(values, flags[name], thresholds.get(name))
        positions[name] = (float(symlog((cut - median) / spread)), cut)
    everything = (
        np.concatenate(list(calibrated.values())) if calibrated else np.zeros(1)
    )
    cuts = [p for p, _ in positions.values()]
    low = min(everything.min(), *cuts) if cuts else everything.min()
    high = max(everything.max(), *cuts) if cuts else everything.max()
    if high <= low:
        high = low + 1.0
    edges = np.linspace(low, high, bins + 1)
    records = []
    for name, values in calibrated.items():
        median, spread = centres[name]
        # Inverse of symlog(robust z): the bin edges in this detector's raw units.
        raw = median + spread * np.sign(edges) * (10.0 ** np.abs(edges) - 1.0)
        mask = np.asarray(flags[name], dtype=bool)
        for status, part in (("normal", values[~mask]), ("flagged", values[mask])):
            counts, _ = np.histogram(part, bins=edges)
            records.append(
                pd.DataFrame(
                    {
                        "detector": titles.get(name, name),
                        "bin_start": edges[:-1],
                        "bin_end": edges[1:],
                        "raw_start": raw[:-1],
                        "raw_end": raw[1:],
                        "status": status,
                        "rows": counts,
                    }
                )
            )
    table = pd.concat(records, ignore_index=True)
    table = table[table["rows"] > 0].reset_index(drop=True)
    rules = pd.DataFrame(
        [
            {
                "detector": titles.get(name, name),
                "threshold": cut,
                "position": position,
                "share_flagged": float(np.mean(flags[name])),
            }
            for name, (position, cut) in positions.items()
        ]
    )
    return table, rules


# ---------------------------------------------------------------------------
# Agreement between detectors
# ---------------------------------------------------------------------------


def flag_votes(flags: dict[str, np.ndarray]) -> np.ndarray:
    """Number of detectors flagging each row."""
    return np.sum([np.asarray(f, dtype=int) for f in flags.values()], axis=0)


def combination_labels(
    flags: dict[str, np.ndarray], titles: dict[str, str]
) -> np.ndarray:
    """Per row, the exact set of detectors that flag it, as ``"PCA + VAE"``
    (empty string for rows no detector flags)."""
    names = list(flags)
    members = np.column_stack([np.asarray(flags[n], dtype=bool) for n in names])
    labels = np.empty(members.shape[0], dtype=object)
    for pattern in np.unique(members, axis=0):
        hit = np.all(members == pattern, axis=1)
        labels[hit] = " + ".join(
            titles.get(n, n) for n, on in zip(names, pattern) if on
        )
    return labels


def intersections(
    flags: dict[str, np.ndarray], titles: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """UpSet tables: rows per exact combination of flagging detectors.

    Returns ``(counts, membership)``. ``counts`` has combination, rows, degree
    (how many detectors) and order (0 = largest), sorted by rows descending;
    rows flagged by no detector are left out. ``membership`` has one line per
    (combination, detector) with ``member`` true when that detector is in it.
    """
    labels = combination_labels(flags, titles)
    flagged = labels != ""
    counts = (
        pd.Series(labels[flagged], dtype=object)
        .value_counts(sort=False)
        .rename_axis("combination")
        .reset_index(name="rows")
    )
    counts["degree"] = counts["combination"].str.count(r" \+ ") + 1
    counts = counts.sort_values(
        ["rows", "degree", "combination"], ascending=[False, False, True], kind="stable"
    )
    counts = counts.reset_index(drop=True)
    counts["order"] = np.arange(len(counts))
    membership = []
    for _, item in counts.iterrows():
        parts = set(item["combination"].split(" + "))
        for name in flags:
            title = titles.get(name, name)
            membership.append(
                {
                    "combination": item["combination"],
                    "detector": title,
                    "member": title in parts,
                    "rows": item["rows"],
                    "order": item["order"],
                }
            )
    return counts, pd.DataFrame(
        membership, columns=["combination", "detector", "member", "rows", "order"]
    )


def spearman_matrix(
    scores: dict[str, np.ndarray], titles: dict[str, str]
) -> pd.DataFrame:
    """Spearman rank correlation of every pair of detectors' scores, tidy."""
    names = list(scores)
    ranks = np.column_stack([stats.rankdata(scores[n]) for n in names])
    if ranks.shape[0] > 1:
        matrix = np.corrcoef(ranks, rowvar=False)
    else:
        matrix = np.ones((len(names), len(names)))
    matrix = np.atleast_2d(np.nan_to_num(matrix, nan=0.0))
    return pd.DataFrame(
        [
            {
                "detector_a": titles.get(a, a),
                "detector_b": titles.get(b, b),
                "rho": float(matrix[i, j]),
            }
            for i, a in enumerate(names)
            for j, b in enumerate(names)
        ]
    )


def principal_map(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates of each row on the first two principal components of the
    standardised data, and the share of variance each explains.

    Uses the eigendecomposition of the smaller Gram matrix, which is exact and
    cheap for tall (100000 x 40) and wide (1000 x 784) data alike.
    """
    from detectors.base import StandardScaler

    X = np.asarray(X, dtype=np.float64)
    Z = StandardScaler().fit(X).transform(X)
    Z = Z - Z.mean(axis=0)
    n_samples, n_features = Z.shape
    if n_features <= n_samples:
        values, vectors = np.linalg.eigh(Z.T @ Z)
        order = np.argsort(values)[::-1][:2]
        coords = Z @ vectors[:, order]
    else:
        values, vectors = np.linalg.eigh(Z @ Z.T)
        order = np.argsort(values)[::-1][:2]
        coords = vectors[:, order] * np.sqrt(np.maximum(values[order], 0.0))
    total = float(np.sum(Z**2))
    ratio = (
        np.maximum(values[order], 0.0) / total if total > 0 else np.zeros(order.size)
    )
    if coords.shape[1] < 2:
        coords = np.column_stack([coords, np.zeros(n_samples)])
        ratio = np.append(ratio, 0.0)
    # Fix the sign so the map does not flip between runs or machines.
    signs = np.sign(coords[np.argmax(np.abs(coords), axis=0), [0, 1]])
    signs[signs == 0] = 1.0
    return coords * signs, ratio


def map_table(
    rows: np.ndarray,
    coords: np.ndarray,
    flags: dict[str, np.ndarray],
    titles: dict[str, str],
    y_true: np.ndarray | None = None,
) -> pd.DataFrame:
    """One line per row for the 2-D map: pc1, pc2, votes, which detectors flag it."""
    table = pd.DataFrame(
        {
            "row": np.asarray(rows),
            "pc1": coords[:, 0],
            "pc2": coords[:, 1],
            "votes": flag_votes(flags),
            "flagged_by": combination_labels(flags, titles),
        }
    )
    table["flagged_by"] = table["flagged_by"].replace("", "none")
    table["flagged"] = table["votes"] > 0
    if y_true is not None:
        table["label"] = np.where(np.asarray(y_true) == 1, "anomaly", "normal")
    return table


# ---------------------------------------------------------------------------
# Quality against a label
# ---------------------------------------------------------------------------


def _thin(
    x: np.ndarray, y: np.ndarray, max_points: int
) -> tuple[np.ndarray, np.ndarray]:
    if x.size <= max_points:
        return x, y
    keep = np.unique(np.linspace(0, x.size - 1, max_points).round().astype(int))
    return x[keep], y[keep]


def curve_points(
    y_true, scores: dict[str, np.ndarray], titles: dict[str, str], max_points: int = 400
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ROC and precision-recall curve points (scikit-learn) of every detector.

    Returns ``(roc, pr)``, tidy: detector, legend (name with ROC-AUC or average
    precision), x, y. Each curve is thinned to at most ``max_points`` points
    evenly along it (the endpoints kept); the AUC and AP are computed on the
    full curves. Raises ValueError when ``y_true`` does not hold both classes.
    """
    from sklearn.metrics import (
        average_precision_score,
        precision_recall_curve,
        roc_auc_score,
        roc_curve,
    )

    y_true = np.asarray(y_true).astype(int)
    if np.unique(y_true).size != 2:
        raise ValueError(
            "ROC and precision-recall curves need both normal and anomalous "
            "rows in the label."
        )
    roc, pr = [], []
    for name, values in scores.items():
        title = titles.get(name, name)
        fpr, tpr, _ = roc_curve(y_true, values)
        auc = roc_auc_score(y_true, values)
        x, y = _thin(fpr, tpr, max_points)
        roc.append(
            pd.DataFrame(
                {
                    "detector": title,
                    "legend": f"{title} (AUC {auc:.3f})",
                    "x": x,
                    "y": y,
                }
            )
        )
        precision, recall, _ = precision_recall_curve(y_true, values)
        ap = average_precision_score(y_true, values)
        x, y = _thin(recall[::-1], precision[::-1], max_points)
        pr.append(
            pd.DataFrame(
                {"detector": title, "legend": f"{title} (AP {ap:.3f})", "x": x, "y": y}
            )
        )
    return pd.concat(roc, ignore_index=True), pd.concat(pr, ignore_index=True)


def confusion_table(
    y_true, flags: dict[str, np.ndarray], titles: dict[str, str]
) -> pd.DataFrame:
    """Per detector at the current flags: TP, FP, FN, TN, precision, recall and
    false-positive rate (NaN where undefined)."""
    y_true = np.asarray(y_true).astype(bool)
    records = []
    for name, flagged in flags.items():
        flagged = np.asarray(flagged, dtype=bool)
        tp = int(np.sum(flagged & y_true))
        fp = int(np.sum(flagged & ~y_true))
        fn = int(np.sum(~flagged & y_true))
        tn = int(np.sum(~flagged & ~y_true))
        records.append(
            {
                "detector": titles.get(name, name),
                "flagged": tp + fp,
                "true positives": tp,
                "false positives": fp,
                "false negatives": fn,
                "true negatives": tn,
                "precision": tp / (tp + fp) if tp + fp else float("nan"),
                "recall": tp / (tp + fn) if tp + fn else float("nan"),
                "false-positive rate": fp / (fp + tn) if fp + tn else float("nan"),
            }
        )
    return pd.DataFrame(records)


def operating_points(
    y_true, flags: dict[str, np.ndarray], titles: dict[str, str]
) -> pd.DataFrame:
    """Where the current flags sit on the ROC (fpr, tpr) and PR (recall,
    precision) planes, one line per detector."""
    table = confusion_table(y_true, flags, titles)
    return pd.DataFrame(
        {
            "detector": table["detector"],
            "fpr": table["false-positive rate"],
            "tpr": table["recall"],
            "recall": table["recall"],
            "precision": table["precision"],
            "flagged": table["flagged"],
        }
    )


# ---------------------------------------------------------------------------
# One row, explained
# ---------------------------------------------------------------------------


def rank_table(
    scores: dict[str, np.ndarray],
    flags: dict[str, np.ndarray],
    position: int,
    titles: dict[str, str],
) -> pd.DataFrame:
    """The row at ``position`` (of X) under each detector: rank (1 = most
    anomalous, ties share the best rank), out of how many, score, flagged."""
    records = []
    for name, values in scores.items():
        values = np.asarray(values, dtype=np.float64)
        rank = int(np.sum(values > values[position])) + 1
        records.append(
            {
                "detector": titles.get(name, name),
                "rank": rank,
                "of": int(values.size),
                "score": float(values[position]),
                "flagged": bool(np.asarray(flags[name])[position]),
            }
        )
    return pd.DataFrame(records)


def row_profile(X: np.ndarray, feature_names: list[str], position: int) -> pd.DataFrame:
    """The row's values beside the typical (median) value of each feature, with
    the deviation in robust units (IQR / 1.349; standard deviation if the IQR
    is 0)."""
    X = np.asarray(X, dtype=np.float64)
    median = np.median(X, axis=0)
    q1, q3 = np.quantile(X, [0.25, 0.75], axis=0)
    spread = (q3 - q1) / 1.349
    fallback = X.std(axis=0)
    spread = np.where(spread > 0, spread, np.where(fallback > 0, fallback, 1.0))
    values = X[position]
    return pd.DataFrame(
        {
            "feature": feature_names,
            "value": values,
            "typical": median,
            "deviation": (values - median) / spread,
        }
    )


def row_residuals(models: dict[str, object], X: np.ndarray, position: int) -> dict:
    """Each detector's per-feature contributions for one row of the data it was
    fitted on.

    Robust PCA's contributions for a training row come from its in-sample sparse
    part (``sparse_ ** 2``); scoring the row alone would use the out-of-sample
    rule and could differ, so the fitted matrix is read instead.
    """
    result = {}
    for name, model in models.items():
        sparse = getattr(model, "sparse_", None)
        if sparse is not None and sparse.shape == X.shape:
            result[name] = np.asarray(sparse[position], dtype=np.float64) ** 2
        else:
            result[name] = np.asarray(
                model.residuals(X[position : position + 1])[0], dtype=np.float64
            )
    return result


def contributions_table(
    residuals: dict[str, np.ndarray],
    feature_names: list[str],
    titles: dict[str, str],
    top: int = 10,
) -> pd.DataFrame:
    """Tidy per-feature contributions of one row: the ``top`` largest (by
    magnitude) per detector, with each one's share of the row's score."""
    frames = []
    for name, values in residuals.items():
        values = np.asarray(values, dtype=np.float64)
        total = float(values.sum())
        order = np.argsort(-np.abs(values), kind="stable")[:top]
        frames.append(
            pd.DataFrame(
                {
                    "detector": titles.get(name, name),
                    "feature": [feature_names[j] for j in order],
                    "contribution": values[order],
                    "share": values[order] / total if total else np.zeros(order.size),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def sparse_cells(
    sparse_row: np.ndarray,
    values: np.ndarray,
    feature_names: list[str],
    tol: float = 1e-9,
) -> pd.DataFrame:
    """The nonzero cells of one row of Robust PCA's sparse part S (standardised
    units) next to the row's value, largest first."""
    sparse_row = np.asarray(sparse_row, dtype=np.float64)
    scale = max(1.0, float(np.abs(sparse_row).max(initial=0.0)))
    hit = np.flatnonzero(np.abs(sparse_row) > tol * scale)
    order = hit[np.argsort(-np.abs(sparse_row[hit]), kind="stable")]
    return pd.DataFrame(
        {
            "feature": [feature_names[j] for j in order],
            "sparse": sparse_row[order],
            "value": np.asarray(values, dtype=np.float64)[order],
        }
    )


def image_cells(panels: dict[str, np.ndarray], side: int = 28) -> pd.DataFrame:
    """Tidy pixels of square images, one line per (panel, pixel): panel, x, y,
    value. Each vector has ``side * side`` entries in row-major order."""
    frames = []
    ys, xs = np.divmod(np.arange(side * side), side)
    for panel, vector in panels.items():
        vector = np.asarray(vector, dtype=np.float64).ravel()
        if vector.size != side * side:
            raise ValueError(
                f"image panel '{panel}' has {vector.size} values; "
                f"a {side}x{side} image needs {side * side}."
            )
        frames.append(pd.DataFrame({"panel": panel, "x": xs, "y": ys, "value": vector}))
    return pd.concat(frames, ignore_index=True)


# ---------------------------------------------------------------------------
# Matrices and time
# ---------------------------------------------------------------------------


def pick_rows(n_rows: int, max_rows: int, keep=None, seed: int = 0) -> np.ndarray:
    """At most ``max_rows`` sorted positions out of ``n_rows``: every position in
    ``keep`` (up to the limit, largest first as given) plus an even seeded sample."""
    if n_rows <= max_rows:
        return np.arange(n_rows)
    kept = np.unique(np.asarray(keep if keep is not None else [], dtype=int))[:max_rows]
    rest = np.setdiff1d(np.arange(n_rows), kept)
    rng = np.random.default_rng(seed)
    room = max(max_rows - kept.size, 0)
    sampled = rng.choice(rest, size=min(room, rest.size), replace=False)
    return np.sort(np.concatenate([kept, sampled]))


def matrix_cells(
    matrices: dict[str, np.ndarray],
    rows: np.ndarray,
    columns: np.ndarray,
    row_ids: np.ndarray,
    column_names: list[str],
) -> pd.DataFrame:
    """Tidy cells of several same-shaped matrices at the chosen rows and
    columns: matrix, row, feature, value."""
    frames = []
    for title, matrix in matrices.items():
        block = np.asarray(matrix)[np.ix_(rows, columns)]
        frames.append(
            pd.DataFrame(
                {
                    "matrix": title,
                    "row": np.repeat(np.asarray(row_ids)[rows], columns.size),
                    "feature": np.tile(
                        np.asarray(column_names, dtype=object)[columns], rows.size
                    ),
                    "value": block.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def convergence_table(info: dict) -> pd.DataFrame:
    """Robust PCA's per-iteration trace, tidy: iteration, quantity, value. The
    residual falls over many decades, so it is given as log10."""
    iterations = np.arange(1, len(info.get("residual", [])) + 1)
    residual = np.asarray(info.get("residual", []), dtype=np.float64)
    series = {
        "log10 relative residual": np.log10(np.maximum(residual, 1e-300)),
        "rank of L": np.asarray(info.get("rank", []), dtype=np.float64),
        "nonzeros of S": np.asarray(info.get("nnz", []), dtype=np.float64),
    }
    frames = [
        pd.DataFrame({"iteration": iterations, "quantity": title, "value": values})
        for title, values in series.items()
    ]
    return pd.concat(frames, ignore_index=True)


def anomaly_windows(times, y_true) -> pd.DataFrame:
    """Contiguous runs of label 1 along time: start, end (the next time stamp,
    so a one-point window still has a width), rows. Rows are put in time order
    first (flow exports are not always sorted); rows without a time are left out."""
    times = (
        pd.Series(pd.to_datetime(np.asarray(times))).reset_index(drop=True)
        if not isinstance(times, pd.Series)
        else times.reset_index(drop=True)
    )
    y = np.asarray(y_true).astype(int)
    if y.size == 0:
        return pd.DataFrame(columns=["start", "end", "rows"])
    known = times.notna().to_numpy()
    order = np.argsort(times[known].to_numpy(), kind="stable")
    times = times[known].iloc[order].reset_index(drop=True)
    y = y[known][order]
    edges = np.diff(np.concatenate([[0], y, [0]]))
    starts = np.flatnonzero(edges == 1)
    stops = np.flatnonzero(edges == -1)
    step = times.diff().median() if len(times) > 1 else pd.Timedelta(0)
    records = []
    for a, b in zip(starts, stops):
        end = times.iloc[b] if b < len(times) else times.iloc[b - 1] + step
        records.append({"start": times.iloc[a], "end": end, "rows": int(b - a)})
    return pd.DataFrame(records, columns=["start", "end", "rows"])


def block_reduce(values: np.ndarray, max_rows: int, how: str = "mean") -> tuple:
    """Group consecutive rows into at most ``max_rows`` blocks.

    Returns ``(reduced, starts)`` with the first row position of each block;
    ``how`` is "mean", "sum" or "absmax" (the entry of largest magnitude, sign
    kept, so a spike in S survives the reduction).
    """
    values = np.asarray(values, dtype=np.float64)
    n_rows = values.shape[0]
    if n_rows <= max_rows:
        return values, np.arange(n_rows)
    size = int(np.ceil(n_rows / max_rows))
    starts = np.arange(0, n_rows, size)
    if how == "absmax":
        pieces = []
        for start in starts:
            block = values[start : start + size]
            pick = np.argmax(np.abs(block), axis=0)
            pieces.append(
                block[pick, np.arange(block.shape[1])]
                if block.ndim == 2
                else block[pick]
            )
        return np.asarray(pieces), starts
    ufunc = np.add.reduceat(values, starts, axis=0)
    if how == "sum":
        return ufunc, starts
    counts = np.diff(np.append(starts, n_rows))
    return ufunc / (counts[:, None] if values.ndim == 2 else counts), starts


def apply_policy(
    policy,
    scores: dict[str, np.ndarray],
    models: dict[str, object],
    X: np.ndarray | None = None,
    reference=None,
) -> tuple[dict, dict]:
    """Thresholds and flags of every detector under one ThresholdPolicy; never
    refits. Returns ``(thresholds, flags)`` keyed like ``scores``."""
    thresholds, flags = {}, {}
    for name, values in scores.items():
        thresholds[name], flags[name] = policy.apply(
            values, detector=models.get(name), X=X, reference=reference
        )
        flags[name] = np.asarray(flags[name], dtype=bool)
    return thresholds, flags


def time_column(roles: dict[str, str]) -> str | None:
    """The first column whose role is "timestamp", or None."""
    return next((column for column, role in roles.items() if role == "timestamp"), None)


def as_times(values) -> pd.Series:
    """Timestamps as UTC datetimes: datetimes kept, numbers read as epoch seconds,
    text parsed (unparseable entries become NaT)."""
    series = pd.Series(values).reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(series):
        series = series if series.dt.tz is not None else series.dt.tz_localize("UTC")
        # One unit for every source (files give s, us or ns), so charts and joins agree.
        return series.dt.as_unit("ms")
    if pd.api.types.is_numeric_dtype(series):
        return pd.Series(
            pd.to_datetime(
                series.to_numpy(dtype=float) * 1e6, unit="us", utc=True, errors="coerce"
            )
        ).dt.as_unit("ms")
    parsed = pd.to_datetime(series, utc=True, errors="coerce", format="mixed")
    return pd.Series(parsed).dt.as_unit("ms")


def image_side(n_features: int) -> int | None:
    """Side of a square greyscale image with ``n_features`` pixels (784 -> 28),
    or None when the features are not a plausible image."""
    side = int(round(np.sqrt(n_features)))
    return side if side * side == n_features and side >= 8 else None


def pixel_columns(roles: dict[str, str]) -> list[str] | None:
    """The columns of a square image (features plus constant ones, in file
    order), or None when they do not form a plausible square image."""
    columns = [c for c, role in roles.items() if role in ("feature", "constant")]
    return columns if image_side(len(columns)) is not None else None


def as_image(
    values: np.ndarray,
    feature_names: list[str],
    pixels: list[str],
    fill: np.ndarray | float = 0.0,
) -> np.ndarray:
    """Spread one row's feature-space vector onto all image pixels; pixels that
    are not features (constant columns) take ``fill``."""
    image = np.broadcast_to(np.asarray(fill, dtype=np.float64), (len(pixels),)).copy()
    where = {name: j for j, name in enumerate(pixels)}
    for value, name in zip(np.asarray(values, dtype=np.float64), feature_names):
        if name in where:
            image[where[name]] = value
    return image


def blamed_features(
    X: np.ndarray, feature_names: list[str], rows_mask, top: int = 3
) -> list:
    """Features on which the masked rows deviate most from typical (mean absolute
    robust deviation); the first ``top`` features when no row is masked."""
    X = np.asarray(X, dtype=np.float64)
    rows_mask = np.asarray(rows_mask, dtype=bool)
    if not rows_mask.any():
        return list(feature_names[:top])
    median = np.median(X, axis=0)
    q1, q3 = np.quantile(X, [0.25, 0.75], axis=0)
    spread = (q3 - q1) / 1.349
    fallback = X.std(axis=0)
    spread = np.where(spread > 0, spread, np.where(fallback > 0, fallback, 1.0))
    deviation = np.abs((X[rows_mask] - median) / spread).mean(axis=0)
    order = np.argsort(-deviation, kind="stable")[:top]
    return [feature_names[j] for j in order]


def od_pairs(feature_names: list[str], separator: str = "->") -> list[str]:
    """Feature names that are origin-destination pairs of a traffic matrix."""
    return [name for name in feature_names if separator in str(name)]
