"""Benchmark: our PCP solver against the textbook method on the Candes et al. setup.

Run from the repository root as ``python bench/rpca.py`` or
``python -m bench.rpca`` (``--quick`` for a smaller run). Each solver run happens
in its own subprocess so that its time and peak memory are measured alone. The
table is printed as Markdown and written into README.md between the rpca markers.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):
    # Run as a script (python bench/rpca.py): make the repo's packages importable.
    sys.path.insert(0, str(ROOT))

# Corrupted entries are +-1 with random signs (Candes et al. 2011, section 4.1
# takes S0 with entries in {-1, 0, 1}). At n = 1000, L0's entries have standard
# deviation sqrt(r) / n = 0.007, so each corruption is a gross error of about
# 140 standard deviations, and ||M||_F is about 32 ||L0||_F.
FRACTION = 0.05
SEED = 0

# "slow": the textbook run gets only --slow-budget CPU seconds (a full SVD of a
# 2000 x 2000 matrix, or of a 100000 x 40 one for a few hundred iterations, would
# hold the shared machine for many minutes).
FULL_CASES = [
    {"name": "500 x 500, rank 25", "m": 500, "n": 500, "rank": 25},
    {"name": "1000 x 1000, rank 50", "m": 1000, "n": 1000, "rank": 50},
    {"name": "2000 x 2000, rank 100", "m": 2000, "n": 2000, "rank": 100, "slow": True},
    {"name": "100000 x 40, rank 2", "m": 100000, "n": 40, "rank": 2, "slow": True},
    {
        "name": "100000 x 40, rank 2, lam 0.01",
        "m": 100000,
        "n": 40,
        "rank": 2,
        "lam": 0.01,
        "slow": True,
    },
]
QUICK_CASES = [
    {"name": "200 x 200, rank 10", "m": 200, "n": 200, "rank": 10},
    {"name": "500 x 500, rank 25", "m": 500, "n": 500, "rank": 25},
    {"name": "20000 x 40, rank 2", "m": 20000, "n": 40, "rank": 2},
    {
        "name": "20000 x 40, rank 2, lam 0.01",
        "m": 20000,
        "n": 40,
        "rank": 2,
        "lam": 0.01,
    },
]
TARGET_CASE = "1000 x 1000, rank 50"
TARGET_SPEEDUP = 30.0
TARGET_ERROR = 1e-6


def make_problem(m: int, n: int, rank: int, seed: int = SEED):
    """``M = L0 + S0`` with ``L0 = X Y^T`` (entries N(0, 1/n)) and 5 % +-1 errors."""
    rng = np.random.default_rng(seed)
    X = rng.normal(0.0, 1.0 / np.sqrt(n), (m, rank))
    Y = rng.normal(0.0, 1.0 / np.sqrt(n), (n, rank))
    L0 = X @ Y.T
    support = rng.random((m, n)) < FRACTION
    S0 = np.where(support, rng.choice([-1.0, 1.0], size=(m, n)), 0.0)
    return L0 + S0, L0, S0


def _current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        resident_pages = int(handle.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def worker(args) -> None:
    """Solve one saved problem with one method; print a JSON line of measurements."""
    M = np.load(Path(args.data) / "M.npy")
    lam = args.lam if args.lam > 0 else 1.0 / np.sqrt(max(M.shape))
    rss_before = _current_rss_mb()
    usage_before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    if args.worker == "textbook":
        from bench.rpca_textbook import textbook_pcp

        L, _, info = textbook_pcp(
            M, lam=lam, tol=args.tol, time_budget=args.time_budget
        )
        stopped = info["stopped"]
    else:
        from detectors.rpca import _pcp

        L, _, info = _pcp(M, lam, args.tol, 1000, None, None)
        stopped = "tol" if info["converged"] else "max_iter"
    seconds = time.perf_counter() - start
    usage_after = resource.getrusage(resource.RUSAGE_SELF)
    peak_mb = usage_after.ru_maxrss / 1024

    L0 = np.load(Path(args.data) / "L0.npy")
    result = {
        "seconds": seconds,
        "cpu_seconds": (usage_after.ru_utime - usage_before.ru_utime)
        + (usage_after.ru_stime - usage_before.ru_stime),
        "iterations": info["iterations"],
        "stopped": stopped,
        "error": float(np.linalg.norm(L - L0) / np.linalg.norm(L0)),
        "peak_mb": peak_mb,
        "solver_mb": peak_mb - rss_before,
    }
    sys.stdout.write(json.dumps(result) + "\n")


def run_one(case: dict, method: str, data_dir: Path, args) -> dict:
    """Run ``worker`` in a fresh interpreter with BLAS limited to ``args.threads``."""
    budget = args.slow_budget if case.get("slow") else args.time_budget
    env = dict(os.environ)
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[variable] = str(args.threads)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    command = [
        sys.executable,
        "-m",
        "bench.rpca",
        "--worker",
        method,
        "--data",
        str(data_dir),
        "--tol",
        repr(args.tol),
        "--lam",
        repr(case.get("lam", 0.0)),
        "--time-budget",
        repr(budget),
    ]
    completed = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(
            f"{method} on {case['name']} failed:\n{completed.stderr.strip()}"
        )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _seconds_cell(row: dict) -> str:
    text = f"{row['seconds']:.2f}"
    if row["stopped"] == "time_budget":
        text = f"> {text} (stopped)"
    return text


def _speedup_cell(row: dict, key: str) -> str:
    if row["method"] == "textbook":
        return "1x"
    bound = ">= " if row["speedup_is_bound"] else ""
    return f"{bound}{row[key]:.0f}x"


def _load_average() -> str:
    return " / ".join(f"{value:.1f}" for value in os.getloadavg())


def build_report(rows: list[dict], args, started: str, load_start: str) -> str:
    """Markdown: how it was run, the table, notes and the target check."""
    command = " ".join(["python bench/rpca.py", *args.argv])
    lines = [
        (
            f"Command: `{command}`. Run {started} on {platform.machine()} Linux "
            f"with {os.cpu_count()} cores, shared with other work (load average "
            f"over 1/5/15 min: {load_start} at start, {_load_average()} at end); "
            f"numpy {np.__version__}, {args.threads} BLAS thread per solver "
            f"process, tol = {args.tol:g} for both methods."
        ),
        "",
        (
            "| case | method | seconds | CPU s | iterations | rel. error "
            "| peak RSS (MB) | solver memory (MB) | speed-up (wall) "
            "| speed-up (CPU) |"
        ),
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['case']} | {row['method']} | {_seconds_cell(row)} "
            f"| {row['cpu_seconds']:.2f} | {row['iterations']} "
            f"| {row['error']:.1e} | {row['peak_mb']:.0f} | {row['solver_mb']:.0f} "
            f"| {_speedup_cell(row, 'speedup')} | {_speedup_cell(row, 'cpu_speedup')} |"
        )
    lines += [
        "",
        (
            "Setup (Candes, Li, Ma and Wright 2011, section 4.1): L0 = X Y^T with "
            "X, Y entries N(0, 1/n) for n columns; 5 % of entries, chosen "
            "uniformly, are corrupted by +-1 with random signs (unit magnitude as "
            "in the paper; at n = 1000 that is about 140 standard deviations of "
            "L0's entries, a gross error); lam = 1/sqrt(max(m, n)) unless stated; "
            "seed 0. Textbook: constant mu = m n / (4 ||M||_1) and a full SVD "
            "every iteration (`bench/rpca_textbook.py`). Ours: `detectors.rpca` "
            "(inexact ALM with mu grown 1.3x per iteration and a partial SVD of "
            "predicted rank; for the 40-column cases the eigendecomposition of the "
            "40 x 40 Gram matrix). Both stop at ||M - L - S||_F / ||M||_F < tol. "
            "Rel. error = ||L - L0||_F / ||L0||_F. Seconds: wall time of the "
            "solve; CPU s: its user + system time, which depends less on the other "
            "work on the machine. Peak RSS: the solver process's maximum resident "
            "memory (interpreter, numpy and M included); solver memory: that peak "
            "minus the resident memory just before the solve. A textbook run "
            "marked stopped hit its CPU budget "
            f"({args.time_budget:.0f} s, or {args.slow_budget:.0f} s for the "
            "2000 x 2000 and tall cases) before tol; its speed-ups are lower "
            "bounds."
        ),
    ]
    tall = {r["method"]: r for r in rows if r["case"] == "100000 x 40, rank 2"}
    if "ours" in tall:
        lines.append(
            "- 100000 x 40 at the default lam = 1/sqrt(m) = 0.0032 lies outside "
            "PCP's proven recovery regime (rank up to about n / log(m)^2 = 0.3 "
            "here). Measured separately on the 20000 x 40 instance of the same "
            "generator: a long solve to residual 1e-13 (mu grown 1.05x, 268 "
            "iterations) ends at objective 324.9045369, below the planted pair's "
            "324.9045438, and 6.8e-4 from L0: the PCP optimum is not L0, so no "
            "exact solver reaches 1e-6 here. Ours stops at a feasible point "
            f"{tall['ours']['error']:.1e} from L0: with the residual as its only "
            "stopping test, the inexact ALM ends near, not at, the optimum of this "
            "nearly flat problem. With lam = 0.01 our solver recovers L0."
        )
    target = [r for r in rows if r["case"] == TARGET_CASE and r["method"] == "ours"]
    if target:
        row = target[0]
        slower = min(row["speedup"], row["cpu_speedup"])
        met = slower >= TARGET_SPEEDUP and row["error"] <= TARGET_ERROR
        lines.append(
            f"- Target at n = 1000 (>= {TARGET_SPEEDUP:.0f}x faster with error <= "
            f"{TARGET_ERROR:g}): {row['speedup']:.0f}x wall, "
            f"{row['cpu_speedup']:.0f}x CPU, error {row['error']:.1e}: "
            f"{'met' if met else 'not met'}."
        )
    over = [
        r["case"] for r in rows if r["method"] == "ours" and r["error"] > TARGET_ERROR
    ]
    lines.append(
        "- Our error <= 1e-6 in every case: "
        + ("yes." if not over else "no; above it: " + "; ".join(over) + ".")
    )
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller cases")
    parser.add_argument("--tol", type=float, default=1e-7)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="BLAS threads per solver process (default 1: the "
        "machine is shared, and oversubscribed BLAS threads "
        "make timings erratic)",
    )
    parser.add_argument(
        "--time-budget",
        type=float,
        default=900.0,
        help="CPU seconds after which a textbook run is stopped",
    )
    parser.add_argument(
        "--slow-budget",
        type=float,
        default=180.0,
        help="the same for the 2000 x 2000 and tall cases",
    )
    parser.add_argument(
        "--no-readme", action="store_true", help="print only; leave README.md alone"
    )
    parser.add_argument(
        "--worker", choices=["textbook", "ours"], help=argparse.SUPPRESS
    )
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--lam", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    given = sys.argv[1:] if argv is None else list(argv)
    args.argv = [arg for arg in given if arg != "--no-readme"]

    if args.worker:
        worker(args)
        return

    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_start = _load_average()
    cases = QUICK_CASES if args.quick else FULL_CASES
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-rpca-") as tmp:
        for case in cases:
            M, L0, _ = make_problem(case["m"], case["n"], case["rank"])
            data_dir = Path(tmp)
            np.save(data_dir / "M.npy", M)
            np.save(data_dir / "L0.npy", L0)
            del M, L0
            results = {}
            for method in ("textbook", "ours"):
                result = run_one(case, method, data_dir, args)
                results[method] = result
                rows.append({"case": case["name"], "method": method, **result})
                print(
                    f"{case['name']:32s} {method:9s} {result['seconds']:8.2f} s "
                    f"{result['iterations']:5d} it  error {result['error']:.1e}"
                    f"  ({result['stopped']})",
                    file=sys.stderr,
                    flush=True,
                )
            textbook, ours = results["textbook"], results["ours"]
            rows[-1]["speedup"] = textbook["seconds"] / ours["seconds"]
            rows[-1]["cpu_speedup"] = textbook["cpu_seconds"] / max(
                ours["cpu_seconds"], 1e-3
            )
            rows[-1]["speedup_is_bound"] = textbook["stopped"] != "tol"

    text = build_report(rows, args, started, load_start)
    print(text)
    if not args.no_readme:
        from bench.readme_table import write_section

        write_section("rpca", text)


if __name__ == "__main__":
    main()
