"""The file's other columns on the label card: the analyst picks which (the airline, the author, the date) per
labeling set, and the card shows their values under the message, escaped (they are untrusted text, like the
message). What a set keeps of its file, and its bounds, is engage/labels/context.py's."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from engage.labels import LabelSet, LabelStore, QueueItem
from engage.labels.context import picked
from engage.ui.text import plain

KEY_PREFIX = "cardctx_"
KEY_COLUMNS = "cardctx_columns"  # CardColumns: the columns picked for a set


@dataclass(frozen=True)
class CardColumns:
    set_id: int
    columns: tuple[str, ...]   # picked now
    start: tuple[str, ...]     # the picker's default while this set is in view (fixed, so the widget stays itself)


def pick_columns(labeling_set: LabelSet) -> None:
    """The picker of the set's kept columns (none for a set without any: pasted texts, Score page rows). The picks
    hold while the set is in view; another set starts with none."""
    kept = list((labeling_set.extra or {}).get("context_columns") or [])
    if not kept:
        st.session_state.pop(KEY_COLUMNS, None)
        return
    held = st.session_state.get(KEY_COLUMNS)
    if held is None or held.set_id != labeling_set.id:
        held = CardColumns(labeling_set.id, (), ())
    # No widget key (a key would keep a list in the session): the widget is the same one from run to run because
    # its label, options and default stay the same; the choice is kept in KEY_COLUMNS as a frozen value.
    chosen = st.multiselect("Columns to show on the card", kept, default=[c for c in held.start if c in kept],
                            placeholder="pick the file's columns to see beside each message (airline, author, "
                                        "date, ...)",
                            help=f"this set kept {len(kept)} columns of its file; the id column joins the labels "
                                 "back to the file in the export")
    st.session_state[KEY_COLUMNS] = CardColumns(labeling_set.id, tuple(chosen), held.start)


def show(store: LabelStore, item: QueueItem) -> None:
    """The picked columns of the message's row, one line, under its text."""
    held = st.session_state.get(KEY_COLUMNS)
    if held is None or held.set_id != item.set_id or not held.columns:
        return
    pairs = picked(store.context(item.set_id, item.message_id), held.columns)
    shown = " · ".join(f"**{plain(name)}** {plain(value)}" for name, value in pairs)
    st.caption(shown or "none of the picked columns has a value in this message's row")
