"""Regenerate the bundled samples in datasets/samples/ from ../shared/datasets.

Run from the repository root::

    python -m datasets.make_samples [--source ../shared/datasets]

Every sample is drawn with ``numpy.random.default_rng(SEED)``, so the files
are the same on every run (gzip is written with mtime 0).
"""

from __future__ import annotations

import argparse
import gzip
import io
import logging
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

SEED = 0
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "datasets"
#: Rows drawn from NSL-KDD KDDTrain+_20Percent.
NSLKDD_ROWS = 3000
#: MNIST: every test image of this digit is normal ...
MNIST_NORMAL_DIGIT = 0
#: ... plus this many images of the other digits, labelled anomalies.
MNIST_ANOMALIES = 50
#: Traffic matrix from the CIC-IDS2017 sample: bin, address prefix, pairs kept.
TM_BIN, TM_PREFIX, TM_TOP = "1h", 24, 20


def write_csv_gz(frame: pd.DataFrame, path: Path) -> None:
    """Write a gzip CSV byte-for-byte reproducibly (no timestamp in the header)."""
    text = frame.to_csv(
        index=False, lineterminator="\n", date_format="%Y-%m-%dT%H:%M:%S.%fZ"
    )
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as handle:
        handle.write(text.encode("utf-8"))
    path.write_bytes(buffer.getvalue())
    logger.info(
        "wrote %s: %d rows x %d columns, %d bytes",
        path.name,
        *frame.shape,
        len(buffer.getvalue()),
    )


def make_cardio(source: Path) -> pd.DataFrame:
    """ODDS cardio, all rows."""
    return pd.read_csv(source / "odds_cardio.csv.gz")


def make_nslkdd(source: Path) -> pd.DataFrame:
    """NSL-KDD: NSLKDD_ROWS rows without replacement, kept in file order."""
    frame = pd.read_csv(source / "nslkdd_train20.csv.gz")
    rng = np.random.default_rng(SEED)
    picked = np.sort(rng.choice(len(frame), size=NSLKDD_ROWS, replace=False))
    return frame.iloc[picked].reset_index(drop=True)


def make_mnist(source: Path) -> pd.DataFrame:
    """MNIST test images: every MNIST_NORMAL_DIGIT plus MNIST_ANOMALIES others."""
    frame = pd.read_csv(source / "mnist_test_10k.csv.gz")
    rng = np.random.default_rng(SEED)
    normal = np.flatnonzero(frame["digit"].to_numpy() == MNIST_NORMAL_DIGIT)
    others = np.flatnonzero(frame["digit"].to_numpy() != MNIST_NORMAL_DIGIT)
    picked = np.sort(
        np.concatenate(
            [normal, rng.choice(others, size=MNIST_ANOMALIES, replace=False)]
        )
    )
    sample = frame.iloc[picked].reset_index(drop=True).copy()
    return sample.assign(label=(sample["digit"] != MNIST_NORMAL_DIGIT).astype(int))


def make_cicids(source: Path) -> pd.DataFrame:
    """CIC-IDS2017 sample, all 5,518 rows as shared (IPs, ports, timestamps kept)."""
    return pd.read_csv(source / "cicids2017_sample.csv.gz")


def make_nab(source: Path) -> pd.DataFrame:
    """NAB machine_temperature_system_failure, all rows."""
    return pd.read_csv(source / "nab_machine_temperature_system_failure.csv.gz")


def make_cicids_tm(source: Path) -> pd.DataFrame:
    """The CIC-IDS2017 sample as a traffic matrix: 1-hour bins x /24 OD pairs.

    Same as ``python -m datasets traffic-matrix cicids2017_sample.csv.gz --bin 1h
    --by src,dst --value bytes --prefix 24 --top 20``.
    """
    from .reading import load_table
    from .roles import infer_roles
    from .traffic import flows_to_traffic_matrix

    table = load_table(source / "cicids2017_sample.csv.gz")
    spec = infer_roles(table.frame, schema=table.schema)
    matrix = flows_to_traffic_matrix(
        table.frame,
        bin=TM_BIN,
        by=("src", "dst"),
        value="bytes",
        prefix=TM_PREFIX,
        spec=spec,
        top=TM_TOP,
    )
    return matrix


def make_synth_tm(source: Path) -> pd.DataFrame:  # noqa: ARG001 (same signature)
    """The default ``python -m datasets synth-tm --seed 0`` matrix."""
    from .traffic import synth_traffic_matrix

    matrix, truth = synth_traffic_matrix(seed=SEED)
    write_csv_gz(truth, SAMPLES_DIR / "synth_tm.truth.csv.gz")
    return matrix


MAKERS = {
    "cardio.csv.gz": make_cardio,
    "nslkdd.csv.gz": make_nslkdd,
    "mnist.csv.gz": make_mnist,
    "cicids2017.csv.gz": make_cicids,
    "nab_machine_temperature.csv.gz": make_nab,
    "cicids2017_tm.csv.gz": make_cicids_tm,
    "synth_tm.csv.gz": make_synth_tm,
}


def main(argv: list[str] | None = None) -> None:
    """Write every sample file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=DEFAULT_SOURCE,
        help="folder with the shared datasets (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    SAMPLES_DIR.mkdir(exist_ok=True)
    for filename, maker in MAKERS.items():
        write_csv_gz(maker(args.source), SAMPLES_DIR / filename)


if __name__ == "__main__":
    main()
