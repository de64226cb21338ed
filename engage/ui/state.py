"""Every cache and session key of the app, in one place.

- the loaded model (TensorFlow encoder + head): st.cache_resource, shared by all sessions, keyed by registry
  folder, version name and the mtime of its model.json (so a retrained or restored version reloads);
- scores: st.cache_resource, shared by all sessions, keyed by (file sha256, model version, head weights sha256,
  encoder fingerprint, text column), so scoring the same file again runs neither the encoder nor the head;
- who labels: session_state, mirrored in the Label page's URL (?annotator=NAME) so a reload keeps it;
- the latest upload, its preview table, its messages, the scored result (and the upload it came from, to score it
  again with another model), the decision threshold, who set it and whether it is pinned: this session's
  st.session_state (the Score and Evaluate pages share the result and the threshold);
- explanations of the messages opened on the Score and Evaluate pages: this session's last EXPLAINED_ENTRIES,
  keyed by (model version, head weights sha256, encoder fingerprint, text), so reopening a row costs nothing.

Nothing here is pickled: cache_resource keeps live objects, session_state lives in memory.
"""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

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

KEY_UPLOAD = "engage_upload"          # (file_id, Upload) of the latest upload
KEY_PREVIEW = "engage_preview"        # (sha256, DataFrame as read)
KEY_MESSAGES = "engage_messages"      # ((sha256, text_col, label_col), Messages)
KEY_RESULT = "engage_result"          # ScoredFile: the file scored last, shown by Score and Evaluate
KEY_THRESHOLD = "engage_threshold"    # float: the decision threshold both pages use
KEY_THRESHOLD_BY = "engage_threshold_by"  # None: the model's own; else how the user set it ("you", "best F1", ...)
KEY_PINNED = "engage_threshold_pinned"    # bool: the user's threshold is kept for the next files and models
KEY_SCORED_UPLOAD = "engage_scored_upload"  # Upload of the result, so it can be scored again without a new upload
KEY_BY_THRESHOLD = "engage_by_threshold"  # (result key, metrics_by_threshold frame)
KEY_NON_ENGLISH = "engage_non_english"    # (result key, bool array: which messages look non-English)
SCORE_CACHE_ENTRIES = 8
KEY_EXPLAINED = "engage_explained"    # OrderedDict: (model, head sha, fingerprint, text) -> Explanation
EXPLAINED_ENTRIES = 64


@dataclass(frozen=True)
class Upload:
    name: str
    data: bytes
    sha256: str


@dataclass
class LoadedModel:
    classifier: Classifier


@dataclass
class ScoredFile:
    name: str
    sha256: str
    messages: Messages
    scores: np.ndarray
    model: str
    model_threshold: float
    seconds: float
    from_cache: bool

    @property
    def key(self) -> tuple:
        return self.sha256, self.model, self.messages.text_col, self.messages.label_col

    @property
    def labels(self) -> np.ndarray | None:
        return self.messages.labels

    @property
    def rate(self) -> float:
        return len(self.scores) / self.seconds if self.seconds > 0 else float("inf")


# ---------------------------------------- uploads

def upload(uploaded) -> Upload:
    """The bytes and sha256 of a st.file_uploader file, hashed once per upload (not on every rerun)."""
    held = st.session_state.get(KEY_UPLOAD)
    if held is not None and held[0] == uploaded.file_id:
        return held[1]
    data = uploaded.getvalue()
    result = Upload(uploaded.name, data, hashlib.sha256(data).hexdigest())
    st.session_state[KEY_UPLOAD] = (uploaded.file_id, result)
    return result


def table(up: Upload) -> pd.DataFrame:
    """The file as read (every column), for the preview and the column choices."""
    held = st.session_state.get(KEY_PREVIEW)
    if held is not None and held[0] == up.sha256:
        return held[1]
    frame = read_table(up.data, name=up.name)
    if frame.empty:  # caught here so that nobody picks columns of a file with nothing to score
        raise InputError("the file has a header row but no data rows", file=up.name)
    st.session_state[KEY_PREVIEW] = (up.sha256, frame)
    return frame


def messages(up: Upload, text_col: str, label_col: str | None) -> Messages:
    key = (up.sha256, text_col, label_col)
    held = st.session_state.get(KEY_MESSAGES)
    if held is not None and held[0] == key:
        return held[1]
    # The preview's table, not a second parse of the upload: a large file is held in memory once.
    found = messages_from_table(table(up), name=up.name, text_col=text_col, label_col=label_col, detect_labels=False)
    st.session_state[KEY_MESSAGES] = (key, found)
    return found


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


# ---------------------------------------- scores

class _ScoreStore:
    """A small LRU of score arrays, safe to share between sessions (each array is read-only)."""

    def __init__(self, entries: int) -> None:
        self.entries = entries
        self.items: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple) -> np.ndarray | None:
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
            return None

    def put(self, key: tuple, scores: np.ndarray) -> None:
        scores.setflags(write=False)
        with self.lock:
            self.items[key] = scores
            self.items.move_to_end(key)
            while len(self.items) > self.entries:
                self.items.popitem(last=False)


@st.cache_resource
def _score_store() -> _ScoreStore:
    return _ScoreStore(SCORE_CACHE_ENTRIES)


def _score_key(clf: Classifier, up: Upload, text_col: str) -> tuple:
    head_sha = clf.version.meta["files"].get(clf.version.meta["head"]["weights"], "")
    return up.sha256, clf.name, head_sha, clf.encoder.fingerprint, text_col


def has_scores(up: Upload, text_col: str) -> bool:
    """Whether this file's scores for this column and the active model are cached (so showing them is free)."""
    return _score_store().get(_score_key(active_model().classifier, up, text_col)) is not None


def score(up: Upload, text_col: str, label_col: str | None,
          progress: Callable[[int], None] | None = None) -> ScoredFile:
    """Score an upload with the active model (or take its scores from the cache) and make it this session's
    result. A new model resets the threshold to that model's own."""
    loaded = active_model()
    clf = loaded.classifier
    found = messages(up, text_col, label_col)
    key = _score_key(clf, up, found.text_col)
    start = time.perf_counter()
    scores = _score_store().get(key)
    from_cache = scores is not None
    if scores is None:
        scores = clf.score(found.texts, progress).values
        _score_store().put(key, scores)
        monitor_panel.record_scoring(found, scores, clf.threshold, clf.name, up.sha256)  # the scoring history
    result = ScoredFile(up.name, up.sha256, found, scores, clf.name, clf.threshold,
                        time.perf_counter() - start, from_cache)
    previous = st.session_state.get(KEY_RESULT)
    same = previous is not None and previous.sha256 == result.sha256 and previous.model == result.model
    # A threshold set for one file or model would silently apply to the next: only a pinned one carries over.
    if KEY_THRESHOLD not in st.session_state or (not same and not pinned()):
        use_model_threshold(clf.threshold)
    st.session_state[KEY_RESULT] = result
    st.session_state[KEY_SCORED_UPLOAD] = up
    return result


def score_again(res: ScoredFile, progress: Callable[[int], None] | None = None) -> ScoredFile:
    """The result's file scored with the active model, from the upload kept in this session (after a model
    change the upload widget is empty again, and asking for the file twice is needless)."""
    up = st.session_state.get(KEY_SCORED_UPLOAD)
    if up is None or up.sha256 != res.sha256:
        raise InputError(f"{res.name} is no longer held in this session: upload it again", file=res.name)
    return score(up, res.messages.text_col, res.messages.label_col, progress)


def result() -> ScoredFile | None:
    return st.session_state.get(KEY_RESULT)


# ---------------------------------------- explanations (engage.ui.explain_panel)

def explanation(model_name: str, text: str) -> Explanation:
    """engage.explain of one text under version model_name, this session's recent ones kept."""
    loaded = model(model_name)
    clf = loaded.classifier
    key = (clf.name, clf.version.meta["files"].get(clf.version.meta["head"]["weights"], ""),
           clf.encoder.fingerprint, text)
    held = st.session_state.setdefault(KEY_EXPLAINED, OrderedDict())
    if key in held:
        held.move_to_end(key)
        return held[key]
    (found,) = explain(clf, [text])
    held[key] = found
    while len(held) > EXPLAINED_ENTRIES:
        held.popitem(last=False)
    return found


# ---------------------------------------- threshold

def threshold() -> float:
    found = result()
    return float(st.session_state.get(KEY_THRESHOLD, found.model_threshold if found else 0.5))


def set_threshold(value: float, by: str = "you") -> None:
    """The user's threshold: `by` says how they set it (the slider: "you"; a chooser: its name)."""
    st.session_state[KEY_THRESHOLD] = float(value)
    st.session_state[KEY_THRESHOLD_BY] = by


def use_model_threshold(value: float) -> None:
    st.session_state[KEY_THRESHOLD] = float(value)
    st.session_state[KEY_THRESHOLD_BY] = None


def pinned() -> bool:
    return bool(st.session_state.get(KEY_PINNED, False))


def pin(on: bool) -> None:
    """Keep the threshold in force for the next files and models (pinning the model's own makes it the user's)."""
    st.session_state[KEY_PINNED] = bool(on)
    if on and st.session_state.get(KEY_THRESHOLD_BY) is None and KEY_THRESHOLD in st.session_state:
        st.session_state[KEY_THRESHOLD_BY] = "you"


def threshold_in_force() -> str:
    """Which threshold applies, in words: "the model's own 0.459" or "set by you: 0.800" (and whether pinned)."""
    value, by = threshold(), st.session_state.get(KEY_THRESHOLD_BY)
    if by is None:
        return f"the model's own {value:.3f}"
    said = f"set by you: {value:.3f}" + ("" if by == "you" else f" ({by})")
    return said + (", pinned: kept for the next files and models" if pinned() else ", for this file and model")


def by_threshold(res: ScoredFile) -> pd.DataFrame:
    """metrics_by_threshold of the result, computed once per result (it does not depend on the threshold)."""
    held = st.session_state.get(KEY_BY_THRESHOLD)
    if held is not None and held[0] == res.key:
        return held[1]
    frame = metrics_by_threshold(res.labels, res.scores)
    st.session_state[KEY_BY_THRESHOLD] = (res.key, frame)
    return frame


def foreign(res: ScoredFile) -> np.ndarray:
    """engage.language.non_english of the result's messages, computed once per result."""
    held = st.session_state.get(KEY_NON_ENGLISH)
    if held is not None and held[0] == res.key:
        return held[1]
    flags = non_english(res.messages.texts)
    st.session_state[KEY_NON_ENGLISH] = (res.key, flags)
    return flags


# ---------------------------------------- labeling (the Label and Train pages)

KEY_ANNOTATOR = "engage_annotator"    # str: who labels in this browser session, asked once
KEY_TAB = "engage_tab"                # str: this browser session's id, so two tabs never hold the same message
QUERY_ANNOTATOR = "annotator"         # the Label page's URL query parameter holding the annotator's name


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
    if KEY_TAB not in st.session_state:
        st.session_state[KEY_TAB] = uuid.uuid4().hex
    return st.session_state[KEY_TAB]
