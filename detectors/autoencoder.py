"""Autoencoder detector (torch MLP) and the linear autoencoder of the Learn page."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy.linalg import subspace_angles
from torch import nn

from detectors._torch import NeuralDetector, make_generator, mlp, trimmed_mean

logger = logging.getLogger(__name__)


class Autoencoder(nn.Module):
    """MLP autoencoder: ``sizes`` down to the bottleneck, mirrored back up.

    The bottleneck is linear (no activation); the output is linear or sigmoid.
    """

    def __init__(self, sizes: tuple[int, ...], activation: str, output: str):
        super().__init__()
        self.encoder = mlp(sizes, activation)
        self.decoder = mlp(sizes[::-1], activation)
        self.output = output

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        out = self.decoder(z)
        return torch.sigmoid(out) if self.output == "sigmoid" else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


def reconstruction_loss(
    recon: torch.Tensor, x: torch.Tensor, trim_fraction: float = 0.0
) -> torch.Tensor:
    """Squared error summed over features (the row's score), averaged over rows.

    With ``trim_fraction`` > 0 the worst-reconstructed share of rows is left out
    of the average (see :func:`detectors._torch.trimmed_mean`).
    """
    return trimmed_mean(((recon - x) ** 2).sum(dim=1), trim_fraction)


class AutoencoderDetector(NeuralDetector):
    """Anomaly score = squared reconstruction error of a trained MLP autoencoder.

    Rows are scaled (standardised by default), passed through an encoder to a
    narrow bottleneck and decoded back; rows unlike the training data come back
    badly. Higher scores mean more anomalous.

    Parameters
    ----------
    hidden_sizes : tuple of int or None, default=None
        Encoder widths between the input and the bottleneck; the decoder mirrors
        them. None: one layer of ``min(64, max(2 * latent, n_features // 2))``.
    latent_dim : int or None, default=None
        Bottleneck width. None: ``max(2, n_features // 4)``, kept below
        ``n_features``.
    epochs : int, default=30
        Upper bound on training epochs. Kept short on purpose: a network trained
        much longer also learns to reconstruct the anomalies in its training
        data (see Notes).
    batch_size : int or None, default=None
        Rows per Adam step. None: ``n_train // 8`` clipped to [32, 256], so small
        data still gets several steps per epoch.
    lr : float, default=3e-3
        Adam learning rate.
    weight_decay : float, default=1e-5
        L2 penalty (Adam's ``weight_decay``).
    trim_fraction : float, default=0.2
        Share of each batch's worst-fitting rows left out of the training loss,
        so that anomalies in the training data are not learned (0 trains on all
        rows).
    validation_fraction : float, default=0.1
        Share of rows held out to monitor for early stopping (0 monitors the
        training loss instead).
    patience : int or None, default=10
        Epochs without a better validation loss before stopping; the best
        weights are restored. None trains all ``epochs``.
    grad_clip : float or None, default=5.0
        Maximum gradient norm per step (``clip_grad_norm_``); None disables it.
    activation : {"relu", "leaky_relu", "elu", "tanh", "gelu"}, default="tanh"
        Hidden-layer activation. tanh saturates, so a row far outside the
        training range cannot be reconstructed by extrapolation.
    output : {"linear", "sigmoid"}, default="linear"
        Output layer; "sigmoid" requires ``input_scaling="minmax"``.
    input_scaling : {"standard", "minmax"}, default="standard"
        Per-column z-scores, or (x - min) / (max - min) into [0, 1] for pixels.
    max_train_samples : int or None, default=100_000
        Train on a seeded random subset of at most this many rows (all rows are
        still scored). The network's model of normal data does not need a million
        rows, and training time grows with every one; None trains on all rows.
    random_state : int, default=0
        Seeds weight initialisation, the validation split and shuffling.
    progress : callable or None, default=None
        ``progress(epoch, epochs, loss)`` called after each epoch with the mean
        training loss (fewer than ``epochs`` calls if training stops early).

    Attributes
    ----------
    n_features_in_ : int
    scaler_ : StandardScaler
        The input scaling (for "minmax", mean_ holds the minimum and scale_ the
        range).
    encoder_sizes_ : tuple of int
        Widths from the input to the bottleneck, e.g. ``(21, 10, 5)``.
    module_ : Autoencoder
        The trained network (evaluation mode).
    history_ : dict of list of float
        Per-epoch ``train_loss`` and ``val_loss``.
    train_scores_ : ndarray of shape (n_samples,)

    Notes
    -----
    ``residuals(X)`` is the per-feature squared error ``(z - z_hat) ** 2`` in
    scaled units, so each row sums to its score and the largest entries name the
    features the network could not reproduce. Training needs more rows than
    features (a UserWarning says so otherwise). Scores are deterministic for a
    given ``random_state`` on the same machine and torch thread count.

    The defaults guard against the main failure of reconstruction detectors, a
    network that learns the anomalies of its training data as well as the
    normal rows: the worst 20 % of each batch are left out of the loss, tanh
    units cannot extrapolate to extreme rows, and training is capped at 30
    epochs. They were chosen once for all ten ODDS benchmark sets together
    (``bench/quality.py``), never per data set and never with labels.
    Default sizes: bottleneck ``max(2, d // 4)`` (d = n_features), one hidden
    layer of ``min(64, max(2 * latent, d // 2))``, e.g. 21-10-5-10-21 for cardio.

    For 784-pixel images, the 784-256-20 architecture with a sigmoid output is
    ``AutoencoderDetector(hidden_sizes=(256,), latent_dim=20, output="sigmoid",
    input_scaling="minmax")``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(200, 6))
    >>> X[0] = 8.0
    >>> detector = AutoencoderDetector(epochs=20).fit(X)
    >>> int(np.argmax(detector.score_samples(X)))
    0
    """

    name = "ae"

    def __init__(
        self,
        *,
        hidden_sizes: tuple[int, ...] | None = None,
        latent_dim: int | None = None,
        epochs: int = 30,
        batch_size: int | None = None,
        lr: float = 3e-3,
        weight_decay: float = 1e-5,
        trim_fraction: float = 0.2,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        grad_clip: float | None = 5.0,
        activation: str = "tanh",
        output: str = "linear",
        input_scaling: str = "standard",
        max_train_samples: int | None = 100_000,
        random_state: int = 0,
        progress=None,
    ):
        self.hidden_sizes = hidden_sizes
        self.latent_dim = latent_dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.trim_fraction = trim_fraction
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.grad_clip = grad_clip
        self.activation = activation
        self.output = output
        self.input_scaling = input_scaling
        self.max_train_samples = max_train_samples
        self.random_state = random_state
        self.progress = progress

    def _build_module(self, sizes: tuple[int, ...]) -> Autoencoder:
        return Autoencoder(sizes, self.activation, self.output)

    def _batch_loss(self, generator: torch.Generator):
        trim_fraction = self.trim_fraction

        def batch_loss(module, batch, training):
            loss = reconstruction_loss(module(batch), batch, trim_fraction)
            return loss, {}

        return batch_loss

    def _reconstruct(self, data: torch.Tensor) -> torch.Tensor:
        return self.module_(data)


class LinearAutoencoder(nn.Module):
    """Autoencoder with one linear encoder and decoder, no bias, no activation.

    Trained with squared error on centred data, its decoder spans the top-k
    principal subspace at the optimum (Baldi & Hornik 1989; Eckart-Young).
    """

    def __init__(self, n_features: int, k: int):
        super().__init__()
        self.encoder = nn.Linear(n_features, k, bias=False)
        self.decoder = nn.Linear(k, n_features, bias=False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


@dataclass
class LinearAutoencoderResult:
    """Output of :func:`train_linear_autoencoder`.

    Attributes
    ----------
    encoder : ndarray of shape (k, n_features)
    decoder : ndarray of shape (n_features, k)
        Its columns span the learned subspace.
    pca_basis : ndarray of shape (n_features, k)
        Orthonormal top-k principal directions of the centred data.
    trace : list of (step, loss, angle_degrees)
        Mean squared error per row and the largest principal angle between the
        decoder's span and the PCA subspace, at step 0 and every ``record_every``
        steps (and the last step).
    """

    encoder: np.ndarray
    decoder: np.ndarray
    pca_basis: np.ndarray
    trace: list[tuple[int, float, float]] = field(default_factory=list)

    @property
    def angle_degrees(self) -> float:
        """Largest principal angle at the end of training, in degrees."""
        return self.trace[-1][2]


def _largest_angle_degrees(A: np.ndarray, B: np.ndarray) -> float:
    return float(np.degrees(subspace_angles(A, B).max()))


def train_linear_autoencoder(
    X,
    k: int,
    *,
    steps: int = 500,
    lr: float = 0.3,
    random_state: int = 0,
    record_every: int = 1,
) -> LinearAutoencoderResult:
    """Train a :class:`LinearAutoencoder` by full-batch gradient descent.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Data; it is centred (column means removed) before training.
    k : int
        Width of the code, 1 <= k < n_features.
    steps : int, default=500
        Gradient-descent steps.
    lr : float, default=0.3
        Step size relative to the largest variance of the data (the step used is
        ``lr / lambda_max``), so the default is stable whatever the data's scale;
        about 1 or more diverges.
    random_state : int, default=0
        Seeds the initial weights.
    record_every : int, default=1
        Trace stride in steps.

    Returns
    -------
    LinearAutoencoderResult
        Final weights, the PCA basis and the (step, loss, angle) trace that the
        Learn page animates.

    Raises
    ------
    ValueError
        If ``k`` is not in [1, n_features - 1].
    FloatingPointError
        If the loss diverges (``lr`` too large).

    Notes
    -----
    Minimising ``||X - X W_e^T W_d^T||^2`` over rank-k maps has the truncated SVD
    as its optimum (Eckart-Young), and every local minimum of the linear
    autoencoder is global (Baldi & Hornik 1989), so gradient descent ends with the
    decoder spanning the top-k principal subspace, though not necessarily with
    orthogonal or ordered columns.
    """
    X = np.asarray(X, dtype=np.float64)
    n_samples, n_features = X.shape
    if not 1 <= k < n_features:
        raise ValueError(f"k must be in [1, {n_features - 1}], got {k}.")
    Xc = X - X.mean(axis=0)
    _, singular, vt = np.linalg.svd(Xc, full_matrices=False)
    pca_basis = vt[:k].T
    lambda_max = singular[0] ** 2 / n_samples

    generator = make_generator(random_state)
    model = LinearAutoencoder(n_features, k).double()
    # Small random start: a symmetric start near zero would stall on a saddle.
    for weight in (model.encoder.weight, model.decoder.weight):
        nn.init.normal_(weight, std=0.1, generator=generator)
    data = torch.as_tensor(Xc)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr / max(lambda_max, 1e-300))

    def record(step: int, loss: float) -> None:
        decoder = model.decoder.weight.detach().numpy()
        result.trace.append((step, loss, _largest_angle_degrees(decoder, pca_basis)))

    result = LinearAutoencoderResult(np.empty(0), np.empty(0), pca_basis)
    for step in range(steps + 1):
        optimizer.zero_grad()
        # Mean over rows of the summed squared error: gradient scale ~ lambda_max.
        loss = ((model(data) - data) ** 2).sum(dim=1).mean()
        if not torch.isfinite(loss):
            raise FloatingPointError(
                f"Linear autoencoder diverged at step {step}; use a smaller lr "
                f"(now {lr:g})."
            )
        if step % record_every == 0 or step == steps:
            record(step, loss.item())
        if step == steps:
            break
        loss.backward()
        optimizer.step()

    result.encoder = model.encoder.weight.detach().numpy().copy()
    result.decoder = model.decoder.weight.detach().numpy().copy()
    logger.info(
        "linear autoencoder k=%d: loss %.6g, angle to PCA %.3g deg after %d steps",
        k,
        result.trace[-1][1],
        result.angle_degrees,
        steps,
    )
    return result
