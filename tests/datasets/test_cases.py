"""The hostile input files of shared/cases: exact values from their README rows."""

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from datasets import infer_roles, load_table, prepare

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases" / "inputs"


def read(filename):
    table = load_table(CASES / filename)
    spec = infer_roles(table.frame, schema=table.schema)
    return table, spec


def with_role(spec, role):
    return [c for c, r in spec.roles.items() if r == role]


def test_case01_cp1252_is_decoded_without_latin1_control_characters():
    table, spec = read("01-cp1252-accents.csv")
    assert table.frame.shape == (8, 5)
    assert table.frame["city"][0] == "Montréal"
    assert table.frame["note"][3] == "maintenance \u2013 planned"
    assert "\u0096" not in "".join(table.frame["note"].astype(str))
    assert any("1252" in note for note in table.notes)
    assert spec.feature_columns == ["temp_c", "load_pct"]


def test_case03_semicolons_and_decimal_commas():
    table, spec = read("03-semicolon-decimal-comma.csv")
    frame = table.frame
    assert frame.shape == (30, 5)
    assert isinstance(frame["zeitpunkt"].dtype, pd.DatetimeTZDtype)
    for column in ["temperatur", "druck", "feuchte", "leistung"]:
        assert frame[column].dtype == np.float64
    assert frame.iloc[0, 1:].tolist() == [26.00, 1013.17, 44.5, 1130.6]
    assert frame["zeitpunkt"][7] == pd.Timestamp("2019-06-12 08:10:17", tz="UTC")
    assert frame["temperatur"][7] == 41.5
    assert spec.roles["zeitpunkt"] == "timestamp"
    assert spec.feature_columns == ["temperatur", "druck", "feuchte", "leistung"]


def test_case05_duplicate_headers_keep_every_column():
    table, spec = read("05-duplicate-headers.csv")
    frame = table.frame
    assert frame.shape[1] == 5
    assert len(set(frame.columns)) == 5
    assert list(frame.columns) == [
        "bytes",
        "packets",
        "bytes.2",
        "bytes.1",
        "packets.1",
    ]
    assert frame.sum().tolist() == [100, 200, 300, 400, 500]
    assert sum("repeats the name" in note for note in table.notes) == 2
    assert prepare(frame, spec).X.sum(axis=0).tolist() == [100, 200, 300, 400, 500]


@pytest.mark.parametrize("missing, n_scored", [("impute", 20), ("drop", 16)])
def test_case06_text_tokens_in_a_numeric_column(missing, n_scored):
    table, spec = read("06-mixed-type-column.csv")
    latency = table.frame["latency_ms"]
    assert latency.dtype == np.float64
    assert np.flatnonzero(latency.isna()).tolist() == [3, 8, 12, 17]
    assert any("latency_ms" in n and "4 missing" in n for n in table.notes)
    pa.Table.from_pandas(table.frame)
    assert spec.roles["status"] != "feature"
    prepared = prepare(table.frame, spec, missing=missing)
    assert prepared.feature_names == ["latency_ms", "throughput"]
    assert prepared.X.shape == (n_scored, 2)
    assert prepared.missing_rows.tolist() == [3, 8, 12, 17]
    word = "imputed" if missing == "impute" else "dropped"
    assert any(word in line and "3, 8, 12, 17" in line for line in prepared.report)


def test_case09_constant_and_near_constant_columns_are_excluded():
    table, spec = read("09-constant-columns.csv")
    assert with_role(spec, "constant") == ["const_col", "near_const", "zero_col"]
    prepared = prepare(table.frame, spec)
    assert prepared.feature_names == ["f1", "f2", "f3", "f4"]
    assert prepared.X.shape == (200, 4)
    assert np.isfinite(prepared.X).all()


@pytest.mark.parametrize("missing, n_scored", [("impute", 100), ("drop", 95)])
def test_case10_infinity_and_nan_are_non_finite(missing, n_scored):
    table, spec = read("10-flows-nan-inf.csv")
    values = table.frame.drop(columns="Label").to_numpy(dtype=float)
    assert int(np.isinf(values).sum()) == 4
    assert int(np.isnan(values).sum()) == 5
    bad_rows = np.flatnonzero(~np.isfinite(values).all(axis=1))
    assert bad_rows.tolist() == [12, 23, 57, 64, 88]
    assert spec.label_column == "Label"
    prepared = prepare(table.frame, spec, missing=missing)
    assert "Label" not in prepared.feature_names
    assert len(prepared.feature_names) == 6
    assert prepared.X.shape == (n_scored, 6)
    assert np.isfinite(prepared.X).all()
    assert prepared.missing_rows.tolist() == [12, 23, 57, 64, 88]
    assert prepared.y_true.sum() == 2
    assert any("12, 23, 57, 64, 88" in line for line in prepared.report)


def test_case12_eight_rows_twelve_columns_read_whole():
    table, spec = read("12-eight-rows-twelve-cols.csv")
    assert table.frame.shape == (8, 12)
    assert prepare(table.frame, spec).X.shape == (8, 12)


def test_case17_six_thousand_rows_are_read():
    table, spec = read("17-chart-6000-rows.csv")
    assert table.frame.shape[0] == 6000
    assert spec.roles["epoch_s"] == "timestamp"
    prepared = prepare(table.frame, spec)
    assert prepared.X.shape == (6000, 2)
    assert prepared.feature_names == ["bytes", "pkts"]


def test_case20_headerless_nslkdd():
    table, spec = read("20-nslkdd-headerless.csv")
    frame = table.frame
    assert frame.shape == (30, 43)
    assert table.schema == "nsl-kdd"
    assert list(frame.columns[:4]) == ["duration", "protocol_type", "service", "flag"]
    assert frame["duration"][0] == 0
    assert any("no header" in note for note in table.notes)
    levels = {c: len(spec.categories[c]) for c in with_role(spec, "categorical")}
    assert levels == {"protocol_type": 3, "service": 5, "flag": 3}
    assert spec.roles["attack"] == "label"
    assert spec.roles["difficulty"] != "feature"
    assert frame["difficulty"].between(15, 21).all()
    numeric = [c for c in frame.columns[:41] if c not in levels]
    assert len(numeric) == 38
    assert len([c for c in numeric if spec.roles[c] == "constant"]) == 26
    prepared = prepare(frame, spec)
    assert len(prepared.feature_names) == 23
    assert sum("=" in name for name in prepared.feature_names) == 11
    assert prepared.y_true[[5, 18, 24]].tolist() == [1, 1, 1]


def test_case23_formulas_are_read_as_literal_text():
    table, spec = read("23-csv-formula-injection.csv")
    frame = table.frame
    assert frame["comment"][1].startswith("=HYPERLINK(")
    assert frame["comment"][2] == "+1+1"
    assert frame["comment"][3] == "-2+3"
    assert frame["comment"][4] == "@SUM(1,1)"
    assert frame["comment"][5] == "\t=1+1"
    assert frame["user"][6] == "=2*3"
    assert frame["delta"].tolist() == [-5.3, 1.2, 0.4, -12.0, 0.0, 3.3, -0.7]
    assert spec.feature_columns == ["bytes", "delta"]


ZEEK_FEATURES = [
    "duration",
    "orig_bytes",
    "resp_bytes",
    "orig_pkts",
    "orig_ip_bytes",
    "resp_pkts",
    "resp_ip_bytes",
]


@pytest.mark.parametrize("missing, n_scored", [("impute", 60), ("drop", 56)])
def test_case30_zeek_conn_log(missing, n_scored):
    table, spec = read("30-zeek-conn.log")
    frame = table.frame
    assert frame.shape == (60, 21)
    assert table.schema == "zeek-conn"
    assert frame.columns[0] == "ts" and frame.columns[-1] == "tunnel_parents"
    assert frame["ts"].iloc[0] == pd.Timestamp("2024-03-05 09:01:00.835441", tz="UTC")
    assert frame["ts"].iloc[-1] == pd.Timestamp("2024-03-05 10:02:52.697446", tz="UTC")
    gaps = frame[["duration", "orig_bytes", "resp_bytes"]].isna()
    assert int(gaps.to_numpy().sum()) == 12
    assert np.flatnonzero(gaps.any(axis=1)).tolist() == [7, 19, 33, 52]
    assert frame["conn_state"][[7, 19, 33, 52]].tolist() == ["S0"] * 4
    assert not (frame == "(empty)").any().any()
    assert np.flatnonzero(frame["tunnel_parents"].notna()).tolist() == [31, 49]
    assert spec.roles["local_orig"] == spec.roles["local_resp"] == "empty"
    assert spec.roles["uid"] == spec.roles["tunnel_parents"] == "id"
    assert with_role(spec, "ip") == ["id.orig_h", "id.resp_h"]
    assert ":" in frame["id.orig_h"][4]
    assert with_role(spec, "port") == ["id.orig_p", "id.resp_p"]
    assert with_role(spec, "categorical") == [
        "proto",
        "service",
        "conn_state",
        "history",
    ]
    assert spec.roles["missed_bytes"] == "constant"
    assert spec.roles["ts"] == "timestamp"
    assert spec.feature_columns == ZEEK_FEATURES
    prepared = prepare(frame, spec, missing=missing)
    assert prepared.X.shape[0] == n_scored
    assert prepared.missing_rows.tolist() == [7, 19, 33, 52]
    only_numeric = prepare(
        frame,
        spec.with_roles({c: "text" for c in spec.categorical_columns}),
        missing=missing,
    )
    assert only_numeric.feature_names == ZEEK_FEATURES


def test_case32_cicids_header_spaces_and_duplicate_column():
    table, spec = read("32-cicids2017-header-spaces-dupcol.csv")
    frame = table.frame
    assert frame.shape == (80, 14)
    assert "Destination Port" in frame.columns and "Label" in frame.columns
    # "columns 9 and 13" count from 1.
    assert list(frame.columns[[8, 12]]) == ["Fwd Header Length", "Fwd Header Length.1"]
    assert (frame["Fwd Header Length"] == frame["Fwd Header Length.1"]).all()
    assert frame["Label"].value_counts().to_dict() == {
        "BENIGN": 78,
        "DoS Hulk": 1,
        "PortScan": 1,
    }
    assert spec.roles["Destination Port"] == "port"
    assert spec.label_column == "Label"
    prepared = prepare(frame, spec)
    assert len(prepared.feature_names) == 12
    assert "Destination Port" not in prepared.feature_names
    assert np.flatnonzero(prepared.y_true).tolist() == [17, 61]
    assert frame["Destination Port"][44] == 64999


UNSW_FEATURES = [
    "dur",
    "sbytes",
    "dbytes",
    "sttl",
    "dttl",
    "Sload",
    "Dload",
    "Spkts",
    "Dpkts",
]


@pytest.mark.parametrize("missing", ["impute", "drop"])
def test_case35_unsw_hex_ports_dashes_and_sparse_columns(missing):
    table, spec = read("35-unsw-nb15-hexports.csv")
    frame = table.frame
    assert frame.shape == (80, 23)
    assert table.schema == "unsw-nb15"
    assert frame["dsport"][[5, 38, 66]].tolist() == [8, 771, 11]
    assert (frame["dsport"] == 80).sum() == 20
    assert np.flatnonzero(frame["sport"].isna()).tolist() == [29, 57]
    assert (frame["service"] == "-").sum() == 31
    assert with_role(spec, "port") == ["sport", "dsport"]
    for column, n_missing in [
        ("ct_flw_http_mthd", 60),
        ("is_ftp_login", 60),
        ("ct_ftp_cmd", 60),
    ]:
        assert int(frame[column].isna().sum()) == n_missing
        assert spec.roles[column] == "empty"
        assert "75 %" in spec.reasons[column]
    assert int(frame["attack_cat"].isna().sum()) == 74
    assert spec.roles["attack_cat"] == "truth"
    assert spec.label_column == "Label"
    assert frame["Label"].value_counts().to_dict() == {0: 74, 1: 6}
    assert with_role(spec, "timestamp") == ["Stime", "Ltime"]
    assert frame["Stime"][0] == pd.Timestamp("2015-02-18 06:46:43", tz="UTC")
    assert spec.feature_columns == UNSW_FEATURES
    prepared = prepare(frame, spec, missing=missing)
    assert prepared.X.shape[0] == 80
    assert "service=-" in prepared.feature_names
    imputed = prepare(
        frame,
        spec.with_roles(
            {
                "ct_flw_http_mthd": "feature",
                "is_ftp_login": "feature",
                "ct_ftp_cmd": "feature",
            }
        ),
        missing="impute",
    )
    assert imputed.X.shape == (80, prepared.X.shape[1] + 3)


def test_case37_nfdump_footer_is_dropped_and_cross_checked():
    table, spec = read("37-nfdump-csv-summary.csv")
    frame = table.frame
    assert frame.shape == (40, 48)
    assert table.schema == "nfdump"
    assert frame["ibyt"].sum() == 1753858 and frame["ipkt"].sum() == 2433
    assert any("footer" in note and "match" in note for note in table.notes)
    assert frame["ts"].notna().all() and frame["ts"].iloc[39].year == 2019
    constant = with_role(spec, "constant")
    assert len(constant) == 36
    for column in [
        "in",
        "out",
        "ismc",
        "odmc",
        "mpls1",
        "mpls10",
        "cl",
        "sl",
        "al",
        "ra",
    ]:
        assert column in constant
    assert with_role(spec, "timestamp") == ["ts", "te", "tr"]
    assert (frame["ts"] == frame["te"]).sum() == 24
    assert with_role(spec, "ip") == ["sa", "da"]
    assert [i for i in range(40) if ":" in frame["sa"][i]] == [3, 10, 17, 24, 31, 38]
    assert with_role(spec, "port") == ["sp", "dp"]
    assert with_role(spec, "categorical") == ["pr", "flg"]
    assert spec.feature_columns == ["td", "ipkt", "ibyt"]


@pytest.mark.parametrize("path", sorted(CASES.iterdir()), ids=lambda p: p.name[:2])
def test_every_case_file_reads_into_an_arrow_compatible_table(path):
    """The dashboard's table widget converts frames to Arrow: no mixed columns."""
    table = load_table(path)
    pa.Table.from_pandas(table.frame)
    spec = infer_roles(table.frame, schema=table.schema)
    prepared = prepare(table.frame, spec, name=table.name)
    assert np.isfinite(prepared.X).all()
