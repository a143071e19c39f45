"""Property tests: random frames written as CSV variants read back unchanged."""

import csv

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datasets import load_table

NAMES = [
    "bytes",
    "température",
    "Druck",
    "Flow Bytes/s",
    "naïve rate",
    "x0",
    "pkts, total",
    'say "hi"',
    "Zürich",
    "dur",
]
NULLISH = {"na", "nan", "null", "none", "n/a", "true", "false", "inf", "infinity"}

floats = st.floats(allow_nan=False, allow_infinity=False, width=64)
texts = st.from_regex(r"[A-Za-zé][A-Za-zé ,;\"\n]{0,8}[A-Za-z]", fullmatch=True).filter(
    lambda s: s.strip().lower() not in NULLISH
)


@st.composite
def frames(draw):
    n_rows = draw(st.integers(1, 12))
    n_cols = draw(st.integers(1, 5))
    # One column whose name holds a comma reads like two columns: ambiguous.
    pool = NAMES if n_cols > 1 else [n for n in NAMES if "," not in n]
    names = draw(
        st.lists(st.sampled_from(pool), min_size=n_cols, max_size=n_cols, unique=True)
    )
    data = {}
    for name in names:
        kinds = ["float", "float-nan", "int"] if n_cols > 1 else ["float", "int"]
        # A one-column row holding only a missing value is a blank line: skipped.
        kind = draw(st.sampled_from(kinds))
        if kind == "int":
            values = draw(
                st.lists(
                    st.integers(-(10**12), 10**12), min_size=n_rows, max_size=n_rows
                )
            )
            data[name] = np.array(values, dtype=np.int64)
        else:
            values = draw(st.lists(floats, min_size=n_rows, max_size=n_rows))
            column = np.array(values, dtype=np.float64)
            if kind == "float-nan":
                holes = draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows))
                column[np.array(holes)] = np.nan
            data[name] = column
    if draw(st.booleans()):
        data["comment"] = draw(st.lists(texts, min_size=n_rows, max_size=n_rows))
    return pd.DataFrame(data)


VARIANTS = st.sampled_from(
    [
        (",", ".", "utf-8"),
        (";", ".", "utf-8"),
        ("\t", ".", "utf-8"),
        (";", ",", "utf-8"),
        ("\t", ",", "utf-8"),
        (",", ".", "utf-8-sig"),
        (";", ",", "utf-8-sig"),
        (",", ".", "utf-16"),
        ("\t", ".", "utf-16"),
        (",", ".", "cp1252"),
        (";", ",", "cp1252"),
    ]
)
QUOTING = st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_NONNUMERIC, csv.QUOTE_ALL])


def assert_same(original: pd.DataFrame, read: pd.DataFrame):
    assert list(read.columns) == list(original.columns)
    assert read.shape == original.shape
    for name in original.columns:
        expected, got = original[name], read[name]
        if name == "comment":
            assert got.astype(str).tolist() == expected.astype(str).tolist()
            continue
        assert pd.api.types.is_numeric_dtype(got), (name, got.dtype)
        np.testing.assert_array_equal(
            got.to_numpy(dtype=float, na_value=np.nan), expected.to_numpy(dtype=float)
        )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames(), variant=VARIANTS, quoting=QUOTING)
def test_csv_variants_round_trip(frame, variant, quoting):
    """Separator, decimal mark, quoting and encoding never change a value."""
    sep, decimal, encoding = variant
    text = frame.to_csv(
        index=False,
        sep=sep,
        decimal=decimal,
        quoting=quoting,
        lineterminator="\r\n" if encoding == "cp1252" else "\n",
    )
    raw = text.encode(encoding)
    table = load_table(raw, name="roundtrip.csv")
    assert_same(frame, table.frame)


@settings(max_examples=15, deadline=None)
@given(frame=frames())
def test_gzip_and_parquet_round_trip(frame, tmp_path_factory):
    folder = tmp_path_factory.mktemp("rt")
    frame.to_csv(folder / "f.csv.gz", index=False)
    assert_same(frame, load_table(folder / "f.csv.gz").frame)
    frame.to_parquet(folder / "f.parquet")
    assert_same(frame, load_table(folder / "f.parquet").frame)
