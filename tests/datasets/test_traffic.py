"""Flows -> traffic matrix aggregation, the synthetic generator and their CLI."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datasets import DatasetError, infer_roles, load_table
from datasets.__main__ import main, truth_path
from datasets.traffic import (
    PAIR_SEPARATOR,
    flows_to_traffic_matrix,
    keep_top,
    od_cells,
    synth_traffic_matrix,
)

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT.parent / "shared" / "cases" / "inputs"


@pytest.fixture
def flows():
    return pd.DataFrame(
        {
            "ts": pd.to_datetime(
                [
                    "2024-01-01 00:00:10",
                    "2024-01-01 00:04:59",
                    "2024-01-01 00:05:00",
                    "2024-01-01 00:17:30",
                    "2024-01-01 00:01:00",
                ],
                utc=True,
            ),
            "src_ip": ["10.0.0.1", "10.0.0.1", "10.0.1.9", "10.0.0.2", "10.0.0.3"],
            "dst_ip": ["10.0.0.2", "10.0.0.2", "10.0.0.2", "10.0.0.1", "10.0.0.2"],
            "bytes": [100, 50, 7, 1000, 3],
            "packets": [1, 2, 3, 4, 5],
            "label": [0, 0, 0, 1, 0],
        }
    )


def test_traffic_matrix_sums_exactly_per_bin_and_pair(flows):
    matrix = flows_to_traffic_matrix(flows, bin="5min")
    assert matrix["time"].tolist() == list(
        pd.date_range("2024-01-01 00:00", "2024-01-01 00:15", freq="5min", tz="UTC")
    )
    assert od_cells(matrix) == [
        "10.0.0.1->10.0.0.2",
        "10.0.0.2->10.0.0.1",
        "10.0.0.3->10.0.0.2",
        "10.0.1.9->10.0.0.2",
    ]
    assert matrix["10.0.0.1->10.0.0.2"].tolist() == [150, 0, 0, 0]
    assert matrix["10.0.1.9->10.0.0.2"].tolist() == [0, 7, 0, 0]
    assert matrix["10.0.0.2->10.0.0.1"].tolist() == [0, 0, 0, 1000]
    assert matrix[od_cells(matrix)].to_numpy().sum() == flows["bytes"].sum()
    assert matrix["label"].tolist() == [0, 0, 0, 1]


def test_traffic_matrix_by_prefix_and_by_source(flows):
    by_net = flows_to_traffic_matrix(flows, bin="1h", prefix=24, value="packets")
    assert od_cells(by_net) == ["10.0.0.0/24->10.0.0.0/24", "10.0.1.0/24->10.0.0.0/24"]
    assert by_net.iloc[0][od_cells(by_net)].tolist() == [12, 3]
    by_src = flows_to_traffic_matrix(flows, bin="1h", by=("src",), value="flows")
    assert by_src.drop(columns=["time", "label"]).iloc[0].to_dict() == {
        "10.0.0.1": 2,
        "10.0.0.2": 1,
        "10.0.0.3": 1,
        "10.0.1.9": 1,
    }


def test_traffic_matrix_leaves_out_flows_without_time_and_says_so(flows):
    flows.loc[2, "ts"] = pd.NaT
    matrix = flows_to_traffic_matrix(flows)
    assert matrix[od_cells(matrix)].to_numpy().sum() == flows["bytes"].sum() - 7
    assert any("Left out 1 flow" in note for note in matrix.attrs["notes"])


def test_keep_top_preserves_row_totals(flows):
    matrix = flows_to_traffic_matrix(flows, bin="5min")
    top = keep_top(matrix, 2)
    assert od_cells(top) == ["10.0.0.1->10.0.0.2", "10.0.0.2->10.0.0.1"]
    np.testing.assert_array_equal(
        top[[*od_cells(top), "other"]].sum(axis=1), matrix[od_cells(matrix)].sum(axis=1)
    )


def test_traffic_matrix_from_zeek_log_matches_byte_totals():
    table = load_table(CASES / "30-zeek-conn.log")
    matrix = flows_to_traffic_matrix(
        table.frame, spec=infer_roles(table.frame, schema=table.schema), bin="5min"
    )
    expected = (table.frame["orig_ip_bytes"] + table.frame["resp_ip_bytes"]).sum()
    assert matrix[od_cells(matrix)].to_numpy().sum() == expected
    assert len(matrix) == 13


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"bin": "fortnightly-ish"}, "not a bin width"),
        ({"by": ("src", "port")}, "--by must be"),
        ({"value": "octets"}, "no column 'octets'"),
    ],
)
def test_traffic_matrix_bad_options_name_the_fix(flows, kwargs, message):
    with pytest.raises(DatasetError, match=message):
        flows_to_traffic_matrix(flows, **kwargs)


def test_traffic_matrix_without_addresses_is_refused():
    table = load_table(CASES / "09-constant-columns.csv")
    with pytest.raises(DatasetError, match="no time column"):
        flows_to_traffic_matrix(table.frame)


def test_synth_default_shape_and_labels():
    matrix, truth = synth_traffic_matrix()
    assert matrix.shape == (7 * 288, 1 + 144 + 1)
    assert len(od_cells(matrix)) == 144
    assert matrix.columns[1] == f"n01{PAIR_SEPARATOR}n01"
    assert matrix["time"].diff().dropna().eq(pd.Timedelta("5min")).all()
    assert set(truth["anomaly"]) == {"ddos", "outage", "shift", "scan"}
    sizes = truth.groupby("anomaly").size().to_dict()
    assert sizes == {"ddos": 6, "outage": 12 * 12, "shift": 2 * 18, "scan": 3 * 12}
    assert np.flatnonzero(matrix["label"]).tolist() == sorted(truth["bin"].unique())
    values = matrix[od_cells(matrix)].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    outage = truth[truth["anomaly"] == "outage"]
    for row in outage.itertuples():
        assert matrix.at[row.bin, row.pair] == 0
    ddos = truth[truth["anomaly"] == "ddos"]
    for row in ddos.itertuples():
        assert matrix.at[row.bin, row.pair] > 10 * row.expected


def test_synth_is_seeded():
    a, _ = synth_traffic_matrix(n_nodes=4, days=1, seed=3)
    b, _ = synth_traffic_matrix(n_nodes=4, days=1, seed=3)
    c, _ = synth_traffic_matrix(n_nodes=4, days=1, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)


def test_cli_synth_tm_writes_matrix_and_truth(tmp_path):
    out = tmp_path / "tm.csv"
    assert (
        main(
            [
                "synth-tm",
                "--out",
                str(out),
                "--seed",
                "0",
                "--days",
                "1",
                "--nodes",
                "4",
            ]
        )
        == 0
    )
    table = load_table(out)
    assert table.schema == "traffic-matrix"
    assert table.frame.shape == (288, 18)
    spec = infer_roles(table.frame, schema=table.schema)
    assert spec.roles["time"] == "timestamp" and spec.label_column == "label"
    truth = pd.read_csv(truth_path(out))
    assert list(truth.columns) == ["time", "bin", "pair", "anomaly", "expected"]


def test_cli_traffic_matrix_round_trip(tmp_path):
    out = tmp_path / "tm.csv"
    assert (
        main(
            [
                "traffic-matrix",
                str(CASES / "30-zeek-conn.log"),
                "--bin",
                "15min",
                "--by",
                "src,dst",
                "--value",
                "bytes",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    matrix = pd.read_csv(out)
    assert len(matrix) == 5


def test_cli_bad_input_exits_2_with_one_line(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "datasets",
            "traffic-matrix",
            str(CASES / "09-constant-columns.csv"),
            "--out",
            str(tmp_path / "x.csv"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 09-constant-columns.csv")


def test_generic_netflow_csv_roles():
    rows = "".join(
        f"59.166.0.{i % 5},{1000 + i},149.171.126.{i % 3},{[80, 53, 443][i % 3]},"
        f"{[6, 17][i % 2]},{100 + 7 * i},{2000 + i},{3 + i % 4},{int(i % 9 == 0)}\n"
        for i in range(30)
    )
    header = (
        "IPV4_SRC_ADDR,L4_SRC_PORT,IPV4_DST_ADDR,L4_DST_PORT,PROTOCOL,IN_BYTES,"
        "OUT_BYTES,IN_PKTS,Label\n"
    )
    table = load_table((header + rows).encode(), name="nf.csv")
    assert table.schema == "netflow"
    spec = infer_roles(table.frame, schema=table.schema)
    assert [c for c, r in spec.roles.items() if r in ("ip", "port")] == [
        "IPV4_SRC_ADDR",
        "L4_SRC_PORT",
        "IPV4_DST_ADDR",
        "L4_DST_PORT",
    ]
    assert spec.roles["PROTOCOL"] == "categorical"
    assert spec.feature_columns == ["IN_BYTES", "OUT_BYTES", "IN_PKTS"]


def test_space_separated_vpc_flow_log_to_traffic_matrix():
    header = (
        "version account-id interface-id srcaddr dstaddr srcport dstport "
        "protocol packets bytes start end action log-status\n"
    )
    rows = "".join(
        f"2 123456789010 eni-1 172.31.16.{i % 4} 172.31.16.21 {20641 + i} 22 6 "
        f"{20 + i} {4249 + 10 * i} {1418530010 + 60 * i} {1418530070 + 60 * i} "
        f"{'ACCEPT' if i % 5 else 'REJECT'} OK\n"
        for i in range(20)
    )
    table = load_table((header + rows).encode(), name="vpc.log")
    assert table.frame.shape == (20, 14)
    spec = infer_roles(table.frame, schema=table.schema)
    assert spec.roles["start"] == "timestamp"
    matrix = flows_to_traffic_matrix(table.frame, spec=spec, bin="5min")
    assert matrix[od_cells(matrix)].to_numpy().sum() == table.frame["bytes"].sum()


def test_top_lumps_small_groups_before_pivoting(flows):
    full = flows_to_traffic_matrix(flows, bin="5min")
    top = flows_to_traffic_matrix(flows, bin="5min", top=2)
    pd.testing.assert_frame_equal(top, keep_top(full, 2), check_like=False)
    assert list(top.columns[-2:]) == ["other", "label"]


def test_oversized_matrix_is_refused_with_the_fixes(flows, monkeypatch):
    import datasets.traffic

    monkeypatch.setattr(datasets.traffic, "MAX_MATRIX_CELLS", 10)
    with pytest.raises(DatasetError, match="4 bins x 4 groups.*--prefix 24 or --top N"):
        flows_to_traffic_matrix(flows, bin="5min")
    assert flows_to_traffic_matrix(flows, bin="1h").shape[0] == 1
