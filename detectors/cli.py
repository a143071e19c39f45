"""Command line: ``python -m detectors score INPUT ...`` (a stable interface).

Output columns are ``row``, then ``score_<name>`` and ``flag_<name>`` per detector.
Bad input exits with status 2 and one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from detectors.pipeline import DETECTOR_NAMES, evaluate, parse_detector_names, score_all
from detectors.thresholds import ThresholdPolicy

logger = logging.getLogger("detectors.cli")

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad input or arguments: reported as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m detectors",
        description="Score rows of a CSV with reconstruction-based anomaly detectors.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser("score", help="fit the detectors on INPUT and score every row")
    score.add_argument("input", metavar="INPUT", help="CSV, CSV.GZ, TSV or Parquet file")
    score.add_argument("--out", help="output CSV (default: standard output)")
    score.add_argument(
        "--detectors",
        default=",".join(DETECTOR_NAMES),
        help="comma-separated subset of pca,ae,vae,rpca (default: all four)",
    )
    score.add_argument("--label", help="label column (1/anomaly vs 0/normal); never a feature")
    score.add_argument("--contamination", type=float, default=0.05,
                       help="fraction of rows to flag per detector (default 0.05)")
    score.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    score.add_argument("--metrics-json", help="write per-detector metrics to this JSON file")
    score.add_argument("--missing", choices=("impute", "drop"), default="impute",
                       help="missing/non-finite cells: median-impute (default) or drop rows")
    score.add_argument("--quiet", action="store_true", help="log warnings only")
    score.add_argument("--verbose", action="store_true",
                       help="also log the library's own detail (training, solver)")
    return parser


def _fraction(value: float, option: str) -> float:
    if not 0 < value < 1 or math.isnan(value):
        raise UsageError(f"{option} must be between 0 and 1 (exclusive), got {value}")
    return value


def run_score(args: argparse.Namespace) -> int:
    from datasets import DatasetError, infer_roles, load_table, prepare

    try:
        names = parse_detector_names(args.detectors)
    except ValueError as exc:
        raise UsageError(f"--detectors: {exc}") from None
    policy = ThresholdPolicy("contamination", _fraction(args.contamination, "--contamination"))
    path = Path(args.input)
    if not path.is_file():
        raise UsageError(f"{args.input}: no such file; check the path")

    try:
        table = load_table(path)
        spec = infer_roles(table.frame, schema=table.schema, label=args.label)
        prepared = prepare(table.frame, spec, missing=args.missing, name=table.name)
    except DatasetError as exc:
        message = str(exc)
        # Every message names the file, even when the failing step did not know it.
        raise UsageError(message if path.name in message else f"{path.name}: {message}") from None
    for line in list(table.notes) + list(prepared.report):
        logger.info("%s: %s", table.name, line)

    def progress(name, step, total, loss):
        if step == 0 and loss is None:
            logger.info("%s: fitting on %d rows x %d features", name, *prepared.X.shape)

    try:
        result = score_all(prepared.X, names, seed=args.seed, progress=progress)
    except ValueError as exc:
        raise UsageError(f"{table.name}: {exc}") from None

    n_rows = len(table.frame)
    out = pd.DataFrame({"row": np.arange(n_rows)})
    metrics = {}
    for name in names:
        scores = result.scores[name]
        flags = policy.apply(scores)[1]
        # Rows dropped for missing values stay in the output with empty cells.
        score_col = np.full(n_rows, np.nan)
        score_col[prepared.rows] = scores
        flag_col = pd.array([pd.NA] * n_rows, dtype="Int64")
        flag_col[prepared.rows] = flags.astype(int)
        out[f"score_{name}"] = score_col
        out[f"flag_{name}"] = flag_col
        entry = {"seconds": round(result.seconds[name], 4), "flagged": int(flags.sum())}
        if prepared.y_true is not None:
            quality = evaluate(prepared.y_true, scores)
            entry = {"roc_auc": quality["roc_auc"],
                     "average_precision": quality["average_precision"], **entry}
        metrics[name] = entry
        logger.info("%s: %s", name, entry)

    if args.out:
        out.to_csv(args.out, index=False)
    else:
        out.to_csv(sys.stdout, index=False)
    if args.metrics_json:
        Path(args.metrics_json).write_text(json.dumps(metrics, indent=2), encoding="utf-8")
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Progress lines come from the CLI's own logger; the library's INFO detail only
    # with --verbose, so a refused input stays one line on stderr.
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(message)s",
        stream=sys.stderr,
    )
    if not getattr(args, "quiet", False):
        logger.setLevel(logging.INFO)
    try:
        if args.command == "score":
            return run_score(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"error: {exc.filename or args.input}: {exc.strerror}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0
