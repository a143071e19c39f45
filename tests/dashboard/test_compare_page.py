"""Compare page under AppTest: the charts' Vega-Lite specs, threshold policies without
refits, linked selection state, and case 17 (every flagged row drawn)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from tests.conftest import APP, CASES, fit_count

TIMEOUT = 300
NAMES = ["PCA", "Autoencoder", "VAE", "Robust PCA"]


def charts(at) -> dict[str, tuple[dict, dict[str, pd.DataFrame]]]:
    """Every chart on the page by title: (spec, datasets by name)."""
    found = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        data = {
            d.name: convert_arrow_bytes_to_pandas_df(d.data.data)
            for d in element.proto.datasets
        }
        found[title_of(spec)] = (spec, data)
    return found


def title_of(spec: dict) -> str:
    title = spec.get("title")
    return title if isinstance(title, str) else (title or {}).get("text", "")


def views(spec: dict, data_name: str | None = None):
    """Unit views (those with a mark) with the name of the data each one draws."""
    own = (spec.get("data") or {}).get("name", data_name)
    if "mark" in spec:
        yield spec, own
    children = spec.get("layer", []) + ([spec["spec"]] if "spec" in spec else [])
    for child in children:
        yield from views(child, own)


def mark_of(view: dict) -> str:
    mark = view["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def drawn(chart, mark: str, field: str | None = None) -> pd.DataFrame:
    """The rows drawn by the first view with this mark (and encoding this field)."""
    spec, data = chart
    view, name = next(
        (v, n)
        for v, n in views(spec)
        if mark_of(v) == mark and (field is None or field in json.dumps(v["encoding"]))
    )
    return data[name]


def params_of(spec: dict) -> set[str]:
    """Names of the selection parameters anywhere in a spec."""
    names = {p["name"] for p in spec.get("params", []) if "select" in p}
    for child in spec.get("layer", []) + ([spec["spec"]] if "spec" in spec else []):
        names |= params_of(child)
    return names


def check_readable(spec: dict) -> None:
    """A title, a title on every x/y field, and a tooltip somewhere."""
    assert title_of(spec), spec
    units = list(views(spec))
    assert units, title_of(spec)
    assert any("tooltip" in view.get("encoding", {}) for view, _ in units), title_of(
        spec
    )
    for view, _ in units:
        for channel in ("x", "y"):
            encoding = view.get("encoding", {}).get(channel, {})
            if "field" in encoding:
                assert encoding.get("title"), (title_of(spec), channel)


@pytest.fixture(scope="module")
def cardio():
    """The first screen: ODDS cardio scored by all four detectors."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    return at


@pytest.mark.slow
def test_compare_shows_every_view_readable(cardio):
    found = charts(cardio)
    expected = {
        "Score of every row, per detector",
        "Which detectors flag the same rows",
        "Detectors in each combination",
        "Do the detectors rank rows alike?",
        "Rows flagged by both detectors",
        "Map of the rows, coloured by agreement",
        "Detection quality against the label",
        "Precision-recall curves",
    } | {f"{name}: score distribution and threshold" for name in NAMES}
    assert expected <= set(found)
    for spec, _ in found.values():
        check_readable(spec)


@pytest.mark.slow
def test_distributions_share_one_axis_and_draw_the_threshold(cardio):
    found = charts(cardio)
    domains = set()
    for name in NAMES:
        spec, data = found[f"{name}: score distribution and threshold"]
        marks = [mark_of(v) for v, _ in views(spec)]
        assert marks == ["bar", "rule"]
        bars, rule = (v for v, _ in views(spec))
        domains.add(tuple(bars["encoding"]["x"]["scale"]["domain"]))
        assert rule["encoding"]["x"]["field"] == "position"
        histogram = drawn(found[f"{name}: score distribution and threshold"], "bar")
        assert histogram["rows"].sum() == 1831
        assert histogram.loc[histogram["status"] == "flagged", "rows"].sum() == 92
        raw = {t["field"]: t["title"] for t in rule["encoding"]["tooltip"]}
        assert raw["threshold"] == "Threshold (raw score)"
    assert len(domains) == 1


@pytest.mark.slow
def test_roc_and_pr_curves_name_auc_and_ap_for_all_four(cardio):
    found = charts(cardio)
    roc = drawn(found["Detection quality against the label"], "line", "legend")
    legends = sorted(set(roc["legend"]))
    assert len(legends) == 4 and all("(AUC 0." in text for text in legends)
    pr = drawn(found["Precision-recall curves"], "line", "legend")
    assert sum("(AP 0." in text for text in set(pr["legend"])) == 4
    spec, _ = found["Detection quality against the label"]
    assert [mark_of(v) for v, _ in views(spec)] == ["line", "line", "point"]
    confusion = cardio.table[0].value
    assert len(confusion) == 4
    assert (
        confusion["true positives"].astype(int)
        + confusion["false positives"].astype(int)
        == 92
    ).all()


@pytest.mark.slow
def test_agreement_views_count_the_flagged_rows(cardio):
    found = charts(cardio)
    upset = drawn(found["Which detectors flag the same rows"], "bar")
    spec, _ = found["Which detectors flag the same rows"]
    assert params_of(spec) == {"combination"}
    points = drawn(found["Map of the rows, coloured by agreement"], "circle")
    assert upset["rows"].sum() == int((points["votes"] > 0).sum())
    assert set(points["votes"]) <= {0, 1, 2, 3, 4}
    rho = drawn(found["Do the detectors rank rows alike?"], "rect")
    diagonal = rho[rho["detector_a"] == rho["detector_b"]]
    assert np.allclose(diagonal["rho"], 1.0) and len(rho) == 16
    spec, _ = found["Map of the rows, coloured by agreement"]
    assert params_of(spec) == {"picked"}


@pytest.mark.slow
def test_threshold_modes_change_flags_without_refit(cardio):
    at = cardio
    before = fit_count()
    at.radio(key="threshold_mode").set_value("fpr").run()
    assert not at.exception
    fpr_flags = [m.value for m in at.metric]
    confusion = at.table[0].value
    # At most 1 % of the 1655 label-normal rows above each cut.
    assert (confusion["false positives"].astype(int) <= 16).all()
    at.radio(key="threshold_mode").set_value("alpha").run()
    assert not at.exception
    alpha_flags = [m.value for m in at.metric]
    at.radio(key="threshold_mode").set_value("contamination").run()
    at.slider(key="contamination").set_value(0.1).run()
    assert [m.value for m in at.metric] == ["184"] * 4
    assert fpr_flags != alpha_flags != ["184"] * 4
    assert fit_count() == before
    histogram = drawn(charts(at)["PCA: score distribution and threshold"], "bar")
    assert histogram.loc[histogram["status"] == "flagged", "rows"].sum() == 184
    at.slider(key="contamination").set_value(0.05).run()


@pytest.mark.slow
def test_threshold_survives_a_page_switch(cardio):
    at = cardio
    at.slider(key="contamination").set_value(0.08).run()
    at.switch_page("views/data.py").run()
    at.switch_page("views/compare.py").run()
    assert at.slider(key="contamination").value == 0.08
    at.slider(key="contamination").set_value(0.05).run()


@pytest.mark.slow
def test_selected_row_is_ringed_on_the_map_and_linked_to_explain(cardio):
    at = cardio
    at.session_state["selected_row"] = 7
    at.run()
    spec, data = charts(at)["Map of the rows, coloured by agreement"]
    ring = drawn((spec, data), "point")
    assert 7 in set(ring["row"])
    assert any("Explain row 7" in str(link.proto.label) for link in at.get("page_link"))
    at.session_state["selected_row"] = None


@pytest.mark.slow
def test_case_17_every_flagged_row_is_drawn():
    """6000 rows: no MaxRowsError, and PCA's top 6 are in every thinned chart."""
    planted = {250, 1400, 2900, 3333, 4800, 5999}
    data = (CASES / "17-chart-6000-rows.csv").read_bytes()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detectors"] = ["pca"]
    at.session_state["contamination"] = 0.001
    at.run()
    at.switch_page("views/data.py").run()
    at.file_uploader(key="upload_widget").set_value(
        ("17-chart-6000-rows.csv", data, "text/csv")
    ).run()
    at.switch_page("views/compare.py").run()
    assert not at.exception
    found = charts(at)
    by_row = drawn(found["Score of every row, per detector"], "circle")
    assert set(by_row.loc[by_row["status"] == "flagged", "row"]) == planted
    assert len(by_row) <= 4000
    points = drawn(found["Map of the rows, coloured by agreement"], "circle")
    assert set(points.loc[points["votes"] > 0, "row"]) == planted
    assert len(points) <= 4000
    histogram = drawn(found["PCA: score distribution and threshold"], "bar")
    assert histogram["rows"].sum() == 6000
