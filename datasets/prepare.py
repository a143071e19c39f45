"""Turn a table and its column roles into a finite float64 feature matrix."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DatasetError
from .roles import Preprocessing, float_values, label_to_y

logger = logging.getLogger(__name__)

_SHOW_ROWS = 20


@dataclass
class Prepared:
    """The feature matrix built from a table, and what was done to get it.

    Attributes
    ----------
    X : ndarray of shape (n_samples, n_features)
        float64, every value finite.
    feature_names : list of str
        One name per column of ``X``; one-hot columns read ``column=level``.
    rows : ndarray of shape (n_samples,)
        The original 0-based data-row position of each row of ``X``.
    y_true : ndarray of shape (n_samples,) or None
        Ground truth aligned with ``rows`` (1 = anomaly), when a label exists.
    report : list of str
        Sentences: features used, columns left out and why, missing cells.
    missing_rows : ndarray
        Original positions of rows with a missing or non-finite feature cell.
    """

    X: np.ndarray
    feature_names: list[str]
    rows: np.ndarray
    y_true: np.ndarray | None
    report: list[str] = field(default_factory=list)
    missing_rows: np.ndarray = field(
        default_factory=lambda: np.empty(0, dtype=np.int64)
    )


def prepare(
    frame: pd.DataFrame,
    spec: Preprocessing,
    missing: str = "impute",
    name: str | None = None,
) -> Prepared:
    """Build the feature matrix: numeric features, one-hot categories, no gaps.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table (``Table.frame``).
    spec : Preprocessing
        Column roles, from :func:`datasets.infer_roles` or saved steps.
    missing : {"impute", "drop"}, default="impute"
        Missing and non-finite feature cells (NaN, empty, +-inf) are replaced
        by the column median of the finite values, or their rows are dropped.
    name : str, optional
        The file name used in messages.

    Returns
    -------
    Prepared
        X, feature names, kept rows, labels and the report.

    Raises
    ------
    DatasetError
        When a column the steps need is absent, no usable feature remains,
        or "drop" would leave fewer than 2 rows.

    Examples
    --------
    >>> from datasets import infer_roles
    >>> frame = pd.DataFrame({"a": [1.0, None, 3.0], "b": [1.0, 2.0, 4.0]})
    >>> prepare(frame, infer_roles(frame)).X[1].tolist()
    [2.0, 2.0]
    """
    name = name or "table"
    if missing not in ("impute", "drop"):
        raise ValueError(f"missing must be 'impute' or 'drop', got {missing!r}")
    absent = [
        c
        for c, r in spec.roles.items()
        if r in ("feature", "categorical", "label") and c not in frame.columns
    ]
    if absent:
        raise DatasetError(
            f"{name}: column(s) {', '.join(repr(c) for c in absent)} needed by the "
            "saved preprocessing are missing; upload a file with the same columns or "
            "infer the roles again"
        )
    report: list[str] = []
    n_rows = len(frame)
    numeric = spec.feature_columns
    categorical = spec.categorical_columns
    names = list(numeric)
    for column in categorical:
        names += [f"{column}={level}" for level in spec.categories.get(column, [])]
    if not names:
        raise DatasetError(
            f"{name}: no usable feature column (numbers, or text with at most 20 "
            "levels); "
            f"the roles are {_role_summary(spec)}; set a numeric column's role to "
            "'feature' or upload a table with numeric columns"
        )

    # Numeric columns, checked one at a time on their own contiguous arrays.
    values: dict[str, np.ndarray] = {}
    column_bad: dict[str, np.ndarray] = {}
    for column in numeric:
        try:
            array = float_values(frame[column])
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"{name}: column '{column}' is not numeric ({exc}); set its role to "
                "'categorical' or leave it out"
            ) from exc
        finite = np.isfinite(array)
        if not finite.all():
            if not finite.any():
                report.append(
                    f"{column}: every cell is missing or non-finite; excluded."
                )
                continue
            column_bad[column] = ~finite
        values[column] = array
    numeric = list(values)
    bad_rows_mask = np.zeros(n_rows, dtype=bool)
    for column, bad in column_bad.items():
        bad_rows_mask |= bad
        array = values[column]
        n_inf = int(np.isinf(array).sum())
        what = f"{int(bad.sum())} missing or non-finite cell(s)"
        if n_inf:
            what += f" ({n_inf} infinite)"
        rows_text = _rows_text(np.flatnonzero(bad))
        if missing == "impute":
            median = float(np.median(array[~bad]))
            values[column] = np.where(bad, median, array)
            report.append(
                f"{column}: {what} in rows {rows_text}; imputed with the "
                f"median {median:.6g}."
            )
        else:
            report.append(f"{column}: {what} in rows {rows_text}; those rows dropped.")
    missing_rows = np.flatnonzero(bad_rows_mask)
    keep = None
    if missing == "drop" and missing_rows.size:
        keep = ~bad_rows_mask
        n_keep = int(keep.sum())
        if n_keep < 2:
            raise DatasetError(
                f"{name}: dropping rows with missing cells would leave {n_keep} of "
                f"{n_rows} rows; choose missing='impute' (median) instead"
            )
        report.append(
            f"Dropped {missing_rows.size} of {n_rows} rows with missing or "
            f"non-finite cells: {_rows_text(missing_rows)}; {n_keep} rows kept."
        )
    elif missing_rows.size:
        report.append(
            f"Imputed {sum(int(b.sum()) for b in column_bad.values())} "
            f"cell(s) in {missing_rows.size} row(s): {_rows_text(missing_rows)}."
        )
    rows = np.arange(n_rows) if keep is None else np.flatnonzero(keep)

    names = list(numeric)
    for column in categorical:
        names += [f"{column}={level}" for level in spec.categories.get(column, [])]
    if not names:
        raise DatasetError(
            f"{name}: no usable feature column remains after removing "
            "columns without values; upload a table with numeric data"
        )

    # One preallocated C-ordered float64 block of the kept rows, filled in row
    # blocks that stay in cache: no concatenation and no second full-size copy
    # (writing whole columns into a row-major array is several times slower).
    X = np.empty((rows.size, len(names)), dtype=np.float64)
    arrays = [values.pop(column) for column in numeric]
    step = max(256, (1 << 18) // (8 * max(1, len(names))))
    for start in range(0, rows.size, step):
        block = X[start : start + step]
        index = None if keep is None else rows[start : start + step]
        for j, array in enumerate(arrays):
            block[:, j] = array[start : start + step] if index is None else array[index]
    flat: list[int] = []
    if keep is not None:
        for j, array in enumerate(arrays):
            kept = array[keep]
            low, high = kept.min(), kept.max()
            if high - low <= 1e-9 * max(1.0, abs(low), abs(high)):
                flat.append(j)
    del arrays
    j = len(numeric)
    for column in categorical:
        levels = spec.categories.get(column, [])
        # -1 for a missing cell or a level the saved steps have not seen.
        codes = pd.Index(levels, dtype="string").get_indexer(
            frame[column].astype("string")
        )
        n_na = int(frame[column].isna().sum())
        n_other = int((codes < 0).sum()) - n_na
        if keep is not None:
            codes = codes[keep]
        block = X[:, j : j + len(levels)]
        block[:] = 0.0
        known = codes >= 0
        block[np.flatnonzero(known), codes[known]] = 1.0
        extra = []
        if n_other > 0:
            extra.append(f"{n_other} row(s) with a level not seen before get all zeros")
        if n_na:
            extra.append(f"{n_na} missing cell(s) get all zeros")
        report.append(
            f"{column}: one-hot encoded into {len(levels)} column(s)"
            + (f"; {'; '.join(extra)}" if extra else "")
            + "."
        )
        j += len(levels)

    # A column can become constant once rows are dropped; detectors divide by std.
    if flat and len(flat) < len(names):
        report.append(
            "Constant after removing missing rows, excluded: "
            + ", ".join(names[i] for i in flat)
            + "."
        )
        kept_columns = np.setdiff1d(np.arange(len(names)), flat)
        X = X[:, kept_columns]
        names = [names[i] for i in kept_columns]

    y_true = label_to_y(frame, spec)
    if y_true is not None:
        y_true = y_true[rows]
    report[:0] = _summary(spec, names, len(rows), n_rows)
    logger.info("prepared %s: %d rows x %d features", name, *X.shape)
    return Prepared(
        X=X,
        feature_names=names,
        rows=rows,
        y_true=y_true,
        report=report,
        missing_rows=missing_rows,
    )


def _rows_text(rows: np.ndarray) -> str:
    shown = ", ".join(str(int(r)) for r in rows[:_SHOW_ROWS])
    return shown + (f" ... ({rows.size} in all)" if rows.size > _SHOW_ROWS else "")


def _role_summary(spec: Preprocessing) -> str:
    counts: dict[str, int] = {}
    for role in spec.roles.values():
        counts[role] = counts.get(role, 0) + 1
    return ", ".join(f"{n} {role}" for role, n in counts.items())


def _summary(
    spec: Preprocessing, names: list[str], n_kept: int, n_rows: int
) -> list[str]:
    """Report lines: features used, the label, and every column left out with why."""
    shown = ", ".join(names[:12]) + (
        f" ... ({len(names)} in all)" if len(names) > 12 else ""
    )
    lines = [f"Using {len(names)} feature(s) on {n_kept} of {n_rows} rows: {shown}."]
    if spec.label_column:
        lines.append(f"Label: {spec.label_column} (1 = anomaly); never a feature.")
    left_out: dict[str, list[str]] = {}
    for column, role in spec.roles.items():
        if role not in ("feature", "categorical", "label"):
            left_out.setdefault(role, []).append(column)
    for role, columns in left_out.items():
        details = [f"{c} ({spec.reasons.get(c, role)})" for c in columns[:6]]
        more = f"; and {len(columns) - 6} more" if len(columns) > 6 else ""
        lines.append(f"Not used, {role}: " + "; ".join(details) + more + ".")
    return lines
