"""The stable command line: python -m detectors score."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from datasets.samples import sample_path
from tests.conftest import CASES, ROOT


def run_cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "detectors", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_cli_scores_bundled_cardio_with_metrics(tmp_path):
    """All four detectors on cardio: stable columns, 5 % flagged, ROC-AUC floors."""
    out, metrics_path = tmp_path / "out.csv", tmp_path / "metrics.json"
    result = run_cli(
        "score",
        sample_path("cardio"),
        "--out",
        out,
        "--metrics-json",
        metrics_path,
        "--label",
        "label",
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    expected = ["row"] + [
        f"{kind}_{name}"
        for name in ("pca", "ae", "vae", "rpca")
        for kind in ("score", "flag")
    ]
    assert list(frame.columns) == expected
    assert frame["row"].tolist() == list(range(1831))
    metrics = json.loads(metrics_path.read_text())
    assert set(metrics) == {"pca", "ae", "vae", "rpca"}
    for name, entry in metrics.items():
        assert entry["flagged"] == int(frame[f"flag_{name}"].sum()) == 92
        assert set(entry) == {"roc_auc", "average_precision", "seconds", "flagged"}
    assert metrics["pca"]["roc_auc"] >= 0.90
    for name in ("ae", "vae", "rpca"):
        assert metrics[name]["roc_auc"] >= 0.85, name


def test_cli_subset_without_label_omits_quality_metrics(tmp_path):
    source = tmp_path / "data.csv"
    rng = np.random.default_rng(0)
    pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"]).to_csv(
        source, index=False
    )
    metrics_path = tmp_path / "m.json"
    result = run_cli(
        "score",
        source,
        "--detectors",
        "pca,rpca",
        "--out",
        tmp_path / "o.csv",
        "--metrics-json",
        metrics_path,
        "--contamination",
        "0.1",
    )
    assert result.returncode == 0, result.stderr
    metrics = json.loads(metrics_path.read_text())
    assert set(metrics) == {"pca", "rpca"}
    assert (
        set(metrics["pca"]) == {"seconds", "flagged"} and metrics["pca"]["flagged"] == 6
    )
    assert list(pd.read_csv(tmp_path / "o.csv").columns) == [
        "row",
        "score_pca",
        "flag_pca",
        "score_rpca",
        "flag_rpca",
    ]


def test_cli_drop_keeps_every_row_in_output(tmp_path):
    """Case 10 with --missing drop: 95 rows scored, 100 lines out, dropped rows empty."""
    out = tmp_path / "o.csv"
    result = run_cli(
        "score",
        CASES / "10-flows-nan-inf.csv",
        "--detectors",
        "pca",
        "--missing",
        "drop",
        "--out",
        out,
    )
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(out)
    assert len(frame) == 100
    assert frame.loc[frame["score_pca"].isna(), "row"].tolist() == [12, 23, 57, 64, 88]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "missing.csv"], "missing.csv: no such file"),
        (["score", "{cardio}", "--detectors", "pca,lof"], "unknown detector"),
        (
            ["score", "{cardio}", "--contamination", "1.5"],
            "--contamination must be between",
        ),
        (["score", "{cardio}", "--label", "no_such_column"], "no_such_column"),
    ],
    ids=["missing-file", "unknown-detector", "bad-contamination", "bad-label"],
)
def test_cli_bad_input_exits_2_with_one_line(args, message, tmp_path):
    args = [a.format(cardio=sample_path("cardio")) for a in args]
    result = run_cli(*args, "--out", tmp_path / "o.csv")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert "Traceback" not in result.stderr
