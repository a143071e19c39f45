"""Write a benchmark's table into README.md between its markers."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def write_section(name: str, text: str, readme: Path = README) -> None:
    """Replace the text between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->``.

    Raises a ValueError naming the marker when the README lacks it, so a renamed
    section is noticed instead of silently skipped.
    """
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    content = readme.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(content):
        raise ValueError(f"{readme} has no '{start}' ... '{end}' markers; add them.")
    replacement = f"{start}\n{text.strip()}\n{end}"
    readme.write_text(pattern.sub(lambda _: replacement, content), encoding="utf-8")
