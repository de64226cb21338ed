"""Widgets of the labeling flow: who is labeling, importing a set, the one-message card with its shortcuts,
progress and agreement, and the Score page's "send these rows to labeling" button.

The card is a fragment: a label reruns only the card, and its buttons act in callbacks, so one key press costs one
short script run. Every answer is committed by the store before that run shows the next message.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st

from engage import label_loop
from engage.access import Action
from engage.errors import InputError
from engage.labels import ORDERS, UNDO_DEPTH, LabelSet, LabelStore, QueueItem
from engage.reading import SUPPORTED_SUFFIXES, Messages, detect_text_column, read_messages
from engage.reading.row_ids import row_ids
from engage.ui import access_gate, card_context, state
from engage.ui.errors import DATABASE_DOWN, database_unreachable, log_bug, shown_errors
from engage.ui.text import plain

LABEL_PAGE = "engage/ui/pages/label.py"
ORDER_NAMES = {"uncertain": "most uncertain first", "mixed": "most uncertain first, every third at random",
               "highest": "highest score first", "random": "random", "file": "file order"}
KEY_PREFIX = "label_"            # every session key of the labeling flow (its widgets' too) starts so
KEY_SET = "label_set_pick"       # int: the set this session labels (a selectbox key)
KEY_ORDER = "label_order"        # str: the queue order (a selectbox key)
KEY_SHOWN = "label_shown"        # QueueItem | None on the card now: an answer applies to it, once
KEY_PROBLEM = "label_problem"    # str: an error raised in a button callback, shown on the next run
KEY_NOTE = "label_note"          # str: what the last undo did
KEY_FLASH = "label_flash"        # str: a success message that survives a rerun
KEY_SENT = "label_sent"          # int: set id the Score page just created, picked on the Label page
KEY_TWIN = "label_twin"          # Twin: an import waiting for a choice, a set like it exists
KEY_SEND_TWIN = "label_send_twin"  # SendTwin: rows of the Score page waiting for that choice
KEY_SETS = "label_known_sets"    # KnownSets: the sets as last read, kept on the page while the database is down
KEY_WHOLE = "label_whole_page"   # bool: an undo took back a bulk label, so the whole page reruns (its search table)
SHORTCUTS = {"yes": "E", "no": "N", "skip": "S", "undo": "U"}
NOT_SAVED = ("The database cannot be reached, so your answer was not saved: the message stays on the card. Answer "
             "it again to retry.")
RESUMED = ("This message was on your card when the connection was lost or the page reloaded: any answer you gave "
           "it then was not saved. Answer it now.")


@dataclass(frozen=True)
class Twin:
    upload_sha256: str
    text_col: str
    name: str
    twin_id: int             # the existing set that holds these messages or has this name


@dataclass(frozen=True)
class SendTwin:
    result_key: tuple        # state.ScoredFile.key of the rows to send
    rows: str                # a digest of their positions in the file
    name: str
    twin_id: int


@dataclass(frozen=True)
class KnownSets:
    sets: tuple[LabelSet, ...]

# Runs in the browser. The server draws the next message before the browser shows it; an answer key pressed in
# between would answer a message nobody has seen. So, per tab: once a message is answered (key or click), further
# answers are swallowed (before Streamlit's shortcut handler, which listens on the document) until the card shows
# other text, or GUARD_MS pass (a failed answer leaves the same message up). Undo lifts the guard: its message
# comes back on purpose. Static text: nothing from a user goes into it.
GUARD_MS = 2000
_ANSWER_GUARD = """<script>
(() => {
  if (window.__engageAnswerGuard) return;
  window.__engageAnswerGuard = true;
  const answerKeys = new Set(KEYS), buttons = BUTTONS;
  let answered = null, at = 0;
  const cardText = () => { const el = document.querySelector(".st-key-label_card"); return el ? el.innerText : null; };
  const stop = (ev) => {
    const text = cardText();
    if (text === null) return;
    if (text === answered && performance.now() - at < GUARD_MS) {
      ev.stopImmediatePropagation();
      ev.preventDefault();
      return;
    }
    answered = text;
    at = performance.now();
  };
  window.addEventListener("keydown", (ev) => {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.shiftKey) return;  // Shift+E / Shift+N: bulk labels
    if (ev.target.closest("input, textarea, [contenteditable]")) return;
    const key = ev.key.toLowerCase();
    if (key === UNDO) { answered = null; return; }
    if (answerKeys.has(key)) stop(ev);
  }, {capture: true});
  window.addEventListener("click", (ev) => {
    if (ev.target.closest(".st-key-label_undo")) { answered = null; return; }
    if (buttons.some((b) => ev.target.closest(b))) stop(ev);
  }, {capture: true});
})();
</script>"""


_ANSWERS = ("yes", "no", "skip")
_ANSWER_GUARD = (_ANSWER_GUARD.replace("KEYS", json.dumps([SHORTCUTS[k].lower() for k in _ANSWERS]))
                 .replace("UNDO", json.dumps(SHORTCUTS["undo"].lower()))
                 .replace("BUTTONS", json.dumps([f".st-key-label_{k}" for k in _ANSWERS]))
                 .replace("GUARD_MS", str(GUARD_MS)))


# Runs in the browser too. A selectbox (the set, the queue order) keeps the focus after a choice, and Streamlit's
# shortcuts ignore keys typed into an input: "E" would search the dropdown instead of answering. So once a choice
# is made (an option clicked, Enter or Escape in the box), the box gives the focus back to the page, a few times
# over the next moments (the dropdown may take it back as it closes). Text inputs are never touched: typing a name
# or a set name works as ever. Static text, as above.
_KEYS_BACK = """<script>
(() => {
  if (window.__engageKeysBack) return;
  window.__engageKeysBack = true;
  const box = () => {
    const el = document.activeElement;
    return el && el.matches('input[role="combobox"]') && el.getAttribute("aria-expanded") !== "true" ? el : null;
  };
  const blur = () => { const el = box(); if (el) el.blur(); };
  const release = () => [0, 50, 200, 500].forEach((ms) => setTimeout(blur, ms));
  document.addEventListener("click", (ev) => { if (ev.target.closest('[role="option"]')) release(); }, true);
  document.addEventListener("keydown", (ev) => {
    if ((ev.key === "Enter" || ev.key === "Escape") && ev.target.matches('input[role="combobox"]')) release();
  }, true);
})();
</script>"""


def answer_guard() -> None:
    """Installs the page's scripts in this browser tab (once; later calls change nothing): the answer guard, and
    the keys handed back to the card after a selectbox choice."""
    st.html(_ANSWER_GUARD + _KEYS_BACK, unsafe_allow_javascript=True)


# ---------------------------------------- who labels

def ask_annotator() -> str | None:
    """The annotator of this browser session: the signed-in address when sign-in is set up (never typed), else a
    name asked once, then kept in the session and the page's URL (state.annotator)."""
    if (who := access_gate.signed_in()) is not None:
        st.caption(f"Labeling as **{plain(who.email)}**")
        return who.email
    name = state.annotator()
    if name is not None:
        left, right = st.columns([4, 1], vertical_alignment="center")
        left.caption(f"Labeling as **{plain(name)}**")
        if right.button("Change name", key="label_name_change", type="tertiary"):
            state.forget_annotator()
            st.rerun()
        return name
    with st.form("label_name_form"):
        typed = st.text_input("Your name (it goes with every label you give)", key="label_name_input")
        if st.form_submit_button("Start labeling", type="primary"):
            try:
                state.set_annotator(typed)
                st.rerun()
            except InputError as exc:
                st.error(str(exc), icon=":material/error:")
    return None


# ---------------------------------------- sets

def import_panel(store: LabelStore, expanded: bool) -> None:
    """A file of unlabeled messages becomes a labeling set, scored by the active model when there is one (for an
    analyst or an admin)."""
    if not access_gate.may(Action.IMPORT):
        return
    with st.expander("Import messages to label", expanded=expanded):
        uploaded = st.file_uploader(f"Messages file ({', '.join(SUPPORTED_SUFFIXES)})", key="label_file")
        if uploaded is None:
            return
        up = state.upload(uploaded)
        frame = state.table(up)
        names = list(frame.columns)
        try:
            default = names.index(detect_text_column(frame, source=up.name))
        except InputError:
            default = None
        left, right = st.columns(2)
        text_col = left.selectbox("Text column", names, index=default, key=f"label_text_{up.sha256[:16]}")
        name = right.text_input("Set name", value=Path(up.name).stem, key=f"label_setname_{up.sha256[:16]}")
        if text_col is not None and st.button("Import", type="primary", key="label_import"):
            who = access_gate.require(Action.IMPORT)
            found = read_messages(up.data, name=up.name, text_col=text_col, detect_labels=False)
            twin = label_loop.same_set(store, name, found.texts)
            if twin is None:
                _import(store, name, found, up.name, who.actor)  # reruns the page
            else:
                st.session_state[KEY_TWIN] = Twin(up.sha256, text_col, name, twin.id)
        held = st.session_state.get(KEY_TWIN)
        if held is not None and (held.upload_sha256, held.text_col, held.name) == (up.sha256, text_col, name):
            choice = twin_choice(store, held.twin_id, name, "import")
            if choice == "anyway":
                found = read_messages(up.data, name=up.name, text_col=text_col, detect_labels=False)
                _import(store, label_loop.distinct_name(store, name), found, up.name,
                        access_gate.require(Action.IMPORT).actor)
            elif choice == "open":
                st.session_state[KEY_SENT] = held.twin_id
                st.session_state.pop(KEY_TWIN)
                st.rerun()


def _import(store: LabelStore, name: str, found: Messages, source: str, actor: str) -> None:
    ids = row_ids(found)
    texts = found.texts  # each message keeps its row's other columns and id (engage/labels/context.py)
    set_id = store.import_messages(name, texts, source=source, actor=actor,
                                   row_ids=[ids.label(i) for i in range(len(texts))], context=found.frame,
                                   text_col=found.text_col)
    _score_new_set(store, set_id)
    st.session_state.pop(KEY_TWIN, None)
    st.session_state[KEY_SENT] = set_id
    st.session_state[KEY_FLASH] = f"Imported {len(texts):,} rows of {plain(source)} as set '{plain(name)}'."
    st.rerun()


def twin_choice(store: LabelStore, twin_id: int, name: str, where: str) -> str | None:
    """Warns that a set like the one about to be made exists; "open" (the existing set), "anyway" (a new set
    under a distinct name) or None (no choice yet)."""
    twin = next((s for s in store.sets() if s.id == twin_id), None)
    if twin is None:  # deleted meanwhile: nothing to warn about
        return "anyway"
    same = ("already holds exactly these messages" if twin.name != name.strip()
            else f"has the same name ({twin.size:,} messages)")
    st.warning(f"Labeling set '{plain(twin.name)}' (#{twin.id}, made {twin.created_at:%Y-%m-%d %H:%M} UTC) {same}. "
               "Making another gives two sets that look alike; labels follow the message, so a label given in "
               "either counts in both.", icon=":material/content_copy:")
    left, right = st.columns(2)
    if left.button(f"Open '{plain(twin.name)}'", key=f"{KEY_PREFIX}twin_{where}_open", type="primary"):
        return "open"
    if right.button(f"Make a new set anyway, as '{plain(label_loop.distinct_name(store, name))}'",
                    key=f"{KEY_PREFIX}twin_{where}_anyway"):
        return "anyway"
    return None


def _score_new_set(store: LabelStore, set_id: int) -> None:
    try:
        loaded = state.active_model()
    except InputError:
        st.session_state[KEY_NOTE] = "No active model: the set has no scores, so every order is file order."
        return
    with st.spinner("Scoring the set with the active model…"):
        label_loop.score_set(store, set_id, loaded.classifier)


def delete_panel(store: LabelStore, sets: list[LabelSet], set_id: int) -> None:
    """An admin deletes the labeling set picked above; the answers given in it are kept (and audited)."""
    if not access_gate.may(Action.DELETE_SET):
        return
    picked = next(s for s in sets if s.id == set_id)
    with st.expander("Delete this labeling set"):
        st.caption(f"Deletes set #{picked.id} ({picked.size:,} messages) from the queue. The answers given in it are "
                   "kept and still count when training from every set; the deletion is audited.")
        sure = st.checkbox(f"Yes, delete set #{picked.id}", key="label_delete_sure")
        if st.button("Delete set", key="label_delete", disabled=not sure, type="secondary"):
            who = access_gate.require(Action.DELETE_SET)
            done = store.delete_set(set_id, actor=who.actor)
            st.session_state[KEY_FLASH] = (f"Deleted labeling set '{plain(done.name)}' (#{done.id}); "
                                           f"{done.labels_kept:,} answers given in it are kept.")
            st.session_state.pop(KEY_SET, None)
            st.rerun()


def sets(store: LabelStore) -> list[LabelSet] | None:
    """The labeling sets; while the database cannot be reached, the ones this session read last (so the page keeps
    its set picker and card) after saying so, or None when it never read them."""
    try:
        found = store.sets()
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        st.error(DATABASE_DOWN, icon=":material/cloud_off:")
        known = st.session_state.get(KEY_SETS)
        return None if known is None else list(known.sets)
    st.session_state[KEY_SETS] = KnownSets(tuple(found))
    return found


def _release(store: LabelStore, tab: str) -> None:
    try:
        store.release(tab)
    except Exception as exc:  # down: the claims expire on their own
        if not database_unreachable(exc):
            raise


def pick_set(store: LabelStore, sets: list[LabelSet], tab: str) -> tuple[int, str]:
    """(set id, queue order). Changing either gives back this tab's claims, so the next message follows them."""
    ids = [s.id for s in sets]
    sent = st.session_state.pop(KEY_SENT, None)
    if sent in ids:
        st.session_state[KEY_SET] = sent
    if st.session_state.get(KEY_SET) not in ids:
        st.session_state[KEY_SET] = ids[-1]
    names = {s.id: f"{s.name} · {s.size:,} messages · #{s.id}" for s in sets}
    left, right = st.columns([3, 2])
    set_id = left.selectbox("Labeling set", ids, format_func=names.get, key=KEY_SET,
                            on_change=_release, args=(store, tab))
    order = right.selectbox("Queue order", ORDERS, format_func=ORDER_NAMES.get, key=KEY_ORDER,
                            on_change=_release, args=(store, tab),
                            help="most uncertain: the score closest to the model's threshold first (active "
                                 "learning); the scores are stored again each time a new model is promoted")
    return set_id, order


# ---------------------------------------- the card

def _problem(exc: Exception) -> None:
    """Called inside an except block: the error is shown on the next run (a callback cannot draw on the card)."""
    if database_unreachable(exc):
        st.session_state[KEY_PROBLEM] = DATABASE_DOWN
    elif isinstance(exc, InputError):
        st.session_state[KEY_PROBLEM] = str(exc)
    else:
        incident, path = log_bug()
        st.session_state[KEY_PROBLEM] = (f"Something went wrong inside engage: this is a bug. The details are in "
                                         f"the log {path} (incident {incident}).")


def _answer(store: LabelStore, annotator: str, tab: str, value: int | None) -> None:
    item = st.session_state.pop(KEY_SHOWN, None)
    if item is None:  # a second press before the card showed the next message: nothing is on it yet
        return
    try:
        access_gate.require(Action.LABEL)  # a callback runs before the gate: a sign-in ended elsewhere stops here
        if value is None:
            store.skip(item.message_id, annotator, score=item.score, model=item.model, set_id=item.set_id,
                       session=tab, picked=item.picked)
        else:
            store.label(item.message_id, annotator, value, score=item.score, model=item.model, set_id=item.set_id,
                        session=tab, picked=item.picked)
    except Exception as exc:
        if database_unreachable(exc):  # the card keeps the message: the next press sends the answer again
            st.session_state[KEY_SHOWN] = item
            st.session_state[KEY_PROBLEM] = NOT_SAVED
            return
        _problem(exc)


def _undo(store: LabelStore, annotator: str, set_id: int, tab: str) -> None:
    try:
        access_gate.require(Action.LABEL)
        done = store.undo(annotator, set_id, tab)
    except Exception as exc:
        _problem(exc)
        return
    if done is None:
        st.session_state[KEY_NOTE] = f"Nothing to undo: your last {UNDO_DEPTH} answers in this set are undone."
    elif done.kind == "bulk":
        st.session_state[KEY_NOTE] = (f"Undone: your bulk label '{'engageable' if done.value else 'not engageable'}'"
                                      f" of {done.count:,} messages, as one step.")
        st.session_state[KEY_WHOLE] = True
    else:
        what = "skip" if done.kind == "skip" else ("engageable" if done.value else "not engageable")
        st.session_state[KEY_NOTE] = f"Undone: your answer '{what}'. The message is back."


def _message(store: LabelStore, item: QueueItem) -> None:
    with st.container(border=True, key="label_card"):
        st.text(item.text)
        card_context.show(store, item)
    # The row as the Score page and its file name it (engage.reading.row_ids); sets imported before had no ids.
    where = f"{plain(item.row_id)} of the file" if item.row_id else f"Message {item.position + 1} of the imported rows"
    if item.score is None:
        st.caption(f"{where} · no model score yet")
    else:
        st.caption(f"{where} · score **{item.score:.3f}** from model {plain(item.model)} "
                   f"(its threshold {item.threshold:.3f})")


def _buttons(store: LabelStore, item: QueueItem | None, annotator: str, set_id: int, tab: str) -> None:
    # Stable keys: a key press reaches the button the browser shows (the frontend binds a shortcut per button
    # component; a new key per message left presses bound to the previous one). The answer goes to the message the
    # card last showed, taken once (KEY_SHOWN).
    columns = st.columns(4)
    for column, (kind, label, value) in zip(columns[:3], (
            ("yes", "Engageable", 1), ("no", "Not engageable", 0), ("skip", "Skip", None)), strict=True):
        column.button(label, key=f"label_{kind}", shortcut=SHORTCUTS[kind], disabled=item is None,
                      type="primary" if kind == "yes" else "secondary", width="stretch",
                      on_click=_answer, args=(store, annotator, tab, value))
    columns[3].button("Undo", key="label_undo", shortcut=SHORTCUTS["undo"], width="stretch",
                      on_click=_undo, args=(store, annotator, set_id, tab),
                      help=f"undo your last answer in this set (up to {UNDO_DEPTH} back)")


def progress(store: LabelStore, set_id: int, annotator: str) -> None:
    done = store.progress(set_id)
    st.progress(done.labeled / max(done.total, 1),
                text=f"{done.labeled:,} of {done.total:,} messages labeled (by anyone)")
    if done.from_other_sets:
        st.caption(f"{done.from_other_sets:,} already labeled in other sets: labels follow the message, so a "
                   "message labeled once counts in every set that holds it.")
    if done.by_annotator:  # a line, not a table: this runs after every label, and a table costs a lot more
        st.caption("Per annotator: " + " · ".join(
            f"{'**' + plain(name) + '**' if name == annotator else plain(name)} {p.labeled:,} labeled, "
            f"{p.skipped:,} skipped"
            for name, p in done.by_annotator.items()), help="you in bold; skips are not labels")


@st.fragment
def card(store: LabelStore, set_id: int, annotator: str, order: str, tab: str) -> None:
    """One message, its score, the four buttons (keys E, N, S, U) and the progress; reruns on its own."""
    access_gate.recheck()  # a fragment's rerun skips the gate: a sign-in ended elsewhere reruns the whole app
    if st.session_state.pop(KEY_WHOLE, False):
        st.rerun(scope="app")
    if (problem := st.session_state.pop(KEY_PROBLEM, None)) is not None:
        st.error(problem, icon=":material/error:")
    if (note := st.session_state.pop(KEY_NOTE, None)) is not None:
        st.info(note, icon=":material/undo:")
    item, down = _next(store, set_id, annotator, order, tab, problem)
    st.session_state[KEY_SHOWN] = item
    if down and item is None:
        pass  # nothing was on the card: the error above says why there is no message
    elif item is None:
        st.success("Nothing left for you in this set: every message is labeled, skipped, or open in another tab.",
                   icon=":material/task_alt:")
    else:
        _message(store, item)
    _buttons(store, item, annotator, set_id, tab)
    st.caption("Keys: **E** engageable · **N** not engageable · **S** skip · **U** undo")
    if not down:
        try:
            progress(store, set_id, annotator)
        except Exception as exc:
            if not database_unreachable(exc):
                raise
            st.error(DATABASE_DOWN, icon=":material/cloud_off:")


def _next(store: LabelStore, set_id: int, annotator: str, order: str, tab: str,
          problem: str | None) -> tuple[QueueItem | None, bool]:
    """(the message for the card, whether the database is down). Down, the card keeps the message it showed, so
    an answer can be given again; a message this session held before this page showed it (a reload, or the
    reconnect after a server restart: the tab id is in the URL) comes back with a word that an answer to it was
    not saved."""
    shown = st.session_state.get(KEY_SHOWN)
    fresh = KEY_SHOWN not in st.session_state  # this session has not drawn the card since an answer or ever
    try:
        item = store.next_message(set_id, annotator, order, tab)
    except Exception as exc:
        if not database_unreachable(exc):
            raise
        if problem is None:
            st.error(DATABASE_DOWN, icon=":material/cloud_off:")
        return (shown if shown is not None and shown.set_id == set_id else None), True
    if item is not None and item.resumed and fresh and problem is None:
        st.warning(RESUMED, icon=":material/sync_problem:")
    return item, False


def agreement(store: LabelStore, set_id: int) -> None:
    found = store.agreement(set_id)
    st.subheader("Agreement")
    if found.pairs.empty:
        st.caption("Shown once two annotators have labeled the same messages.")
        return
    st.dataframe(found.pairs, hide_index=True, key="label_pairs", column_config={
        "kappa": st.column_config.NumberColumn("Cohen's kappa", format="%.3f"),
        "agreement": st.column_config.NumberColumn("agreement", format="%.3f")})
    if found.conflicts.empty:
        st.caption("No conflicts: the annotators agree on every message they share.")
    else:
        st.caption(f"{len(found.conflicts):,} messages where annotators disagree (1 engageable, 0 not):")
        st.dataframe(found.conflicts, hide_index=True, key="label_conflicts")


# ---------------------------------------- from the Score page

def _digest(rows: np.ndarray) -> str:
    return hashlib.sha256(np.asarray(rows, dtype=np.int64).tobytes()).hexdigest()


def send_button(res: state.ScoredFile, rows: np.ndarray, what: str) -> None:
    """Sends the rows the Score page shows (positions in the file; `what` names them: all, flagged, matching) to
    labeling with their scores."""
    clicked = st.button(f"Send these {len(rows):,} rows to labeling", key=f"{KEY_PREFIX}send",
                        disabled=len(rows) == 0, help="a new labeling set, with these scores for the queue order")
    name = f"{Path(res.name).stem} ({what} rows, {res.model})"
    store = state.label_store()
    texts = [res.messages.texts[i] for i in rows]
    held = st.session_state.get(KEY_SEND_TWIN)
    if clicked:
        held = None
        with shown_errors():
            twin = label_loop.same_set(store, name, texts)
            if twin is not None:
                held = st.session_state[KEY_SEND_TWIN] = SendTwin(res.key, _digest(rows), name, twin.id)
    elif held is None or (held.result_key, held.rows, held.name) != (res.key, _digest(rows), name):
        return
    if held is not None:
        choice = twin_choice(store, held.twin_id, name, "send")
        if choice == "open":
            st.session_state.pop(KEY_SEND_TWIN)
            st.session_state[KEY_SENT] = held.twin_id
            st.switch_page(LABEL_PAGE)
        if choice != "anyway":
            return
        name = label_loop.distinct_name(store, name)
    st.session_state.pop(KEY_SEND_TWIN, None)
    with shown_errors():
        who = access_gate.require(Action.IMPORT)
        ids = row_ids(res.messages)
        set_id = label_loop.import_scored(store, name, texts, res.scores[rows], res.model, res.model_threshold,
                                          source=res.name, actor=who.actor, row_ids=[ids.label(i) for i in rows],
                                          context=res.messages.frame.iloc[rows], text_col=res.messages.text_col)
        st.session_state[KEY_SENT] = set_id
        st.success(f"Labeling set '{plain(name)}' is ready.", icon=":material/check:")
        st.page_link(LABEL_PAGE, label="Label them now", icon=":material/label:")
