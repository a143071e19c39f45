"""Saved analyses in one SQLite file: data, settings, scores, models and feedback marks.

Plain stdlib ``sqlite3`` in WAL mode, so readers never block the one writer, with a
busy timeout and short transactions so several analysts can save and mark at once.
Uploaded data is stored as Parquet bytes under an id, never under the name the
client sent; fitted models go through :mod:`detectors.persistence` (JSON plus an
``.npz`` read without pickle). No Streamlit here: the pages and tests share it.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import secrets
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

ENV_VAR = "ANOMALY_LENS_DB"
VERDICTS = ("confirmed", "false_alarm", "unsure")
VERDICT_TITLES = {
    "confirmed": "Confirmed anomaly",
    "false_alarm": "False alarm",
    "unsure": "Unsure",
}
MAX_NAME = 200
MAX_COMMENT = 2000
MAX_AUTHOR = 100
BUSY_TIMEOUT_S = 30.0
_ID_PATTERN = re.compile(r"^[0-9a-f]{16}$")

# Each entry upgrades the schema by one version; PRAGMA user_version records how
# many have run. Never edit a released entry: append a new one.
MIGRATIONS: tuple[str, ...] = (
    # 1: analyses, their data (by content id) and per-detector results.
    """
    CREATE TABLE datasets (
        id TEXT PRIMARY KEY,
        parquet BLOB NOT NULL
    );
    CREATE TABLE analyses (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        data_id TEXT NOT NULL REFERENCES datasets(id),
        source_name TEXT NOT NULL,
        input_sha256 TEXT NOT NULL,
        n_rows INTEGER NOT NULL,
        rows BLOB NOT NULL,
        spec TEXT NOT NULL,
        missing TEXT NOT NULL,
        detectors TEXT NOT NULL,
        params TEXT NOT NULL,
        seed INTEGER NOT NULL,
        threshold TEXT NOT NULL,
        versions TEXT NOT NULL,
        notes TEXT NOT NULL
    );
    CREATE TABLE results (
        analysis_id TEXT NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
        detector TEXT NOT NULL,
        position INTEGER NOT NULL,
        scores BLOB NOT NULL,
        flags BLOB NOT NULL,
        seconds REAL NOT NULL,
        model_json BLOB,
        model_npz BLOB,
        PRIMARY KEY (analysis_id, detector)
    );
    """,
    # 2: analyst feedback; every mark is kept, the latest per row is the verdict.
    """
    CREATE TABLE marks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        analysis_id TEXT NOT NULL REFERENCES analyses(id) ON DELETE CASCADE,
        row INTEGER NOT NULL,
        verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'false_alarm', 'unsure')),
        comment TEXT NOT NULL DEFAULT '',
        author TEXT,
        created_at TEXT NOT NULL
    );
    CREATE INDEX marks_by_analysis ON marks (analysis_id, row, id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StorageError(ValueError):
    """A saved analysis is missing or a request is invalid; the message says why."""


def default_path() -> Path:
    """``$ANOMALY_LENS_DB``, else ``$XDG_DATA_HOME`` (or ``~/.local/share``)
    ``/anomaly-lens/analyses.db``."""
    configured = os.environ.get(ENV_VAR)
    if configured:
        return Path(configured).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "anomaly-lens" / "analyses.db"


def _now() -> str:
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return now.replace("+00:00", "Z")


def _clean_text(value, limit: int, what: str) -> str:
    text = "" if value is None else str(value)
    # Control characters (except tab and newlines) have no place in names or comments.
    text = "".join(ch for ch in text if ch in "\t\n" or ch.isprintable()).strip()
    if len(text) > limit:
        raise StorageError(
            f"{what} is {len(text)} characters long; keep it under {limit}."
        )
    return text


def _floats(values) -> bytes:
    return np.ascontiguousarray(values, dtype="<f8").tobytes()


@dataclass
class AnalysisInfo:
    """One line of the saved-analyses list."""

    id: str
    name: str
    created_at: str
    source_name: str
    n_rows: int
    detectors: list[str]
    n_marks: int = 0


@dataclass
class SavedAnalysis:
    """Everything needed to show a saved analysis again without refitting."""

    id: str
    name: str
    created_at: str
    source_name: str
    input_sha256: str
    frame: pd.DataFrame
    rows: np.ndarray
    spec: dict
    missing: str
    detectors: list[str]
    params: dict
    seed: int
    threshold: dict
    versions: dict
    notes: list[str]
    scores: dict[str, np.ndarray]
    flags: dict[str, np.ndarray]
    seconds: dict[str, float]
    models_saved: list[str] = field(default_factory=list)


def frame_to_parquet(frame: pd.DataFrame) -> bytes:
    """Parquet bytes of ``frame`` (column names as text, index dropped)."""
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return buffer.getvalue()


def parquet_to_frame(data: bytes) -> pd.DataFrame:
    return pd.read_parquet(io.BytesIO(data))


def _model_blobs(detector) -> tuple[bytes, bytes]:
    """The pickle-free model files of ``detector`` as (json, npz) bytes."""
    from detectors.persistence import save_detector

    with tempfile.TemporaryDirectory(prefix="anomaly-lens-") as folder:
        json_path = save_detector(detector, Path(folder) / "model")
        return json_path.read_bytes(), json_path.with_suffix(".npz").read_bytes()


def _model_from_blobs(json_bytes: bytes, npz_bytes: bytes):
    from detectors.persistence import load_detector

    with tempfile.TemporaryDirectory(prefix="anomaly-lens-") as folder:
        base = Path(folder) / "model"
        base.with_suffix(".json").write_bytes(json_bytes)
        base.with_suffix(".npz").write_bytes(npz_bytes)
        detector, _ = load_detector(base)
    return detector


class Storage:
    """The saved-analyses database at ``path`` (default: :func:`default_path`).

    Every call opens its own connection, so one instance is safe to share between
    threads and sessions; writes run in short ``BEGIN IMMEDIATE`` transactions.
    """

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_path()
        self._ready = False
        self._lock = threading.Lock()

    # -- connections and schema -------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None
        )
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self._ensure_schema()
        connection = self._open()
        try:
            yield connection
        finally:
            connection.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one immediate transaction: committed or rolled back."""
        with self._connect() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            connection = self._open()
            try:
                # WAL is a property of the file: set once, kept by later connections.
                connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("BEGIN IMMEDIATE")
                try:
                    version = connection.execute("PRAGMA user_version").fetchone()[0]
                    if version > SCHEMA_VERSION:
                        raise StorageError(
                            f"{self.path}: saved by a newer Anomaly Lens (schema "
                            f"{version}, this one knows {SCHEMA_VERSION}); upgrade, or "
                            f"point {ENV_VAR} at another file."
                        )
                    for number in range(version, SCHEMA_VERSION):
                        for statement in MIGRATIONS[number].split(";"):
                            if statement.strip():
                                connection.execute(statement)
                        connection.execute(f"PRAGMA user_version = {number + 1}")
                        logger.info(
                            "%s: schema migrated to version %d", self.path, number + 1
                        )
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            finally:
                connection.close()
            self._ready = True

    def schema_version(self) -> int:
        with self._connect() as connection:
            return connection.execute("PRAGMA user_version").fetchone()[0]

    # -- analyses ---------------------------------------------------------------

    @staticmethod
    def check_id(analysis_id) -> str:
        """``analysis_id`` if it has the shape of an id, else a StorageError."""
        text = str(analysis_id or "").strip().lower()
        if not _ID_PATTERN.match(text):
            raise StorageError(
                f"'{str(analysis_id)[:40]}' is not an analysis id; "
                "open one from the Saved analyses page."
            )
        return text

    def save_analysis(
        self,
        *,
        name: str,
        frame: pd.DataFrame,
        source_name: str,
        input_sha256: str,
        rows,
        spec: dict,
        missing: str,
        detectors: list[str],
        scores: dict[str, np.ndarray],
        flags: dict[str, np.ndarray],
        seed: int,
        threshold: dict,
        versions: dict,
        params: dict | None = None,
        seconds: dict[str, float] | None = None,
        models: dict | None = None,
        notes: list[str] | None = None,
    ) -> str:
        """Store one analysis and return its new id."""
        name = _clean_text(name, MAX_NAME, "The name") or "Untitled analysis"
        detectors = list(detectors)
        missing_scores = [d for d in detectors if d not in scores or d not in flags]
        if missing_scores:
            raise StorageError(
                f"no scores or flags for {missing_scores}; run them first."
            )
        rows = np.asarray(rows, dtype="<i8")
        for detector in detectors:
            if len(scores[detector]) != len(rows) or len(flags[detector]) != len(rows):
                raise StorageError(
                    f"{detector}: {len(scores[detector])} scores for "
                    f"{len(rows)} rows; they must match."
                )
        parquet = frame_to_parquet(frame)
        data_id = hashlib.sha256(parquet).hexdigest()
        blobs = {}
        # Serialise outside the transaction so the write lock is held briefly.
        for detector, model in (models or {}).items():
            try:
                blobs[detector] = _model_blobs(model)
            except (AttributeError, TypeError, ValueError) as exc:
                logger.warning("model %s not saved (scores are): %s", detector, exc)
        analysis_id = secrets.token_hex(8)
        with self._write() as db:
            db.execute(
                "INSERT OR IGNORE INTO datasets (id, parquet) VALUES (?, ?)",
                (data_id, parquet),
            )
            db.execute(
                "INSERT INTO analyses (id, name, created_at, data_id, source_name, "
                "input_sha256, n_rows, rows, spec, missing, detectors, params, seed, "
                "threshold, versions, notes) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    analysis_id,
                    name,
                    _now(),
                    data_id,
                    _clean_text(Path(str(source_name)).name, MAX_NAME, "The file name"),
                    str(input_sha256),
                    len(frame),
                    rows.tobytes(),
                    json.dumps(spec),
                    missing,
                    json.dumps(detectors),
                    json.dumps(params or {}),
                    int(seed),
                    json.dumps(threshold),
                    json.dumps(versions),
                    json.dumps(notes or []),
                ),
            )
            for position, detector in enumerate(detectors):
                model_json, model_npz = blobs.get(detector, (None, None))
                db.execute(
                    "INSERT INTO results (analysis_id, detector, position, scores, "
                    "flags, seconds, model_json, model_npz) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        analysis_id,
                        detector,
                        position,
                        _floats(scores[detector]),
                        np.asarray(flags[detector], dtype=np.uint8).tobytes(),
                        float((seconds or {}).get(detector, 0.0)),
                        model_json,
                        model_npz,
                    ),
                )
        logger.info(
            "analysis %s saved (%s, %d rows)", analysis_id, source_name, len(frame)
        )
        return analysis_id

    def exists(self, analysis_id) -> bool:
        try:
            analysis_id = self.check_id(analysis_id)
        except StorageError:
            return False
        with self._connect() as db:
            return (
                db.execute(
                    "SELECT 1 FROM analyses WHERE id = ?", (analysis_id,)
                ).fetchone()
                is not None
            )

    def list_analyses(self) -> list[AnalysisInfo]:
        """Every saved analysis, newest first."""
        with self._connect() as db:
            records = db.execute(
                "SELECT a.id, a.name, a.created_at, a.source_name, a.n_rows, "
                "a.detectors, (SELECT COUNT(DISTINCT m.row) FROM marks m "
                "WHERE m.analysis_id = a.id) "
                "FROM analyses a ORDER BY a.created_at DESC, a.rowid DESC"
            ).fetchall()
        return [
            AnalysisInfo(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6])
            for r in records
        ]

    def load_analysis(self, analysis_id) -> SavedAnalysis:
        """The analysis with id ``analysis_id``, or a StorageError."""
        analysis_id = self.check_id(analysis_id)
        with self._connect() as db:
            # One read transaction: a concurrent delete cannot split the record.
            db.execute("BEGIN")
            record = db.execute(
                "SELECT a.name, a.created_at, a.source_name, a.input_sha256, "
                "d.parquet, a.rows, a.spec, a.missing, a.detectors, a.params, a.seed, "
                "a.threshold, a.versions, a.notes "
                "FROM analyses a JOIN datasets d ON d.id = a.data_id "
                "WHERE a.id = ?",
                (analysis_id,),
            ).fetchone()
            results = db.execute(
                "SELECT detector, scores, flags, seconds, model_json IS NOT NULL "
                "FROM results WHERE analysis_id = ? ORDER BY position",
                (analysis_id,),
            ).fetchall()
            db.execute("COMMIT")
        if record is None:
            raise StorageError(
                f"No saved analysis with id {analysis_id}: it may have "
                "been deleted. See the Saved analyses page."
            )
        return SavedAnalysis(
            id=analysis_id,
            name=record[0],
            created_at=record[1],
            source_name=record[2],
            input_sha256=record[3],
            frame=parquet_to_frame(record[4]),
            rows=np.frombuffer(record[5], dtype="<i8").astype(np.int64),
            spec=json.loads(record[6]),
            missing=record[7],
            detectors=json.loads(record[8]),
            params=json.loads(record[9]),
            seed=int(record[10]),
            threshold=json.loads(record[11]),
            versions=json.loads(record[12]),
            notes=json.loads(record[13]),
            scores={
                r[0]: np.frombuffer(r[1], dtype="<f8").astype(np.float64)
                for r in results
            },
            flags={
                r[0]: np.frombuffer(r[2], dtype=np.uint8).astype(bool) for r in results
            },
            seconds={r[0]: float(r[3]) for r in results},
            models_saved=[r[0] for r in results if r[4]],
        )

    def load_models(self, analysis_id) -> dict:
        """The fitted detectors stored with an analysis (those that could be saved)."""
        analysis_id = self.check_id(analysis_id)
        with self._connect() as db:
            records = db.execute(
                "SELECT detector, model_json, model_npz FROM results "
                "WHERE analysis_id = ? AND model_json IS NOT NULL ORDER BY position",
                (analysis_id,),
            ).fetchall()
        return {detector: _model_from_blobs(j, n) for detector, j, n in records}

    def rename(self, analysis_id, name: str) -> None:
        analysis_id = self.check_id(analysis_id)
        name = _clean_text(name, MAX_NAME, "The name")
        if not name:
            raise StorageError(
                "The name is empty; type a few words that say what it is."
            )
        with self._write() as db:
            changed = db.execute(
                "UPDATE analyses SET name = ? WHERE id = ?", (name, analysis_id)
            ).rowcount
        if not changed:
            raise StorageError(f"No saved analysis with id {analysis_id}.")

    def delete(self, analysis_id) -> None:
        """Delete an analysis, its results and marks, and its data if now unused."""
        analysis_id = self.check_id(analysis_id)
        with self._write() as db:
            record = db.execute(
                "SELECT data_id FROM analyses WHERE id = ?", (analysis_id,)
            ).fetchone()
            if record is None:
                raise StorageError(f"No saved analysis with id {analysis_id}.")
            db.execute("DELETE FROM analyses WHERE id = ?", (analysis_id,))
            db.execute(
                "DELETE FROM datasets WHERE id = ? AND NOT EXISTS "
                "(SELECT 1 FROM analyses WHERE data_id = ?)",
                (record[0], record[0]),
            )

    # -- feedback ---------------------------------------------------------------

    def add_mark(
        self,
        analysis_id,
        row: int,
        verdict: str,
        comment: str = "",
        author: str | None = None,
    ) -> int:
        """Record an analyst's verdict on one data row; returns the mark's id."""
        analysis_id = self.check_id(analysis_id)
        if verdict not in VERDICTS:
            raise StorageError(
                f"verdict must be one of {', '.join(VERDICTS)}, "
                f"got {str(verdict)[:40]!r}."
            )
        comment = _clean_text(comment, MAX_COMMENT, "The comment")
        author = _clean_text(author, MAX_AUTHOR, "The author") or None
        row = int(row)
        with self._write() as db:
            record = db.execute(
                "SELECT n_rows FROM analyses WHERE id = ?", (analysis_id,)
            ).fetchone()
            if record is None:
                raise StorageError(f"No saved analysis with id {analysis_id}.")
            if not 0 <= row < record[0]:
                raise StorageError(
                    f"Row {row} is outside the data (0 to {record[0] - 1})."
                )
            cursor = db.execute(
                "INSERT INTO marks (analysis_id, row, verdict, comment, author, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?)",
                (analysis_id, row, verdict, comment, author, _now()),
            )
            return int(cursor.lastrowid)

    def mark_history(self, analysis_id) -> pd.DataFrame:
        """Every mark, oldest first."""
        analysis_id = self.check_id(analysis_id)
        with self._connect() as db:
            records = db.execute(
                "SELECT id, row, verdict, comment, author, created_at FROM marks "
                "WHERE analysis_id = ? ORDER BY id",
                (analysis_id,),
            ).fetchall()
        return pd.DataFrame(
            records,
            columns=["mark_id", "row", "verdict", "comment", "author", "marked_at"],
        )

    def marks(self, analysis_id) -> pd.DataFrame:
        """The current verdict per row: its latest mark."""
        history = self.mark_history(analysis_id)
        latest = history.drop_duplicates("row", keep="last")
        return latest.sort_values("row").reset_index(drop=True)
