"""Exports: neutralised CSV (case 23), Parquet, the offline HTML report, the manifest."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from dashboard import exports
from datasets import infer_roles, load_table, prepare
from detectors import cli
from detectors.persistence import library_versions
from detectors.pipeline import score_all
from detectors.thresholds import ThresholdPolicy
from tests.conftest import CASES, ROOT

CASE_23 = CASES / "23-csv-formula-injection.csv"


def _case_23_table(flagged_only=False, marks=None) -> pd.DataFrame:
    table = load_table(CASE_23)
    prepared = prepare(table.frame, infer_roles(table.frame))
    scores = score_all(prepared.X, ["pca"]).scores
    flags = {"pca": np.zeros(len(prepared.rows), dtype=bool)}
    flags["pca"][[2, 5]] = True
    return exports.results_table(
        table.frame, prepared.rows, scores, flags, marks, flagged_only=flagged_only
    )


def _cells(data: bytes) -> list[dict]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def test_case_23_formula_cells_neutralised_numbers_unchanged():
    """Case 23: the 6 formula-like cells get a leading ', delta stays numeric."""
    source = pd.read_csv(CASE_23, dtype=str, keep_default_na=False)
    records = _cells(exports.to_csv_bytes(_case_23_table()))
    assert len(records) == 7
    changed = {
        (i, c)
        for i, r in enumerate(records)
        for c in ("host", "user", "comment")
        if r[c] != source.loc[i, c]
    }
    assert changed == {
        (1, "comment"),
        (2, "comment"),
        (3, "comment"),
        (4, "comment"),
        (5, "comment"),
        (6, "user"),
    }
    for i, column in changed:
        assert records[i][column] == "'" + source.loc[i, column]
    assert records[5]["comment"] == "'\t=1+1"
    assert [float(r["delta"]) for r in records] == [-5.3, 1.2, 0.4, -12, 0.0, 3.3, -0.7]
    assert not any(
        r["delta"].startswith("'") or r["bytes"].startswith("'") for r in records
    )
    assert all(not r["score_pca"].startswith("'") for r in records)


def test_flagged_only_csv_keeps_flagged_rows_and_marks():
    marks = pd.DataFrame(
        {
            "row": [2, 2],
            "verdict": ["unsure", "confirmed"],
            "comment": ["first", "@evil()"],
            "marked_at": ["t1", "t2"],
            "author": [None, "-me"],
        }
    )
    records = _cells(
        exports.to_csv_bytes(_case_23_table(flagged_only=True, marks=marks))
    )
    assert [int(r["row"]) for r in records] == [2, 5]
    assert records[0]["mark_verdict"] == "confirmed"
    assert (
        records[0]["mark_comment"] == "'@evil()" and records[0]["mark_author"] == "'-me"
    )
    assert records[0]["mark_time"] == "t2" and records[0]["comment"] == "'+1+1"
    assert records[1]["mark_verdict"] == "" and records[1]["flag_pca"] == "1"


def test_results_table_leaves_unscored_rows_empty_and_renames_clashes():
    frame = pd.DataFrame({"row": [10, 11, 12], "x": [1.0, np.nan, 3.0]})
    table = exports.results_table(
        frame,
        np.array([0, 2]),
        {"pca": np.array([0.5, 2.0])},
        {"pca": np.array([False, True])},
    )
    assert list(table.columns[:4]) == ["row", "score_pca", "flag_pca", "flagged_by"]
    assert "row (data)" in table.columns
    assert table["row"].tolist() == [0, 1, 2]
    assert np.isnan(table.loc[1, "score_pca"]) and table.loc[1, "flag_pca"] is pd.NA


def test_parquet_export_round_trips_text_verbatim():
    table = _case_23_table()
    back = pd.read_parquet(io.BytesIO(exports.to_parquet_bytes(table)))
    assert back["comment"].tolist() == table["comment"].tolist()
    assert (
        back["score_pca"].to_numpy().tobytes()
        == table["score_pca"].to_numpy().tobytes()
    )


def _manifest(table) -> dict:
    return {
        "input": {"name": "<b>x.csv</b>", "sha256": "0" * 64},
        "detectors": ["pca"],
        "threshold": {"mode": "contamination", "value": 0.05},
        "seed": 0,
    }


def test_html_report_is_self_contained_and_escaped():
    frame = pd.DataFrame(
        {"host": ["<script>alert(1)</script>"] + ["ok"] * 9, "a": np.arange(10.0)}
    )
    table = exports.results_table(
        frame, np.arange(10), {"pca": np.arange(10.0)}, {"pca": np.arange(10) == 0}
    )
    report = exports.html_report(table, _manifest(table), title="Report <i>")
    assert "<script>alert(1)</script>" not in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report
    assert "Report &lt;i&gt;" in report
    # Nothing is fetched: no external script, stylesheet, image or frame.
    assert set(re.findall(r"<script[^>]*>", report)) <= {"<script>"}
    markup = re.sub(r"<script>.*?</script>", "", report, flags=re.S)
    assert not re.search(r"<(link|img|iframe)\b|(src|href)\s*=", markup)
    bundle = exports._vega_bundle()
    if bundle is None:
        assert "Charts left out" in report
    else:
        assert report.count("vegaEmbed('#chart-") == 2


def test_report_charts_show_verdicts():
    frame = pd.DataFrame({"a": np.arange(10.0)})
    marks = pd.DataFrame(
        {
            "row": [0],
            "verdict": ["false_alarm"],
            "comment": [""],
            "marked_at": ["t"],
            "author": [None],
        }
    )
    table = exports.results_table(
        frame,
        np.arange(10),
        {"pca": np.arange(10.0)[::-1]},
        {"pca": np.arange(10) < 2},
        marks,
    )
    scatter, bars = exports.report_charts(table, {"pca": "PCA"})
    statuses = {v["status"] for v in next(iter(scatter.to_dict()["datasets"].values()))}
    assert statuses == {"normal", "flagged", "False alarm"}
    assert bars.to_dict()["title"] == "Flagged rows per detector, by analyst verdict"


@pytest.mark.slow
def test_dashboard_manifest_reproduces_scores_bit_for_bit_through_cli(tmp_path):
    """A run made the dashboard's way (upload bytes, role override, drop, seed,
    parameters) is repeated by the CLI from its manifest with identical scores."""
    rng = np.random.default_rng(5)
    frame = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    frame["proto"] = rng.choice(["tcp", "udp"], size=80)
    frame.loc[9, "a"] = None
    frame.loc[40, ["a", "b"]] = [7.0, -7.0]
    data = frame.to_csv(index=False).encode()
    table = load_table(data, name="upload.csv")
    spec = infer_roles(table.frame).with_roles({"proto": "categorical"})
    prepared = prepare(table.frame, spec, missing="drop")
    params = {"ae": {"epochs": 3}}
    run = score_all(prepared.X, ["pca", "ae"], seed=4, params=params)
    policy = ThresholdPolicy("contamination", 0.1)
    flags = {n: policy.apply(s)[1] for n, s in run.scores.items()}
    manifest = exports.run_manifest(
        input_name="upload.csv",
        input_sha256=hashlib.sha256(data).hexdigest(),
        preprocessing=spec.to_dict(),
        missing="drop",
        detectors=["pca", "ae"],
        params=params,
        seed=4,
        threshold={"mode": "contamination", "value": 0.1},
        versions=library_versions(),
        scores=run.scores,
        flags=flags,
    )
    (tmp_path / "upload.csv").write_bytes(data)
    (tmp_path / "run.json").write_bytes(exports.manifest_bytes(manifest))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "detectors",
            "score",
            tmp_path / "upload.csv",
            "--manifest",
            tmp_path / "run.json",
            "--out",
            tmp_path / "out.csv",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "identical to the manifest, bit for bit" in result.stderr
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == ["row", "score_pca", "flag_pca", "score_ae", "flag_ae"]
    for name in ("pca", "ae"):
        scores = out.loc[prepared.rows, f"score_{name}"].to_numpy()
        assert scores.tobytes() == run.scores[name].tobytes()
        assert out[f"flag_{name}"].sum() == flags[name].sum()
    assert out.loc[9, "score_pca"] != out.loc[9, "score_pca"]  # dropped row stays empty

    # A different file under the same name is refused with exit status 2.
    (tmp_path / "upload.csv").write_bytes(data + b"1,2,3,tcp\n")
    refused = subprocess.run(
        [
            sys.executable,
            "-m",
            "detectors",
            "score",
            tmp_path / "upload.csv",
            "--manifest",
            tmp_path / "run.json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert (
        refused.stderr.count("\n") == 1
        and "differs from the manifest" in refused.stderr
    )


def test_cli_write_manifest_then_manifest_round_trip(tmp_path):
    source = tmp_path / "d.csv"
    rng = np.random.default_rng(1)
    pd.DataFrame(rng.normal(size=(50, 3)), columns=list("xyz")).to_csv(
        source, index=False
    )
    base = [sys.executable, "-m", "detectors", "score", source, "--quiet"]
    first = subprocess.run(
        base
        + [
            "--detectors",
            "pca",
            "--contamination",
            "0.2",
            "--seed",
            "7",
            "--out",
            tmp_path / "a.csv",
            "--write-manifest",
            tmp_path / "run.json",
        ],
        cwd=ROOT,
        capture_output=True,
    )
    assert first.returncode == 0, first.stderr
    manifest = json.loads((tmp_path / "run.json").read_text())
    assert manifest["seed"] == 7 and manifest["threshold"]["value"] == 0.2
    assert manifest["results"]["pca"]["flagged"] == 10
    second = subprocess.run(
        base + ["--manifest", tmp_path / "run.json", "--out", tmp_path / "b.csv"],
        cwd=ROOT,
        capture_output=True,
    )
    assert second.returncode == 0, second.stderr
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    refused = subprocess.run(
        base + ["--manifest", bad], cwd=ROOT, capture_output=True, text=True
    )
    assert (
        refused.returncode == 2 and "not an Anomaly Lens run manifest" in refused.stderr
    )


@pytest.mark.parametrize(
    "change, message",
    [
        ({"seed": "0; rm -rf /"}, "seed must be an integer"),
        ({"params": {"pca": {"bogus": 1}}}, "bad detector parameters"),
        ({"detectors": "pca"}, "detectors must be a list of names"),
        ({"threshold": {"mode": "nope", "value": 2}}, "bad threshold"),
        ({"format_version": 99}, "manifest version 99"),
    ],
)
def test_cli_refuses_malformed_manifest_in_one_line(tmp_path, capsys, change, message):
    source = tmp_path / "d.csv"
    pd.DataFrame({"x": np.arange(30.0), "y": np.arange(30.0) ** 2}).to_csv(
        source, index=False
    )
    manifest = exports.run_manifest(
        input_name="d.csv",
        input_sha256=hashlib.sha256(source.read_bytes()).hexdigest(),
        preprocessing=infer_roles(pd.read_csv(source)).to_dict(),
        missing="impute",
        detectors=["pca"],
        params={},
        seed=0,
        threshold={"mode": "contamination", "value": 0.1},
        versions={},
        scores={"pca": np.zeros(30)},
        flags={"pca": np.zeros(30, dtype=bool)},
    )
    manifest.update(change)
    (tmp_path / "run.json").write_text(json.dumps(manifest))
    # In process (the subprocess tests above cover the real entry point): fast.
    status = cli.main(
        ["score", str(source), "--manifest", str(tmp_path / "run.json"), "--quiet"]
    )
    stderr = capsys.readouterr().err
    assert status == 2
    assert message in stderr and stderr.count("\n") == 1
