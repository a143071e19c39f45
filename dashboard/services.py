"""The one place that caches: loading, preparing and scoring, wrapped for Streamlit.

Pages call these functions and render what they return. Fitting happens only in
``analysis()``; changing a threshold or switching pages reuses the cached run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

import streamlit as st

from dashboard import state
from dashboard.storage import SavedAnalysis, Storage, StorageError, default_path
from datasets import Prepared, Preprocessing, Table, infer_roles, load_table, prepare
from datasets.samples import SAMPLES, sample_path
from datasets.traffic import flows_to_traffic_matrix
from detectors.compare import principal_map
from detectors.pipeline import DETECTOR_TITLES, RunResult, make_detector, score_all

logger = logging.getLogger(__name__)

MAX_RUNS = 6


@st.cache_data(max_entries=16, show_spinner="Reading the file…")
def load_source(
    source: str, name: str | None = None, data: bytes | None = None
) -> Table:
    """Read a bundled sample (``sample:<key>``), uploaded bytes (``upload:<hash>``)
    or a saved analysis' stored data (``saved:<id>``)."""
    kind, _, key = source.partition(":")
    if kind == "sample":
        return load_table(sample_path(key))
    if kind == "saved":
        saved = saved_analysis(key)
        return Table(
            saved.frame, saved.source_name, list(saved.notes), saved.spec.get("schema")
        )
    return load_table(data, name=name)


@st.cache_data(max_entries=16, show_spinner="Preparing features…")
def prepare_source(
    source: str,
    roles_json: str,
    missing: str,
    label: str | None,
    name: str | None = None,
    data: bytes | None = None,
) -> tuple:
    """Infer roles (plus the user's overrides) and build the feature matrix."""
    table = load_source(source, name, data)
    if source.startswith("saved:"):
        # A saved analysis keeps the roles it was made with; overrides fork it.
        spec = Preprocessing.from_dict(saved_analysis(source.partition(":")[2]).spec)
    else:
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


def analysis(current: Current, names, seed: int) -> RunResult:
    """Fitted detectors and scores for the current data; fits once, with a progress
    bar per detector, and serves every later call from the store."""
    store = run_store()
    stored = saved_run(current, names, seed)
    if stored is not None:
        return stored
    # The preparation inputs identify X exactly, and are cheaper than hashing it.
    key = json.dumps([current.key, list(names), seed])
    prepared = current.prepared
    run = store.get(key)
    if run is not None:
        return run
    bars = {
        name: st.progress(0.0, text=f"{DETECTOR_TITLES[name]}: waiting")
        for name in names
    }

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
    if source.startswith("saved:") and not storage().exists(source.partition(":")[2]):
        raise StorageError(
            "This saved analysis no longer exists (it was deleted); pick "
            "another on the Saved analyses page or other data."
        )
    name, data = ss[state.UPLOAD_NAME], ss[state.UPLOAD_BYTES]
    if not source.startswith("upload:"):
        name, data = None, None
    table = load_source(source, name, data)
    roles_json = json.dumps(ss[state.ROLE_OVERRIDES], sort_keys=True)
    spec, prepared = prepare_source(
        source, roles_json, ss[state.MISSING], label, name, data
    )
    key = json.dumps([source, roles_json, ss[state.MISSING], label])
    return Current(source, key, table, spec, prepared)


def sample_options() -> dict[str, str]:
    return {key: sample.title for key, sample in SAMPLES.items()}


def upload_source(data: bytes) -> str:
    return "upload:" + hashlib.sha256(data).hexdigest()


@st.cache_data(max_entries=4, show_spinner="Building the traffic matrix…")
def traffic_matrix_csv(
    source: str, name: str | None, data: bytes | None, spec: dict, options: tuple
) -> bytes:
    """The current flows aggregated into time bins x OD pairs, as CSV bytes.

    ``options`` is (bin, by, value, prefix, top); the result then goes through
    the same reader as any upload.
    """
    bin_width, by, value, prefix, top = options
    table = load_source(source, name, data)
    matrix = flows_to_traffic_matrix(
        table.frame,
        bin=bin_width,
        by=by,
        value=value,
        prefix=prefix,
        top=top,
        spec=Preprocessing.from_dict(spec),
        name=table.name,
    )
    return matrix.to_csv(index=False).encode()


# ---- Saved analyses (dashboard/storage.py) -------------------------------------

THRESHOLD_VALUE_KEYS = {
    "contamination": state.CONTAMINATION,
    "fpr": "target_fpr",
    "alpha": "alpha",
}


@st.cache_resource(max_entries=4)
def _storage(path: str) -> Storage:
    return Storage(path)


def storage() -> Storage:
    """The saved-analyses database (``ANOMALY_LENS_DB`` or the user's data folder)."""
    return _storage(str(default_path()))


@st.cache_data(max_entries=8, show_spinner="Opening the saved analysis…")
def saved_analysis(analysis_id: str) -> SavedAnalysis:
    # Saved data, settings and scores never change after saving, so caching is exact.
    return storage().load_analysis(analysis_id)


@st.cache_resource(max_entries=4, show_spinner="Loading the saved models…")
def _saved_run(analysis_id: str, _X) -> RunResult:
    # ``analysis_id`` identifies _X exactly: the stored data under the stored roles.
    saved = saved_analysis(analysis_id)
    models = storage().load_models(analysis_id)
    for name in saved.detectors:
        if name not in models:
            # Scores stay the stored ones; a model that could not be stored is refitted
            # for the pages that explain rows.
            models[name] = make_detector(
                name, seed=saved.seed, params=saved.params.get(name)
            ).fit(_X)
    return RunResult(
        scores=dict(saved.scores), seconds=dict(saved.seconds), models=models
    )


def saved_run(current: Current, names, seed: int) -> RunResult | None:
    """The stored run when the current data is a saved analysis left as saved; None
    when there is none or the user changed roles, detectors or seed (a fork, refitted)."""
    if not current.source.startswith("saved:"):
        return None
    analysis_id = current.source.partition(":")[2]
    saved = saved_analysis(analysis_id)
    as_saved = json.dumps([current.source, "{}", saved.missing, None])
    if current.key != as_saved or list(names) != saved.detectors or seed != saved.seed:
        return None
    return _saved_run(analysis_id, current.prepared.X)


def current_marks(current: Current):
    """Latest analyst verdict per row of a saved analysis (never cached: colleagues
    add marks while it is open); None for unsaved data or when unreadable."""
    if not current.source.startswith("saved:"):
        return None
    try:
        return storage().marks(current.source.partition(":")[2])
    except (StorageError, sqlite3.Error) as exc:
        logger.warning("marks of %s unreadable: %s", current.source, exc)
        return None


def open_saved(analysis_id: str) -> SavedAnalysis:
    """Make a saved analysis current, with the settings it was saved with."""
    saved = saved_analysis(Storage.check_id(analysis_id))
    ss = st.session_state
    ss[state.SOURCE] = f"saved:{saved.id}"
    ss[state.UPLOAD_NAME] = ss[state.UPLOAD_BYTES] = None
    ss[state.ROLE_OVERRIDES] = {}
    ss.pop("role_editor", None)
    ss[state.MISSING] = saved.missing
    ss[state.DETECTORS] = list(saved.detectors)
    ss[state.SEED] = saved.seed
    mode = saved.threshold.get("mode", "contamination")
    ss["threshold_mode"] = mode
    ss[THRESHOLD_VALUE_KEYS.get(mode, state.CONTAMINATION)] = saved.threshold["value"]
    ss[state.OPENED] = saved.id
    st.query_params["analysis"] = saved.id
    return saved


def signed_in_user() -> str | None:
    """The signed-in user's e-mail or name, or None without sign-in."""
    if not st.user.get("is_logged_in", False):
        return None
    return st.user.get("email") or st.user.get("name")


def sign_in_gate() -> None:
    """With ``[auth]`` in secrets.toml, stop every page until the user signs in
    (Streamlit's OIDC ``st.login``); without it, do nothing. Fails closed."""
    try:
        configured = "auth" in st.secrets
    except FileNotFoundError:
        configured = False
    if not configured:
        return
    if importlib.util.find_spec("authlib") is None:
        logging.getLogger(__name__).error("[auth] is configured but Authlib is missing")
        st.error(
            "Sign-in is configured for this server but cannot work: the Authlib "
            "package is missing. Ask whoever runs it to install Authlib "
            "(pip install 'streamlit[auth]')."
        )
        st.stop()
    if not st.user.get("is_logged_in", False):
        st.title("Anomaly Lens")
        st.info("This server is shared: sign in to see and save analyses.")
        st.button("Sign in", type="primary", on_click=st.login)
        st.stop()
    with st.sidebar:
        st.text(f"Signed in as {signed_in_user()}")
        st.button("Sign out", on_click=st.logout)


def follow_link() -> None:
    """Open the analysis named by ``?analysis=<id>`` once; drop the parameter when
    the user has moved on to other data, so the address never names the wrong thing."""
    wanted = st.query_params.get("analysis")
    if not wanted:
        return
    ss = st.session_state
    if wanted != ss.get(state.OPENED):
        try:
            open_saved(wanted)
        except StorageError as exc:
            st.error(f"{exc} The link opened the default data instead.")
            del st.query_params["analysis"]
    elif ss[state.SOURCE] != f"saved:{wanted}":
        del st.query_params["analysis"]


@st.cache_resource(
    max_entries=6, show_spinner="Refitting Robust PCA with the new lambda…"
)
def _rpca_with_lambda(key: str, lam: float, _X) -> object:
    # ``key`` identifies _X exactly (see analysis()), so X itself is not hashed.
    return make_detector("rpca", params={"lam": lam}).fit(_X)


def rpca_with_lambda(current: Current, lam: float | None, run: RunResult | None = None):
    """Robust PCA fitted with ``lam`` (None = the default); the analysis' own fit
    is reused when it used the same lambda, other lambdas are fitted once each."""
    fitted = run.models.get("rpca") if run is not None else None
    if fitted is not None and (lam is None or fitted.lam == lam):
        return fitted
    return _rpca_with_lambda(current.key, lam, current.prepared.X)


@st.cache_data(max_entries=8, show_spinner=False)
def _principal_map(key: str, _X) -> tuple:
    return principal_map(_X)


def row_map(current: Current) -> tuple:
    """Rows on the first two principal components and the variance they explain."""
    return _principal_map(current.key, current.prepared.X)
