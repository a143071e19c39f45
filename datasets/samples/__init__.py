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
        raise DatasetError(f"no bundled sample '{key}'; choose one of "
                           f"{', '.join(SAMPLES)}") from None
