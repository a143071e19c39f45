"""Anomaly Lens: entry point (`streamlit run dashboard/app.py`)."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

# Streamlit runs this file as a script; make the project packages importable.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import services, state  # noqa: E402
from detectors.pipeline import limit_torch_threads  # noqa: E402

# Not "pages/": Streamlit would treat that folder as old-style pages and run a
# page without this entry point when its URL is opened first.
PAGES = Path(__file__).resolve().parent / "views"


def main() -> None:
    st.set_page_config(page_title="Anomaly Lens", page_icon="🔎", layout="wide")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    limit_torch_threads()
    services.sign_in_gate()
    state.init()
    services.follow_link()
    navigation = st.navigation(
        {
            "Analyse": [
                st.Page(
                    PAGES / "compare.py",
                    title="Compare detectors",
                    icon="📊",
                    default=True,
                    url_path="compare",
                ),
                st.Page(
                    PAGES / "explain.py",
                    title="Explain a row",
                    icon="🔍",
                    url_path="explain",
                ),
                st.Page(
                    PAGES / "timeline.py",
                    title="Timeline",
                    icon="🕒",
                    url_path="timeline",
                ),
                st.Page(
                    PAGES / "rpca.py",
                    title="Robust PCA inside",
                    icon="🧩",
                    url_path="rpca",
                ),
                st.Page(PAGES / "data.py", title="Data", icon="📄", url_path="data"),
            ],
            "Share": [
                st.Page(
                    PAGES / "share.py",
                    title="Save, share, export",
                    icon="🔗",
                    url_path="share",
                ),
                st.Page(
                    PAGES / "saved.py",
                    title="Saved analyses",
                    icon="🗂️",
                    url_path="saved",
                ),
            ],
            "Learn": [
                st.Page(
                    PAGES / "learn_bottleneck.py",
                    title="The bottleneck",
                    icon="🎓",
                    url_path="learn_bottleneck",
                ),
                st.Page(
                    PAGES / "learn_linear_ae.py",
                    title="Linear AE = PCA",
                    icon="📐",
                    url_path="learn_linear_ae",
                ),
                st.Page(
                    PAGES / "learn_vae.py",
                    title="AE vs VAE",
                    icon="🌀",
                    url_path="learn_vae",
                ),
                st.Page(
                    PAGES / "learn_rpca.py",
                    title="Robust PCA",
                    icon="🧹",
                    url_path="learn_rpca",
                ),
            ],
        }
    )
    navigation.run()


main()
