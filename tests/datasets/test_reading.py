"""Reading: formats, encodings, layouts, and refusals that name the file and fix."""

import gzip
import io
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import datasets.reading
from datasets import DatasetError, load_table
from datasets.schemas import KDD_FEATURES

ROOT = Path(__file__).resolve().parents[2]


def zipped(members):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member in members:
            archive.writestr(member, "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data, name, message",
    [
        (
            zipped(["[Content_Types].xml", "xl/workbook.xml"]),
            "cardio.xlsx",
            "cardio.xlsx: this is an Excel workbook, not CSV; save it as CSV",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),
            "old.xls",
            "old Excel workbook",
        ),
        (zipped(["data.csv"]), "data.zip", "zip archive; unzip it"),
        (b"\xd4\xc3\xb2\xa1" + bytes(40), "capture.pcap", "packet capture"),
        (b"%PDF-1.7\n", "report.pdf", "PDF document"),
        (bytes(range(256)) * 4, "blob.bin", "binary file, not text"),
        (b"", "empty.csv", "the file is empty"),
        (b"a,b,c\n", "header.csv", "header but no data rows"),
        (
            b"a,b,c\n1,2,3\n4,5\n6,7,8\n",
            "ragged.csv",
            "line 3 has 2 fields but the header has 3",
        ),
        (b"\x1f\x8bnot really gzip", "broken.csv.gz", "compressed file is damaged"),
    ],
)
def test_unreadable_files_are_refused_with_name_and_fix(data, name, message):
    with pytest.raises(DatasetError, match=message.replace("(", r"\(")) as info:
        load_table(data, name=name)
    assert str(info.value).startswith(name)


def test_size_limit_is_explicit(monkeypatch, tmp_path):
    monkeypatch.setattr(datasets.reading, "MAX_UPLOAD_MB", 1)
    big = tmp_path / "big.csv"
    big.write_bytes(b"a,b\n" + b"1,2\n" * 300_000)
    with pytest.raises(
        DatasetError, match=r"big.csv: the file is 1 MB, above the 1 MB"
    ):
        load_table(big)
    with pytest.raises(DatasetError, match="unpacks to"):
        load_table(gzip.compress(big.read_bytes()), name="big.csv.gz")


def test_missing_path_is_named():
    with pytest.raises(DatasetError, match="nothere.csv: no such file"):
        load_table("nothere.csv")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_utf16_and_bom_files_are_decoded(encoding):
    table = load_table(
        "name,value\nZürich,1.5\nMalmö,2\n".encode(encoding), name="u.csv"
    )
    assert table.frame["name"].tolist() == ["Zürich", "Malmö"]
    assert table.frame["value"].tolist() == [1.5, 2.0]


def test_cyrillic_code_page_is_not_read_as_western():
    text = (
        "имя,город,t\nИван,Москва,1\nПётр,Санкт-Петербург,2\n"
        "Анна,Новосибирск,3\nОльга,Екатеринбург,4\n"
    )
    table = load_table(text.encode("cp1251"), name="ru.csv")
    assert table.frame["город"].tolist()[:2] == ["Москва", "Санкт-Петербург"]


@pytest.mark.parametrize(
    "data, name, columns",
    [
        (b"a\tb\n1\t2\n", "x.tsv", ["a", "b"]),
        (b"a|b|c\n1|2|3\n4|5|6\n", "x.txt", ["a", "b", "c"]),
        (b"a,b\r\n1,2\r\n3,4\r\n", "crlf.csv", ["a", "b"]),
        (b",a,\n1,2,3\n", "blank.csv", ["column_1", "a", "column_3"]),
    ],
)
def test_delimiters_and_names(data, name, columns):
    assert list(load_table(data, name=name).frame.columns) == columns


def test_quoted_fields_keep_embedded_newlines_and_delimiters():
    data = b'id,comment,v\n1,"line one\nline two, with comma",3.5\n2,"x ""quoted""",4\n'
    frame = load_table(data, name="q.csv").frame
    assert frame["comment"].tolist() == ["line one\nline two, with comma", 'x "quoted"']
    assert frame["v"].tolist() == [3.5, 4.0]


def test_infinity_nan_and_empty_are_non_finite():
    data = b"a,b\n1,Infinity\n2,-Infinity\n3,inf\n4,NaN\n5,\n6,7\n"
    b = load_table(data, name="x.csv").frame["b"].to_numpy(dtype=float)
    assert np.isposinf(b[[0, 2]]).all() and np.isneginf(b[1])
    assert np.isnan(b[[3, 4]]).all() and b[5] == 7


def test_quoted_thousands_separators_are_numbers():
    table = load_table(b'a,b\n"1,234.5",2\n"2,000.0",3\n', name="x.csv")
    assert table.frame["a"].tolist() == [1234.5, 2000.0]
    assert any("thousands" in note for note in table.notes)


def test_mixed_utc_offsets_are_parsed_to_utc():
    data = (
        b"t,v\n2024-01-01T10:00:00+01:00,1\n2024-01-01T09:30:00Z,2\n"
        b"2024-01-01 04:00:00-05:00,3\n"
    )
    times = load_table(data, name="tz.csv").frame["t"]
    assert times.tolist() == [
        pd.Timestamp(f"2024-01-01 {t}", tz="UTC") for t in ("09:00", "09:30", "09:00")
    ]


def test_headerless_kdd99_gets_standard_names():
    row = (
        "0,tcp,http,SF,181,5450,0,0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,8,8,0.00,0.00,0.00,"
        "0.00,1.00,0.00,0.00,9,9,1.00,0.00,0.11,0.00,0.00,0.00,0.00,0.00,{}.\n"
    )
    table = load_table((row.format("normal") + row.format("smurf")).encode(), name="k")
    assert table.schema == "kdd99"
    assert list(table.frame.columns) == [*KDD_FEATURES, "attack"]


def test_generic_headerless_numbers_get_positional_names():
    table = load_table(b"1,2.5,3\n4,5.5,6\n", name="n.csv")
    assert list(table.frame.columns) == ["column_1", "column_2", "column_3"]
    assert len(table.frame) == 2


def test_parquet_and_gzip_paths(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_csv(tmp_path / "f.csv.gz", index=False)
    for path in (tmp_path / "f.parquet", tmp_path / "f.csv.gz"):
        assert load_table(path).frame.to_dict("list") == frame.to_dict("list")


def test_file_like_without_getvalue_is_read():
    table = load_table(io.BytesIO(b"a;b\n1,5;2\n"), name="semi.csv")
    assert table.frame.to_dict("list") == {"a": [1.5], "b": [2]}


def test_no_streamlit_import_anywhere_in_datasets():
    code = (
        "import sys, datasets, datasets.reading, datasets.roles, datasets.prepare, "
        "datasets.traffic, datasets.samples, datasets.schemas, datasets.make_samples, "
        "datasets.__main__; assert 'streamlit' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_excel_sep_hint_line_is_removed():
    table = load_table(b"sep=;\na;b\n1,5;2\n3;4\n", name="excel.csv")
    assert table.frame.to_dict("list") == {"a": [1.5, 3.0], "b": [2, 4]}
    assert any("sep=" in note for note in table.notes)


def test_zeek_json_lines_log_is_read_with_its_layout():
    lines = [
        '{"ts":1709629260.835441,"uid":"C1","id.orig_h":"192.0.2.1","id.orig_p":5555,'
        '"id.resp_h":"198.51.100.1","id.resp_p":80,"proto":"tcp","orig_bytes":100}',
        '{"ts":1709629270.5,"uid":"C2","id.orig_h":"2001:db8::1","id.orig_p":5556,'
        '"id.resp_h":"198.51.100.1","id.resp_p":443,"proto":"udp","orig_bytes":300}',
    ]
    table = load_table("\n".join(lines).encode(), name="conn.json")
    assert table.schema == "zeek-conn"
    assert table.frame["ts"][0] == pd.Timestamp("2024-03-05 09:01:00.835441", tz="UTC")
    assert table.frame["orig_bytes"].tolist() == [100, 300]


def test_text_token_after_the_sniffed_rows_still_reads_as_missing():
    """Columns typed as float from the first rows are re-read untyped on a surprise."""
    data = b"a,b\n" + b"1.5,2\n" * 200 + b"OK,5\n" + b"2.5,3\n"
    frame = load_table(data, name="late.csv").frame
    assert frame["a"].dtype == np.float64
    assert np.flatnonzero(frame["a"].isna()).tolist() == [200]
    assert frame["a"].iloc[-1] == 2.5


@pytest.mark.parametrize(
    "cells, expected",
    [
        (
            ["3/7/2017 8:55", "7/7/2017 12:59:01"],
            ["2017-07-03 08:55", "2017-07-07 12:59:01"],
        ),
        (
            ["12/31/2020 23:00", "1/2/2021 01:00"],
            ["2020-12-31 23:00", "2021-01-02 01:00"],
        ),
        (
            ["31.12.2020 23:00:05", "01.01.2021 01:00"],
            ["2020-12-31 23:00:05", "2021-01-01 01:00"],
        ),
    ],
)
def test_slash_and_dot_dates_pick_the_order_the_values_allow(cells, expected):
    data = ("t,v\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells))).encode()
    times = load_table(data, name="d.csv").frame["t"]
    assert times.tolist() == [pd.Timestamp(e, tz="UTC") for e in expected]


def test_pandas_default_integer_names_are_a_header():
    table = load_table(b"0,1,2,label\n0.5,1.5,2.5,0\n3.5,4.5,5.5,1\n", name="np.csv")
    assert list(table.frame.columns) == ["0", "1", "2", "label"]
    assert len(table.frame) == 2


@pytest.mark.parametrize(
    "data, message",
    [
        (b"a,b,c\n1,2\n", "line 2 has 2 fields"),
        (b"a,b,c\n1,2,3\n4,5\n6,7\n8,9\n1,2\n3,4\n", "line 3 has 2 fields"),
    ],
)
def test_short_rows_at_the_end_are_not_taken_for_a_footer(data, message):
    with pytest.raises(DatasetError, match=message):
        load_table(data, name="short.csv")


def test_a_short_summary_after_data_rows_is_a_footer():
    table = load_table(b"a,b,c\n1,2,3\n4,5,6\nTotal\n2 rows\n", name="f.csv")
    assert table.frame["a"].tolist() == [1, 4]
    assert any("footer" in note for note in table.notes)


def test_json_objects_in_cells_become_text():
    table = load_table(
        b'[{"a": 1, "meta": {"k": 2}}, {"a": 2, "meta": {"k": 3}}]', name="nested.json"
    )
    assert table.frame["meta"].tolist() == ['{"k": 2}', '{"k": 3}']
    pa.Table.from_pandas(table.frame)
