"""Torch plumbing shared by the neural detectors: layers, training loop, state I/O.

Everything here runs on the CPU in float32 and draws its randomness (weight
initialisation, shuffling, VAE noise) from a local :class:`torch.Generator`, so a
fit never touches torch's global random state or thread settings.
"""

from __future__ import annotations

import copy
import inspect
import logging
import math
import time
import warnings
from abc import abstractmethod
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from detectors.base import (
    BaseDetector,
    NotFittedError,
    ProgressCallback,
    StandardScaler,
)

logger = logging.getLogger(__name__)

#: hidden-layer activations accepted by the ``activation`` parameter
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "tanh": nn.Tanh,
    "gelu": nn.GELU,
}

# batch_loss(module, batch, training) -> (loss, {term name: term value})
BatchLoss = Callable[
    [nn.Module, torch.Tensor, bool], "tuple[torch.Tensor, dict[str, torch.Tensor]]"
]


def make_generator(random_state: int) -> torch.Generator:
    """A CPU generator seeded from ``random_state``, independent of global state."""
    generator = torch.Generator(device="cpu")
    generator.manual_seed(int(random_state))
    return generator


def default_sizes(
    n_features: int, hidden_sizes=None, latent_dim=None
) -> tuple[int, ...]:
    """Layer widths from the input to the bottleneck, e.g. ``(21, 10, 5)``.

    Defaults scale with ``n_features`` (d): the bottleneck is ``max(2, d // 4)``
    (capped below d so the network cannot learn the identity) and one hidden
    layer of ``min(64, max(2 * latent, d // 2))`` units sits between them.
    """
    if latent_dim is None:
        latent_dim = min(max(2, n_features // 4), max(1, n_features - 1))
    if hidden_sizes is None:
        hidden_sizes = (min(64, max(2 * latent_dim, n_features // 2)),)
    return (n_features, *[int(h) for h in hidden_sizes], int(latent_dim))


def mlp(
    sizes: tuple[int, ...], activation: str, *, activate_last: bool = False
) -> nn.Sequential:
    """Linear layers through ``sizes`` with ``activation`` between them."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if activate_last or i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation]())
    return nn.Sequential(*layers)


def init_weights_(module: nn.Module, generator: torch.Generator) -> None:
    """Re-initialise every linear layer from ``generator``.

    Same distributions as ``nn.Linear``'s own default (Kaiming-uniform weights
    with a=sqrt(5), uniform bias in +-1/sqrt(fan_in)), but seeded locally.
    """
    for layer in module.modules():
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
            if layer.bias is not None:
                bound = 1.0 / math.sqrt(layer.in_features)
                nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def auto_batch_size(n_train: int) -> int:
    """Rows per step when ``batch_size=None``: about 8 steps per epoch on small
    data, at most 256 rows per step on large data."""
    return int(min(n_train, max(32, min(256, n_train // 8))))


def trimmed_mean(row_losses: torch.Tensor, trim_fraction: float) -> torch.Tensor:
    """Mean of the smallest ``1 - trim_fraction`` share of per-row losses.

    Dropping each batch's worst-fitting rows keeps the rare anomalies in the
    training data from being learned, so they keep large reconstruction errors
    (the idea of least trimmed squares, applied per batch).
    """
    n_keep = max(1, math.ceil(len(row_losses) * (1.0 - trim_fraction)))
    if n_keep >= len(row_losses):
        return row_losses.mean()
    return torch.topk(row_losses, n_keep, largest=False, sorted=False).values.mean()


def _split(
    n_samples: int, validation_fraction: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    order = torch.randperm(n_samples, generator=generator)
    n_val = int(n_samples * validation_fraction)
    # Keep at least 2 training rows; below that, early stopping watches train loss.
    if n_samples - n_val < 2:
        n_val = 0
    return order[n_val:], order[:n_val]


def _not_finite_error(label: str, epoch: int, epochs: int, lr: float, what: str):
    return FloatingPointError(
        f"{label}: the {what} loss became NaN or infinite in epoch {epoch} of "
        f"{epochs}. Try a lower lr (now {lr:g}), a smaller grad_clip, or check the "
        "input for extreme values or columns on wildly different scales."
    )


def train_module(
    module: nn.Module,
    Z: np.ndarray,
    batch_loss: BatchLoss,
    *,
    epochs: int,
    batch_size: int | None,
    lr: float,
    weight_decay: float,
    validation_fraction: float,
    patience: int | None,
    grad_clip: float | None,
    generator: torch.Generator,
    progress: ProgressCallback | None = None,
    label: str = "model",
) -> dict[str, list[float]]:
    """Train ``module`` with Adam on rows of ``Z``; return the per-epoch history.

    A random ``validation_fraction`` of rows is held out; training stops after
    ``patience`` epochs without a better validation loss and the best weights are
    restored. ``progress(epoch, epochs, loss)`` is called once per epoch with the
    mean training loss. Raises ``FloatingPointError`` naming the epoch as soon as
    a loss is not finite, so NaN never reaches the scores.
    """
    data = torch.as_tensor(Z, dtype=torch.float32)
    train_idx, val_idx = _split(len(data), validation_fraction, generator)
    train_data, val_data = data[train_idx], data[val_idx]
    n_train = len(train_data)
    step = auto_batch_size(n_train) if batch_size is None else min(batch_size, n_train)
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, weight_decay=weight_decay)

    history: dict[str, list[float]] = {"train_loss": [], "val_loss": []}
    best_loss, best_state, best_epoch, stale = math.inf, None, 0, 0
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        module.train()
        order = torch.randperm(n_train, generator=generator)
        totals: dict[str, float] = {}
        for begin in range(0, n_train, step):
            batch = train_data[order[begin : begin + step]]
            optimizer.zero_grad()
            loss, terms = batch_loss(module, batch, True)
            if not torch.isfinite(loss):
                raise _not_finite_error(label, epoch, epochs, lr, "training")
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
            optimizer.step()
            weight = len(batch) / n_train
            for name, value in {"train_loss": loss, **terms}.items():
                totals[name] = totals.get(name, 0.0) + weight * value.item()
        for name, value in totals.items():
            history.setdefault(name, []).append(value)

        # Validation uses the deterministic forward pass so its curve is smooth.
        monitored = totals["train_loss"]
        if len(val_data):
            module.eval()
            with torch.no_grad():
                val_loss = float(batch_loss(module, val_data, False)[0])
            if not math.isfinite(val_loss):
                raise _not_finite_error(label, epoch, epochs, lr, "validation")
            history["val_loss"].append(val_loss)
            monitored = val_loss
        if progress is not None:
            progress(epoch, epochs, totals["train_loss"])
        logger.debug("%s epoch %d/%d loss %.6g", label, epoch, epochs, monitored)

        # Count an epoch as better only past a relative margin, so float noise on
        # a plateau does not keep training alive.
        if best_state is None or monitored < best_loss - 1e-4 * abs(best_loss):
            best_loss, best_epoch, stale = monitored, epoch, 0
            best_state = copy.deepcopy(module.state_dict())
        else:
            stale += 1
            if patience is not None and stale >= patience:
                break

    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    logger.info(
        "%s trained %d epochs (best %d, loss %.6g) in %.2f s",
        label,
        epoch,
        best_epoch,
        best_loss,
        time.perf_counter() - start,
    )
    return history


def state_to_numpy(module: nn.Module) -> dict[str, np.ndarray]:
    """The module's state dict as float32 numpy copies."""
    return {
        name: tensor.detach().cpu().numpy().copy()
        for name, tensor in module.state_dict().items()
    }


def load_numpy_state(module: nn.Module, arrays: dict[str, np.ndarray]) -> None:
    """Load ``arrays`` (from :func:`state_to_numpy`) into ``module``, strictly."""
    expected = set(module.state_dict())
    missing, extra = expected - set(arrays), set(arrays) - expected
    if missing or extra:
        raise ValueError(
            f"Stored weights do not match the network: missing {sorted(missing)}, "
            f"unexpected {sorted(extra)}. Were they saved by another version?"
        )
    state = {name: torch.from_numpy(np.array(arrays[name])) for name in expected}
    module.load_state_dict(state)
    module.eval()


class NeuralDetector(BaseDetector):
    """Common fit/score/persist logic of :class:`AutoencoderDetector` and
    :class:`VAEDetector`; subclasses build the network and define its loss."""

    _weights_prefix = "state."

    # Subclass hooks -----------------------------------------------------------

    @abstractmethod
    def _build_module(self, sizes: tuple[int, ...]) -> nn.Module:
        """The network for encoder widths ``sizes``."""

    @abstractmethod
    def _batch_loss(self, generator: torch.Generator) -> BatchLoss:
        """The training loss of one batch."""

    @abstractmethod
    def _reconstruct(self, data: torch.Tensor) -> torch.Tensor:
        """Deterministic reconstruction used for scoring."""

    # Parameters ---------------------------------------------------------------

    def get_params(self) -> dict:
        """Init keyword arguments as given, except ``progress`` (a callable)."""
        return {
            name: getattr(self, name)
            for name in self._param_names()
            if name != "progress"
        }

    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p.name for p in signature.parameters.values() if p.name != "self"]

    def _check_params(self, n_features: int) -> None:
        def fail(name: str, allowed: str) -> None:
            raise ValueError(
                f"{type(self).__name__}: {name} must be {allowed}, "
                f"got {getattr(self, name)!r}."
            )

        def positive_int(value) -> bool:
            return isinstance(value, (int, np.integer)) and value >= 1

        if self.hidden_sizes is not None and not (
            isinstance(self.hidden_sizes, (tuple, list))
            and all(positive_int(h) for h in self.hidden_sizes)
        ):
            fail("hidden_sizes", "None or a tuple of positive ints")
        if self.latent_dim is not None and not positive_int(self.latent_dim):
            fail("latent_dim", "None or a positive int")
        if not positive_int(self.epochs):
            fail("epochs", "a positive int")
        if self.max_train_samples is not None and not (
            positive_int(self.max_train_samples) and self.max_train_samples >= 2
        ):
            fail("max_train_samples", "None or an int >= 2")
        if self.batch_size is not None and not positive_int(self.batch_size):
            fail("batch_size", "None (automatic) or a positive int")
        if not self.lr > 0:
            fail("lr", "> 0")
        if not self.weight_decay >= 0:
            fail("weight_decay", ">= 0")
        if not 0 <= self.trim_fraction < 1:
            fail("trim_fraction", "in [0, 1)")
        if not 0 <= self.validation_fraction < 1:
            fail("validation_fraction", "in [0, 1)")
        if self.patience is not None and not positive_int(self.patience):
            fail("patience", "None or a positive int")
        if self.grad_clip is not None and not self.grad_clip > 0:
            fail("grad_clip", "None or > 0")
        if self.activation not in ACTIVATIONS:
            fail("activation", f"one of {sorted(ACTIVATIONS)}")
        if self.output not in ("linear", "sigmoid"):
            fail("output", "'linear' or 'sigmoid'")
        if self.input_scaling not in ("standard", "minmax"):
            fail("input_scaling", "'standard' or 'minmax'")
        if self.output == "sigmoid" and self.input_scaling != "minmax":
            raise ValueError(
                f"{type(self).__name__}: output='sigmoid' can only reach [0, 1]; "
                "use it with input_scaling='minmax' (or output='linear')."
            )

    # Fit and score ------------------------------------------------------------

    def _check_fit_input(self, X: np.ndarray) -> None:
        n_samples, n_features = X.shape
        self._check_params(n_features)
        if n_samples < n_features:
            warnings.warn(
                f"{type(self).__name__}: {n_samples} rows < {n_features} features: "
                "too few rows to train AE/VAE; the scores may mean little. Use more "
                "rows, or PCA.",
                UserWarning,
                stacklevel=3,  # the caller of fit()
            )

    def reconstruct(self, X) -> np.ndarray:
        """The network's reconstruction of each row, in the input's units."""
        Z = self._transform(X)
        self.module_.eval()
        with torch.no_grad():
            recon = self._reconstruct(torch.as_tensor(Z, dtype=torch.float32))
        return self.scaler_.inverse_transform(recon.numpy().astype(np.float64))

    def _make_scaler(self, X: np.ndarray) -> StandardScaler:
        if self.input_scaling == "standard":
            return StandardScaler().fit(X)
        # Min-max as the same affine map (X - mean_) / scale_, so scoring and
        # persistence reuse StandardScaler unchanged.
        low, high = X.min(axis=0), X.max(axis=0)
        with np.errstate(over="ignore"):
            span = high - low
        if not np.isfinite(span).all():
            raise ValueError(
                "input_scaling='minmax': a column's range overflows float64; use "
                "input_scaling='standard' for values near the float maximum."
            )
        constant = span == 0
        return StandardScaler.from_dict(
            {
                "mean": low,
                "scale": np.where(constant, 1.0, span),
                "constant": constant,
            }
        )

    def _fit(self, Z: np.ndarray) -> None:
        self.encoder_sizes_ = default_sizes(
            Z.shape[1], self.hidden_sizes, self.latent_dim
        )
        generator = make_generator(self.random_state)
        if self.max_train_samples is not None and len(Z) > self.max_train_samples:
            # Drawn only when needed, so smaller data keep the same random stream.
            keep = torch.randperm(len(Z), generator=generator)[: self.max_train_samples]
            Z = Z[np.sort(keep.numpy())]
        self.module_ = self._build_module(self.encoder_sizes_)
        init_weights_(self.module_, generator)
        self.history_ = train_module(
            self.module_,
            Z,
            self._batch_loss(generator),
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            weight_decay=self.weight_decay,
            validation_fraction=self.validation_fraction,
            patience=self.patience,
            grad_clip=self.grad_clip,
            generator=generator,
            progress=self.progress,
            label=type(self).__name__,
        )

    def _contributions(self, Z: np.ndarray) -> np.ndarray:
        if not hasattr(self, "module_"):
            raise NotFittedError(
                f"This {type(self).__name__} has no trained network; call fit(X) first."
            )
        if np.abs(Z).max(initial=0.0) > np.finfo(np.float32).max:
            raise ValueError(
                "X is too far outside the training range to score in float32; check "
                "it for unit errors or corrupted values."
            )
        data = torch.as_tensor(Z, dtype=torch.float32)
        self.module_.eval()
        with torch.no_grad():
            recon = self._reconstruct(data).numpy().astype(np.float64)
        # Square in float64 against the float64 input so the score cannot overflow.
        contributions = (Z - recon) ** 2
        if not np.isfinite(contributions).all():
            raise FloatingPointError(
                f"{type(self).__name__} produced a non-finite reconstruction; the "
                "network weights are corrupt. Refit with a lower lr."
            )
        return contributions

    # Persistence --------------------------------------------------------------

    def _export_state(self) -> dict[str, np.ndarray]:
        """Network weights and layer widths as numpy arrays (no pickle)."""
        if not hasattr(self, "module_"):
            raise NotFittedError(
                f"This {type(self).__name__} is not fitted yet; call fit(X) first."
            )
        arrays = {
            self._weights_prefix + name: value
            for name, value in state_to_numpy(self.module_).items()
        }
        arrays["encoder_sizes"] = np.asarray(self.encoder_sizes_, dtype=np.int64)
        return arrays

    def _import_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Rebuild the network from :meth:`_export_state`'s arrays."""
        self.encoder_sizes_ = tuple(int(s) for s in arrays["encoder_sizes"])
        self.module_ = self._build_module(self.encoder_sizes_)
        prefix = self._weights_prefix
        load_numpy_state(
            self.module_,
            {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)},
        )
