"""Command line: build traffic matrices from flows, or a synthetic one.

Usage::

    python -m datasets traffic-matrix FLOWS --bin 5min --by src,dst --value bytes \\
        [--prefix 24] [--top 50] --out TM.csv
    python -m datasets synth-tm [--out PATH] [--seed 0] [--nodes 12] [--days 7]
    python -m datasets inspect FILE [--label COL]

Bad input exits with status 2 and one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import DatasetError


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error in one line, exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m datasets", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )

    tm = commands.add_parser("traffic-matrix", help="flows -> time bins x OD pairs")
    tm.add_argument("flows", type=Path, help="flow file (CSV, Zeek conn.log, ...)")
    tm.add_argument("--bin", default="5min", help="bin width, e.g. 5min, 1h")
    tm.add_argument("--by", default="src,dst", help="src,dst (OD pairs), src or dst")
    tm.add_argument(
        "--value", default="bytes", help="bytes, packets, flows or a column name"
    )
    tm.add_argument(
        "--prefix",
        type=int,
        default=None,
        help="group IPv4 addresses into /PREFIX networks (IPv6: /64)",
    )
    tm.add_argument(
        "--top",
        type=int,
        default=None,
        help="keep the TOP largest groups, sum the rest into 'other'",
    )
    tm.add_argument("--time-column", default=None)
    tm.add_argument("--src-column", default=None)
    tm.add_argument("--dst-column", default=None)
    tm.add_argument("--out", type=Path, required=True, help="output CSV")

    synth = commands.add_parser("synth-tm", help="synthetic traffic matrix with labels")
    synth.add_argument(
        "--out",
        type=Path,
        default=Path("synth_tm.csv"),
        help="output CSV; ground truth goes to OUT's stem + "
        "'.truth.csv' (default: %(default)s)",
    )
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--nodes", type=int, default=12)
    synth.add_argument("--days", type=int, default=7)
    synth.add_argument("--bin-minutes", type=int, default=5)

    inspect = commands.add_parser("inspect", help="show how a file is read")
    inspect.add_argument("file", type=Path)
    inspect.add_argument("--label", default=None)
    return parser


def truth_path(out: Path) -> Path:
    """Where ``synth-tm`` writes the cell-level ground truth for ``out``."""
    name = out.name.removesuffix(".gz").removesuffix(".csv")
    return out.with_name(f"{name}.truth.csv")


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit status."""
    args = _parser().parse_args(argv)
    # Library INFO lines would precede an error line; notes are printed after
    # success instead, so bad input yields exactly one line on stderr.
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    try:
        if args.command == "traffic-matrix":
            _traffic_matrix(args)
        elif args.command == "synth-tm":
            _synth(args)
        else:
            _inspect(args)
    except DatasetError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except (ValueError, OSError) as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    return 0


def _traffic_matrix(args) -> None:
    from .reading import load_table
    from .roles import infer_roles
    from .traffic import flows_to_traffic_matrix

    table = load_table(args.flows)
    spec = infer_roles(table.frame, schema=table.schema)
    by = tuple(part.strip() for part in args.by.split(",") if part.strip())
    matrix = flows_to_traffic_matrix(
        table.frame,
        bin=args.bin,
        by=by,
        value=args.value,
        prefix=args.prefix,
        spec=spec,
        time_column=args.time_column,
        src_column=args.src_column,
        dst_column=args.dst_column,
        top=args.top,
        name=table.name,
    )
    _write(matrix, args.out)
    for note in [*table.notes, *matrix.attrs.get("notes", [])]:
        print(note, file=sys.stderr)
    print(f"wrote {args.out}: {matrix.shape[0]} bins x {matrix.shape[1] - 1} columns")


def _synth(args) -> None:
    from .traffic import synth_traffic_matrix

    matrix, truth = synth_traffic_matrix(
        n_nodes=args.nodes, days=args.days, bin_minutes=args.bin_minutes, seed=args.seed
    )
    _write(matrix, args.out)
    _write(truth, truth_path(args.out))
    for anomaly in matrix.attrs["anomalies"]:
        print(
            f"{anomaly.kind}: bins {anomaly.start}-"
            f"{anomaly.start + anomaly.n_bins - 1}, {anomaly.description}",
            file=sys.stderr,
        )
    print(
        f"wrote {args.out} ({matrix.shape[0]} bins x {matrix.shape[1] - 2} OD pairs, "
        f"{int(matrix['label'].sum())} anomalous bins) and {truth_path(args.out)} "
        f"({len(truth)} anomalous cells)"
    )


def _inspect(args) -> None:
    from .prepare import prepare
    from .reading import load_table
    from .roles import infer_roles

    table = load_table(args.file)
    spec = infer_roles(table.frame, schema=table.schema, label=args.label)
    prepared = prepare(table.frame, spec, name=table.name)
    print(
        f"{table.name}: {table.frame.shape[0]} rows x {table.frame.shape[1]} columns"
        f"{f', layout {table.schema}' if table.schema else ''}"
    )
    for note in table.notes:
        print(f"  read: {note}")
    for column, role in spec.roles.items():
        print(f"  {column!r:32} {role:12} {spec.reasons.get(column, '')}")
    for line in prepared.report:
        print(f"  {line}")


def _write(frame, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False, date_format="%Y-%m-%dT%H:%M:%SZ")


if __name__ == "__main__":
    sys.exit(main())
