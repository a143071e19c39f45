"""Traffic matrices: flows aggregated into time bins x origin-destination pairs.

A traffic matrix has one row per time bin and one column per OD pair, the
representation in which PCA and Robust PCA find network-wide volume anomalies
(Lakhina, Crovella and Diot, "Diagnosing network-wide traffic anomalies",
SIGCOMM 2004). Columns are named ``"origin->destination"``.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import DatasetError
from .roles import Preprocessing, infer_roles, label_to_y
from .schemas import normalise_name

logger = logging.getLogger(__name__)

#: Separator between origin and destination in a traffic-matrix column name.
PAIR_SEPARATOR = "->"
#: Largest traffic matrix built (bins x groups): 20 million cells, 160 MB.
MAX_MATRIX_CELLS = 20_000_000

# Per-schema columns summed for "bytes" and "packets" (both directions).
_VOLUME_COLUMNS = {
    "bytes": (
        ("Total Length of Fwd Packets", "Total Length of Bwd Packets"),
        ("Total Length of Fwd Packet", "Total Length of Bwd Packet"),
        ("TotLen Fwd Pkts", "TotLen Bwd Pkts"),
        ("orig_ip_bytes", "resp_ip_bytes"), ("sbytes", "dbytes"), ("ibyt", "obyt"),
        ("src_bytes", "dst_bytes"), ("bytes",), ("in_bytes", "out_bytes"),
        ("IN_BYTES", "OUT_BYTES"), ("doctets",), ("octets",), ("Bytes",),
    ),
    "packets": (
        ("Total Fwd Packets", "Total Backward Packets"),
        ("Total Fwd Packet", "Total Bwd packets"), ("Tot Fwd Pkts", "Tot Bwd Pkts"),
        ("orig_pkts", "resp_pkts"), ("Spkts", "Dpkts"), ("ipkt", "opkt"),
        ("packets",), ("in_pkts", "out_pkts"), ("IN_PKTS", "OUT_PKTS"), ("dpkts",),
        ("pkts",), ("Packets",),
    ),
}  # fmt: skip
_SRC_HINTS = ("src", "source", "orig", "sa", "client")
_DST_HINTS = ("dst", "dest", "destination", "resp", "da", "server")


@dataclass(frozen=True)
class InjectedAnomaly:
    """One anomaly planted by :func:`synth_traffic_matrix`."""

    kind: str
    pairs: tuple[str, ...]
    start: int
    n_bins: int
    description: str


def flows_to_traffic_matrix(
    flows: pd.DataFrame,
    *,
    bin: str = "5min",
    by: tuple[str, ...] = ("src", "dst"),
    value: str = "bytes",
    prefix: int | None = None,
    spec: Preprocessing | None = None,
    time_column: str | None = None,
    src_column: str | None = None,
    dst_column: str | None = None,
    top: int | None = None,
    name: str = "flows",
) -> pd.DataFrame:
    """Sum flow volumes per time bin and origin-destination pair.

    Parameters
    ----------
    flows : pandas.DataFrame
        One flow per row, as read by :func:`datasets.load_table`.
    bin : str, default="5min"
        Bin width as a pandas frequency ("5min", "1h"); bins are left-closed
        and aligned to the epoch, every bin from the first to the last flow
        is present (empty bins hold 0).
    by : tuple of {"src", "dst"}, default=("src", "dst")
        Group by OD pair, or by origin or destination only.
    value : str, default="bytes"
        "bytes", "packets" (both directions summed), "flows" (a count) or the
        name of a numeric column.
    prefix : int, optional
        Group IPv4 addresses into /prefix networks (IPv6 into /64) instead
        of single hosts.
    spec : Preprocessing, optional
        Column roles; inferred when omitted.
    time_column, src_column, dst_column : str, optional
        Override the columns found by role and name.
    top : int, optional
        Keep the ``top`` groups with the most volume and sum the others into
        a column ``other`` (row totals unchanged).
    name : str, default="flows"
        File name for messages.

    Returns
    -------
    pandas.DataFrame
        Column ``time`` (bin start, UTC), then one float column per group
        named ``"a->b"`` (or ``"a"``), sorted by name, and ``label`` (1 when
        a flow in the bin is labelled anomalous) when the flows have a label.
        ``frame.attrs["notes"]`` says what was aggregated and dropped.

    Raises
    ------
    DatasetError
        When no time, address or volume column can be found, ``bin`` is not
        a frequency, or the matrix would exceed :data:`MAX_MATRIX_CELLS`.

    Examples
    --------
    >>> flows = pd.DataFrame({
    ...     "ts": pd.to_datetime(["2024-01-01 00:01", "2024-01-01 00:07"], utc=True),
    ...     "src_ip": ["10.0.0.1", "10.0.0.1"], "dst_ip": ["10.0.0.2"] * 2,
    ...     "bytes": [100, 50]})
    >>> flows_to_traffic_matrix(flows)["10.0.0.1->10.0.0.2"].tolist()
    [100.0, 50.0]
    """
    if not by or any(part not in ("src", "dst") for part in by):
        raise DatasetError(
            f"{name}: --by must be 'src,dst', 'src' or 'dst', got {','.join(by)!r}"
        )
    try:
        freq = pd.tseries.frequencies.to_offset(bin)
        pd.Timedelta(freq)
    except (ValueError, TypeError) as exc:
        raise DatasetError(
            f"{name}: '{bin}' is not a bin width; use e.g. 5min, 15min, 1h"
        ) from exc
    if spec is None:
        spec = infer_roles(flows)
    notes: list[str] = []
    time_column = time_column or _pick(
        flows, spec, "timestamp", (), name, "time", option="--time-column"
    )
    times = _as_utc(flows[time_column], time_column, name)
    endpoints = {}
    if "src" in by:
        endpoints["src"] = src_column or _pick(
            flows, spec, "ip", _SRC_HINTS, name, "source address", option="--src-column"
        )
    if "dst" in by:
        endpoints["dst"] = dst_column or _pick(
            flows,
            spec,
            "ip",
            _DST_HINTS,
            name,
            "destination address",
            option="--dst-column",
            exclude=endpoints.get("src"),
        )
    volume, value_text = _volume(flows, value, name)

    keys = {
        part: _group_addresses(flows[column], prefix)
        for part, column in endpoints.items()
    }
    valid = times.notna().to_numpy() & np.isfinite(volume)
    for key in keys.values():
        valid &= key.notna().to_numpy()
    n_dropped = int((~valid).sum())
    if n_dropped:
        notes.append(
            f"Left out {n_dropped} flow(s) without a time, address or finite "
            f"{value_text}."
        )
    if not valid.any():
        raise DatasetError(
            f"{name}: no flow has a time, addresses and a {value_text}; "
            "check the columns"
        )
    group = keys[by[0]][valid].astype(str)
    if len(by) == 2:
        group = group + PAIR_SEPARATOR + keys[by[1]][valid].astype(str)
    bins = times[valid].dt.floor(freq)
    grid = pd.date_range(bins.min(), bins.max(), freq=freq)
    long = pd.DataFrame(
        {"time": bins.to_numpy(), "group": group.to_numpy(), "value": volume[valid]}
    )
    n_groups = long["group"].nunique()
    if top is not None and n_groups > top:
        # Lump the small groups before pivoting, so the matrix stays small.
        totals = (
            long.groupby("group")["value"]
            .sum()
            .sort_values(ascending=False, kind="stable")
        )
        small = ~long["group"].isin(totals.index[:top])
        long.loc[small, "group"] = "other"
        notes.append(
            f"Kept the {top} largest groups; {n_groups - top} others summed into "
            "'other'."
        )
        n_groups = top + 1
    if len(grid) * n_groups > MAX_MATRIX_CELLS:
        raise DatasetError(
            f"{name}: {len(grid)} bins x {n_groups} groups is "
            f"{len(grid) * n_groups:,} cells, above {MAX_MATRIX_CELLS:,}; use a wider "
            "--bin, --prefix 24 or --top N"
        )
    matrix = long.pivot_table(
        index="time", columns="group", values="value", aggfunc="sum", fill_value=0.0
    )
    matrix = matrix.reindex(grid, fill_value=0.0).astype(np.float64)
    ordered = sorted(c for c in matrix.columns if c != "other")
    matrix = matrix.reindex(ordered + (["other"] if "other" in matrix else []), axis=1)
    matrix.index.name = "time"
    result = matrix.reset_index()
    result.columns.name = None

    if spec.label_column is not None:
        y = label_to_y(flows, spec)[valid]
        flagged = pd.Series(y, index=bins.index).groupby(bins.to_numpy()).max()
        result["label"] = flagged.reindex(grid, fill_value=0).to_numpy().astype(int)
        notes.append(
            f"label = 1 in the {int(result['label'].sum())} bin(s) holding a "
            f"flow labelled anomalous by '{spec.label_column}'."
        )
    where = "hosts" if prefix is None else f"/{prefix} networks (IPv6: /64)"
    notes.insert(
        0,
        f"Aggregated {int(valid.sum())} flows into {len(grid)} bins of "
        f"{bin} x {matrix.shape[1]} {'-'.join(by)} groups of {where}; "
        f"value = {value_text}; time from '{time_column}', addresses from "
        f"{', '.join(repr(c) for c in endpoints.values())}.",
    )
    result.attrs["notes"] = notes
    logger.debug(notes[0])
    return result


def _pick(flows, spec, role, hints, name, what, option, exclude=None) -> str:
    """The column with ``role``, preferring names containing one of ``hints``."""
    candidates = [c for c, r in spec.roles.items() if r == role and c != exclude]
    if role == "ip":
        # A constant address column (one host) still names an endpoint.
        candidates += [
            c
            for c, r in spec.roles.items()
            if r in ("constant", "id", "text") and c != exclude and _holds_ips(flows[c])
        ]
    if role == "timestamp" and not candidates:
        candidates = [
            c for c in flows.columns if pd.api.types.is_datetime64_any_dtype(flows[c])
        ]
    for hint in hints:
        for column in candidates:
            # "id.orig_h" and "IPV4_SRC_ADDR" start with their direction once
            # the "id"/"ipv4" prefix is gone.
            norm = re.sub(r"^(id|ipv4|ipv6|ip)", "", normalise_name(column))
            if norm.startswith(hint):
                return column
    if candidates:
        return candidates[0]
    raise DatasetError(
        f"{name}: no {what} column found (roles: "
        f"{', '.join(f'{c}={r}' for c, r in list(spec.roles.items())[:10])}"
        f"); name it with {option} or check the file"
    )


def _holds_ips(series: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(series) or series.isna().all():
        return False
    sample = series.dropna().astype(str).iloc[:50]
    try:
        for value in sample:
            ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True


def _as_utc(series: pd.Series, column: str, name: str) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        return series.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(series):
        return series.dt.tz_localize("UTC")
    if pd.api.types.is_numeric_dtype(series):
        return pd.Series(
            pd.to_datetime(series.to_numpy(dtype=float) * 1e6, unit="us", utc=True),
            index=series.index,
        )
    parsed = pd.to_datetime(series, utc=True, errors="coerce", format="ISO8601")
    if parsed.notna().mean() < 0.5:
        raise DatasetError(
            f"{name}: column '{column}' does not hold times; name the "
            "time column explicitly"
        )
    return parsed


def _volume(flows: pd.DataFrame, value: str, name: str) -> tuple[np.ndarray, str]:
    if value == "flows":
        return np.ones(len(flows)), "flow count"
    if value in flows.columns:
        column = flows[value]
        if not pd.api.types.is_numeric_dtype(column):
            raise DatasetError(
                f"{name}: column '{value}' is not numeric; choose a "
                "byte or packet count column for --value"
            )
        return column.to_numpy(dtype=np.float64, na_value=np.nan), f"'{value}'"
    if value not in _VOLUME_COLUMNS:
        raise DatasetError(
            f"{name}: --value must be bytes, packets, flows or a column "
            f"name; no column '{value}'"
        )
    for group in _VOLUME_COLUMNS[value]:
        if all(c in flows.columns for c in group):
            total = np.zeros(len(flows))
            for column in group:
                total += flows[column].to_numpy(dtype=np.float64, na_value=np.nan)
            return total, f"{value} ({' + '.join(group)})"
    raise DatasetError(
        f"{name}: no {value} column found; pass the column name with --value COLUMN"
    )


def _group_addresses(series: pd.Series, prefix: int | None) -> pd.Series:
    """Addresses as text, or their /prefix networks (IPv6: /64)."""
    text = series.astype("string").str.strip()
    if prefix is None:
        return text
    if not 0 <= prefix <= 32:
        raise DatasetError(f"--prefix must be between 0 and 32, got {prefix}")
    networks = {}
    for address in text.dropna().unique():
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            networks[address] = address
            continue
        bits = prefix if ip.version == 4 else 64
        networks[address] = str(ipaddress.ip_network(f"{ip}/{bits}", strict=False))
    return text.map(networks)


def synth_traffic_matrix(
    n_nodes: int = 12,
    days: int = 7,
    bin_minutes: int = 5,
    seed: int = 0,
    noise: float = 0.05,
    start: str = "2024-01-01",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic traffic matrix with planted volume anomalies and ground truth.

    Volumes follow a gravity model (pair mean proportional to the product
    of the two nodes' weights) times a daily cycle (peak mid-afternoon), a
    weekend dip and independent multiplicative noise. Four anomalies are
    planted at random (but seeded) places:

    - ddos: one OD pair toward a victim carries 20x its mean for 6 bins;
    - outage: every pair out of one node drops to 0 for 12 bins;
    - shift: 80 % of one pair's traffic moves to another pair with the same
      origin for 18 bins (one cell drops, one rises);
    - scan: one origin sends to every destination 6x the median pair mean,
      for 3 bins.

    Parameters
    ----------
    n_nodes : int, default=12
        Nodes; the matrix has n_nodes ** 2 OD pairs (self pairs included).
    days : int, default=7
        Length in days.
    bin_minutes : int, default=5
        Bin width.
    seed : int, default=0
        Seed of ``numpy.random.default_rng``.
    noise : float, default=0.05
        Standard deviation of the log-normal multiplicative noise.
    start : str, default="2024-01-01"
        First bin (UTC); 2024-01-01 is a Monday.

    Returns
    -------
    matrix : pandas.DataFrame
        ``time`` (UTC), one column per pair ``"n01->n02"`` (bytes per bin,
        whole numbers) and ``label`` (1 in bins holding an injected cell).
    truth : pandas.DataFrame
        One row per injected cell: ``time``, ``bin`` (row position),
        ``pair``, ``anomaly`` (ddos, outage, shift, scan) and ``expected``
        (the volume without the anomaly).

    Examples
    --------
    >>> matrix, truth = synth_traffic_matrix(n_nodes=4, days=1)
    >>> matrix.shape, sorted(truth["anomaly"].unique())
    ((288, 18), ['ddos', 'outage', 'scan', 'shift'])
    """
    if n_nodes < 3:
        raise ValueError(f"n_nodes must be at least 3, got {n_nodes}")
    if days < 1 or bin_minutes < 1 or 1440 % bin_minutes:
        raise ValueError(
            "days must be >= 1 and bin_minutes must divide 1440, got "
            f"days={days}, bin_minutes={bin_minutes}"
        )
    rng = np.random.default_rng(seed)
    per_day = 1440 // bin_minutes
    n_bins = days * per_day
    nodes = [f"n{i + 1:02d}" for i in range(n_nodes)]
    pairs = [f"{a}{PAIR_SEPARATOR}{b}" for a in nodes for b in nodes]
    times = pd.date_range(start, periods=n_bins, freq=f"{bin_minutes}min", tz="UTC")

    # Gravity model: pair mean = total * w_a * w_b, node weights log-normal.
    weights = rng.lognormal(mean=0.0, sigma=0.6, size=n_nodes)
    weights /= weights.sum()
    means = 2e9 * np.outer(weights, weights).ravel()
    hours = (times.hour + times.minute / 60).to_numpy()
    daily = 1.0 + 0.6 * np.sin(2 * np.pi * (hours - 9.0) / 24.0)
    weekly = np.where(times.day_of_week.to_numpy() >= 5, 0.7, 1.0)
    expected = np.outer(daily * weekly, means)
    volumes = expected * rng.lognormal(mean=0.0, sigma=noise, size=expected.shape)

    anomalies = []
    slots = _spread_starts(rng, n_bins, 4, longest=18)
    victim_pair = int(rng.choice(np.argsort(means)[len(means) // 4 : len(means) // 2]))
    anomalies.append(
        InjectedAnomaly(
            "ddos",
            (pairs[victim_pair],),
            slots[0],
            6,
            f"{pairs[victim_pair]} carries 20x its mean",
        )
    )
    down = int(rng.integers(n_nodes))
    anomalies.append(
        InjectedAnomaly(
            "outage",
            tuple(pairs[down * n_nodes + j] for j in range(n_nodes)),
            slots[1],
            12,
            f"node {nodes[down]} sends nothing",
        )
    )
    origin = int(rng.integers(n_nodes))
    src_j, dst_j = rng.choice(
        [j for j in range(n_nodes) if j != origin], 2, replace=False
    )
    moved_from, moved_to = origin * n_nodes + int(src_j), origin * n_nodes + int(dst_j)
    anomalies.append(
        InjectedAnomaly(
            "shift",
            (pairs[moved_from], pairs[moved_to]),
            slots[2],
            18,
            f"80 % of {pairs[moved_from]} moves to {pairs[moved_to]}",
        )
    )
    scanner = int(rng.integers(n_nodes))
    anomalies.append(
        InjectedAnomaly(
            "scan",
            tuple(pairs[scanner * n_nodes + j] for j in range(n_nodes)),
            slots[3],
            3,
            f"{nodes[scanner]} probes every destination",
        )
    )

    truth_rows = []
    clean = volumes.copy()
    for anomaly in anomalies:
        window = slice(anomaly.start, anomaly.start + anomaly.n_bins)
        columns = [pairs.index(p) for p in anomaly.pairs]
        if anomaly.kind == "ddos":
            volumes[window, columns[0]] += 20 * means[columns[0]]
        elif anomaly.kind == "outage":
            volumes[window, columns] = 0.0
        elif anomaly.kind == "shift":
            moved = 0.8 * volumes[window, columns[0]]
            volumes[window, columns[0]] -= moved
            volumes[window, columns[1]] += moved
        else:
            volumes[window, columns] += 6 * np.median(means)
        for b in range(anomaly.start, anomaly.start + anomaly.n_bins):
            for c in columns:
                truth_rows.append(
                    (times[b], b, pairs[c], anomaly.kind, round(clean[b, c]))
                )

    matrix = pd.DataFrame(np.round(volumes), columns=pairs)
    matrix.insert(0, "time", times)
    truth = pd.DataFrame(
        truth_rows, columns=["time", "bin", "pair", "anomaly", "expected"]
    )
    label = np.zeros(n_bins, dtype=int)
    label[truth["bin"].unique()] = 1
    matrix["label"] = label
    matrix.attrs["anomalies"] = anomalies
    return matrix, truth


def _spread_starts(
    rng: np.random.Generator, n_bins: int, count: int, longest: int
) -> list[int]:
    """Start bins for ``count`` events, one per equal slice, never overlapping."""
    width = n_bins // count
    if width <= longest:
        raise ValueError(
            f"{n_bins} bins are too few for {count} anomalies of up to "
            f"{longest} bins; use more days"
        )
    return [int(k * width + rng.integers(0, width - longest)) for k in range(count)]


def od_cells(matrix: pd.DataFrame) -> list[str]:
    """The OD-pair columns of a traffic matrix."""
    return [c for c in matrix.columns if PAIR_SEPARATOR in str(c)]


def keep_top(matrix: pd.DataFrame, top: int) -> pd.DataFrame:
    """Keep the ``top`` groups with the most volume; sum the others into ``other``.

    Row totals are unchanged, so the matrix still accounts for every flow.
    """
    if top < 1:
        raise DatasetError(f"--top must be at least 1, got {top}")
    cells = od_cells(matrix) or [
        c for c in matrix.columns if c not in ("time", "label")
    ]
    if len(cells) <= top:
        return matrix
    ranked = matrix[cells].sum().sort_values(ascending=False, kind="stable").index
    kept, rest = sorted(ranked[:top]), list(ranked[top:])
    result = matrix.drop(columns=rest)
    position = list(result.columns).index(kept[-1]) + 1
    result.insert(position, "other", matrix[rest].sum(axis=1))
    result.attrs = dict(matrix.attrs)
    result.attrs["notes"] = [
        *matrix.attrs.get("notes", []),
        f"Kept the {top} largest groups; {len(rest)} others summed into 'other'.",
    ]
    return result
