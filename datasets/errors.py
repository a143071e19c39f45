"""The one error type the datasets package raises for bad input files."""

from __future__ import annotations


class DatasetError(ValueError):
    """A file that cannot be read or prepared, with a message a user can act on.

    The message names the file, the column (and row when known), what is wrong
    and how to fix it. Entry points (CLI, dashboard) show it as one line.
    """
