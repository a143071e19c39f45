"""The sharing flow in a real browser: upload, threshold, save, link, mark, export."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sqlite3
import time

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

N_ROWS = 120
OUTLIER = 33
# Markup in a name must stay text: no HTML, and no image fetched from another host.
NAME = "Browser test <b>analysis</b> ![x](http://example.invalid/a.png)"


@pytest.fixture(scope="module")
def upload_file(tmp_path_factory):
    """120 rows of 4 features, row 33 far out and carrying a formula-like note."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(N_ROWS, 4)), columns=["a", "b", "c", "d"])
    frame.loc[OUTLIER] = [9.0, -9.0, 9.0, -9.0]
    frame["note"] = ["=1+1" if i == OUTLIER else f"host-{i}" for i in range(N_ROWS)]
    path = tmp_path_factory.mktemp("e2e-data") / "e2e-flows.csv"
    frame.to_csv(path, index=False)
    return path


def _wait_idle(page) -> None:
    """Until Streamlit has finished the current run (its status widget is gone)."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(
        state="hidden", timeout=120_000
    )


def _go(page, title: str) -> None:
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title).click()
    _wait_idle(page)


def _wait_for_mark(database, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with sqlite3.connect(database) as connection:
            if connection.execute("SELECT COUNT(*) FROM marks").fetchone()[0]:
                return
        time.sleep(0.3)
    pytest.fail("the mark submitted in the browser never reached the database")


def _flagged_line(page) -> str:
    line = (
        page.locator('[data-testid="stMarkdownContainer"] p')
        .filter(has_text=re.compile(r"\d+ flagged rows \("))
        .first
    )
    line.wait_for()
    return line.inner_text()


def test_upload_threshold_save_link_and_export(new_page, server, upload_file):
    _, database = server
    page = new_page()
    # Enter through the app's front door: the first screen scores the default sample.
    page.goto("/")
    page.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=120_000)
    _go(page, "Data")

    # Upload through the real <input type=file> of the uploader.
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(
        str(upload_file)
    )
    page.get_by_text(f"{upload_file.name}: {N_ROWS} rows").wait_for(timeout=120_000)

    _go(page, "Compare detectors")
    charts = page.locator(".vega-embed canvas, .vega-embed svg")
    # Several Vega-Lite charts draw: score distributions, scores per row, agreement.
    charts.nth(2).wait_for(timeout=120_000)

    # Raise the contamination by keyboard, one step per rerun so none is coalesced.
    slider = (
        page.locator('[data-testid="stSlider"]')
        .filter(has_text="Contamination")
        .locator('input[type="range"]')
    )
    assert float(slider.input_value()) == 0.05
    for _ in range(5):
        slider.press("ArrowRight")
        _wait_idle(page)
    shown = float(slider.input_value())
    assert shown > 0.05
    # The last step reached the server once PCA's flag count on the page follows it.
    pca_flags = (
        page.locator('[data-testid="stMetric"]')
        .filter(has_text="PCA flags")
        .locator('[data-testid="stMetricValue"]')
    )
    count = math.ceil(shown * N_ROWS - 1e-9)
    expect(pca_flags).to_have_text(str(count), timeout=60_000)
    _wait_idle(page)

    _go(page, "Save, share, export")
    before = _flagged_line(page)
    # The server's own account of the threshold in force.
    contamination = float(re.search(r"contamination = ([0-9.]+)", before).group(1))
    assert contamination == shown
    expected = math.ceil(contamination * N_ROWS - 1e-9)
    # Rows flagged by at least one of the two detectors, each flagging `expected`.
    n_flagged = int(before.split()[0])
    assert expected <= n_flagged <= 2 * expected
    assert re.search(rf"\b{OUTLIER}\b", before)
    page.get_by_label("Name").fill(NAME)
    page.get_by_role("button", name="Save analysis").click()
    page.get_by_text("Viewing the saved analysis").wait_for(timeout=60_000)
    _wait_idle(page)
    link = page.locator('[data-testid="stCode"] code').first.inner_text().strip()
    match = re.fullmatch(r"http://127\.0\.0\.1:\d+/\?analysis=([0-9a-f]{16})", link)
    assert match, link
    with sqlite3.connect(database) as connection:
        stored = connection.execute(
            "SELECT name, threshold FROM analyses WHERE id = ?", (match.group(1),)
        ).fetchone()
    assert stored[0] == NAME
    assert json.loads(stored[1]) == {"mode": "contamination", "value": contamination}

    # Export the flagged rows as CSV and read what the browser downloaded.
    with page.expect_download() as download_info:
        page.get_by_role("button", name="CSV", exact=True).click()
    download = download_info.value
    assert download.suggested_filename == "e2e-flows-flagged.csv"
    records = list(csv.DictReader(io.StringIO(open(download.path()).read())))
    rows = [int(r["row"]) for r in records]
    assert len(rows) == n_flagged and OUTLIER in rows
    assert sum(int(r["flag_pca"]) for r in records) == expected
    assert sum(int(r["flag_ae"]) for r in records) == expected
    outlier = next(r for r in records if int(r["row"]) == OUTLIER)
    assert outlier["note"] == "'=1+1" and float(outlier["a"]) == 9.0
    assert outlier["flag_pca"] == "1" and float(outlier["score_pca"]) > 0

    # A colleague opens the link in another browser session: same flagged rows.
    other = new_page()
    other.goto(link)
    _wait_idle(other)
    other.locator(".vega-embed canvas, .vega-embed svg").first.wait_for(timeout=120_000)
    _go(other, "Save, share, export")
    assert _flagged_line(other) == before
    banner = (
        other.locator('[data-testid="stAlert"]')
        .filter(has_text="Viewing the saved analysis")
        .inner_text()
    )
    assert NAME in banner, banner
    assert other.locator('img[src*="example.invalid"]').count() == 0

    # The colleague marks the row the form offers first, then exports with the verdict.
    other.get_by_text("Confirmed anomaly", exact=True).click()
    other.get_by_label("Comment (optional)").fill("=cmd|' /C calc'!A0")
    other.get_by_role("button", name="Save mark").click()
    _wait_for_mark(database)
    # The verdict chart appears once the page has rerun with the new mark.
    other.get_by_text("Flagged rows per detector, by analyst verdict").wait_for()
    _wait_idle(other)
    with other.expect_download() as download_info:
        other.get_by_role("button", name="CSV", exact=True).click()
    records = list(csv.DictReader(io.StringIO(open(download_info.value.path()).read())))
    marked = [r for r in records if r["mark_verdict"]]
    assert len(marked) == 1 and marked[0]["mark_verdict"] == "confirmed"
    assert marked[0]["mark_comment"] == "'=cmd|' /C calc'!A0"
    assert marked[0]["flagged_by"] != "0"
    with sqlite3.connect(database) as connection:
        assert connection.execute("SELECT row, verdict FROM marks").fetchall() == [
            (int(marked[0]["row"]), "confirmed")
        ]

    assert new_page.outside == []


def test_unknown_link_shows_a_message_not_a_traceback(new_page):
    page = new_page()
    page.goto("/?analysis=0123456789abcdef")
    page.get_by_text("No saved analysis with id 0123456789abcdef").wait_for(
        timeout=120_000
    )
    assert page.locator('[data-testid="stException"]').count() == 0
    assert new_page.outside == []
