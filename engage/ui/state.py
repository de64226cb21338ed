"""The app's shared session values and caches (the upload, the scored result, the loaded models, the label store,
who labels). Each other UI component owns its own session keys, each named with its module's KEY_PREFIX: the
threshold (engage.ui.threshold), the labeling card (engage.ui.label_card), the Train page (engage.ui.train_panel),
the pages' own widgets; no module reads another's key. Values kept in st.session_state are small frozen
dataclasses (or plain scalars), never tuples read back by position.

One caching style: process-wide objects are st.cache_resource (the loaded model, the label store, explanations,
and the store of recent scores); a value worth keeping for this session's latest input is a `Slot` (one entry,
kept while its input is the same), written once as `_slot`; the one store that must say whether it holds a key
without computing it (the Score page shows cached scores without a click) is a `Recent`, the one LRU.

- the loaded model (TensorFlow encoder + head): keyed by registry folder, version name and the mtime of its
  model.json (so a retrained or restored version reloads);
- scores: shared by all sessions, keyed by (file sha256, model version, head weights sha256, encoder fingerprint,
  text column), so scoring the same file again runs neither the encoder nor the head;
- explanations: shared by all sessions, keyed by (model version, head weights sha256, encoder fingerprint, text);
- who labels: session_state, mirrored in the Label page's URL (?annotator=NAME) so a reload keeps it, and the
  browser tab's id, mirrored there too (?tab=ID) so a reload or a reconnect after a server restart holds the
  same claims;
- the latest upload, its preview table, its messages, the scored result (and the upload it came from, to score it
  again with another model): this session's Slots (the Score and Evaluate pages share the result); the result is
  also kept per browser tab (its id in the URL, ?tab=ID) and signed-in person, so a reload shows it again.

Nothing here is pickled: cache_resource keeps live objects, session_state lives in memory.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from engage import registry
from engage.cache import EmbeddingCache
from engage.config import cache_dir, models_dir
from engage.errors import InputError
from engage.explain import Explanation, explain
from engage.labels import LabelStore, default_url
from engage.labels.answers import check_annotator
from engage.language import non_english
from engage.metrics import metrics_by_threshold
from engage.reading import Messages, messages_from_table, read_table
from engage.scoring import Classifier, load_classifier
from engage.ui import monitor_panel

KEY_PREFIX = "engage_"
KEY_UPLOAD = "engage_upload"          # Slot: st.file_uploader file_id -> Upload of the latest upload
KEY_PREVIEW = "engage_preview"        # Slot: sha256 -> DataFrame as read
KEY_MESSAGES = "engage_messages"      # Slot: (sha256, text_col, label_col) -> Messages
KEY_RESULT = "engage_result"          # ScoredFile: the file scored last, shown by Score and Evaluate
KEY_SCORED_UPLOAD = "engage_scored_upload"  # Upload of the result, so it can be scored again without a new upload
KEY_BY_THRESHOLD = "engage_by_threshold"  # Slot: result key -> metrics_by_threshold frame
KEY_NON_ENGLISH = "engage_non_english"    # Slot: result key -> bool array, which messages look non-English
SCORE_CACHE_ENTRIES = 8
KEPT_RESULTS = 16   # browser sessions whose latest result the process keeps for a reload (each holds its file)
EXPLAINED_ENTRIES = 256

T = TypeVar("T")


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes = field(repr=False)
    sha256: str


@dataclass
class LoadedModel:
    classifier: Classifier


@dataclass(frozen=True)
class ScoredFile:
    name: str
    sha256: str
    messages: Messages = field(repr=False)
    scores: np.ndarray = field(repr=False)
    model: str
    model_threshold: float
    seconds: float
    from_cache: bool
    classifier: Classifier = field(repr=False, compare=False)  # the model that scored it (its threshold rule)
    time_col: str | None = None  # what dated its messages in the scoring history (engage.ui.time_chooser)

    @property
    def key(self) -> tuple:
        return self.sha256, self.model, self.messages.text_col, self.messages.label_col

    @property
    def labels(self) -> np.ndarray | None:
        return self.messages.labels

    @property
    def rate(self) -> float:
        return len(self.scores) / self.seconds if self.seconds > 0 else float("inf")


# ---------------------------------------- the two cache shapes

@dataclass(frozen=True)
class Slot:
    """One session value, kept while the input it was made from (`ident`) is the same."""
    ident: Hashable
    value: Any = field(repr=False)


def _slot(key: str, ident: Hashable, make: Callable[[], T]) -> T:
    """The value under `key` if it was made from `ident`, else make() stored there (the previous one dropped)."""
    held = st.session_state.get(key)
    if isinstance(held, Slot) and held.ident == ident:
        return held.value
    value = make()
    st.session_state[key] = Slot(ident, value)
    return value


class Recent:
    """The few most recently used entries, safe to share between threads and sessions."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self.items: OrderedDict[Hashable, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            return None

    def put(self, key: Hashable, value: Any) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.entries:
                self.items.popitem(last=False)


# ---------------------------------------- uploads

def upload(uploaded) -> Upload:
    """The bytes and sha256 of a st.file_uploader file, hashed once per upload (not on every rerun)."""
    def read() -> Upload:
        data = uploaded.getvalue()
        return Upload(uploaded.name, data, hashlib.sha256(data).hexdigest())
    return _slot(KEY_UPLOAD, uploaded.file_id, read)


def table(up: Upload) -> pd.DataFrame:
    """The file as read (every column), for the preview and the column choices."""
    def read() -> pd.DataFrame:
        frame = read_table(up.data, name=up.name)
        if frame.empty:  # caught here so that nobody picks columns of a file with nothing to score
            raise InputError("the file has a header row but no data rows", file=up.name)
        return frame
    return _slot(KEY_PREVIEW, up.sha256, read)


def messages(up: Upload, text_col: str, label_col: str | None) -> Messages:
    # The preview's table, not a second parse of the upload: a large file is held in memory once.
    return _slot(KEY_MESSAGES, (up.sha256, text_col, label_col), lambda: messages_from_table(
        table(up), name=up.name, text_col=text_col, label_col=label_col, detect_labels=False))


# ---------------------------------------- the model

@st.cache_resource(max_entries=4, show_spinner="Loading the model…")
def _load(root: str, name: str, stamp: int, cache_root: str) -> LoadedModel:
    clf = load_classifier(name, root=root, cache=EmbeddingCache(Path(cache_root) / "embeddings"))
    return LoadedModel(clf)


def active_model() -> LoadedModel:
    """The active version, loaded once per process. No active model raises the registry's InputError, which says
    how to train or activate one."""
    root = models_dir()
    name = registry.active_name(root)
    if name is None:
        registry.read_model(None, root)  # raises the clear "no active model" InputError
    return model(name)


def model(name: str) -> LoadedModel:
    """Version `name` of the registry, loaded once per process (reloaded when its model.json changes)."""
    root = models_dir()
    meta = root / registry.check_name(name) / registry.META_FILE
    stamp = meta.stat().st_mtime_ns if meta.is_file() else 0
    return _load(str(root), name, stamp, str(cache_dir()))


def _head_sha(clf: Classifier) -> str:
    return clf.version.meta["files"].get(clf.version.meta["head"]["weights"], "")


# ---------------------------------------- scores

def scores_of(loaded: LoadedModel, texts: list[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
    """The one place the UI runs a classifier on texts (engage.scoring.Classifier.score, thread-safe by itself)."""
    return loaded.classifier.score(texts, progress).values


@st.cache_resource
def _score_store() -> Recent:
    return Recent(SCORE_CACHE_ENTRIES)


def _score_key(clf: Classifier, up: Upload, text_col: str) -> tuple:
    return up.sha256, clf.name, _head_sha(clf), clf.encoder.fingerprint, text_col


def has_scores(up: Upload, text_col: str) -> bool:
    """Whether this file's scores for this column and the active model are cached (so showing them is free)."""
    return _score_store().get(_score_key(active_model().classifier, up, text_col)) is not None


def score(up: Upload, text_col: str, label_col: str | None,
          progress: Callable[[int], None] | None = None, time_col: str | None = None) -> ScoredFile:
    """Score an upload with the active model (or take its scores from the cache) and make it this session's
    result. The threshold is not touched: engage.ui.threshold decides which one is in force for this result."""
    loaded = active_model()
    clf = loaded.classifier
    found = messages(up, text_col, label_col)
    key = _score_key(clf, up, found.text_col)
    start = time.perf_counter()
    scores = _score_store().get(key)
    from_cache = scores is not None
    if scores is None:
        scores = scores_of(loaded, found.texts, progress)
        scores.setflags(write=False)  # shared by every session that scores this file
        _score_store().put(key, scores)
        monitor_panel.record_scoring(found, scores, clf.threshold, clf.name, up.sha256, time_col)  # the history
    result = ScoredFile(up.name, up.sha256, found, scores, clf.name, clf.threshold,
                        time.perf_counter() - start, from_cache, clf, time_col)
    st.session_state[KEY_RESULT] = result
    st.session_state[KEY_SCORED_UPLOAD] = up
    _kept_results().put(_browser(), Kept(result, up))
    return result


def score_again(res: ScoredFile, progress: Callable[[int], None] | None = None) -> ScoredFile:
    """The result's file scored with the active model, from the upload kept in this session (after a model
    change the upload widget is empty again, and asking for the file twice is needless)."""
    up = st.session_state.get(KEY_SCORED_UPLOAD)
    if up is None or up.sha256 != res.sha256:
        raise InputError(f"{res.name} is no longer held in this session: upload it again", file=res.name)
    return score(up, res.messages.text_col, res.messages.label_col, progress, res.time_col)


@dataclass(frozen=True)
class Kept:
    """A browser session's latest result and its upload, kept past a reload (which starts a new session)."""
    result: ScoredFile
    upload: Upload


@st.cache_resource
def _kept_results() -> Recent:
    return Recent(KEPT_RESULTS)


def _browser() -> tuple[str, str]:
    """This browser tab (its id, kept in the page's URL, so a reload keeps it) and who is signed in there (so a
    copied URL opens nobody else's result)."""
    from engage.ui import access_gate  # it reads the label store from here: imported when first needed

    who = access_gate.identity()
    return tab_id(), "" if who is None or who.email is None else who.email


def result() -> ScoredFile | None:
    """This session's latest result; after a reload (a new session), the one this browser tab had (issue 24
    item 17), with its upload so it can be scored again."""
    found = st.session_state.get(KEY_RESULT)
    if found is None:
        kept = _kept_results().get(_browser())
        if kept is not None:
            st.session_state[KEY_RESULT], st.session_state[KEY_SCORED_UPLOAD] = kept.result, kept.upload
            found = kept.result
    else:
        tab_id()  # keeps the tab's id in the URL: a page change drops the query
    return found


def by_threshold(res: ScoredFile) -> pd.DataFrame:
    """metrics_by_threshold of the result, computed once per result (it does not depend on the threshold)."""
    return _slot(KEY_BY_THRESHOLD, res.key, lambda: metrics_by_threshold(res.labels, res.scores))


def foreign(res: ScoredFile) -> np.ndarray:
    """engage.language.non_english of the result's messages, computed once per result."""
    return _slot(KEY_NON_ENGLISH, res.key, lambda: non_english(res.messages.texts))


# ---------------------------------------- explanations (engage.ui.explain_panel)

@st.cache_resource(max_entries=EXPLAINED_ENTRIES, show_spinner=False)
def _explained(model_name: str, head_sha: str, fingerprint: str, text: str) -> Explanation:
    loaded = model(model_name)
    (found,) = explain(loaded.classifier, [text])
    return found


def explanation(model_name: str, text: str) -> Explanation:
    """engage.explain of one text under version model_name; recent ones are kept for every session."""
    clf = model(model_name).classifier
    return _explained(clf.name, _head_sha(clf), clf.encoder.fingerprint, text)


# ---------------------------------------- labeling (the Label and Train pages)

KEY_ANNOTATOR = "engage_annotator"    # str: who labels in this browser session, asked once
KEY_TAB = "engage_tab"                # str: this browser session's id, so two tabs never hold the same message
QUERY_ANNOTATOR = "annotator"         # the Label page's URL query parameter holding the annotator's name
QUERY_TAB = "tab"                     # the Label page's URL query parameter holding the tab's id
_TAB_ID = re.compile(r"[0-9a-f]{32}")


@st.cache_resource(show_spinner=False)
def _label_store(url: str) -> LabelStore:
    return LabelStore(url)


def label_store() -> LabelStore:
    """The label database (ENGAGE_DATABASE_URL or the SQLite file), opened once per process and URL; the store is
    safe to share between sessions (each call takes its own connection)."""
    return _label_store(default_url())


def annotator() -> str | None:
    """Who labels: this session's name, else the one in the page's URL (?annotator=NAME), so a reload or a
    bookmark keeps it for the browser. The URL is kept in step, since leaving the page drops its query."""
    name = st.session_state.get(KEY_ANNOTATOR)
    if name is None:
        try:
            name = check_annotator(st.query_params.get(QUERY_ANNOTATOR, ""))
        except InputError:
            return None
        st.session_state[KEY_ANNOTATOR] = name
    if st.query_params.get(QUERY_ANNOTATOR) != name:
        st.query_params[QUERY_ANNOTATOR] = name
    return name


def set_annotator(name: str) -> None:
    st.session_state[KEY_ANNOTATOR] = check_annotator(name)
    st.query_params[QUERY_ANNOTATOR] = st.session_state[KEY_ANNOTATOR]


def forget_annotator() -> None:
    st.session_state.pop(KEY_ANNOTATOR, None)
    st.query_params.pop(QUERY_ANNOTATOR, None)


def tab_id() -> str:
    """This browser tab's id for claims: kept in the page's URL (?tab=ID) as well as the session, so a reload or
    the reconnect after a server restart finds its claims again (issue 26 item 7), instead of leaving the message on
    the card held by a session that is gone. (A second tab opened on a copied address shares the id, so both show
    the same message; the annotator is the same, and their later answer replaces the earlier one.)"""
    if KEY_TAB not in st.session_state:
        given = st.query_params.get(QUERY_TAB, "")
        st.session_state[KEY_TAB] = given if _TAB_ID.fullmatch(given) else uuid.uuid4().hex
    if st.query_params.get(QUERY_TAB) != st.session_state[KEY_TAB]:
        st.query_params[QUERY_TAB] = st.session_state[KEY_TAB]
    return st.session_state[KEY_TAB]
