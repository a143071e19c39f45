"""AutoencoderDetector: scores, determinism, explanations, guards and persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import detectors.autoencoder as autoencoder_module
from detectors.autoencoder import AutoencoderDetector

CASES = Path(__file__).resolve().parents[2].parent / "shared" / "cases" / "inputs"
CONSTANT_COLUMNS = ["const_col", "near_const", "zero_col"]


def structured(seed: int, n_samples: int = 300, n_features: int = 5) -> np.ndarray:
    """Rank-2 data plus a little noise: easy for a small network to learn."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n_samples, 2))
    return latent @ rng.normal(size=(2, n_features)) + 0.05 * rng.normal(
        size=(n_samples, n_features)
    )


def test_autoencoder_scores_have_one_finite_value_per_row(planted):
    """fit returns self; scores, residuals and history have the documented shapes."""
    X, _ = planted
    detector = AutoencoderDetector(epochs=20)
    assert detector.fit(X) is detector
    scores = detector.score_samples(X)
    assert scores.shape == (X.shape[0],)
    assert np.isfinite(scores).all()
    assert detector.residuals(X).shape == X.shape
    np.testing.assert_allclose(detector.residuals(X).sum(axis=1), scores)
    assert detector.encoder_sizes_ == (6, 4, 2)
    assert set(detector.history_) == {"train_loss", "val_loss"}
    assert len(detector.history_["train_loss"]) == len(detector.history_["val_loss"])


def test_autoencoder_same_seed_gives_identical_scores(planted):
    """Two fits with the same random_state give bit-identical scores."""
    X, _ = planted
    first = AutoencoderDetector(epochs=15, random_state=3).fit(X).score_samples(X)
    second = AutoencoderDetector(epochs=15, random_state=3).fit(X).score_samples(X)
    np.testing.assert_array_equal(first, second)


def test_autoencoder_different_seeds_differ_but_both_valid(planted):
    """Another seed changes the scores but still finds the planted outlier."""
    X, outlier = planted
    first = AutoencoderDetector(random_state=0).fit(X).score_samples(X)
    second = AutoencoderDetector(random_state=1).fit(X).score_samples(X)
    assert not np.array_equal(first, second)
    for scores in (first, second):
        assert np.isfinite(scores).all()
        assert int(np.argmax(scores)) == outlier


def test_autoencoder_planted_outlier_scores_highest(planted):
    X, outlier = planted
    scores = AutoencoderDetector().fit(X).score_samples(X)
    assert int(np.argmax(scores)) == outlier


@pytest.mark.parametrize("feature", [0, 3])
def test_autoencoder_explain_names_the_planted_feature(seed, feature):
    """Feature j of one row pushed far out: that row ranks first, j tops explain."""
    X = structured(seed)
    row = 123
    X[row, feature] += 8 * X[:, feature].std()
    detector = AutoencoderDetector(random_state=seed).fit(X)
    assert int(np.argmax(detector.score_samples(X))) == row
    assert detector.explain(X)[row][0][0] == feature


def test_autoencoder_huge_lr_raises_with_epoch_and_advice():
    X = structured(0)
    with pytest.raises(FloatingPointError, match=r"epoch \d+ of 50.*lower lr"):
        AutoencoderDetector(epochs=50, lr=1e30, grad_clip=None).fit(X * 1e15)


def test_autoencoder_non_finite_loss_names_the_epoch(monkeypatch):
    """An infinite loss in epoch 3 stops training there instead of scoring NaN."""
    calls = {"n": 0}
    real_loss = autoencoder_module.reconstruction_loss

    def loss_that_breaks(*args):
        calls["n"] += 1
        loss = real_loss(*args)
        # Full batch: one training call and one validation call per epoch.
        return loss * float("inf") if calls["n"] >= 5 else loss

    monkeypatch.setattr(autoencoder_module, "reconstruction_loss", loss_that_breaks)
    detector = AutoencoderDetector(epochs=10, batch_size=10_000)
    with pytest.raises(FloatingPointError, match="epoch 3 of 10"):
        detector.fit(structured(0))
    assert not hasattr(detector, "train_scores_")


def test_autoencoder_progress_called_once_per_epoch():
    calls = []
    detector = AutoencoderDetector(
        epochs=7, patience=None, progress=lambda *args: calls.append(args)
    ).fit(structured(0))
    assert [c[:2] for c in calls] == [(epoch, 7) for epoch in range(1, 8)]
    assert all(np.isfinite(c[2]) for c in calls)
    assert [c[2] for c in calls] == detector.history_["train_loss"]


def test_autoencoder_early_stopping_restores_best_weights():
    """Training stops within `patience` epochs of the best validation loss."""
    detector = AutoencoderDetector(epochs=300, patience=3).fit(structured(0))
    val_loss = detector.history_["val_loss"]
    best = int(np.argmin(val_loss))
    assert len(val_loss) < 300
    assert len(val_loss) - 1 - best <= 3


def test_autoencoder_case09_constant_columns_top3():
    """Case 09: with the 3 constant columns dropped, loss stays finite every epoch
    and rows 41, 97, 163 are the top 3."""
    frame = pd.read_csv(CASES / "09-constant-columns.csv")
    frame = frame.drop(columns=CONSTANT_COLUMNS)
    detector = AutoencoderDetector().fit(frame.to_numpy())
    assert np.isfinite(detector.history_["train_loss"]).all()
    assert np.isfinite(detector.history_["val_loss"]).all()
    top3 = np.argsort(-detector.score_samples(frame.to_numpy()))[:3]
    assert sorted(top3.tolist()) == [41, 97, 163]


def test_autoencoder_warns_on_fewer_rows_than_features():
    """Case 12: 8 rows x 12 columns warns but still scores every row."""
    X = pd.read_csv(CASES / "12-eight-rows-twelve-cols.csv").to_numpy()
    with pytest.warns(UserWarning, match="too few rows to train AE/VAE"):
        detector = AutoencoderDetector(epochs=5).fit(X)
    assert np.isfinite(detector.score_samples(X)).all()


def test_autoencoder_export_import_round_trip_gives_identical_scores(planted):
    X, _ = planted
    detector = AutoencoderDetector(epochs=10, hidden_sizes=(8, 5), latent_dim=3)
    detector.fit(X)
    arrays = detector._export_state()
    assert all(isinstance(v, np.ndarray) for v in arrays.values())
    restored = AutoencoderDetector(**detector.get_params())
    restored.n_features_in_ = detector.n_features_in_
    restored.scaler_ = detector.scaler_
    restored._import_state({k: v.copy() for k, v in arrays.items()})
    np.testing.assert_array_equal(restored.score_samples(X), detector.score_samples(X))
    assert restored.encoder_sizes_ == (6, 8, 5, 3)


def test_autoencoder_get_params_returns_init_arguments_but_progress():
    detector = AutoencoderDetector(latent_dim=3, progress=print)
    params = detector.get_params()
    assert params["latent_dim"] == 3
    assert "progress" not in params
    assert AutoencoderDetector(**params).get_params() == params


def test_autoencoder_mnist_architecture_is_expressible():
    """784-256-20 with a sigmoid output on pixels min-max scaled to [0, 1]."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(40, 784)).astype(float)
    pixels[:, :50] = 0  # blank border pixels are constant columns
    detector = AutoencoderDetector(
        hidden_sizes=(256,),
        latent_dim=20,
        output="sigmoid",
        input_scaling="minmax",
        epochs=2,
    )
    with pytest.warns(UserWarning, match="too few rows"):
        detector.fit(pixels)
    assert detector.encoder_sizes_ == (784, 256, 20)
    Z = detector._transform(pixels)
    assert Z.min() >= 0 and Z.max() <= 1
    assert np.isfinite(detector.score_samples(pixels)).all()


def test_autoencoder_sigmoid_output_requires_minmax_scaling():
    with pytest.raises(ValueError, match="input_scaling='minmax'"):
        AutoencoderDetector(output="sigmoid").fit(structured(0))


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("epochs", 0),
        ("lr", 0.0),
        ("validation_fraction", 1.0),
        ("activation", "sin"),
        ("hidden_sizes", (4, 0)),
        ("input_scaling", "robust"),
    ],
)
def test_autoencoder_rejects_bad_parameters_by_name(param, value):
    with pytest.raises(ValueError, match=param):
        AutoencoderDetector(**{param: value}).fit(structured(0))


def test_autoencoder_reconstruct_is_in_input_units():
    """reconstruct() undoes the scaling: its error matches the score's contributions."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)) @ rng.normal(size=(4, 6)) * 50 + 1000
    detector = AutoencoderDetector(epochs=5, random_state=0).fit(X)
    recon = detector.reconstruct(X)
    assert recon.shape == X.shape
    expected = ((X - recon) / detector.scaler_.scale_) ** 2
    np.testing.assert_allclose(expected, detector.residuals(X), rtol=1e-6, atol=1e-9)


def test_autoencoder_trains_on_a_capped_subset_but_scores_every_row():
    """max_train_samples caps the rows used for training, never the rows scored;
    below the cap the result equals an uncapped fit."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 3)) @ rng.normal(size=(3, 5))
    capped = AutoencoderDetector(epochs=3, max_train_samples=100).fit(X)
    assert capped.score_samples(X).shape == (300,)
    assert capped.history_["train_loss"]  # it trained
    uncapped = AutoencoderDetector(epochs=3, max_train_samples=None).fit(X)
    roomy = AutoencoderDetector(epochs=3, max_train_samples=300).fit(X)
    np.testing.assert_array_equal(uncapped.score_samples(X), roomy.score_samples(X))
    assert not np.array_equal(capped.score_samples(X), roomy.score_samples(X))
    with pytest.raises(
        ValueError, match="max_train_samples must be None or an int >= 2"
    ):
        AutoencoderDetector(max_train_samples=1).fit(X)
