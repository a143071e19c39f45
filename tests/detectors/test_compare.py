"""Tidy comparison tables: agreement, curves, per-row explanations, matrices, time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from detectors import PCADetector, RobustPCADetector
from detectors.compare import (
    anomaly_windows,
    apply_policy,
    as_image,
    as_times,
    blamed_features,
    block_reduce,
    combination_labels,
    confusion_table,
    contributions_table,
    convergence_table,
    curve_points,
    distribution_table,
    intersections,
    map_table,
    od_pairs,
    pick_rows,
    pixel_columns,
    principal_map,
    rank_table,
    robust_z,
    row_profile,
    row_residuals,
    sparse_cells,
    spearman_matrix,
)
from detectors.thresholds import ThresholdPolicy

TITLES = {"a": "A", "b": "B", "c": "C"}


@pytest.fixture
def three():
    """Scores of three detectors on 300 rows, with 20 labelled anomalies."""
    rng = np.random.default_rng(0)
    y_true = np.zeros(300, dtype=int)
    y_true[:20] = 1
    base = rng.gamma(2.0, size=300) + 4.0 * y_true
    scores = {
        "a": base,
        "b": base + rng.normal(scale=1.0, size=300),
        "c": rng.gamma(2.0, size=300),
    }
    flags = {n: s >= np.quantile(s, 0.9) for n, s in scores.items()}
    return scores, flags, y_true


def test_robust_z_centres_on_median_and_survives_ties():
    """Half the scores tied at 0 (Robust PCA) still gives a finite, nonzero spread."""
    z = robust_z([0, 0, 0, 0, 0, 0, 1, 2, 3, 50])
    assert np.all(np.isfinite(z))
    assert z[0] == 0.0 and z[-1] > z[-2] > 0


def test_distribution_table_counts_every_row_and_places_each_threshold(three):
    scores, flags, _ = three
    thresholds = {n: float(np.quantile(s, 0.9)) for n, s in scores.items()}
    bins, rules = distribution_table(scores, flags, thresholds, TITLES)
    for name, title in TITLES.items():
        mine = bins[bins["detector"] == title]
        assert mine["rows"].sum() == 300
        assert mine.loc[mine["status"] == "flagged", "rows"].sum() == flags[name].sum()
        rule = rules[rules["detector"] == title].iloc[0]
        assert rule["threshold"] == thresholds[name]
        # Every flagged bin lies at or right of the rule, every normal bin left of it.
        assert (
            mine.loc[mine["status"] == "flagged", "bin_end"].min() >= rule["position"]
        )
        assert (
            mine.loc[mine["status"] == "normal", "bin_start"].max() <= rule["position"]
        )
        # Raw edges map back to the detector's own scores.
        inside = (scores[name] >= mine["raw_start"].min() - 1e-9) & (
            scores[name] <= mine["raw_end"].max() + 1e-9
        )
        assert inside.all()
    # One shared axis: every bin of every detector has the same width.
    assert (bins["bin_end"] - bins["bin_start"]).round(9).nunique() == 1


def test_distribution_table_without_a_single_cut_uses_lowest_flagged_score():
    scores = {"a": np.arange(10.0)}
    flags = {"a": np.isin(np.arange(10), [7, 9])}
    _, rules = distribution_table(scores, flags, {"a": None}, TITLES)
    assert rules.iloc[0]["threshold"] == 7.0


def test_intersections_partition_the_flagged_rows(three):
    scores, flags, _ = three
    counts, membership = intersections(flags, TITLES)
    any_flag = np.any(np.column_stack(list(flags.values())), axis=1)
    assert counts["rows"].sum() == any_flag.sum()
    assert list(counts["rows"]) == sorted(counts["rows"], reverse=True)
    assert len(membership) == 3 * len(counts)
    everyone = np.all(np.column_stack(list(flags.values())), axis=1).sum()
    row = counts[counts["combination"] == "A + B + C"]
    assert (row["rows"].sum() if len(row) else 0) == everyone
    members = membership[membership["combination"] == "A + B"]
    if len(members):
        assert members.set_index("detector")["member"].to_dict() == {
            "A": True,
            "B": True,
            "C": False,
        }


def test_combination_labels_are_empty_for_unflagged_rows():
    flags = {"a": np.array([1, 0, 1], bool), "b": np.array([1, 0, 0], bool)}
    assert list(combination_labels(flags, TITLES)) == ["A + B", "", "A"]


def test_spearman_matrix_is_one_on_the_diagonal_and_minus_one_for_reversed():
    values = np.arange(20.0)
    matrix = spearman_matrix({"a": values, "b": -values, "c": values**3}, TITLES)
    rho = matrix.set_index(["detector_a", "detector_b"])["rho"]
    assert rho["A", "A"] == pytest.approx(1.0)
    assert rho["A", "B"] == pytest.approx(-1.0)
    assert rho["A", "C"] == pytest.approx(1.0)
    assert rho["B", "C"] == pytest.approx(rho["C", "B"])


@pytest.mark.parametrize("shape", [(200, 6), (30, 80)], ids=["tall", "wide"])
def test_principal_map_matches_the_svd_up_to_sign(shape):
    rng = np.random.default_rng(1)
    X = rng.normal(size=shape) @ np.diag(np.linspace(1, 3, shape[1]))
    coords, ratio = principal_map(X)
    Z = (X - X.mean(axis=0)) / X.std(axis=0)
    u, s, _ = np.linalg.svd(Z, full_matrices=False)
    expected = u[:, :2] * s[:2]
    for k in range(2):
        assert abs(np.corrcoef(coords[:, k], expected[:, k])[0, 1]) == pytest.approx(
            1.0
        )
        assert np.linalg.norm(coords[:, k]) == pytest.approx(s[k])
    assert ratio == pytest.approx(s[:2] ** 2 / np.sum(s**2))


def test_map_table_counts_votes(three):
    scores, flags, y_true = three
    coords = np.zeros((300, 2))
    table = map_table(np.arange(300), coords, flags, TITLES, y_true)
    assert (table["votes"] == np.sum(list(flags.values()), axis=0)).all()
    assert set(table.loc[~table["flagged"], "flagged_by"]) == {"none"}
    assert set(table["label"]) == {"anomaly", "normal"}


def test_curve_points_carry_sklearn_auc_and_ap_and_are_thinned(three):
    scores, _, y_true = three
    roc, pr = curve_points(y_true, scores, TITLES, max_points=50)
    for name, title in TITLES.items():
        auc = roc_auc_score(y_true, scores[name])
        ap = average_precision_score(y_true, scores[name])
        mine = roc[roc["detector"] == title]
        assert mine["legend"].iloc[0] == f"{title} (AUC {auc:.3f})"
        assert pr[pr["detector"] == title]["legend"].iloc[0] == f"{title} (AP {ap:.3f})"
        assert len(mine) <= 50
        assert (mine["x"].iloc[0], mine["y"].iloc[0]) == (0.0, 0.0)
        assert (mine["x"].iloc[-1], mine["y"].iloc[-1]) == (1.0, 1.0)
        assert mine["x"].is_monotonic_increasing


def test_curve_points_refuse_a_single_class():
    with pytest.raises(ValueError, match="both normal and anomalous"):
        curve_points(np.zeros(5), {"a": np.arange(5.0)}, TITLES)


def test_confusion_table_adds_up(three):
    _, flags, y_true = three
    table = confusion_table(y_true, flags, TITLES).set_index("detector")
    cells = ["true positives", "false positives", "false negatives", "true negatives"]
    assert (table[cells].sum(axis=1) == 300).all()
    assert (
        table["flagged"] == table["true positives"] + table["false positives"]
    ).all()
    a = table.loc["A"]
    assert a["precision"] == pytest.approx(a["true positives"] / a["flagged"])


def test_rank_table_ranks_the_top_row_first(three):
    scores, flags, _ = three
    top = int(np.argmax(scores["a"]))
    table = rank_table(scores, flags, top, TITLES).set_index("detector")
    assert table.loc["A", "rank"] == 1
    assert table.loc["A", "of"] == 300
    assert bool(table.loc["A", "flagged"])


def test_row_profile_and_contributions():
    X = np.column_stack([np.append(np.arange(1.0, 10.0), 100.0), np.full(10, 10.0)])
    profile = row_profile(X, ["x", "y"], 9)
    assert profile.loc[0, "typical"] == 5.5 and profile.loc[0, "deviation"] > 10
    assert profile.loc[1, "deviation"] == 0.0
    table = contributions_table(
        {"a": np.array([1.0, 3.0, -0.5])}, ["p", "q", "r"], TITLES, top=2
    )
    assert list(table["feature"]) == ["q", "p"]
    assert table["share"].tolist() == pytest.approx([3 / 3.5, 1 / 3.5])


def test_row_residuals_read_rpca_in_sample_and_pca_per_row(planted):
    X, outlier = planted
    models = {"pca": PCADetector().fit(X), "rpca": RobustPCADetector().fit(X)}
    result = row_residuals(models, X, outlier)
    assert result["rpca"] == pytest.approx(models["rpca"].sparse_[outlier] ** 2)
    assert result["pca"] == pytest.approx(models["pca"].residuals(X)[outlier])
    assert result["rpca"].sum() == pytest.approx(models["rpca"].train_scores_[outlier])
    cells = sparse_cells(models["rpca"].sparse_[outlier], X[outlier], list("abcdef"))
    assert len(cells) > 0
    assert list(cells["sparse"].abs()) == sorted(cells["sparse"].abs(), reverse=True)


def test_apply_policy_one_rule_for_all(three, planted):
    scores, _, y_true = three
    _, flags = apply_policy(ThresholdPolicy("contamination", 0.05), scores, {})
    assert all(f.sum() == 15 for f in flags.values())
    _, flags = apply_policy(
        ThresholdPolicy("fpr", 0.02), scores, {}, reference=y_true == 0
    )
    assert all((f & (y_true == 0)).sum() <= 0.02 * 280 for f in flags.values())
    X, outlier = planted
    pca = PCADetector().fit(X)
    thresholds, flags = apply_policy(
        ThresholdPolicy("alpha", 0.01), {"pca": pca.train_scores_}, {"pca": pca}, X
    )
    assert thresholds["pca"] is None and flags["pca"][outlier]


def test_pick_rows_keeps_every_requested_row():
    keep = [5, 999, 4321, 5999]
    picked = pick_rows(6000, 100, keep)
    assert len(picked) == 100 and set(keep) <= set(picked)
    assert np.all(np.diff(picked) > 0)
    assert list(pick_rows(10, 100)) == list(range(10))


def test_block_reduce_keeps_a_spike_with_absmax():
    values = np.zeros((1000, 3))
    values[517, 1] = -9.0
    reduced, starts = block_reduce(values, 100, how="absmax")
    assert reduced.shape == (100, 3) and starts[0] == 0
    assert reduced.min() == -9.0
    mean, _ = block_reduce(np.ones((1000, 2)), 100)
    assert np.allclose(mean, 1.0)


def test_anomaly_windows_find_runs():
    times = pd.date_range("2024-01-01", periods=10, freq="5min", tz="UTC")
    y = np.array([0, 1, 1, 0, 0, 0, 1, 0, 0, 1])
    windows = anomaly_windows(times, y)
    assert list(windows["rows"]) == [2, 1, 1]
    assert windows.loc[0, "start"] == times[1] and windows.loc[0, "end"] == times[3]
    assert windows.loc[2, "end"] == times[9] + pd.Timedelta("5min")
    shuffled = np.random.default_rng(0).permutation(10)
    again = anomaly_windows(pd.Series(times[shuffled]), y[shuffled])
    pd.testing.assert_frame_equal(again, windows)


def test_as_times_reads_epoch_seconds_and_text():
    epoch = as_times(np.array([1.7e9, 1.7e9 + 60]))
    assert str(epoch.dt.tz) == "UTC" and (epoch.diff().iloc[1] == pd.Timedelta("60s"))
    text = as_times(np.array(["2024-01-01 00:00", "not a time"], dtype=object))
    assert text.isna().tolist() == [False, True]


def test_images_spread_features_over_all_pixels():
    roles = {f"p{i}": ("constant" if i < 10 else "feature") for i in range(784)}
    roles["label"] = "label"
    pixels = pixel_columns(roles)
    assert len(pixels) == 784 and pixel_columns({"a": "feature"}) is None
    image = as_image(np.array([1.0, 2.0]), ["p10", "p783"], pixels, fill=-1.0)
    assert image[10] == 1.0 and image[783] == 2.0 and image[0] == -1.0


def test_convergence_table_is_tidy():
    info = {"residual": [1.0, 0.1], "rank": [3, 2], "nnz": [10, 12]}
    table = convergence_table(info)
    assert len(table) == 6
    assert set(table["quantity"]) == {
        "log10 relative residual",
        "rank of L",
        "nonzeros of S",
    }
    assert table.loc[
        table["quantity"] == "log10 relative residual", "value"
    ].tolist() == [0.0, -1.0]


def test_blamed_features_and_od_pairs():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    X[5, 2] = 50.0
    mask = np.zeros(100, bool)
    mask[5] = True
    assert blamed_features(X, ["a", "b", "c"], mask, top=1) == ["c"]
    assert blamed_features(X, ["a", "b", "c"], ~np.ones(100, bool), top=2) == ["a", "b"]
    assert od_pairs(["time", "n01->n02", "n02->n01"]) == ["n01->n02", "n02->n01"]
