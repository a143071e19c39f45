"""Explain, Timeline and Robust PCA pages under AppTest on the bundled samples."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest

from tests.conftest import APP, fit_count

TIMEOUT = 300
PAGES = ("compare", "explain", "timeline", "rpca")


def charts(at) -> dict[str, tuple[dict, dict[str, pd.DataFrame]]]:
    """Every chart on the page by title: (spec, datasets by name)."""
    found = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        data = {
            d.name: convert_arrow_bytes_to_pandas_df(d.data.data)
            for d in element.proto.datasets
        }
        title = spec.get("title")
        found[title if isinstance(title, str) else title["text"]] = (spec, data)
    return found


def views(spec: dict, data_name: str | None = None):
    own = (spec.get("data") or {}).get("name", data_name)
    if "mark" in spec:
        yield spec, own
    for child in spec.get("layer", []) + ([spec["spec"]] if "spec" in spec else []):
        yield from views(child, own)


def drawn(chart, mark: str) -> pd.DataFrame:
    spec, data = chart
    for view, name in views(spec):
        kind = view["mark"] if isinstance(view["mark"], str) else view["mark"]["type"]
        if kind == mark:
            return data[name]
    raise AssertionError(f"no {mark} view")


def check_readable(spec: dict) -> None:
    units = list(views(spec))
    assert spec.get("title") and units
    assert any("tooltip" in view.get("encoding", {}) for view, _ in units), spec[
        "title"
    ]
    for view, _ in units:
        for channel in ("x", "y"):
            encoding = view.get("encoding", {}).get(channel, {})
            if "field" in encoding:
                assert encoding.get("title"), (spec["title"], channel)


def open_app(sample: str, detectors=("pca", "rpca"), row=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detectors"] = list(detectors)
    at.session_state["source"] = f"sample:{sample}"
    if row is not None:
        at.session_state["selected_row"] = row
    at.run()
    assert not at.exception
    return at


@pytest.mark.slow
@pytest.mark.parametrize("sample", ["cardio", "nslkdd", "mnist", "nab", "synth-tm"])
def test_every_page_runs_on_every_kind_of_sample(sample):
    """Tabular, flows, images, time series and a traffic matrix: no exception, no
    error message, every chart titled with axis titles and a tooltip."""
    at = open_app(sample)
    for page in PAGES:
        at.switch_page(f"views/{page}.py").run()
        assert not at.exception, (sample, page)
        assert not at.error, (sample, page, [e.value for e in at.error])
        for spec, _ in charts(at).values():
            check_readable(spec)


@pytest.mark.slow
def test_explain_shows_values_residuals_sparse_cells_and_ranks():
    at = open_app("cardio", row=None)
    at.switch_page("views/explain.py").run()
    assert not at.exception
    row = int(at.header[0].value.split()[-1])
    assert [m.label for m in at.metric] == ["PCA rank", "Robust PCA rank"]
    found = charts(at)
    profile = drawn(found["How far this row is from typical, per feature"], "bar")
    assert {"value", "typical", "deviation"} <= set(profile.columns)
    residuals = drawn(
        found["Why each detector scores this row: per-feature residuals"], "bar"
    )
    assert set(residuals["detector"]) == {"PCA", "Robust PCA"}
    sparse = drawn(
        found["Robust PCA: cells of this row that L cannot explain (S)"], "bar"
    )
    assert (sparse["sparse"].abs() > 0).all()
    # The default row is the most agreed-upon flagged row, ranked near the top.
    assert int(at.metric[0].value.split()[0].lstrip("#")) <= 92
    assert row >= 0


@pytest.mark.slow
def test_explain_follows_the_row_picked_elsewhere():
    at = open_app("cardio", row=12)
    at.switch_page("views/explain.py").run()
    assert at.header[0].value == "Row 12"
    at.number_input(key="explain_row_input").set_value(40).run()
    assert at.header[0].value == "Row 40"
    assert at.session_state["selected_row"] == 40


@pytest.mark.slow
def test_explain_draws_images_for_784_pixels():
    at = open_app("mnist", row=1000)
    at.switch_page("views/explain.py").run()
    assert not at.exception
    spec, data = next(c for t, c in charts(at).items() if "reconstructions" in t)
    cells = drawn((spec, data), "rect")
    panels = list(dict.fromkeys(cells["panel"]))
    assert panels[:2] == ["Input", "PCA reconstruction"]
    assert "Robust PCA sparse |S|" in panels
    assert (cells.groupby("panel").size() == 784).all()


@pytest.mark.slow
def test_explain_marks_the_row_on_the_series():
    at = open_app("nab", row=20000)
    at.switch_page("views/explain.py").run()
    assert not at.exception
    chart = next(c for t, c in charts(at).items() if t.startswith("Where row 20000"))
    assert drawn(chart, "rule")["row"].tolist() == [20000]
    assert 20000 in set(drawn(chart, "line")["row"])


@pytest.mark.slow
def test_timeline_draws_every_flagged_point_and_the_labelled_windows():
    at = open_app("nab")
    at.switch_page("views/timeline.py").run()
    assert not at.exception
    chart = charts(at)["value over time"]
    windows = drawn(chart, "rect")
    points = drawn(chart, "circle")
    assert len(windows) >= 1 and (windows["rows"] > 0).all()
    # Contamination 5 % of 22695 rows, by either detector: all of them drawn.
    assert len(points) >= int(np.ceil(0.05 * 22695))
    assert len(drawn(chart, "line")) <= 4000 + len(points)
    # Clicking a flagged point picks its row for the Explain page.
    assert '"name": "picked"' in json.dumps(chart[0])
    at.session_state["selected_row"] = int(points["row"].iloc[0])
    at.run()
    labels = [str(link.proto.label) for link in at.get("page_link")]
    assert f"Explain row {int(points['row'].iloc[0])}" in labels


@pytest.mark.slow
def test_timeline_shows_traffic_matrix_heatmaps():
    at = open_app("synth-tm")
    at.switch_page("views/timeline.py").run()
    assert not at.exception
    found = charts(at)
    assert {
        "Traffic per OD pair",
        "Robust PCA sparse part S per OD pair",
        "Total traffic per bin, flagged bins in red",
    } <= set(found)
    heat = drawn(found["Traffic per OD pair"], "rect")
    assert heat["pair"].str.contains("->").all()
    assert heat["time"].nunique() <= 300 and heat["pair"].nunique() <= 40


@pytest.mark.slow
def test_timeline_without_time_says_so():
    at = open_app("cardio")
    at.switch_page("views/timeline.py").run()
    assert not at.exception
    assert any("no timestamp column" in i.value for i in at.info)


@pytest.mark.slow
def test_rpca_page_splits_on_one_scale_and_refits_only_rpca_for_lambda():
    at = open_app("cardio")
    at.switch_page("views/rpca.py").run()
    assert not at.exception
    found = charts(at)
    spec, data = found["X = L + S, on one colour scale"]
    cells = drawn((spec, data), "rect")
    assert list(dict.fromkeys(cells["matrix"])) == [
        "X (standardised)",
        "L: low rank",
        "S: sparse",
    ]
    assert spec["spec"]["encoding"]["color"]["scale"]["domain"][0] < 0
    trace = drawn(found["Convergence of the solver"], "line")
    assert set(trace["quantity"]) == {
        "log10 relative residual",
        "rank of L",
        "nonzeros of S",
    }
    default = 1 / np.sqrt(1831)
    assert at.metric[0].value == f"{default:.4g}"

    before = fit_count()
    slider = at.select_slider(key="rpca_lambda_factor")
    slider.set_value(slider.options[-1]).run()
    assert not at.exception
    assert at.metric[0].value == f"{4 * default:.4g}"
    assert fit_count() == before
