"""The four Learn pages under AppTest: they render, react to controls, and teach
what they claim (the linear AE ends within 5 degrees of PCA)."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import state
from tests.conftest import APP

TIMEOUT = 120


def _open(page: str) -> AppTest:
    """The app after a first run (so st.navigation has registered its pages: the
    switch then fails unless the page is in the navigation), switched to ``page``."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    # Without a first run, st.navigation has not registered the pages yet and
    # the page would run without app.py (its page config, state and navigation).
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    assert state.SOURCE in at.session_state  # app.py ran around the page
    return at


def _charts(at) -> dict[str, tuple[dict, list[pd.DataFrame]]]:
    """Each chart's spec and inline data sets (Streamlit ships them as Arrow),
    by chart title."""
    charts = {}
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        title = spec.get("title")
        frames = [
            pa.ipc.open_stream(d.data.data).read_pandas() for d in chart.proto.datasets
        ]
        charts[title if isinstance(title, str) else title["text"]] = (spec, frames)
    return charts


def _specs(at) -> dict[str, dict]:
    return {title: spec for title, (spec, _) in _charts(at).items()}


def _data(at, title: str) -> list[pd.DataFrame]:
    return _charts(at)[title][1]


def _metrics(at) -> dict[str, str]:
    return {metric.label: metric.value for metric in at.metric}


def _units(spec: dict) -> list[dict]:
    """The single-mark specs inside a layered, faceted or concatenated chart."""
    children = [spec["spec"]] if "spec" in spec else []
    for key in ("layer", "hconcat", "vconcat", "concat"):
        children += spec.get(key, [])
    if not children:
        return [spec]
    return [unit for child in children for unit in _units(child)]


def _check_charts(at) -> None:
    """Every chart has a title and a tooltip, and every x/y field has an axis title."""
    for title, spec in _specs(at).items():
        assert title
        encodings = [unit.get("encoding", {}) for unit in _units(spec)]
        assert any("tooltip" in enc for enc in encodings), title
        for enc in encodings:
            for channel in ("x", "y"):
                if channel in enc and "field" in enc[channel]:
                    assert enc[channel].get("title") is not None, (title, channel)


def _links(at) -> set[str]:
    """URL paths the page links to."""
    return {link.proto.page for link in at.get("page_link")}


@pytest.fixture(scope="module")
def bottleneck():
    return _open("views/learn_bottleneck.py")


def test_bottleneck_page_renders_originals_curve_and_worst_digits(bottleneck):
    at = bottleneck
    specs = _specs(at)

    assert "Which digits reconstruct worst (z = 8)" in specs
    curve = _data(at, "Reconstruction error against latent size")[0]
    assert set(curve["latent_dim"]) == {2, 4, 8, 16, 32, 64}
    assert curve["method"].nunique() == 2
    assert len(at.get("image")) == 2
    assert "Eckart and Young (1936)" in " ".join(m.value for m in at.markdown)
    # Compare is the default page, so its link is the app's root path ("").
    assert {"data", ""} <= _links(at)
    _check_charts(at)


def test_bottleneck_latent_size_changes_the_reconstructions(bottleneck):
    at = bottleneck
    before = _metrics(at)["Mean squared error per image"]

    at.select_slider(key="learn_bottleneck_z").set_value(2).run()

    assert not at.exception
    assert "Which digits reconstruct worst (z = 2)" in _specs(at)
    assert float(_metrics(at)["Mean squared error per image"]) > float(before)


@pytest.fixture(scope="module")
def linear_ae():
    return _open("views/learn_linear_ae.py")


def test_linear_ae_ends_within_five_degrees_of_pca(linear_ae):
    at = linear_ae
    metrics = _metrics(at)
    trace = _data(at, "Principal angle to PCA's subspace during training")[0]

    assert float(metrics["Final principal angle (degrees)"]) < 5
    assert trace["angle"].iloc[-1] < 5 < trace["angle"].iloc[0]
    assert float(metrics["Final loss"]) == pytest.approx(
        float(metrics["PCA optimum (Eckart-Young)"]), rel=1e-3
    )
    assert "Eckart and Young (1936)" in at.markdown[0].value
    _check_charts(at)


def test_linear_ae_controls_change_the_output(linear_ae):
    at = linear_ae
    title = "PCA and the linear autoencoder find the same line"
    cloud = _data(at, title)[0]

    at.slider(key="learn_linear_steps").set_value(0).run()
    assert float(_metrics(at)["Final principal angle (degrees)"]) > 5

    at.slider(key="learn_linear_ratio").set_value(2.0).run()
    assert not at.exception
    assert not _data(at, title)[0].equals(cloud)


@pytest.fixture(scope="module")
def vae_page():
    return _open("views/learn_vae.py")


def test_vae_page_shows_both_latent_spaces_and_the_trick(vae_page):
    at = vae_page
    specs = _specs(at)

    assert "Autoencoder: 2-D codes" in specs
    assert "VAE (beta = 1): posterior means" in specs
    assert len(at.get("image")) == 2
    text = " ".join(m.value for m in at.markdown)
    assert "Kingma and Welling (2014)" in text and "reparameterisation trick" in text
    assert "data" in _links(at)
    _check_charts(at)


def test_vae_beta_trades_kl_for_reconstruction(vae_page):
    at = vae_page
    kl_before = float(_metrics(at)["VAE KL divergence (nats)"])

    at.select_slider(key="learn_vae_beta").set_value(8.0).run()

    assert not at.exception
    assert "VAE (beta = 8): posterior means" in _specs(at)
    assert float(_metrics(at)["VAE KL divergence (nats)"]) < kl_before


def test_vae_latent_point_moves_the_marker_and_the_decoded_digit(vae_page):
    at = vae_page
    caption_before = at.get("image")[0].proto.imgs[0].caption

    at.slider(key="learn_vae_z1").set_value(1.5).run()

    assert not at.exception
    assert at.get("image")[0].proto.imgs[0].caption != caption_before
    vae_title = next(t for t in _specs(at) if t.startswith("VAE"))
    markers = [frame for frame in _data(at, vae_title) if len(frame) == 1]
    assert [tuple(frame.iloc[0]) for frame in markers] == [(1.5, 0.0)]


@pytest.fixture(scope="module")
def rpca():
    return _open("views/learn_rpca.py")


def test_rpca_page_starts_unsplit_and_steps_one_iteration(rpca):
    at = rpca
    assert _metrics(at)["Iteration"] == "0"
    assert "Candes, Li, Ma and Wright (2011)" in at.markdown[0].value

    at.button(key="learn_rpca_step_button").click().run()
    metrics = _metrics(at)
    assert metrics["Iteration"] == "1"
    first = float(metrics["Residual ||X - L - S|| / ||X||"])

    at.button(key="learn_rpca_step5_button").click().run()
    metrics = _metrics(at)
    assert metrics["Iteration"] == "6"
    assert float(metrics["Residual ||X - L - S|| / ||X||"]) < first
    assert isinstance(at.session_state["learn_rpca_step"], int)
    _check_charts(at)


def test_rpca_runs_to_recovery_and_corruption_restarts(rpca):
    at = rpca
    at.button(key="learn_rpca_finish_button").click().run()
    metrics = _metrics(at)
    assert float(metrics["Recovery error ||L - L0|| / ||L0||"]) < 1e-5
    assert metrics["Rank of L"] == "2"
    title = "Observed X, its split into L + S, and the truth L0"
    heatmap = _data(at, title)[0]

    at.slider(key="learn_rpca_corruption").set_value(40).run()

    assert not at.exception
    assert _metrics(at)["Iteration"] == "0"
    assert not _data(at, title)[0].equals(heatmap)
    sweep = _data(at, "Where recovery breaks down")[0]
    errors = dict(zip(sweep["corruption"], sweep["error"], strict=True))
    assert errors[5.0] < 1e-5 < 0.3 < errors[50.0]
