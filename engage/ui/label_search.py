"""The Label page's search panel: search and filter the set, the matches as a table with scores, "more like this"
(the nearest messages by their ELMo embeddings), putting a match on the card, and bulk labels with one undo.

The engine does the work (engage/labels/search.py, engage/labels/bulk.py, engage/similar.py); this module draws it
and owns its session keys (KEY_PREFIX). The card (engage/ui/label_card.py) keeps its keys: it is a fragment, so a
key press there does not rerun this panel. Bulk labels need Action.BULK_LABEL (analysts and admins), checked
where they act; searching and "more like this" go with labeling.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pandas as pd
import streamlit as st

from engage.access import Action
from engage.cache import EmbeddingCache, cached_layer_means
from engage.errors import InputError
from engage.labels import LabelStore
from engage.labels.search import PREDICTED, STATUSES, Matches, SearchQuery, column_values
from engage.similar import DEFAULT_K, NeighbourIndex, build_index, neighbours
from engage.ui import access_gate, state
from engage.ui.errors import database_unreachable, log_bug

KEY_PREFIX = "lsearch_"
KEY_QUERY = "lsearch_query"        # Submitted: the search this session ran last
KEY_SIMILAR = "lsearch_similar"    # Similar: the message whose nearest neighbours the table shows instead
KEY_NOTE = "lsearch_note"          # str: what the last bulk label or focus did (shown on the next run)
KEY_PROBLEM = "lsearch_problem"    # str: an error raised in a callback, shown on the next run
KEY_SCOPE = "lsearch_scope"        # str: "ticked" or "all" (a radio's key)
SHOWN_ROWS = 1_000
BULK_SHORTCUTS = {1: "Shift+E", 0: "Shift+N"}
VALUE_NAMES = {1: "engageable", 0: "not engageable"}


@dataclass(frozen=True)
class Submitted:
    set_id: int
    query: SearchQuery


@dataclass(frozen=True)
class Similar:
    set_id: int
    message_id: int
    row: int                         # the message's row in the file (1-based), to name it


@st.cache_resource(max_entries=8, show_spinner=False)
def _texts(_store: LabelStore, url: str, set_id: int, created: str) -> pd.DataFrame:
    """A set's texts never change after import: read once per set (keyed by its creation time too, since a
    deleted set's id may be given again)."""
    return _store.set_texts(set_id)


@st.cache_resource(max_entries=4, show_spinner="Reading the set's embeddings from the cache…")
def _index(_texts_frame: pd.DataFrame, url: str, set_id: int, created: str, fingerprint: str,
           cache_root: str) -> NeighbourIndex:
    return build_index(_texts_frame["message_id"].tolist(), _texts_frame["text"].tolist(), fingerprint,
                       EmbeddingCache(cache_root))


def set_texts(store: LabelStore, set_id: int) -> pd.DataFrame:
    created = next((s.created_at.isoformat() for s in store.sets() if s.id == set_id), "")
    return _texts(store, store.url, set_id, created)


# ---------------------------------------- the search form

def _form(set_id: int, columns: pd.DataFrame | None) -> None:
    with st.form(f"{KEY_PREFIX}form", border=False):
        left, right = st.columns(2)
        words = left.text_input("Words and phrases", key=f"{KEY_PREFIX}words",
                                placeholder='refund "never came" -thanks',
                                help='every word must occur (at a word start, any case); "a phrase" as written; '
                                     "-word must not occur")
        pattern = right.text_input("Regular expression", key=f"{KEY_PREFIX}regex", placeholder=r"order\s*#?\d{5,}",
                                   help="case-insensitive; a pattern that would run away is stopped and refused")
        a, b, c = st.columns([2, 1, 1])
        low, high = a.slider("Score", 0.0, 1.0, (0.0, 1.0), step=0.01, key=f"{KEY_PREFIX}score",
                             help="the stored model score; a range other than 0-1 leaves out unscored messages")
        predicted = b.multiselect("Predicted", PREDICTED, key=f"{KEY_PREFIX}predicted", placeholder="any")
        status = c.multiselect("Labels", STATUSES, key=f"{KEY_PREFIX}status", placeholder="any",
                               help="unlabeled: nobody has labeled it; disputed: annotators disagree")
        chosen = []
        for name, values in column_values(columns).items():
            picked = st.multiselect(f"Column {name}", values, key=f"{KEY_PREFIX}col_{name}", placeholder="any")
            if picked:
                chosen.append((name, tuple(picked)))
        if st.form_submit_button("Search", type="primary", icon=":material/search:"):
            query = SearchQuery(words=words.strip(), pattern=pattern, predicted=tuple(predicted),
                                score_min=None if low <= 0.0 else low, score_max=None if high >= 1.0 else high,
                                status=tuple(status), columns=tuple(chosen))
            st.session_state[KEY_QUERY] = Submitted(set_id, query)
            st.session_state.pop(KEY_SIMILAR, None)


# ---------------------------------------- results

def _table(frame: pd.DataFrame, ident: str) -> list[int]:
    """The matches as a table (the first SHOWN_ROWS), rows tickable; returns the ticked message ids."""
    shown = frame.head(SHOWN_ROWS)
    yours = shown["yours"].map({1: "engageable", 0: "not engageable"}).astype(object)
    view = pd.DataFrame({"row": shown["position"] + 1, "text": shown["text"], "score": shown["score"],
                         "predicted": shown["predicted"], "labels": shown["status"],
                         "yours": yours.where(shown["yours"].notna(), ""), "bulk": shown["bulk"]})
    config = {"row": st.column_config.NumberColumn("row", help="the message's row in the imported file", width=60),
              "text": st.column_config.TextColumn("message", width="large"),
              "score": st.column_config.NumberColumn("score", format="%.3f"),
              "yours": st.column_config.TextColumn("your label"),
              "bulk": st.column_config.NumberColumn("bulk", help="of its labels, bulk ones")}
    if "similarity" in shown:
        view.insert(1, "similarity", shown["similarity"])
        config["similarity"] = st.column_config.NumberColumn("similarity", format="%.3f",
                                                             help="cosine of the ELMo embeddings")
    digest = hashlib.sha256(ident.encode()).hexdigest()[:12]  # a new search starts with nothing ticked
    event = st.dataframe(view, key=f"{KEY_PREFIX}table_{digest}", on_select="rerun", selection_mode="multi-row",
                         hide_index=True, column_config=config, height=min(38 + 35 * max(len(view), 3), 420))
    return shown["message_id"].iloc[list(event.selection.rows)].astype(int).tolist()


def _problem(exc: Exception) -> None:
    if database_unreachable(exc):
        st.session_state[KEY_PROBLEM] = "The label database cannot be reached: nothing was saved. Try again."
    elif isinstance(exc, InputError):
        st.session_state[KEY_PROBLEM] = str(exc)
    else:
        incident, path = log_bug()
        st.session_state[KEY_PROBLEM] = (f"Something went wrong inside engage: this is a bug. The details are in "
                                         f"the log {path} (incident {incident}).")


def _bulk(store: LabelStore, set_id: int, ids: list[int], annotator: str, tab: str, value: int,
          described: dict) -> None:
    try:
        who = access_gate.require(Action.BULK_LABEL)  # on the server, whatever the browser drew
        batch = store.bulk_label(set_id, ids, annotator, value, actor=who.email or annotator, session=tab,
                                 query=described)
    except Exception as exc:
        _problem(exc)
        return
    kept = f" ({batch.already:,} you had already labeled so keep that label)" if batch.already else ""
    st.session_state[KEY_NOTE] = (f"Labeled {batch.size:,} messages {VALUE_NAMES[value]} as one bulk label{kept}. "
                                  "Undo (U) on the card takes the whole batch back.")


def _focus(store: LabelStore, set_id: int, message_id: int, annotator: str, tab: str) -> None:
    try:
        access_gate.require(Action.LABEL)
        store.focus(set_id, message_id, annotator, tab)
    except Exception as exc:
        _problem(exc)
        return
    st.session_state[KEY_NOTE] = "The message is on the card: E, N, S label it."


def _bulk_buttons(store: LabelStore, set_id: int, ticked: list[int], matches: pd.DataFrame, annotator: str,
                  tab: str, described: dict) -> None:
    if not access_gate.may(Action.BULK_LABEL):
        st.caption("Bulk labels are given by analysts and admins; tick a match and put it on the card to label it.")
        return
    everything = matches["message_id"].astype(int).tolist()
    # Fixed option labels: a label that changed with the counts would make a new widget, and lose the choice.
    scope = st.radio("Bulk label", ("ticked", "all"), key=KEY_SCOPE, horizontal=True,
                     format_func={"ticked": "the ticked rows", "all": "every match"}.get)
    ids = everything if scope == "all" else ticked
    columns = st.columns(2)
    for column, value in zip(columns, (1, 0), strict=True):
        plan = store.bulk_plan(set_id, ids, annotator, value) if ids else None
        column.button(f"Label {len(ids):,} {VALUE_NAMES[value]}", key=f"{KEY_PREFIX}bulk_{value}",
                      shortcut=BULK_SHORTCUTS[value], disabled=plan is None or plan.to_label == 0,
                      type="primary" if value else "secondary", width="stretch",
                      on_click=_bulk, args=(store, set_id, ids, annotator, tab, value, described),
                      help=None if plan is None else
                      f"{plan.to_label:,} get this label as one batch; {plan.already:,} you already labeled so")
    st.caption("Keys: **Shift+E** / **Shift+N** label the selection · **U** (on the card) undoes the whole batch")


def _one_ticked(store: LabelStore, set_id: int, frame: pd.DataFrame, message_id: int, annotator: str,
                tab: str) -> None:
    row = int(frame.loc[frame["message_id"] == message_id, "position"].iloc[0]) + 1
    left, right = st.columns(2)
    if left.button(f"More like row {row}", key=f"{KEY_PREFIX}more", icon=":material/join:"):
        st.session_state[KEY_SIMILAR] = Similar(set_id, message_id, row)
        st.rerun()
    right.button(f"Put row {row} on the card", key=f"{KEY_PREFIX}focus", icon=":material/label:",
                 on_click=_focus, args=(store, set_id, message_id, annotator, tab))


def _similar(store: LabelStore, set_id: int, texts: pd.DataFrame, similar: Similar,
             annotator: str) -> pd.DataFrame | None:
    """The neighbours of the chosen message as a matches frame (with similarity), nearest first."""
    try:
        loaded = state.active_model()
    except InputError as exc:
        st.info(f"More like this needs the active model's embeddings: {exc}", icon=":material/info:")
        return None
    clf = loaded.classifier
    cache = clf.cache or EmbeddingCache()
    created = next((s.created_at.isoformat() for s in store.sets() if s.id == set_id), "")
    index = _index(texts, store.url, set_id, created, clf.encoder.fingerprint, str(cache.root))
    if index.missing:
        st.caption(f"{len(index.missing):,} messages of the set have no cached embedding yet and are left out.")
        if st.button(f"Embed those {len(index.missing):,} now", key=f"{KEY_PREFIX}embed"):
            missing = texts[texts["message_id"].isin(index.missing)]["text"].tolist()
            with st.spinner("Running ELMo on them…"):
                cached_layer_means(clf.encoder, missing, cache)
            _index.clear()
            st.rerun()
    near = neighbours(index, similar.message_id, DEFAULT_K)
    found = store.search(set_id, SearchQuery(), annotator, texts=texts[texts["message_id"].isin(near["message_id"])])
    frame = found.frame.set_index("message_id").loc[near["message_id"]].reset_index()
    frame["similarity"] = near["similarity"].to_numpy()
    return frame


def panel(store: LabelStore, set_id: int, annotator: str, tab: str, columns: pd.DataFrame | None = None) -> None:
    """Search, matches, more like this, bulk labels. `columns`: the set's own columns by message_id, if it keeps
    any (their values become filters)."""
    st.subheader("Search this set")
    if (problem := st.session_state.pop(KEY_PROBLEM, None)) is not None:
        st.error(problem, icon=":material/error:")
    if (note := st.session_state.pop(KEY_NOTE, None)) is not None:
        st.success(note, icon=":material/done_all:")
    _form(set_id, columns)
    submitted = st.session_state.get(KEY_QUERY)
    similar = st.session_state.get(KEY_SIMILAR)
    if submitted is None or submitted.set_id != set_id:
        if similar is None or similar.set_id != set_id:
            st.caption("Search to see the matches here, with their scores; tick rows to label them at once.")
            return
    texts = set_texts(store, set_id)
    if similar is not None and similar.set_id == set_id:
        st.markdown(f"**The {DEFAULT_K} messages most like row {similar.row}**, nearest first (cosine of their ELMo "
                    "embeddings):")
        if st.button("Back to the search matches", key=f"{KEY_PREFIX}back", icon=":material/arrow_back:"):
            st.session_state.pop(KEY_SIMILAR)
            st.rerun()
        frame = _similar(store, set_id, texts, similar, annotator)
        if frame is None:
            return
        ident, described = f"similar {similar}", {"more_like": int(similar.message_id)}
    else:
        found: Matches = store.search(set_id, submitted.query, annotator, texts=texts, columns=columns)
        frame, ident, described = found.frame, f"{submitted}", submitted.query.describe()
        more = f" (the first {SHOWN_ROWS:,} shown)" if len(frame) > SHOWN_ROWS else ""
        st.markdown(f"**{len(frame):,}** of {found.total:,} messages match{more}.")
    if frame.empty:
        return
    ticked = _table(frame, ident)
    if len(ticked) == 1:
        _one_ticked(store, set_id, frame, ticked[0], annotator, tab)
    _bulk_buttons(store, set_id, ticked, frame, annotator, tab, described)
