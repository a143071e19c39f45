"""Layering: the library packages never import Streamlit."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

from tests.conftest import ROOT


def _modules(package: str) -> list[str]:
    return [
        f"{package}.{info.name}"
        for info in pkgutil.iter_modules([str(ROOT / package)])
        if info.name != "__main__"
    ]


def test_library_modules_do_not_import_streamlit():
    """Import every module of detectors/ and datasets/ in a fresh interpreter and
    check that streamlit was never loaded."""
    modules = _modules("detectors") + _modules("datasets")
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print('streamlit' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "False"
