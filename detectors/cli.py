"""Command line: ``python -m detectors score INPUT ...`` (a stable interface).

Output columns are ``row``, then ``score_<name>`` and ``flag_<name>`` per detector.
Bad input exits with status 2 and one line on stderr, never a traceback.
``--manifest run.json`` repeats a saved run (same preprocessing, parameters, seed
and threshold, on an input with the same sha256) and checks the scores bit for bit;
``--write-manifest`` writes such a file for this run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from detectors.pipeline import (
    DETECTOR_NAMES,
    evaluate,
    limit_torch_threads,
    parse_detector_names,
    score_all,
)
from detectors.thresholds import ThresholdPolicy

logger = logging.getLogger("detectors.cli")

EXIT_BAD_INPUT = 2
MANIFEST_FORMAT = "anomaly-lens-run"
MANIFEST_VERSION = 1


class UsageError(Exception):
    """Bad input or arguments: reported as one line, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m detectors",
        description="Score rows of a CSV with reconstruction-based anomaly detectors.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    score = commands.add_parser(
        "score", help="fit the detectors on INPUT and score every row"
    )
    score.add_argument(
        "input", metavar="INPUT", help="CSV, CSV.GZ, TSV or Parquet file"
    )
    score.add_argument("--out", help="output CSV (default: standard output)")
    score.add_argument(
        "--detectors",
        default=",".join(DETECTOR_NAMES),
        help="comma-separated subset of pca,ae,vae,rpca (default: all four)",
    )
    score.add_argument(
        "--label", help="label column (1/anomaly vs 0/normal); never a feature"
    )
    score.add_argument(
        "--contamination",
        type=float,
        default=0.05,
        help="fraction of rows to flag per detector (default 0.05)",
    )
    score.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    score.add_argument(
        "--metrics-json", help="write per-detector metrics to this JSON file"
    )
    score.add_argument(
        "--missing",
        choices=("impute", "drop"),
        default="impute",
        help="missing/non-finite cells: median-impute (default) or drop rows",
    )
    score.add_argument("--quiet", action="store_true", help="log warnings only")
    score.add_argument(
        "--verbose",
        action="store_true",
        help="also log the library's own detail (training, solver)",
    )
    score.add_argument(
        "--manifest",
        metavar="RUN_JSON",
        help="repeat the run in this manifest (from the dashboard or "
        "--write-manifest): its preprocessing, detectors, parameters, "
        "seed and threshold replace the options above; INPUT must have "
        "the manifest's sha256",
    )
    score.add_argument(
        "--write-manifest",
        metavar="RUN_JSON",
        help="write this run's manifest (input sha256, preprocessing, "
        "parameters, seed, threshold, versions, score digests)",
    )
    return parser


def _fraction(value: float, option: str) -> float:
    if not 0 < value < 1 or math.isnan(value):
        raise UsageError(f"{option} must be between 0 and 1 (exclusive), got {value}")
    return value


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scores_sha256(scores) -> str:
    """Digest of the scores as little-endian float64: equal only if bit for bit."""
    return hashlib.sha256(
        np.ascontiguousarray(scores, dtype="<f8").tobytes()
    ).hexdigest()


def build_manifest(
    *,
    input_name: str,
    input_sha256: str,
    preprocessing: dict,
    missing: str,
    detectors,
    params: dict,
    seed: int,
    threshold: dict,
    versions: dict,
    scores: dict,
    flags: dict,
) -> dict:
    """The JSON run manifest shared by the dashboard's export and ``--write-manifest``."""
    return {
        "format": MANIFEST_FORMAT,
        "format_version": MANIFEST_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "input": {"name": Path(str(input_name)).name, "sha256": input_sha256},
        "preprocessing": preprocessing,
        "missing": missing,
        "detectors": list(detectors),
        "params": params,
        "seed": int(seed),
        "threshold": threshold,
        "versions": versions,
        "results": {
            name: {
                "rows_scored": int(len(scores[name])),
                "flagged": int(np.sum(flags[name])),
                "scores_sha256": scores_sha256(scores[name]),
            }
            for name in detectors
        },
    }


def read_manifest(path) -> dict:
    """Load and check a run manifest, or raise a UsageError that names the problem."""
    try:
        manifest = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"{path}: no such manifest; export one from the dashboard's "
            "Share page or write one with --write-manifest"
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a JSON run manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise UsageError(
            f"{path}: not an Anomaly Lens run manifest (no "
            f'"format": "{MANIFEST_FORMAT}")'
        )
    if manifest.get("format_version") != MANIFEST_VERSION:
        raise UsageError(
            f"{path}: manifest version {manifest.get('format_version')!r}; "
            f"this version reads {MANIFEST_VERSION}"
        )
    needed = ("input", "preprocessing", "missing", "detectors", "seed", "threshold")
    absent = [key for key in needed if key not in manifest]
    if absent:
        raise UsageError(f"{path}: the manifest lacks {', '.join(absent)}")
    # Values reach constructors and loops: check their shapes before anything runs.
    params = manifest.get("params") or {}
    detectors = manifest["detectors"]
    checks = [
        (type(manifest["seed"]) is int, "seed must be an integer"),
        (
            manifest["missing"] in ("impute", "drop"),
            "missing must be 'impute' or 'drop'",
        ),
        (
            isinstance(detectors, list) and all(isinstance(n, str) for n in detectors),
            "detectors must be a list of names",
        ),
        (
            isinstance(params, dict)
            and all(isinstance(v, dict) for v in params.values()),
            "params must map detector names to objects",
        ),
        (
            isinstance(manifest["input"], dict) and "sha256" in manifest["input"],
            "input must hold a sha256",
        ),
        (isinstance(manifest["threshold"], dict), "threshold must hold mode and value"),
    ]
    problems = [message for ok, message in checks if not ok]
    if problems:
        raise UsageError(f"{path}: {'; '.join(problems)}")
    return manifest


def _check_manifest_results(manifest: dict, result, manifest_path) -> None:
    """Say whether the scores equal the manifest's bit for bit, and if not, which
    library versions differ (the usual cause)."""
    from detectors.persistence import library_versions

    expected = manifest.get("results") or {}
    differ = [
        name
        for name, entry in expected.items()
        if name in result.scores
        and entry.get("scores_sha256") != scores_sha256(result.scores[name])
    ]
    if not differ:
        logger.info("%s: scores identical to the manifest, bit for bit", manifest_path)
        return
    now = library_versions()
    changed = {
        k: (v, now.get(k))
        for k, v in (manifest.get("versions") or {}).items()
        if now.get(k) != v
    }
    logger.warning(
        "%s: scores of %s differ from the manifest; library versions that changed: %s",
        manifest_path,
        ", ".join(differ),
        changed or "none",
    )


def run_score(args: argparse.Namespace) -> int:
    from datasets import DatasetError, Preprocessing, infer_roles, load_table, prepare

    path = Path(args.input)
    manifest = read_manifest(args.manifest) if args.manifest else None
    try:
        names = parse_detector_names(
            ",".join(manifest["detectors"]) if manifest else args.detectors
        )
    except ValueError as exc:
        raise UsageError(f"--detectors: {exc}") from None
    if manifest:
        try:
            policy = ThresholdPolicy(
                manifest["threshold"]["mode"], manifest["threshold"]["value"]
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{args.manifest}: bad threshold ({exc})") from None
        args.seed, args.missing = int(manifest["seed"]), manifest["missing"]
        params = manifest.get("params") or {}
    else:
        policy = ThresholdPolicy(
            "contamination", _fraction(args.contamination, "--contamination")
        )
        params = {}
    if not path.is_file():
        raise UsageError(f"{args.input}: no such file; check the path")
    input_sha256 = file_sha256(path) if manifest or args.write_manifest else None
    if manifest and input_sha256 != manifest["input"].get("sha256"):
        raise UsageError(
            f"{path.name}: sha256 {input_sha256[:12]}… differs from the manifest's "
            f"{str(manifest['input'].get('sha256'))[:12]}… "
            f"({manifest['input'].get('name')}); pass the file the analysis was made from"
        )

    try:
        table = load_table(path)
        if manifest:
            spec = Preprocessing.from_dict(manifest["preprocessing"])
        else:
            spec = infer_roles(table.frame, schema=table.schema, label=args.label)
        prepared = prepare(table.frame, spec, missing=args.missing, name=table.name)
    except DatasetError as exc:
        message = str(exc)
        # Every message names the file, even when the failing step did not know it.
        raise UsageError(
            message if path.name in message else f"{path.name}: {message}"
        ) from None
    for line in list(table.notes) + list(prepared.report):
        logger.info("%s: %s", table.name, line)

    def progress(name, step, total, loss):
        if step == 0 and loss is None:
            logger.info("%s: fitting on %d rows x %d features", name, *prepared.X.shape)

    if {"ae", "vae"} & set(names):
        # Same thread count as the dashboard, so a manifest reproduces its scores.
        limit_torch_threads()
    try:
        result = score_all(
            prepared.X, names, seed=args.seed, params=params, progress=progress
        )
    except ValueError as exc:
        raise UsageError(f"{table.name}: {exc}") from None
    except TypeError as exc:
        # Only a manifest's params can reach the constructors with a wrong keyword.
        raise UsageError(f"{args.manifest}: bad detector parameters ({exc})") from None
    if manifest:
        _check_manifest_results(manifest, result, args.manifest)
    reference = None if prepared.y_true is None else prepared.y_true == 0
    all_flags = {}

    n_rows = len(table.frame)
    out = pd.DataFrame({"row": np.arange(n_rows)})
    metrics = {}
    for name in names:
        scores = result.scores[name]
        try:
            flags = policy.apply(
                scores, detector=result.models[name], X=prepared.X, reference=reference
            )[1]
        except ValueError as exc:
            raise UsageError(f"{table.name}: {exc}") from None
        all_flags[name] = flags
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
            entry = {
                "roc_auc": quality["roc_auc"],
                "average_precision": quality["average_precision"],
                **entry,
            }
        metrics[name] = entry
        logger.info("%s: %s", name, entry)

    if args.out:
        out.to_csv(args.out, index=False)
    else:
        out.to_csv(sys.stdout, index=False)
    if args.metrics_json:
        Path(args.metrics_json).write_text(
            json.dumps(metrics, indent=2), encoding="utf-8"
        )
    if args.write_manifest:
        from detectors.persistence import library_versions

        document = build_manifest(
            input_name=path.name,
            input_sha256=input_sha256,
            preprocessing=spec.to_dict(),
            missing=args.missing,
            detectors=names,
            params=params,
            seed=args.seed,
            threshold={"mode": policy.mode, "value": policy.value},
            versions=library_versions(),
            scores=result.scores,
            flags=all_flags,
        )
        Path(args.write_manifest).write_text(
            json.dumps(document, indent=2), encoding="utf-8"
        )
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
