"""Anomaly Lens data layer: read files, infer column roles, build feature matrices.

``load_table`` reads CSV/TSV/Zeek/Parquet files (any encoding, delimiter or
decimal mark) into a :class:`Table`; ``infer_roles`` gives every column a role
(a JSON-able :class:`Preprocessing`); ``prepare`` turns both into a finite
float64 matrix with a report. No Streamlit here: the CLI and the dashboard
call the same functions.
"""

from .errors import DatasetError
from .prepare import Prepared, prepare
from .reading import MAX_UPLOAD_MB, Table, load_table
from .roles import MAX_CATEGORIES, ROLES, Preprocessing, infer_roles

__all__ = [
    "MAX_CATEGORIES",
    "MAX_UPLOAD_MB",
    "ROLES",
    "DatasetError",
    "Prepared",
    "Preprocessing",
    "Table",
    "infer_roles",
    "load_table",
    "prepare",
]
