"""Time the dashboard with Streamlit's AppTest: opening the ODDS cardio analysis cold
(imports, reading, fitting all four detectors, drawing) and changing pages warm.

Run: ``python bench/dashboard.py`` (writes the table into README.md). Each cold open
runs in a fresh interpreter, so nothing is cached or imported beforehand.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APP = str(ROOT / "dashboard" / "app.py")
PAGES = ("explain", "timeline", "rpca", "data", "compare")
COLD_TARGET, WARM_TARGET = 10.0, 1.0


def measure(cycles: int) -> dict:
    """One cold open and ``cycles`` rounds of page changes, in this process."""
    from streamlit.testing.v1 import AppTest

    # CPU seconds (all threads of this process) next to wall seconds: on a shared
    # machine the wall clock also counts time spent waiting for a core.
    at = AppTest.from_file(APP, default_timeout=600)
    start, cpu = time.perf_counter(), time.process_time()
    at.run()
    cold = (time.perf_counter() - start, time.process_time() - cpu)
    if at.exception:
        raise RuntimeError(f"the app failed: {at.exception[0].message}")
    warm = {page: [] for page in PAGES}
    for _ in range(cycles):
        for page in PAGES:
            start, cpu = time.perf_counter(), time.process_time()
            at.switch_page(f"views/{page}.py").run()
            warm[page].append((time.perf_counter() - start, time.process_time() - cpu))
            if at.exception:
                raise RuntimeError(f"{page} failed: {at.exception[0].message}")
    from dashboard.services import run_store

    return {"cold": cold, "warm": warm, "fits": run_store().fits}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="fresh interpreters")
    parser.add_argument("--cycles", type=int, default=3, help="page-change rounds each")
    parser.add_argument("--no-readme", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(measure(args.cycles)))
        return

    # Other work on a shared machine slows every step; the table says how busy it was.
    load = os.getloadavg()[0]
    results = []
    for _ in range(args.repeats):
        done = subprocess.run(
            [sys.executable, __file__, "--child", "--cycles", str(args.cycles)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))

    colds = [r["cold"][0] for r in results]
    cold = statistics.median(colds)
    cold_cpu = statistics.median(r["cold"][1] for r in results)
    warm = {
        page: statistics.median(t[0] for r in results for t in r["warm"][page])
        for page in PAGES
    }
    warm_cpu = {
        page: statistics.median(t[1] for r in results for t in r["warm"][page])
        for page in PAGES
    }
    slowest = max(warm.values())
    fits = {r["fits"] for r in results}

    lines = [
        "ODDS cardio (1831 rows x 21 features), all four detectors, Streamlit "
        f"AppTest; "
        f"{os.cpu_count()} cores (load average {load:.1f} at start), Python "
        f"{platform.python_version()}; median of {args.repeats} fresh interpreters, "
        "page "
        f"changes {args.cycles} rounds each. Fits per session: "
        f"{', '.join(map(str, sorted(fits)))} (page changes never refit). CPU seconds "
        "count every thread of the process, so they do not include waiting for a core.",
        "",
        "| step | wall seconds | CPU seconds | target (s) | wall / target |",
        "|---|---:|---:|---:|---:|",
        f"| open the analysis, cold (imports, read, fit all four, draw Compare) | "
        f"{cold:.2f} | {cold_cpu:.2f} | {COLD_TARGET:g} | {cold / COLD_TARGET:.2f} |",
    ]
    for page in PAGES:
        lines.append(
            f"| change page to {page.capitalize()}, warm | {warm[page]:.2f} | "
            f"{warm_cpu[page]:.2f} | {WARM_TARGET:g} | "
            f"{warm[page] / WARM_TARGET:.2f} |"
        )
    lines += [
        "",
        f"Cold opens: {', '.join(f'{c:.2f}' for c in colds)} s. The slowest page "
        "change "
        f"takes {slowest / cold:.1%} of a cold open ({cold / slowest:.0f}x faster).",
        "",
        "Command: `.venv/bin/python bench/dashboard.py`",
    ]
    table = "\n".join(lines)
    print(table)
    if not args.no_readme:
        from bench.readme_table import write_section

        write_section("dashboard", table)


if __name__ == "__main__":
    main()
