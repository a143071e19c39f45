"""Real-browser fixtures: the dashboard on a free 127.0.0.1 port, and Debian's chromium
driven by Playwright (sync API), allowed to reach 127.0.0.1 only."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Every host name resolves to nothing except the local server.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
SERVER_START_S = 90
# Fewer detectors keep the browser run short; the flow is the same for all four.
E2E_DETECTORS = "pca,ae"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _streamlit() -> list[str]:
    venv = ROOT / ".venv" / "bin" / "streamlit"
    return [str(venv)] if venv.exists() else [sys.executable, "-m", "streamlit"]


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """The dashboard as `make run` serves it, on 127.0.0.1 and a tmp database.
    Yields (base_url, database_path)."""
    folder = tmp_path_factory.mktemp("e2e-server")
    port = _free_port()
    database = folder / "analyses.db"
    env = {
        **os.environ,
        "ANOMALY_LENS_DB": str(database),
        "ANOMALY_LENS_DETECTORS": E2E_DETECTORS,
        "OMP_NUM_THREADS": "1",
    }
    log_path = folder / "server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            *_streamlit(),
            "run",
            "dashboard/app.py",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"

    def stop():
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()

    deadline = time.monotonic() + SERVER_START_S
    while True:
        if process.poll() is not None:
            stop()
            pytest.fail(
                f"the dashboard exited ({process.returncode}) before answering:\n"
                + log_path.read_text(errors="replace")[-3000:]
            )
        try:
            with urllib.request.urlopen(
                f"{base_url}/_stcore/health", timeout=2
            ) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop()
            pytest.fail(
                f"the dashboard did not answer on {base_url} within "
                f"{SERVER_START_S} s:\n" + log_path.read_text(errors="replace")[-3000:]
            )
        time.sleep(0.5)
    try:
        yield base_url, database
    finally:
        stop()


@pytest.fixture(scope="session")
def browser():
    """Headless Debian chromium; fails (never skips) when it is not installed."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's chromium. Run "
            "`make e2e-setup` (or: apt-get update && apt-get install -y chromium) "
            "and try again; `make test` does this for you."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def new_page(browser, server):
    """Pages in fresh browser contexts (separate sessions); each records any request
    that tried to leave 127.0.0.1, and aborts it."""
    base_url, _ = server
    contexts, outside = [], []

    def guard(route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1:", "ws://127.0.0.1:", "data:", "blob:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    def make():
        context = browser.new_context(accept_downloads=True, base_url=base_url)
        context.set_default_timeout(60_000)
        context.route("**/*", guard)
        contexts.append(context)
        return context.new_page()

    make.outside = outside
    yield make
    for context in contexts:
        context.close()
