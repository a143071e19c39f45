"""Anomaly Lens detectors: PCA, autoencoder, VAE and Robust PCA with one interface.

Every detector has ``fit(X) -> self``, ``score_samples(X)`` (higher = more
anomalous), ``residuals(X)`` (per-feature contributions that sum to the score)
and ``explain(X, top=5)``. Thresholds are separate: see :mod:`detectors.thresholds`.
"""

from importlib import import_module

# Lazy exports (PEP 562): ``import detectors`` stays fast and torch is only
# imported when a neural detector is first used.
_EXPORTS = {
    "PCADetector": "detectors.pca",
    "AutoencoderDetector": "detectors.autoencoder",
    "VAEDetector": "detectors.vae",
    "RobustPCADetector": "detectors.rpca",
    "principal_component_pursuit": "detectors.rpca",
    "NotFittedError": "detectors.base",
    "ConvergenceWarning": "detectors.base",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'detectors' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
