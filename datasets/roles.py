"""Infer what each column is (feature, label, port, IP ...) and record it as data."""

from __future__ import annotations

import difflib
import ipaddress
import logging
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .errors import DatasetError
from .schemas import SCHEMA_ROLES, normalise_name

logger = logging.getLogger(__name__)

#: Every role a column can have. "truth" marks ground-truth annotations other
#: than the label (attack names, NSL-KDD difficulty, MNIST digit).
ROLES = ("feature", "categorical", "id", "ip", "port", "timestamp", "label",
         "truth", "constant", "empty", "text")  # fmt: skip
#: Roles whose columns end up in the feature matrix.
USED_ROLES = ("feature", "categorical")
#: Most levels a text column may have to be one-hot encoded.
MAX_CATEGORIES = 20
#: Columns with a larger share of missing cells are excluded by default.
MAX_MISSING_SHARE = 0.5
#: Relative spread under which a numeric column counts as constant (float noise).
CONSTANT_RTOL = 1e-9

_NORMAL_TOKENS = {"normal", "benign", "legitimate", "background", "normal."}
_TRUE_TOKENS = {"1", "true", "yes", "y", "t", "anomaly", "attack", "outlier"}
_FALSE_TOKENS = {"0", "false", "no", "n", "f"}
_LABEL_NAMES = ("label", "labels", "islabel", "isanomaly", "anomaly", "outlier",
                "isoutlier", "isattack", "malicious", "class", "target", "y",
                "groundtruth", "attack")  # fmt: skip
_TRUTH_NAMES = {"attack", "attackcat", "attacktype", "attackcategory", "attackname",
                "class", "category", "digit", "difficulty", "difficultylevel",
                "anomalypoint", "subclass", "labeldetailed", "attemptedcategory",
                "target", "y"}  # fmt: skip
_PORT_NAMES = {"port", "sport", "dport", "dsport", "srcport", "dstport", "sourceport",
               "destinationport", "srcpt", "dstpt", "idorigp", "idrespp",
               "l4srcport", "l4dstport", "clientport", "serverport"}  # fmt: skip
# "Src Port", "L4_DST_PORT", "client_port" ... but not "support" or "transport".
_PORT_PATTERN = re.compile(
    r"[a-z0-9]*?(src|dst|source|dest|destination|client|server|local|remote|orig|resp)"
    r"port"
)
_IP_NAMES = {"ip", "srcip", "dstip", "sourceip", "destinationip", "srcaddr", "dstaddr",
             "saddr", "daddr", "ipsrc", "ipdst", "idorigh", "idresph", "ipv4srcaddr",
             "ipv4dstaddr", "ipaddress", "clientip", "serverip", "srcaddress",
             "dstaddress"}  # fmt: skip
_ID_NAMES = {"id", "uid", "flowid", "index", "unnamed0", "rowid", "row", "key",
             "sessionid", "connectionid", "recordid", "sampleid", "uuid"}  # fmt: skip
_TIME_NAMES = {"timestamp", "time", "ts", "epoch", "datetime", "date", "starttime",
               "endtime", "stime", "ltime", "flowstart", "flowend", "firstseen",
               "lastseen", "te", "tr", "start", "end", "first", "last"}  # fmt: skip
# Text columns whose levels have a known network meaning are one-hot encoded by
# default; other text columns are left out unless the user asks for them.
_CATEGORY_NAMES = {"proto", "protocol", "protocoltype", "service", "flag", "flags",
                   "state", "connstate", "history", "tcpflags", "flg", "pr",
                   "application", "l7proto", "appproto", "app", "direction",
                   "dir"}  # fmt: skip


@dataclass
class Preprocessing:
    """The column roles and encodings that turn a table into a feature matrix.

    A plain, JSON-able record: ``to_dict`` / ``from_dict`` carry the same
    steps to new files, the CLI and the dashboard.

    Attributes
    ----------
    roles : dict of str to str
        Column name -> one of :data:`ROLES`.
    reasons : dict of str to str
        Column name -> a short sentence saying why it got its role.
    label_column : str or None
        The ground-truth column (1 = anomaly), never a feature.
    schema : str or None
        The known layout detected when reading.
    categories : dict of str to list of str
        Levels of every text column with at most :data:`MAX_CATEGORIES`
        levels, in order of first appearance; the one-hot columns.
    kinds : dict of str to str
        "numeric", "text", "datetime", "bool" or "empty" per column, used to
        validate overrides.
    normal_values : list of str
        Label values read as normal (0) when the label is text.
    """

    roles: dict[str, str]
    reasons: dict[str, str] = field(default_factory=dict)
    label_column: str | None = None
    schema: str | None = None
    categories: dict[str, list[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    normal_values: list[str] = field(default_factory=lambda: sorted(_NORMAL_TOKENS))

    @property
    def feature_columns(self) -> list[str]:
        """Numeric columns used as they are."""
        return [c for c, r in self.roles.items() if r == "feature"]

    @property
    def categorical_columns(self) -> list[str]:
        """Text columns that are one-hot encoded."""
        return [c for c, r in self.roles.items() if r == "categorical"]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; :meth:`from_dict` reverses it."""
        return {
            "version": 1,
            "roles": dict(self.roles),
            "reasons": dict(self.reasons),
            "label_column": self.label_column,
            "schema": self.schema,
            "categories": {k: list(v) for k, v in self.categories.items()},
            "kinds": dict(self.kinds),
            "normal_values": list(self.normal_values),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        """Rebuild from :meth:`to_dict` output, checking the roles named."""
        try:
            roles = dict(data["roles"])
        except (KeyError, TypeError) as exc:
            raise DatasetError(
                "preprocessing: the saved steps have no 'roles'; "
                "save them again with Preprocessing.to_dict()"
            ) from exc
        unknown = {c: r for c, r in roles.items() if r not in ROLES}
        if unknown:
            raise DatasetError(
                f"preprocessing: unknown role(s) {unknown}; "
                f"use one of {', '.join(ROLES)}"
            )
        return cls(
            roles=roles,
            reasons=dict(data.get("reasons", {})),
            label_column=data.get("label_column"),
            schema=data.get("schema"),
            categories={k: list(v) for k, v in data.get("categories", {}).items()},
            kinds=dict(data.get("kinds", {})),
            normal_values=list(data.get("normal_values", sorted(_NORMAL_TOKENS))),
        )

    def with_roles(self, overrides: dict[str, str]) -> Preprocessing:
        """Return a copy with some roles changed by the user.

        Parameters
        ----------
        overrides : dict of str to str
            Column name -> new role.

        Raises
        ------
        DatasetError
            For an unknown column or role, a text column made a "feature",
            a column with too many levels made "categorical", or a
            numeric/datetime column made "categorical".
        """
        roles, reasons = dict(self.roles), dict(self.reasons)
        label = self.label_column
        for column, role in overrides.items():
            if column not in roles:
                raise DatasetError(
                    f"preprocessing: no column named '{column}'"
                    f"{_close_names(column, roles)}"
                )
            if role not in ROLES:
                raise DatasetError(
                    f"preprocessing: '{role}' is not a role for column "
                    f"'{column}'; use one of {', '.join(ROLES)}"
                )
            kind = self.kinds.get(column, "numeric")
            if role == "feature" and kind not in ("numeric", "bool"):
                raise DatasetError(
                    f"preprocessing: column '{column}' holds {kind} values, not "
                    "numbers, so it cannot be a numeric feature; make it 'categorical' "
                    "(text with few levels) or leave it out"
                )
            if role == "categorical" and column not in self.categories:
                raise DatasetError(
                    f"preprocessing: column '{column}' is not text with at most "
                    f"{MAX_CATEGORIES} levels, so it cannot be one-hot encoded; "
                    "use it as a 'feature' if it is numeric, or leave it out"
                )
            if role == "label":
                if label and label != column:
                    roles[label] = "truth"
                    reasons[label] = f"was the label; replaced by '{column}'"
                label = column
            elif column == label:
                label = None
            roles[column] = role
            reasons[column] = "set by the user"
        return replace(self, roles=roles, reasons=reasons, label_column=label)


def _close_names(name: str, names) -> str:
    close = difflib.get_close_matches(name, [str(n) for n in names], n=3, cutoff=0.5)
    if not close:
        lowered = {str(n).strip().lower(): n for n in names}
        hit = lowered.get(name.strip().lower())
        close = [hit] if hit is not None else []
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""


def infer_roles(
    frame: pd.DataFrame, schema: str | None = None, label: str | None = None
) -> Preprocessing:
    """Give every column a role, with a reason, from its name, values and schema.

    Parameters
    ----------
    frame : pandas.DataFrame
        The table as read by :func:`datasets.load_table`.
    schema : str, optional
        The detected layout; its known columns get their default roles.
    label : str, optional
        The ground-truth column, when the user names it (CLI ``--label``).

    Returns
    -------
    Preprocessing
        Roles, reasons, label column and one-hot levels.

    Raises
    ------
    DatasetError
        When ``label`` is not a column (close names are suggested) or holds
        values that cannot be read as normal/anomaly.

    Examples
    --------
    >>> frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0, 1, 0]})
    >>> infer_roles(frame).roles
    {'x': 'feature', 'label': 'label'}
    """
    columns = [str(c) for c in frame.columns]
    if label is not None and label not in columns:
        raise DatasetError(
            f"column '{label}' named as the label does not exist"
            f"{_close_names(label, columns)}; the columns are "
            f"{', '.join(columns[:12])}{' ...' if len(columns) > 12 else ''}"
        )
    spec = Preprocessing(roles={}, schema=schema)
    schema_roles = SCHEMA_ROLES.get(schema or "", {})

    if label is not None:
        _label_values(frame[label], label, spec.normal_values, strict=True)
        spec.label_column = label
    else:
        spec.label_column = _find_label(frame, spec.normal_values)

    n_rows = len(frame)
    for column in columns:
        series = frame[column]
        kind = _kind(series)
        spec.kinds[column] = kind
        # Levels of text and small-integer columns, so that an override to
        # "categorical" knows its one-hot columns without the frame.
        if kind == "text" or (
            kind == "numeric" and pd.api.types.is_integer_dtype(series)
        ):
            levels = _levels(series)
            if levels is not None:
                spec.categories[column] = levels
        role, reason = _role(column, series, kind, n_rows, spec, schema_roles)
        spec.roles[column] = role
        spec.reasons[column] = reason
    logger.debug("roles: %s", spec.roles)
    return spec


def _kind(series: pd.Series) -> str:
    if series.isna().all():
        return "empty"
    if pd.api.types.is_bool_dtype(series):
        return "bool"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    return "text"


def _levels(series: pd.Series) -> list[str] | None:
    """Distinct values as text in order of appearance, or None above the limit."""
    uniques = pd.unique(series.dropna())
    if len(uniques) > MAX_CATEGORIES:
        return None
    # Same spelling as pandas' "string" conversion used when encoding.
    return list(dict.fromkeys(pd.Series(uniques).astype("string").tolist()))


def _find_label(frame: pd.DataFrame, normal_values) -> str | None:
    """The first column named like a label whose values read as normal/anomaly."""
    by_name: dict[str, str] = {}
    for column in frame.columns:
        by_name.setdefault(normalise_name(column), column)
    for candidate in _LABEL_NAMES:
        column = by_name.get(candidate)
        if column is None:
            continue
        try:
            _label_values(frame[column], column, normal_values, strict=False)
        except DatasetError:
            continue
        return column
    return None


def _label_values(
    series: pd.Series, column: str, normal_values, strict: bool
) -> np.ndarray:
    """Map a label column to 0/1 (1 = anomaly); missing cells read as 0."""
    values = series.dropna()
    if pd.api.types.is_bool_dtype(series):
        return series.fillna(False).astype(bool).to_numpy().astype(np.int64)
    if pd.api.types.is_numeric_dtype(series):
        uniques = set(np.unique(values.to_numpy(dtype=float)))
        if uniques <= {0.0, 1.0}:
            return series.fillna(0).to_numpy(dtype=float).astype(np.int64)
        raise DatasetError(
            f"column '{column}': a label must hold 0/1 (1 = anomaly), true/false or "
            f"text such as normal vs attack names; found {sorted(uniques)[:6]}; "
            "choose another label column or recode it"
        )
    text = values.astype(str).str.strip().str.lower()
    uniques = set(text.unique())
    normal = {v.lower() for v in normal_values}
    if uniques & normal:
        mapped = ~series.astype("string").str.strip().str.lower().isin(normal)
        return (mapped & series.notna()).to_numpy().astype(np.int64)
    if uniques and uniques <= _TRUE_TOKENS | _FALSE_TOKENS and len(uniques) <= 2:
        mapped = series.astype("string").str.strip().str.lower().isin(_TRUE_TOKENS)
        return mapped.fillna(False).to_numpy().astype(np.int64)
    if strict:
        shown = ", ".join(repr(v) for v in sorted(uniques)[:6])
        raise DatasetError(
            f"column '{column}': a text label needs a normal value "
            f"({', '.join(sorted(normal))}) or true/false; found {shown}; "
            "choose another label column or recode it"
        )
    raise DatasetError(f"column '{column}' is not a label")


def _role(column, series, kind, n_rows, spec, schema_roles) -> tuple[str, str]:
    """One column's role and the reason shown to the user."""
    norm = normalise_name(column)
    if column == spec.label_column:
        return "label", "ground truth (1 = anomaly); never a feature"
    if kind == "empty":
        return "empty", "every cell is missing"
    if spec.label_column and (
        schema_roles.get(column) == "truth" or norm in _TRUTH_NAMES
    ):
        return "truth", (
            f"ground-truth annotation besides the label "
            f"'{spec.label_column}'; never a feature"
        )
    if schema_roles.get(column) in ("id", "ip", "port", "timestamp"):
        role = schema_roles[column]
        return role, f"{_ROLE_WHY[role]} ({spec.schema} layout)"
    n_missing = int(series.isna().sum())
    if n_missing > MAX_MISSING_SHARE * n_rows:
        return "empty", (
            f"{n_missing} of {n_rows} cells missing "
            f"({100 * n_missing / n_rows:.0f} %), more than "
            f"{100 * MAX_MISSING_SHARE:.0f} % (set it to 'feature' to impute it)"
        )
    constant = _constant_reason(series, kind)
    if constant:
        return "constant", constant
    if column in schema_roles:
        role = schema_roles[column]
        if role == "categorical" and column not in spec.categories:
            if kind == "numeric":
                spec.categories[column] = _levels(series) or []
                if (
                    len(spec.categories[column]) > MAX_CATEGORIES
                    or not spec.categories[column]
                ):
                    del spec.categories[column]
                    return "text", _too_many(series)
            else:
                return "text", _too_many(series)
        if role != "truth":
            return role, f"{_ROLE_WHY[role]} ({spec.schema} layout)"
    if kind == "datetime":
        return "timestamp", "dates and times (UTC)"
    if norm in _PORT_NAMES or _PORT_PATTERN.fullmatch(norm):
        return "port", _ROLE_WHY["port"]
    if kind == "text" and _mostly_ips(series):
        return "ip", _ROLE_WHY["ip"]
    if norm in _IP_NAMES:
        return "ip", _ROLE_WHY["ip"]
    if norm in _ID_NAMES:
        return "id", _ROLE_WHY["id"]
    if kind in ("numeric", "bool"):
        if _time_name(norm) and _epoch_like(series):
            return "timestamp", "epoch times (by name and range)"
        if kind == "numeric" and norm in _CATEGORY_NAMES:
            levels = _levels(series)
            if levels is not None:
                spec.categories[column] = levels
                return "categorical", (
                    f"protocol/category codes ({len(levels)} levels) "
                    "one-hot encoded: a code is not a magnitude"
                )
        if kind == "numeric" and _is_row_counter(series):
            return "id", "counts rows 0/1, 2, 3 ...: a row number"
        return "feature", "numeric" if kind == "numeric" else "true/false read as 1/0"
    # Text from here on.
    n_levels = series.nunique(dropna=True)
    if column in spec.categories:
        if norm in _CATEGORY_NAMES:
            return "categorical", f"{n_levels} levels, one-hot encoded"
        return "text", (
            f"text with {n_levels} level(s); not used by default (set it "
            "to 'categorical' to one-hot encode it)"
        )
    if n_levels == series.notna().sum() and n_levels >= 5:
        return "id", "every value is different: an identifier"
    return "text", _too_many(series)


_ROLE_WHY = {
    "port": "port number: a category, not a magnitude",
    "ip": "IP address: an identifier",
    "id": "identifier",
    "timestamp": "time (UTC)",
    "categorical": "category, one-hot encoded",
    "feature": "numeric",
    "text": "text; not used",
    "constant": "one value only",
    "empty": "no values",
    "label": "ground truth",
}


def _too_many(series: pd.Series) -> str:
    return (
        f"text with {series.nunique(dropna=True)} distinct values, more than "
        f"{MAX_CATEGORIES}: too many to one-hot encode; not used"
    )


def _constant_reason(series: pd.Series, kind: str) -> str | None:
    if kind in ("numeric", "bool"):
        values = float_values(series)
        finite = np.isfinite(values)
        if finite.all():
            low, high = values.min(), values.max()
        elif finite.any():
            low, high = values[finite].min(), values[finite].max()
        else:
            return None
        if high == low:
            return f"one value only ({_short(low)})"
        if high - low <= CONSTANT_RTOL * max(1.0, abs(low), abs(high)):
            return f"varies only by float noise ({_short(low)} to {_short(high)})"
        return None
    n_levels = series.nunique(dropna=True)
    if n_levels == 1:
        return f"one value only ('{series.dropna().iloc[0]}')"
    return None


def float_values(series: pd.Series) -> np.ndarray:
    """A column as a 1-D float64 array (NaN for missing); no copy when it is one.

    The result may share memory with the frame: never modify it in place.
    """
    dtype = series.dtype
    if dtype == np.float64:
        return series.to_numpy()
    if isinstance(dtype, np.dtype) and dtype.kind in "iub":
        return series.to_numpy().astype(np.float64)
    return series.to_numpy(dtype=np.float64, na_value=np.nan)


def _short(value: float) -> str:
    return f"{value:.6g}"


def _mostly_ips(series: pd.Series) -> bool:
    sample = series.dropna().astype(str).iloc[:200]
    if sample.empty:
        return False
    hits = 0
    for value in sample:
        try:
            ipaddress.ip_address(value.strip())
            hits += 1
        except ValueError:
            pass
    return hits >= 0.9 * len(sample)


def _time_name(norm: str) -> bool:
    """Names of time columns: ts, epoch_s, start_time, Flow Start Timestamp ..."""
    return (
        norm in _TIME_NAMES
        or norm.startswith(("epoch", "unixtime"))
        or norm.endswith(("time", "timestamp"))
    )


def _epoch_like(series: pd.Series) -> bool:
    values = series.dropna().to_numpy(dtype=float)
    if values.size == 0:
        return False
    low, high = values.min(), values.max()
    # 2001 .. 2033 in seconds or milliseconds.
    return (1e9 <= low and high <= 2e9) or (1e12 <= low and high <= 2e12)


def _is_row_counter(series: pd.Series) -> bool:
    if not pd.api.types.is_integer_dtype(series):
        return False
    values = float_values(series)
    if values.size < 3 or values[0] not in (0.0, 1.0) or values[1] != values[0] + 1:
        return False
    return bool(np.all(np.diff(values) == 1.0))


def label_to_y(frame: pd.DataFrame, spec: Preprocessing) -> np.ndarray | None:
    """The label column of ``frame`` as 0/1 integers (1 = anomaly), or None."""
    if spec.label_column is None:
        return None
    return _label_values(
        frame[spec.label_column], spec.label_column, spec.normal_values, strict=True
    )
