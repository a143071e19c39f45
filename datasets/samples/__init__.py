"""The bundled sample datasets: keys, titles, kinds and file paths."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError

_HERE = Path(__file__).resolve().parent

#: The sample the dashboard opens on.
DEFAULT_SAMPLE = "cardio"


@dataclass(frozen=True)
class Sample:
    """One bundled dataset.

    Attributes
    ----------
    key : str
        Short identifier (``SAMPLES`` key, CLI and URL value).
    title : str
        Name shown in the dashboard.
    description : str
        One line: what the rows are and what the label means.
    filename : str
        File name inside ``datasets/samples/``.
    kind : str
        "tabular", "flows", "images", "timeseries" or "traffic-matrix".
    """

    key: str
    title: str
    description: str
    filename: str
    kind: str


SAMPLES: dict[str, Sample] = {
    s.key: s
    for s in (
        Sample("cardio", "ODDS cardio (cardiotocography)",
               "1,831 foetal heart-rate recordings, 21 features; label 1 = pathologic "
               "(176, 9.6 %).", "cardio.csv.gz", "tabular"),
        Sample("nslkdd", "NSL-KDD network connections",
               "3,000 connections drawn from KDDTrain+_20Percent (seed 0); protocol, "
               "service and flag are one-hot encoded; label 1 = attack.",
               "nslkdd.csv.gz", "flows"),
        Sample("mnist", "MNIST digits: zeros vs the rest",
               "All 980 test images of the digit 0 (normal) plus 50 images of other "
               "digits (anomalies, label 1); 784 pixel columns.", "mnist.csv.gz",
               "images"),
        Sample("cicids2017", "CIC-IDS2017 flows (improved labels)",
               "5,518 CICFlowMeter flows with IPs, ports and timestamps: 5,000 benign "
               "and 518 attacks of 15 kinds (label 1).", "cicids2017.csv.gz", "flows"),
        Sample("nab", "NAB machine temperature",
               "22,695 five-minute temperature readings of an industrial machine; "
               "label 1 inside NAB's four anomaly windows (system failure).",
               "nab_machine_temperature.csv.gz", "timeseries"),
        Sample("cicids2017-tm", "CIC-IDS2017 traffic matrix",
               "The CIC-IDS2017 flows as bytes per hour between /24 networks (top 20 "
               "pairs + other); label 1 in hours holding an attack flow.",
               "cicids2017_tm.csv.gz", "traffic-matrix"),
        Sample("synth-tm", "Synthetic traffic matrix (12 nodes)",
               "One week of 5-minute bins x 144 OD pairs from a gravity model with "
               "daily and weekly cycles; DDoS, outage, shift and scan planted (label "
               "1 in their bins; cells in synth_tm.truth.csv.gz).", "synth_tm.csv.gz",
               "traffic-matrix"),
    )
}  # fmt: skip


def sample_path(key: str) -> Path:
    """Path of a bundled sample file.

    Raises
    ------
    DatasetError
        For an unknown key, listing the known ones.
    """
    try:
        return _HERE / SAMPLES[key].filename
    except KeyError:
        raise DatasetError(
            f"no bundled sample '{key}'; choose one of {', '.join(SAMPLES)}"
        ) from None
