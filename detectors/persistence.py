"""Save and load fitted detectors as plain files: ``.npz`` arrays plus a JSON document.

No pickle: arrays are read with ``allow_pickle=False`` and torch weights travel as
numpy arrays, so loading a model file can never execute code.
"""

from __future__ import annotations

import json
import platform
from importlib import import_module, metadata
from pathlib import Path

import numpy as np

from detectors.base import StandardScaler

FORMAT_VERSION = 1

CLASSES = {
    "PCADetector": "detectors.pca",
    "AutoencoderDetector": "detectors.autoencoder",
    "VAEDetector": "detectors.vae",
    "RobustPCADetector": "detectors.rpca",
}


def library_versions() -> dict[str, str]:
    """Versions of the libraries that determine the scores."""
    versions = {"python": platform.python_version()}
    for package in ("numpy", "scipy", "torch", "pandas", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def _paths(path) -> tuple[Path, Path]:
    base = Path(path)
    if base.suffix in (".json", ".npz"):
        base = base.with_suffix("")
    return base.with_suffix(".json"), base.with_suffix(".npz")


def save_detector(detector, path, *, feature_names=None, threshold=None) -> Path:
    """Write ``detector`` to ``PATH.json`` and ``PATH.npz``; return the JSON path.

    Parameters
    ----------
    detector : fitted detector
    path : str or Path
        Base path; a ``.json`` or ``.npz`` suffix is replaced.
    feature_names : list of str, optional
        Stored so a loaded model can check the columns of new data.
    threshold : dict, optional
        The threshold policy in force (e.g. ``{"mode": "contamination", "value": 0.05}``).
    """
    detector._check_fitted()
    json_path, npz_path = _paths(path)
    arrays = {f"state.{k}": np.asarray(v) for k, v in detector._export_state().items()}
    arrays["train_scores"] = detector.train_scores_
    document = {
        "format_version": FORMAT_VERSION,
        "class": type(detector).__name__,
        "params": detector.get_params(),
        "n_features_in": int(detector.n_features_in_),
        "feature_names": list(feature_names) if feature_names is not None else None,
        "scaler": detector.scaler_.to_dict(),
        "threshold": threshold,
        "versions": library_versions(),
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(npz_path, **arrays)
    json_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return json_path


def load_detector(path):
    """Load a detector written by :func:`save_detector`.

    Returns ``(detector, document)`` where ``document`` is the JSON metadata.
    """
    json_path, npz_path = _paths(path)
    try:
        document = json.loads(json_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(
            f"{json_path}: no such model file; save a detector first."
        ) from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{json_path}: not a valid model document ({exc}).") from None
    class_name = document.get("class")
    if class_name not in CLASSES:
        raise ValueError(
            f"{json_path}: unknown detector class {class_name!r}; "
            f"expected one of {sorted(CLASSES)}."
        )
    if document.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{json_path}: format version {document.get('format_version')} is not "
            f"supported (this version reads {FORMAT_VERSION})."
        )
    cls = getattr(import_module(CLASSES[class_name]), class_name)
    detector = cls(**document["params"])
    with np.load(npz_path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    detector.n_features_in_ = document["n_features_in"]
    detector.scaler_ = StandardScaler.from_dict(document["scaler"])
    detector.train_scores_ = arrays.pop("train_scores")
    detector._import_state(
        {key.removeprefix("state."): value for key, value in arrays.items()}
    )
    return detector, document
