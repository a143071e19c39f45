"""Dashboard pages under Streamlit's AppTest (no browser)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP, fit_count

TIMEOUT = 240


def _specs(at) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def _titles(specs) -> list[str]:
    titles = []
    for spec in specs:
        title = spec.get("title")
        titles.append(
            title if isinstance(title, str) else (title or {}).get("text", "")
        )
    return titles


@pytest.fixture(scope="module")
def compare_app():
    """The app as a new user first sees it: cardio scored by all four detectors."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at


@pytest.mark.slow
def test_first_screen_shows_four_detectors_on_cardio(compare_app):
    at = compare_app
    assert not at.exception
    specs = _specs(at)
    assert len(specs) >= 4
    titles = _titles(specs)
    assert "Score of every row, per detector" in titles
    assert "Rows flagged by both detectors" in titles
    assert "Detection quality against the label" in titles
    assert sum("score distribution and threshold" in t for t in titles) == 4
    assert [m.label for m in at.metric] == [
        "PCA flags",
        "Autoencoder flags",
        "VAE flags",
        "Robust PCA flags",
    ]
    assert all(m.value == "92" for m in at.metric)


@pytest.mark.slow
def test_every_chart_has_title_axis_titles_and_tooltip(compare_app):
    for spec in _specs(compare_app):
        layers = spec.get("layer") or [spec.get("spec", spec)]
        encodings = [layer.get("encoding", {}) for layer in layers]
        assert any("tooltip" in enc for enc in encodings), spec.get("title")
        for enc in encodings:
            for channel in ("x", "y"):
                if channel in enc and "field" in enc[channel]:
                    assert enc[channel].get("title"), (spec.get("title"), channel)


@pytest.mark.slow
def test_contamination_change_alters_flags_without_refit(compare_app):
    at = compare_app
    fits = fit_count()
    at.slider(key="contamination").set_value(0.1).run()
    assert not at.exception
    assert all(m.value == "184" for m in at.metric)
    assert fit_count() == fits


@pytest.mark.slow
def test_page_switch_does_not_refit(compare_app):
    at = compare_app
    fits = fit_count()
    at.switch_page("views/data.py").run()
    assert not at.exception
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert fit_count() == fits


@pytest.mark.slow
def test_uploaded_csv_is_scored(tmp_path):
    """A CSV uploaded through file_uploader is read, scored, and its outlier flagged."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=list("abcd"))
    frame.loc[33] = [9, -9, 9, -9]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detectors"] = ["pca", "rpca"]
    at.run()
    at.switch_page("views/data.py").run()
    at.file_uploader(key="upload_widget").set_value(
        ("mine.csv", frame.to_csv(index=False).encode(), "text/csv")
    ).run()
    assert not at.exception
    assert any("mine.csv" in s.value for s in at.subheader)
    at.switch_page("views/compare.py").run()
    assert not at.exception
    table = at.dataframe[0].value
    assert table.iloc[0]["row"] == 33
    assert table.iloc[0]["detectors_flagging"] == 2


@pytest.mark.slow
def test_bad_upload_shows_message_not_traceback():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detectors"] = ["pca"]
    at.run()
    at.switch_page("views/data.py").run()
    at.file_uploader(key="upload_widget").set_value(
        ("book.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "text/csv")
    ).run()
    assert not at.exception
    assert any("book.csv" in e.value for e in at.error)


@pytest.mark.slow
def test_flows_become_a_traffic_matrix_on_the_data_page():
    """The CIC-IDS2017 flows sample converts to time bins x OD pairs in the app, and
    the matrix is then scored like any upload."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detectors"] = ["pca", "rpca"]
    at.session_state["source"] = "sample:cicids2017"
    at.run()
    at.switch_page("views/data.py").run()
    assert not at.exception
    at.selectbox[1].set_value("1h")  # bin width
    at.button(key="tm_build").click().run()
    assert not at.exception
    assert at.session_state["upload_name"] == "cicids2017-traffic-matrix-1h.csv"
    assert any("cicids2017-traffic-matrix-1h.csv" in s.value for s in at.subheader)
    at.switch_page("views/compare.py").run()
    assert not at.exception
    assert [m.label for m in at.metric][:2] == ["PCA flags", "Robust PCA flags"]
