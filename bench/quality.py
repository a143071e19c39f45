"""Accuracy benchmark: our four detectors against PyOD and IsolationForest on ODDS.

Every detector runs with its defaults on every ``odds_*.csv.gz`` in
../shared/datasets: it is fitted on all rows without labels and scores the same
rows; ``label`` is used only to compute ROC-AUC and average precision. The table
goes to stdout and into README.md (section "quality").

Usage (from the repository root)::

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/quality.py            # all ODDS sets
    .venv/bin/python bench/quality.py --quick    # a few small sets
    .venv/bin/python bench/quality.py --only cardio
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):
    # Run as `python bench/quality.py`: make `detectors` and `bench` importable.
    sys.path.insert(0, str(ROOT))
DATASETS = ROOT.parent / "shared" / "datasets"
QUICK = ("cardio", "glass", "ionosphere", "thyroid", "vowels")

# (column title, module, class name, family used for the target check)
OURS = (
    ("PCA", "detectors.pca", "PCADetector", "pca"),
    ("AE", "detectors.autoencoder", "AutoencoderDetector", "ae"),
    ("VAE", "detectors.vae", "VAEDetector", "vae"),
    ("RPCA", "detectors.rpca", "RobustPCADetector", "rpca"),
)
THEIRS = (
    ("PyOD PCA", "pyod.models.pca", "PCA", "pca"),
    ("PyOD AE", "pyod.models.auto_encoder", "AutoEncoder", "ae"),
    ("PyOD VAE", "pyod.models.vae", "VAE", "vae"),
)


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Features and ground truth of one ODDS file (``label`` is never a feature)."""
    frame = pd.read_csv(path)
    y_true = frame.pop("label").to_numpy(dtype=int)
    return frame.to_numpy(dtype=np.float64), y_true


def _import(module: str, attribute: str):
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        # Other detectors may not be written yet: report, then show n/a.
        print(
            f"{module}.{attribute} unavailable ({exc}): shown as n/a", file=sys.stderr
        )
        return None


def scorers() -> dict[str, Callable[[np.ndarray], np.ndarray] | None]:
    """Method title -> function mapping X to scores (higher = more anomalous).

    None marks a method whose module is not there (printed as n/a).
    """
    methods: dict[str, Callable | None] = {}
    for title, module, attribute, _ in OURS:
        cls = _import(module, attribute)
        methods[title] = None if cls is None else _ours(cls)
    for title, module, attribute, _ in THEIRS:
        cls = _import(module, attribute)
        methods[title] = None if cls is None else _pyod(cls)
    forest = _import("sklearn.ensemble", "IsolationForest")
    methods["IForest"] = lambda X: -forest(random_state=0).fit(X).score_samples(X)
    return methods


def _ours(cls) -> Callable[[np.ndarray], np.ndarray]:
    return lambda X: cls().fit(X).score_samples(X)


def _pyod(cls) -> Callable[[np.ndarray], np.ndarray]:
    # verbose=0 only silences PyOD's progress bars; every model parameter is default.
    def score(X: np.ndarray) -> np.ndarray:
        try:
            model = cls(verbose=0)
        except TypeError:
            model = cls()
        return model.fit(X).decision_function(X)

    return score


def run(names: list[str]) -> tuple[dict, dict]:
    """ROC-AUC / AP / seconds per (dataset, method); failures recorded as text."""
    methods = scorers()
    results: dict[tuple[str, str], tuple[float, float, float] | str] = {}
    for name in names:
        X, y_true = load(DATASETS / f"odds_{name}.csv.gz")
        print(
            f"{name}: {X.shape[0]} x {X.shape[1]}, {y_true.mean():.1%} anomalies",
            file=sys.stderr,
        )
        for title, score in methods.items():
            if score is None:
                results[name, title] = "n/a"
                continue
            start = time.perf_counter()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scores = np.asarray(score(X), dtype=np.float64)
            except Exception as exc:  # a failing method is reported, not fatal
                results[name, title] = "error"
                print(f"  {title}: {type(exc).__name__}: {exc}", file=sys.stderr)
                continue
            seconds = time.perf_counter() - start
            if not np.isfinite(scores).all():
                results[name, title] = "non-finite"
                continue
            results[name, title] = (
                roc_auc_score(y_true, scores),
                average_precision_score(y_true, scores),
                seconds,
            )
            print(
                f"  {title}: ROC-AUC {results[name, title][0]:.3f} ({seconds:.1f} s)",
                file=sys.stderr,
            )
    return methods, results


def _mean(values: list) -> float:
    numbers = [v for v in values if isinstance(v, float)]
    return float(np.mean(numbers)) if len(numbers) == len(values) else math.nan


def table(names: list[str], methods: dict, results: dict, metric: int) -> str:
    """Markdown table of one metric (0 ROC-AUC, 1 AP, 2 seconds) with the mean."""
    titles = list(methods)
    lines = [
        "| dataset | " + " | ".join(titles) + " |",
        "|---|" + "---:|" * len(titles),
    ]

    def cell(value) -> str:
        if isinstance(value, str):
            return value
        return "n/a" if math.isnan(value) else f"{value:.3f}"

    columns = {
        t: [
            r if isinstance(r := results[n, t], str) else float(r[metric])
            for n in names
        ]
        for t in titles
    }
    for i, name in enumerate(names):
        lines.append(
            f"| {name} | " + " | ".join(cell(columns[t][i]) for t in titles) + " |"
        )
    lines.append(
        "| **mean** | "
        + " | ".join(f"**{cell(_mean(columns[t]))}**" for t in titles)
        + " |"
    )
    return "\n".join(lines)


def targets(names: list[str], methods: dict, results: dict) -> str:
    """Target lines: ours vs PyOD's matching detector; best of ours vs IForest."""
    mean = {
        t: _mean(
            [
                results[n, t]
                if isinstance(results[n, t], str)
                else float(results[n, t][0])
                for n in names
            ]
        )
        for t in methods
    }
    lines = []
    for (ours, _, _, _family), theirs in zip(OURS[:3], THEIRS):
        a, b = mean[ours], mean[theirs[0]]
        verdict = (
            "n/a"
            if math.isnan(a) or math.isnan(b)
            else ("met" if a >= b else "NOT met")
        )
        lines.append(f"- {ours} {a:.3f} vs {theirs[0]} {b:.3f}: {verdict}")
    best = max((mean[t] for t, *_ in OURS if not math.isnan(mean[t])), default=math.nan)
    forest = mean["IForest"]
    verdict = "n/a" if math.isnan(best) else ("met" if best >= forest else "NOT met")
    lines.append(f"- best of ours {best:.3f} vs IForest {forest:.3f}: {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    group.add_argument(
        "--only",
        metavar="NAME",
        help="one ODDS set, e.g. cardio (file odds_NAME.csv.gz)",
    )
    parser.add_argument(
        "--no-readme",
        action="store_true",
        help="print the table without writing README.md",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for this process (default 1)",
    )
    args = parser.parse_args(argv)

    available = sorted(
        p.name[len("odds_") : -len(".csv.gz")] for p in DATASETS.glob("odds_*.csv.gz")
    )
    if args.only:
        if args.only not in available:
            parser.error(
                f"no odds_{args.only}.csv.gz in {DATASETS}; "
                f"choose from {', '.join(available)}"
            )
        names = [args.only]
    else:
        names = [n for n in available if not args.quick or n in QUICK]

    # Small networks run fastest on one thread; this sets it for this process only.
    import torch

    torch.set_num_threads(args.threads)
    methods, results = run(names)

    command = "python bench/quality.py" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    text = "\n\n".join(
        [
            f"Command: `{command}` (ODDS sets from ../shared/datasets; every method "
            "with its defaults, fitted without labels on all rows and scoring the "
            "same rows; torch on "
            f"{args.threads} CPU thread(s)).",
            "ROC-AUC:",
            table(names, methods, results, 0),
            "Average precision:",
            table(names, methods, results, 1),
            "Fit + score seconds:",
            table(names, methods, results, 2),
            "Targets (mean ROC-AUC):\n" + targets(names, methods, results),
        ]
    )
    print(text)
    if not args.no_readme:
        from bench.readme_table import write_section

        write_section("quality", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
