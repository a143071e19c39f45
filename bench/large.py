"""Read and score a 1,000,000-row x 40-column CSV with all four detectors.

Run: ``python bench/large.py [--rows 1000000]``. Each stage runs in a fresh
subprocess so its peak resident memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.readme_table import write_section  # noqa: E402

N_FEATURES = 40

STAGE = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
from datasets import infer_roles, load_table, prepare
from detectors.pipeline import score_all
start = time.perf_counter()
table = load_table({path!r})
prepared = prepare(table.frame, infer_roles(table.frame, schema=table.schema),
                   missing="impute", name=table.name)
del table
read_seconds = time.perf_counter() - start
names = {names!r}
result = score_all(prepared.X, names, seed=0)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"read": read_seconds, "fit": result.seconds,
                  "rows": int(prepared.X.shape[0]), "peak_mb": peak}}))
"""


def make_csv(path: Path, n_rows: int, seed: int = 0) -> None:
    """Low-rank plus noise data with 0.1 % planted outliers, written in chunks."""
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(5, N_FEATURES))
    header = ",".join(f"f{j}" for j in range(N_FEATURES))
    with path.open("w") as handle:
        handle.write(header + "\n")
        for start in range(0, n_rows, 100_000):
            size = min(100_000, n_rows - start)
            block = rng.normal(size=(size, 5)) @ mixing + 0.1 * rng.normal(
                size=(size, N_FEATURES)
            )
            outliers = rng.random(size) < 0.001
            block[outliers] += rng.normal(scale=8, size=(outliers.sum(), N_FEATURES))
            np.savetxt(handle, block, fmt="%.6f", delimiter=",")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.csv"
        start = time.perf_counter()
        make_csv(path, args.rows)
        size_mb = path.stat().st_size / 2**20
        print(
            f"wrote {path.name}: {size_mb:.0f} MB in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        rows = []
        for names in (
            ("pca",),
            ("rpca",),
            ("ae",),
            ("vae",),
            ("pca", "ae", "vae", "rpca"),
        ):
            code = STAGE.format(root=str(ROOT), path=str(path), names=names)
            start = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            )
            wall = time.perf_counter() - start
            stats = json.loads(out.stdout.strip().splitlines()[-1])
            rows.append((",".join(names), stats, wall))
            print(
                f"{names}: {wall:.1f} s, peak {stats['peak_mb']:.0f} MiB",
                file=sys.stderr,
            )

    lines = [
        f"{args.rows:,} rows x {N_FEATURES} numeric columns ({size_mb:.0f} MB CSV), "
        f"{os.cpu_count()} cores; each line is a fresh process (read + prepare + fit + "
        "score every row).",
        "",
        "| detectors | read + prepare (s) | fit + score (s) | wall total (s) | peak RSS (MiB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for names, stats, wall in rows:
        fit = sum(stats["fit"].values())
        lines.append(
            f"| {names} | {stats['read']:.1f} | {fit:.1f} | {wall:.1f} | "
            f"{stats['peak_mb']:.0f} |"
        )
    lines += ["", f"Command: `.venv/bin/python bench/large.py --rows {args.rows}`"]
    table = "\n".join(lines)
    print(table)
    if not args.no_readme:
        write_section("large", table)


if __name__ == "__main__":
    main()
