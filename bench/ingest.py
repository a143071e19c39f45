"""Ingest benchmark: read a large numeric CSV with several readers, time and memory.

Usage::

    python -m bench.ingest [--rows 1000000] [--cols 40] [--no-readme]

Writes a CSV of ``rows`` x ``cols`` random numbers (about 300 MB for the
defaults) into a temporary folder, then reads it once per reader, each in a
fresh subprocess so the peak resident memory (the child's own ``ru_maxrss``)
belongs to that reader alone. Prints a Markdown table and, unless
``--no-readme``, writes it into README.md between the ``bench:ingest`` markers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
logger = logging.getLogger("bench.ingest")

# Each reader runs as ``python -c CHILD reader path``; it reports seconds and
# its own peak RSS in MiB as one JSON line.
CHILD = r"""
import json, resource, sys, time
reader, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
if reader == "load_table+prepare":
    from datasets import infer_roles, load_table, prepare
    table = load_table(path)
    read_s = time.perf_counter() - start
    prepared = prepare(table.frame, infer_roles(table.frame, schema=table.schema),
                       name=table.name)
    X = prepared.X
elif reader == "load_table(bytes)+prepare":
    from datasets import infer_roles, load_table, prepare
    with open(path, "rb") as handle:
        data = handle.read()
    table = load_table(data, name="upload.csv")
    del data
    read_s = time.perf_counter() - start
    prepared = prepare(table.frame, infer_roles(table.frame), name=table.name)
    X = prepared.X
elif reader == "pyarrow.csv":
    import numpy as np
    import pyarrow.csv as pacsv
    table = pacsv.read_csv(path)
    read_s = time.perf_counter() - start
    X = np.column_stack([c.to_numpy() for c in table.columns]).astype("float64")
elif reader == "pandas (C engine)":
    import pandas as pd
    frame = pd.read_csv(path, engine="c")
    read_s = time.perf_counter() - start
    X = frame.to_numpy(dtype="float64")
elif reader == "pandas (engine=pyarrow)":
    import pandas as pd
    frame = pd.read_csv(path, engine="pyarrow")
    read_s = time.perf_counter() - start
    X = frame.to_numpy(dtype="float64")
else:
    raise SystemExit(f"unknown reader {reader}")
total_s = time.perf_counter() - start
assert X.dtype == "float64"
peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"reader": reader, "read_s": read_s, "total_s": total_s,
                  "peak_mib": peak_mib, "shape": list(X.shape)}))
"""

READERS = (
    "load_table+prepare",
    "load_table(bytes)+prepare",
    "pyarrow.csv",
    "pandas (engine=pyarrow)",
    "pandas (C engine)",
)


def write_csv(path: Path, n_rows: int, n_cols: int, seed: int = 0) -> None:
    """Write ``n_rows`` x ``n_cols`` random numbers, in chunks to bound memory."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    names = [f"x{j}" for j in range(n_cols)]
    chunk = 100_000
    with pacsv.CSVWriter(
        str(path), pa.schema([(n, pa.float64()) for n in names])
    ) as out:
        for start in range(0, n_rows, chunk):
            size = min(chunk, n_rows - start)
            # Four decimals and a few magnitudes: about 7-8 characters per cell.
            block = np.round(
                rng.normal(size=(size, n_cols))
                * 10.0 ** rng.integers(0, 3, size=n_cols),
                4,
            )
            out.write_table(pa.table({n: block[:, j] for j, n in enumerate(names)}))


def run_reader(reader: str, path: Path) -> dict:
    """Run one reader in a fresh interpreter and return its report."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", CHILD, reader, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{reader} failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def markdown(
    results: list[dict],
    n_rows: int,
    n_cols: int,
    size_mb: float,
    command: str,
    load: str = "unknown",
) -> str:
    """The README section: the table, the machine and the command."""
    lines = [
        f"Ingest of a {n_rows:,} x {n_cols} numeric CSV ({size_mb:.0f} MB), each "
        f"reader in a fresh process on {os.cpu_count()} CPU(s), Python "
        f"{platform.python_version()}. "
        "`read` = importing the reader and reading the file to a table; `total` "
        "adds building the float64 matrix "
        "(for load_table: role inference and `prepare`); peak = the process's "
        "maximum resident memory.",
        "",
        "| reader | read (s) | total (s) | peak RSS (MiB) |",
        "|---|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['reader']} | {r['read_s']:.1f} | {r['total_s']:.1f} | "
            f"{r['peak_mib']:.0f} |"
        )
    lines += [
        "",
        f"Command: `{command}` (1-minute load average {load} when it started: "
        "the machine is shared, so times vary by a factor of about 2 between runs).",
    ]
    return "\n".join(lines)


def _load_average() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    """Generate the file, run every reader, print and record the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cols", type=int, default=40)
    parser.add_argument(
        "--readers",
        default=",".join(READERS),
        help="comma-separated subset of: " + ", ".join(READERS),
    )
    parser.add_argument("--no-readme", action="store_true", help="print the table only")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    command = "python -m bench.ingest" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )

    load = _load_average()
    with tempfile.TemporaryDirectory(prefix="ingest-") as folder:
        path = Path(folder) / "big.csv"
        start = time.perf_counter()
        write_csv(path, args.rows, args.cols)
        size_mb = path.stat().st_size / 1e6
        logger.info(
            "wrote %s (%.0f MB) in %.1f s", path, size_mb, time.perf_counter() - start
        )
        results = []
        for reader in args.readers.split(","):
            result = run_reader(reader.strip(), path)
            logger.info("%s: %s", reader, result)
            results.append(result)
    text = markdown(results, args.rows, args.cols, size_mb, command, load)
    sys.stdout.write(text + "\n")
    if not args.no_readme:
        from bench.readme_table import write_section

        write_section("ingest", text)


if __name__ == "__main__":
    main()
