"""Fit and score several detectors on one matrix: the step the CLI and dashboard share."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from detectors.thresholds import ThresholdPolicy

logger = logging.getLogger(__name__)

DETECTOR_NAMES = ("pca", "ae", "vae", "rpca")
DETECTOR_TITLES = {
    "pca": "PCA",
    "ae": "Autoencoder",
    "vae": "VAE",
    "rpca": "Robust PCA",
}
_CLASSES = {
    "pca": ("detectors.pca", "PCADetector"),
    "ae": ("detectors.autoencoder", "AutoencoderDetector"),
    "vae": ("detectors.vae", "VAEDetector"),
    "rpca": ("detectors.rpca", "RobustPCADetector"),
}
_SEEDED = ("ae", "vae")

# progress(detector_name, step, total, loss)
RunProgress = Callable[[str, int, int, "float | None"], None]


def parse_detector_names(text: str) -> tuple[str, ...]:
    """Parse ``"pca,ae"`` into a tuple of known names, or raise a ValueError."""
    names = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in _CLASSES]
    if unknown or not names:
        raise ValueError(
            f"unknown detector(s) {unknown or [text]}; choose from {','.join(DETECTOR_NAMES)}"
        )
    return tuple(dict.fromkeys(names))


def make_detector(
    name: str, *, seed: int = 0, progress=None, params: dict | None = None
):
    """Build an unfitted detector by short name with the product's defaults."""
    module, cls_name = _CLASSES[name]
    cls = getattr(import_module(module), cls_name)
    kwargs = dict(params or {})
    if name in _SEEDED:
        kwargs.setdefault("random_state", seed)
        if progress is not None:
            kwargs["progress"] = progress
    return cls(**kwargs)


@dataclass
class RunResult:
    """Scores (higher = more anomalous) and fitted models of one run."""

    scores: dict[str, np.ndarray]
    seconds: dict[str, float]
    models: dict[str, object] = field(repr=False)

    def flags(self, policy: ThresholdPolicy, X=None, reference=None) -> dict:
        """Flags per detector under one policy; never refits."""
        return {
            name: policy.apply(
                scores, detector=self.models.get(name), X=X, reference=reference
            )[1]
            for name, scores in self.scores.items()
        }


def score_all(
    X: np.ndarray,
    names=DETECTOR_NAMES,
    *,
    seed: int = 0,
    params: dict | None = None,
    progress: RunProgress | None = None,
) -> RunResult:
    """Fit each named detector on ``X`` and score every row of ``X``.

    ``params`` maps a detector name to extra constructor arguments.
    """
    scores, seconds, models = {}, {}, {}
    for name in names:
        step_progress = None
        if progress is not None:
            progress(name, 0, 1, None)
            step_progress = functools.partial(progress, name)
        detector = make_detector(
            name, seed=seed, progress=step_progress, params=(params or {}).get(name)
        )
        start = time.perf_counter()
        detector.fit(X)
        scores[name] = detector.train_scores_
        seconds[name] = time.perf_counter() - start
        models[name] = detector
        if progress is not None:
            progress(name, 1, 1, None)
        logger.info(
            "%s fitted and scored %d rows in %.2f s", name, len(X), seconds[name]
        )
    return RunResult(scores=scores, seconds=seconds, models=models)


def evaluate(y_true, scores: np.ndarray, flags: np.ndarray | None = None) -> dict:
    """ROC-AUC and average precision (scikit-learn) of one detector's scores.

    Returns NaN metrics when ``y_true`` has only one class, where they are
    undefined.
    """
    y_true = np.asarray(y_true).astype(int)
    result = {}
    if np.unique(y_true).size == 2:
        result["roc_auc"] = float(roc_auc_score(y_true, scores))
        result["average_precision"] = float(average_precision_score(y_true, scores))
    else:
        result["roc_auc"] = float("nan")
        result["average_precision"] = float("nan")
    if flags is not None:
        flags = np.asarray(flags, dtype=bool)
        result["true_positives"] = int(np.sum(flags & (y_true == 1)))
        result["false_positives"] = int(np.sum(flags & (y_true == 0)))
    return result


def limit_torch_threads(threads: int = 1) -> None:
    """Run torch on ``threads`` threads; for the CLI and dashboard entry points only.

    Our networks are small, so thread start-up costs more than it saves: on 2
    shared cores the cardio fits ran 5 to 10 times slower with torch's default.
    Library code never calls this; a user's own process keeps its settings.
    """
    import torch

    torch.set_num_threads(threads)
