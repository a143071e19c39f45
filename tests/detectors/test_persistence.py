"""Model files: plain JSON plus npz, never pickle."""

from __future__ import annotations

import json

import numpy as np
import pytest

from detectors import PCADetector
from detectors.persistence import load_detector, save_detector


def test_model_file_has_no_pickled_objects(tmp_path, planted):
    """The npz opens with allow_pickle=False and the JSON names the class and params."""
    X, _ = planted
    path = save_detector(PCADetector(n_components=2).fit(X), tmp_path / "model.json")
    document = json.loads(path.read_text())
    assert document["class"] == "PCADetector"
    assert document["params"] == {"n_components": 2, "score": "t2+spe"}
    with np.load(tmp_path / "model.npz", allow_pickle=False) as data:
        assert all(data[key].dtype != object for key in data.files)


def test_load_refuses_unknown_class(tmp_path, planted):
    X, _ = planted
    path = save_detector(PCADetector().fit(X), tmp_path / "m")
    document = json.loads(path.read_text())
    document["class"] = "os.system"
    path.write_text(json.dumps(document))
    with pytest.raises(ValueError, match="unknown detector class 'os.system'"):
        load_detector(path)


def test_load_missing_file_says_so(tmp_path):
    with pytest.raises(ValueError, match="no such model file"):
        load_detector(tmp_path / "absent")
