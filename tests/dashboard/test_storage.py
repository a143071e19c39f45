"""Saved analyses: round trip, list/rename/delete, marks, migrations and concurrency."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading

import numpy as np
import pandas as pd
import pytest

from dashboard import storage
from dashboard.storage import Storage, StorageError
from detectors.pipeline import score_all
from detectors.thresholds import ThresholdPolicy


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    frame["host"] = [f"web-{i:02d}" for i in range(60)]
    frame.loc[7, ["a", "b", "c"]] = [8.0, -8.0, 8.0]
    return frame


def _save(db: Storage, name="first", models=None, **overrides) -> str:
    frame = _frame()
    X = frame[["a", "b", "c"]].to_numpy()
    run = score_all(X, ["pca"], seed=0)
    flags = {"pca": ThresholdPolicy("contamination", 0.05).apply(run.scores["pca"])[1]}
    arguments = dict(
        name=name,
        frame=frame,
        source_name="../../etc/passwd",
        input_sha256="ab" * 32,
        rows=np.arange(60),
        spec={"roles": {"a": "feature"}},
        missing="impute",
        detectors=["pca"],
        scores=run.scores,
        flags=flags,
        seed=3,
        threshold={"mode": "contamination", "value": 0.05},
        versions={"numpy": "x"},
        params={"pca": {}},
        seconds=run.seconds,
        models=run.models if models is None else models,
        notes=["read as UTF-8"],
    )
    arguments.update(overrides)
    return db.save_analysis(**arguments)


@pytest.fixture
def db(tmp_path) -> Storage:
    return Storage(tmp_path / "sub" / "analyses.db")


def test_default_path_follows_env_var_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("ANOMALY_LENS_DB", str(tmp_path / "x.db"))
    assert storage.default_path() == tmp_path / "x.db"
    monkeypatch.delenv("ANOMALY_LENS_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert storage.default_path() == tmp_path / "data" / "anomaly-lens" / "analyses.db"


def test_database_is_wal_and_fully_migrated(db):
    assert db.schema_version() == storage.SCHEMA_VERSION == len(storage.MIGRATIONS)
    with sqlite3.connect(db.path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_old_schema_is_upgraded_in_place(tmp_path):
    """A file written at schema 1 (before marks existed) gains the marks table."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.executescript(storage.MIGRATIONS[0])
        connection.execute("PRAGMA user_version = 1")
    db = Storage(path)
    assert db.schema_version() == storage.SCHEMA_VERSION
    analysis_id = _save(db)
    db.add_mark(analysis_id, 7, "confirmed")
    assert len(db.marks(analysis_id)) == 1


def test_newer_schema_is_refused_with_a_message(tmp_path):
    path = tmp_path / "future.db"
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version = {storage.SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer Anomaly Lens"):
        Storage(path).list_analyses()


def test_saved_analysis_round_trips_exactly(db):
    analysis_id = _save(db)
    saved = db.load_analysis(analysis_id)
    frame = _frame()
    pd.testing.assert_frame_equal(saved.frame, frame)
    assert saved.detectors == ["pca"] and saved.seed == 3
    assert saved.threshold == {"mode": "contamination", "value": 0.05}
    X = frame[["a", "b", "c"]].to_numpy()
    expected = score_all(X, ["pca"], seed=0).scores["pca"]
    assert saved.scores["pca"].tobytes() == expected.tobytes()
    assert saved.flags["pca"].sum() == 3 and saved.flags["pca"][7]
    assert saved.notes == ["read as UTF-8"] and saved.models_saved == ["pca"]
    # The client's file name is kept as a display name only, never as a path.
    assert saved.source_name == "passwd"


def test_models_come_back_through_the_pickle_free_format(db):
    analysis_id = _save(db)
    models = db.load_models(analysis_id)
    X = _frame()[["a", "b", "c"]].to_numpy()
    scores = db.load_analysis(analysis_id).scores["pca"]
    np.testing.assert_array_equal(models["pca"].score_samples(X), scores)
    with sqlite3.connect(db.path) as connection:
        npz = connection.execute("SELECT model_npz FROM results").fetchone()[0]
    assert npz[:2] == b"PK" and b"pickle" not in npz


def test_unsaveable_model_keeps_the_scores(db):
    analysis_id = _save(db, models={"pca": object()})
    saved = db.load_analysis(analysis_id)
    assert saved.models_saved == [] and len(saved.scores["pca"]) == 60
    assert db.load_models(analysis_id) == {}


def test_list_rename_delete(db):
    first = _save(db, name="first")
    second = _save(db, name="  second\x00  ")
    listed = db.list_analyses()
    assert [a.id for a in listed] == [second, first]
    assert listed[0].name == "second"
    db.rename(first, "renamed")
    assert db.load_analysis(first).name == "renamed"
    with pytest.raises(StorageError, match="empty"):
        db.rename(first, "   ")
    db.add_mark(first, 7, "confirmed")
    db.delete(first)
    assert [a.id for a in db.list_analyses()] == [second]
    with pytest.raises(StorageError, match="No saved analysis"):
        db.load_analysis(first)
    # The data both shared stays while the second analysis needs it.
    assert len(db.load_analysis(second).frame) == 60
    db.delete(second)
    with sqlite3.connect(db.path) as connection:
        counts = [
            connection.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("datasets", "analyses", "results", "marks")
        ]
    assert counts == [0, 0, 0, 0]


@pytest.mark.parametrize("bad", ["", "../../x", "1 OR 1=1", "ABCDEF0123456789Z", None])
def test_malformed_ids_are_refused_before_any_query(db, bad):
    with pytest.raises(StorageError, match="not an analysis id"):
        db.load_analysis(bad)
    assert not db.exists(bad)


def test_marks_latest_verdict_per_row_with_history(db):
    analysis_id = _save(db)
    db.add_mark(analysis_id, 7, "unsure", "looks odd", author="ana")
    db.add_mark(analysis_id, 7, "confirmed", "=HYPERLINK(1)")
    db.add_mark(analysis_id, 12, "false_alarm")
    marks = db.marks(analysis_id)
    assert marks[["row", "verdict"]].values.tolist() == [
        [7, "confirmed"],
        [12, "false_alarm"],
    ]
    assert marks.loc[0, "comment"] == "=HYPERLINK(1)"
    assert marks.loc[0, "marked_at"].endswith("Z")
    assert len(db.mark_history(analysis_id)) == 3
    assert db.list_analyses()[0].n_marks == 2


@pytest.mark.parametrize(
    "row, verdict, match",
    [
        (7, "maybe", "verdict must be one of"),
        (60, "confirmed", "outside the data"),
        (-1, "unsure", "outside the data"),
    ],
)
def test_bad_marks_are_refused(db, row, verdict, match):
    analysis_id = _save(db)
    with pytest.raises(StorageError, match=match):
        db.add_mark(analysis_id, row, verdict)


def _hammer(path: str, analysis_id: str, worker: int, n_ops: int) -> None:
    """Each worker saves analyses and marks rows through its own Storage."""
    db = Storage(path)
    frame = pd.DataFrame({"a": np.arange(20.0) + worker})
    for i in range(n_ops):
        db.add_mark(analysis_id, (worker * n_ops + i) % 60, "unsure", f"w{worker} #{i}")
        db.save_analysis(
            name=f"w{worker}-{i}",
            frame=frame,
            source_name="f.csv",
            input_sha256="0",
            rows=np.arange(20),
            spec={},
            missing="impute",
            detectors=["pca"],
            scores={"pca": np.arange(20.0)},
            flags={"pca": np.arange(20) > 18},
            seed=0,
            threshold={"mode": "contamination", "value": 0.05},
            versions={},
        )


def _check_nothing_lost(
    db: Storage, analysis_id: str, workers: int, n_ops: int
) -> None:
    history = db.mark_history(analysis_id)
    assert len(history) == workers * n_ops
    assert set(history["comment"]) == {
        f"w{w} #{i}" for w in range(workers) for i in range(n_ops)
    }
    names = {a.name for a in db.list_analyses()}
    assert {f"w{w}-{i}" for w in range(workers) for i in range(n_ops)} <= names
    with sqlite3.connect(db.path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_concurrent_threads_lose_no_write(db):
    analysis_id = _save(db)
    workers, n_ops = 8, 6
    errors = []

    def work(worker):
        try:
            _hammer(str(db.path), analysis_id, worker, n_ops)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    _check_nothing_lost(db, analysis_id, workers, n_ops)


def test_concurrent_processes_lose_no_write(tmp_path):
    path = tmp_path / "shared.db"
    db = Storage(path)
    analysis_id = _save(db)
    workers, n_ops = 4, 5
    context = multiprocessing.get_context("fork")
    processes = [
        context.Process(target=_hammer, args=(str(path), analysis_id, w, n_ops))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(120)
    assert [p.exitcode for p in processes] == [0] * workers
    _check_nothing_lost(db, analysis_id, workers, n_ops)
