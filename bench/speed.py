"""Time all four detectors on ODDS cardio (the dashboard's first screen).

Run: ``python bench/speed.py`` (writes the table into README.md).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.readme_table import write_section  # noqa: E402
from detectors.pipeline import (  # noqa: E402
    DETECTOR_NAMES,
    evaluate,
    limit_torch_threads,
    score_all,
)

DATA = ROOT.parent / "shared" / "datasets" / "odds_cardio.csv.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()

    frame = pd.read_csv(DATA)
    y_true = frame.pop("label").to_numpy()
    X = frame.to_numpy(dtype=np.float64)

    start = time.perf_counter()
    import torch  # noqa: F401  (import cost is part of a cold start)

    import_seconds = time.perf_counter() - start
    limit_torch_threads()  # as the dashboard and CLI do

    runs = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = score_all(X, DETECTOR_NAMES, seed=0)
        runs.append((time.perf_counter() - start, result))
    totals = [total for total, _ in runs]
    best = runs[int(np.argmin(totals))][1]

    lines = [
        f"ODDS cardio ({X.shape[0]} rows x {X.shape[1]} features), all four detectors, "
        f"seed 0, {os.cpu_count()} cores, torch on 1 thread as in the dashboard, "
        f"Python {platform.python_version()}; "
        f"best of {args.repeats} runs. torch import: {import_seconds:.2f} s.",
        "",
        "| detector | fit + score (s) | ROC-AUC | average precision |",
        "|---|---:|---:|---:|",
    ]
    for name in DETECTOR_NAMES:
        metrics = evaluate(y_true, best.scores[name])
        lines.append(
            f"| {name} | {best.seconds[name]:.2f} | {metrics['roc_auc']:.3f} | "
            f"{metrics['average_precision']:.3f} |"
        )
    lines.append(
        f"| **all four** | **{min(totals):.2f}** (median {np.median(totals):.2f}) | | |"
    )
    lines += ["", "Command: `.venv/bin/python bench/speed.py`"]
    table = "\n".join(lines)
    print(table)
    if not args.no_readme:
        write_section("speed", table)


if __name__ == "__main__":
    main()
