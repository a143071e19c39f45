"""The one place that caches: loading, preparing and scoring, wrapped for Streamlit.

Pages call these functions and render what they return. Fitting happens only in
``analysis()``; changing a threshold or switching pages reuses the cached run.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import streamlit as st

from datasets import Prepared, Table, infer_roles, load_table, prepare
from datasets.samples import SAMPLES, sample_path
from detectors.pipeline import DETECTOR_TITLES, RunResult, score_all
from dashboard import state

MAX_RUNS = 6


@st.cache_data(max_entries=16, show_spinner="Reading the file…")
def load_source(source: str, name: str | None = None, data: bytes | None = None) -> Table:
    """Read a bundled sample (``sample:<key>``) or uploaded bytes (``upload:<hash>``)."""
    kind, _, key = source.partition(":")
    if kind == "sample":
        return load_table(sample_path(key))
    return load_table(data, name=name)


@st.cache_data(max_entries=16, show_spinner="Preparing features…")
def prepare_source(source: str, roles_json: str, missing: str, label: str | None,
                   name: str | None = None, data: bytes | None = None) -> tuple:
    """Infer roles (plus the user's overrides) and build the feature matrix."""
    table = load_source(source, name, data)
    spec = infer_roles(table.frame, schema=table.schema, label=label)
    overrides = json.loads(roles_json)
    if overrides:
        spec = spec.with_roles(overrides)
    prepared = prepare(table.frame, spec, missing=missing, name=table.name)
    return spec.to_dict(), prepared


class _RunStore:
    """A small thread-safe LRU of fitted runs, shared by all sessions."""

    def __init__(self, max_entries: int):
        self._runs: OrderedDict[str, RunResult] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.fits = 0

    def get(self, key: str) -> RunResult | None:
        with self._lock:
            run = self._runs.get(key)
            if run is not None:
                self._runs.move_to_end(key)
            return run

    def put(self, key: str, run: RunResult) -> None:
        with self._lock:
            self.fits += 1
            self._runs[key] = run
            while len(self._runs) > self.max_entries:
                self._runs.popitem(last=False)


@st.cache_resource(max_entries=1)
def run_store() -> _RunStore:
    return _RunStore(MAX_RUNS)


def analysis(current: "Current", names, seed: int) -> RunResult:
    """Fitted detectors and scores for the current data; fits once, with a progress
    bar per detector, and serves every later call from the store."""
    store = run_store()
    # The preparation inputs identify X exactly, and are cheaper than hashing it.
    key = json.dumps([current.key, list(names), seed])
    prepared = current.prepared
    run = store.get(key)
    if run is not None:
        return run
    bars = {name: st.progress(0.0, text=f"{DETECTOR_TITLES[name]}: waiting") for name in names}

    def progress(name, step, total, loss):
        fraction = min(step / total, 1.0) if total else 1.0
        text = f"{DETECTOR_TITLES[name]}: {'done' if fraction >= 1 else 'fitting'}"
        if loss is not None:
            text += f" (step {step}/{total}, loss {loss:.4g})"
        bars[name].progress(fraction, text=text)

    run = score_all(prepared.X, names, seed=seed, progress=progress)
    for bar in bars.values():
        bar.empty()
    store.put(key, run)
    return run


@dataclass
class Current:
    """What the pages need about the current data set."""

    source: str
    key: str
    table: Table
    spec: dict
    prepared: Prepared


def current(label: str | None = None) -> Current:
    """Load and prepare the data set chosen in session state."""
    ss = st.session_state
    source = ss[state.SOURCE]
    name, data = ss[state.UPLOAD_NAME], ss[state.UPLOAD_BYTES]
    if not source.startswith("upload:"):
        name, data = None, None
    table = load_source(source, name, data)
    roles_json = json.dumps(ss[state.ROLE_OVERRIDES], sort_keys=True)
    spec, prepared = prepare_source(source, roles_json, ss[state.MISSING], label, name, data)
    key = json.dumps([source, roles_json, ss[state.MISSING], label])
    return Current(source, key, table, spec, prepared)


def sample_options() -> dict[str, str]:
    return {key: sample.title for key, sample in SAMPLES.items()}


def upload_source(data: bytes) -> str:
    return "upload:" + hashlib.sha256(data).hexdigest()
