"""Column roles, labels, overrides and the feature matrix built from them."""

import json

import numpy as np
import pandas as pd
import pytest

from datasets import DatasetError, Preprocessing, infer_roles, prepare


@pytest.fixture
def flows():
    rng = np.random.default_rng(0)
    n = 40
    return pd.DataFrame(
        {
            "flow_id": [f"f{i}" for i in range(n)],
            "src_ip": [f"10.0.0.{i % 7}" for i in range(n)],
            "Dst Port": rng.choice([80, 443, 53], n),
            "proto": rng.choice(["tcp", "udp"], n),
            "bytes": rng.integers(100, 10_000, n),
            "duration": rng.random(n),
            "start": rng.integers(1_700_000_000, 1_700_100_000, n),
            "host_name": [f"host-{i}.example" for i in range(n)],
            "big_text": [f"t{i % 25}" for i in range(n)],
            "Label": ["BENIGN"] * 35 + ["DDoS"] * 5,
        }
    )


def test_roles_of_a_generic_flow_table(flows):
    spec = infer_roles(flows)
    assert spec.roles == {
        "flow_id": "id",
        "src_ip": "ip",
        "Dst Port": "port",
        "proto": "categorical",
        "bytes": "feature",
        "duration": "feature",
        "start": "timestamp",
        "host_name": "id",
        "big_text": "text",
        "Label": "label",
    }
    assert "more than 20" in spec.reasons["big_text"]
    prepared = prepare(flows, spec)
    assert prepared.feature_names == [
        "bytes",
        "duration",
        "proto=tcp",
        "proto=udp",
    ] or prepared.feature_names == ["bytes", "duration", "proto=udp", "proto=tcp"]
    assert prepared.y_true.tolist() == [0] * 35 + [1] * 5
    assert prepared.X[:, 2:].sum(axis=1).tolist() == [1.0] * 40


@pytest.mark.parametrize(
    "values, expected",
    [
        ([0, 1, 0, 0], [0, 1, 0, 0]),
        ([True, False, False, True], [1, 0, 0, 1]),
        (["false", "true", "false", "false"], [0, 1, 0, 0]),
        (["normal", "neptune", "smurf", "normal"], [0, 1, 1, 0]),
        (["BENIGN", "PortScan", "BENIGN", "BENIGN"], [0, 1, 0, 0]),
    ],
)
def test_label_forms_map_to_one_for_anomaly(values, expected):
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.5, 4.0], "label": values})
    spec = infer_roles(frame)
    assert spec.label_column == "label"
    prepared = prepare(frame, spec)
    assert prepared.y_true.tolist() == expected
    assert prepared.feature_names == ["x"]


def test_explicit_label_must_exist_and_be_binary():
    frame = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0], "y": [0.0, 5.0, 7.0], "outcome": ["a", "b", "c"]}
    )
    with pytest.raises(DatasetError, match="'lable'.*does not exist.*did you mean"):
        infer_roles(frame.rename(columns={"y": "label"}), label="lable")
    with pytest.raises(DatasetError, match="0/1"):
        infer_roles(frame, label="y")
    with pytest.raises(DatasetError, match="needs a normal value"):
        infer_roles(frame, label="outcome")


def test_truth_columns_never_become_features():
    frame = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0, 4.0], "digit": [0, 3, 0, 7], "label": [0, 1, 0, 1]}
    )
    spec = infer_roles(frame)
    assert spec.roles["digit"] == "truth"
    assert prepare(frame, spec).feature_names == ["x"]


def test_overrides_are_validated_and_json_round_trips(flows):
    spec = infer_roles(flows)
    with pytest.raises(DatasetError, match="not numbers, so it cannot be a numeric"):
        spec.with_roles({"proto": "feature"})
    with pytest.raises(DatasetError, match="cannot be one-hot encoded"):
        spec.with_roles({"big_text": "categorical"})
    with pytest.raises(DatasetError, match="no column named 'bytez'.*'bytes'"):
        spec.with_roles({"bytez": "feature"})
    with pytest.raises(DatasetError, match="not a role"):
        spec.with_roles({"bytes": "weight"})
    changed = spec.with_roles({"proto": "text", "Dst Port": "categorical"})
    assert spec.roles["proto"] == "categorical"
    again = Preprocessing.from_dict(json.loads(json.dumps(changed.to_dict())))
    assert again == changed
    names = prepare(flows, again).feature_names
    assert "proto=tcp" not in names and "Dst Port=80" in names


def test_label_override_moves_the_old_label_aside():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "label": [0, 1, 0], "other": [1, 0, 0]})
    spec = infer_roles(frame).with_roles({"other": "label"})
    assert spec.label_column == "other" and spec.roles["label"] == "truth"
    assert prepare(frame, spec).y_true.tolist() == [1, 0, 0]


def test_saved_steps_apply_to_a_new_file_with_unseen_levels(flows):
    spec = infer_roles(flows)
    new = flows.head(5).copy()
    new.loc[0, "proto"] = "icmp"
    prepared = prepare(new, Preprocessing.from_dict(spec.to_dict()))
    assert prepared.X.shape == (5, 4)
    assert prepared.X[0, 2:].tolist() == [0.0, 0.0]
    assert any("not seen before" in line for line in prepared.report)
    with pytest.raises(DatasetError, match="'duration'.*missing"):
        prepare(new.drop(columns="duration"), spec, name="new.csv")


def test_prepare_refuses_without_features_and_when_drop_leaves_too_few():
    text_only = pd.DataFrame({"a": ["x", "y", "z"]})
    with pytest.raises(DatasetError, match="t.csv: no usable feature column"):
        prepare(text_only, infer_roles(text_only), name="t.csv")
    holes = pd.DataFrame(
        {"a": [1.0, np.nan, 3.0, np.nan], "b": [np.nan, 2.0, 5.0, 1.0]}
    )
    with pytest.raises(
        DatasetError, match="leave 1 of 4 rows; choose missing='impute'"
    ):
        prepare(holes, infer_roles(holes), missing="drop", name="h.csv")
    imputed = prepare(holes, infer_roles(holes), missing="impute")
    assert imputed.X.tolist() == [[1.0, 2.0], [2.0, 2.0], [3.0, 5.0], [2.0, 1.0]]
    assert imputed.missing_rows.tolist() == [0, 1, 3]


def test_prepare_does_not_modify_the_frame():
    frame = pd.DataFrame({"a": [1.0, np.inf, 3.0], "b": [4.0, 5.0, 7.0]})
    before = frame.copy()
    prepare(frame, infer_roles(frame))
    pd.testing.assert_frame_equal(frame, before)


def test_row_counter_is_an_identifier_and_mostly_empty_columns_are_excluded():
    frame = pd.DataFrame(
        {
            "n": range(1, 11),
            "x": np.linspace(0, 1, 10),
            "sparse": [1.0] + [np.nan] * 8 + [2.0],
        }
    )
    spec = infer_roles(frame)
    assert spec.roles["n"] == "id"
    assert spec.roles["sparse"] == "empty" and "80 %" in spec.reasons["sparse"]


def test_column_constant_after_dropping_rows_is_excluded():
    frame = pd.DataFrame(
        {
            "a": [5.0, 5.0, 5.0, 9.0],
            "b": [1.0, 2.0, 4.0, np.nan],
            "c": [0.5, 0.1, 0.9, 0.3],
        }
    )
    prepared = prepare(frame, infer_roles(frame), missing="drop")
    assert prepared.feature_names == ["b", "c"]
    assert prepared.rows.tolist() == [0, 1, 2]
    assert any("Constant after removing" in line for line in prepared.report)


def test_large_matrix_is_c_ordered_float64_and_matches_the_frame():
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(5000, 7)), columns=list("abcdefg"))
    frame.loc[[10, 4000], "c"] = np.nan
    for missing in ("impute", "drop"):
        prepared = prepare(frame, infer_roles(frame), missing=missing)
        assert prepared.X.flags["C_CONTIGUOUS"] and prepared.X.dtype == np.float64
        expected = frame.iloc[prepared.rows].to_numpy()
        finite = np.isfinite(expected)
        np.testing.assert_array_equal(prepared.X[finite], expected[finite])


def test_port_names_but_not_words_ending_in_port():
    frame = pd.DataFrame(
        {
            "support": [1.0, 2, 3, 4],
            "L4_SRC_PORT": [1, 2, 3, 4],
            "Dst Port": [1, 2, 3, 5],
            "client_port": [5, 6, 7, 9],
        }
    )
    roles = infer_roles(frame).roles
    assert roles == {
        "support": "feature",
        "L4_SRC_PORT": "port",
        "Dst Port": "port",
        "client_port": "port",
    }
