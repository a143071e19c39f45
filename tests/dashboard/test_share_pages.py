"""Save/share and Saved-analyses pages under AppTest: save, link, marks, list, sign-in."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import APP, fit_count

TIMEOUT = 240


def _upload_and_save(name: str) -> AppTest:
    """A 120-row upload with row 33 far out, scored by PCA and saved."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(120, 4)), columns=list("abcd"))
    frame.loc[33] = [9, -9, 9, -9]
    frame["note"] = ["=1+1" if i == 33 else "ok" for i in range(120)]
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["detectors"] = ["pca"]
    at.run()
    at.switch_page("views/data.py").run()
    at.file_uploader(key="upload_widget").set_value(
        ("mine.csv", frame.to_csv(index=False).encode(), "text/csv")
    ).run()
    at.switch_page("views/share.py").run()
    assert not at.exception
    at.text_input(key="save_name").set_value(name)
    at.button[0].click().run()
    assert not at.exception
    return at


@pytest.fixture
def database(tmp_path, monkeypatch):
    path = tmp_path / "analyses.db"
    monkeypatch.setenv("ANOMALY_LENS_DB", str(path))
    return path


@pytest.mark.slow
def test_saved_link_opens_same_flags_without_refit_and_takes_marks(database):
    at = _upload_and_save("planted outlier")
    analysis_id = at.session_state["opened_analysis"]
    assert at.session_state["source"] == f"saved:{analysis_id}"
    assert at.query_params["analysis"] in (analysis_id, [analysis_id])
    assert at.code[0].value.endswith(f"?analysis={analysis_id}")
    flagged = next(m.value for m in at.markdown if "flagged rows" in m.value)

    fits = fit_count()
    colleague = AppTest.from_file(APP, default_timeout=TIMEOUT)
    colleague.query_params["analysis"] = analysis_id
    colleague.run()
    assert not colleague.exception
    assert colleague.session_state["detectors"] == ["pca"]
    colleague.switch_page("views/share.py").run()
    assert (
        next(m.value for m in colleague.markdown if "flagged rows" in m.value)
        == flagged
    )
    assert "planted outlier" in colleague.success[0].value
    assert fit_count() == fits

    colleague.selectbox(key="mark_row").set_value(33)
    colleague.radio(key="mark_verdict").set_value("confirmed")
    colleague.text_area(key="mark_comment").set_value("=HYPERLINK(1)")
    colleague.text_input(key="mark_author").set_value("ana")
    colleague.button[1].click().run()
    assert not colleague.exception
    table = colleague.dataframe[0].value
    marked = table[table["row"] == 33].iloc[0]
    assert (
        marked["mark_verdict"] == "confirmed"
        and marked["mark_comment"] == "=HYPERLINK(1)"
    )
    # The download holds the mark, neutralised for spreadsheets.
    csv_button = colleague.get("download_button")[0]
    assert csv_button.proto.label == "CSV"


@pytest.mark.slow
def test_saved_page_lists_renames_opens_and_deletes(database):
    at = _upload_and_save("first")
    analysis_id = at.session_state["opened_analysis"]
    at.switch_page("views/saved.py").run()
    assert not at.exception
    assert at.dataframe[0].value["name"].tolist() == ["first"]
    at.text_input(key=f"saved_new_name_{analysis_id}").set_value("renamed")
    at.button(key="FormSubmitter:rename_form-Rename").click().run()
    assert at.dataframe[0].value["name"].tolist() == ["renamed"]
    at.checkbox(key="saved_sure").check().run()
    at.button(key="saved_delete").click().run()
    assert not at.exception
    assert at.session_state["source"] == "sample:cardio"
    assert any("Nothing saved yet" in i.value for i in at.info)


@pytest.mark.slow
def test_unknown_or_malformed_link_shows_a_message(database):
    for wanted in ("0123456789abcdef", "../../etc/passwd"):
        at = AppTest.from_file(APP, default_timeout=TIMEOUT)
        at.session_state["detectors"] = ["pca"]
        at.query_params["analysis"] = wanted
        at.run()
        assert not at.exception
        assert at.error and "opened the default data instead" in at.error[0].value
        assert at.session_state["source"] == "sample:cardio"


def test_sign_in_configured_blocks_pages_until_signed_in(database):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = {
        "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
        "cookie_secret": "s",
        "client_id": "c",
        "client_secret": "x",
        "server_metadata_url": "https://idp.example.invalid/.well-known/openid-configuration",
    }
    at.run()
    assert not at.exception
    assert not at.get("vega_lite_chart")
    if importlib.util.find_spec("authlib") is None:
        assert "Authlib" in at.error[0].value
    else:
        assert at.button[0].label == "Sign in"


@pytest.mark.slow
def test_compare_table_shows_colleagues_verdicts(database):
    """A mark made on a saved analysis appears beside the row on Compare."""
    from dashboard.storage import Storage

    at = _upload_and_save("verdicts")
    analysis_id = at.session_state["opened_analysis"]
    Storage(database).add_mark(analysis_id, 33, "false_alarm", "known batch job", "bo")
    at.switch_page("views/compare.py").run()
    assert not at.exception
    table = next(df.value for df in at.dataframe if "detectors_flagging" in df.value)
    row = table[table["row"] == 33].iloc[0]
    assert row["verdict"] == "false_alarm"
    assert row["comment"] == "known batch job"
