"""The Score page's results table: finding messages (a search and filters: engage.row_filter decides which rows
match), the table itself (the row's id, the text and the score first: engage.reading.row_ids names the rows), "why
this score?" for any row of the file, and which rows the downloads and the labeling button take.

The widgets' keys carry the file's sha256, so each file starts unfiltered.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from engage.contract import FLAG_COL, SCORE_COL
from engage.reading.row_ids import ROW, RowIds, row_ids
from engage.row_filter import RowFilter, matches, value_choices
from engage.ui import explain_panel, state
from engage.ui.text import plain

KEY_PREFIX = "results_"
KEY_IDS = "results_ids"   # Slot: result key -> RowIds of its messages
SELECTABLE_ROWS = 10_000  # tables up to this size go to the browser whole, so a row can be selected in them
OPTION_ROWS = 1_000       # matching rows listed in the explain chooser; beyond that, a row is named by its id
VALUE_CHOICES = 500       # values a column filter offers, the most frequent first
FLAGGED = {"all rows": None, "flagged": True, "not flagged": False}


@dataclass(frozen=True)
class Found:
    """The rows the search and filters keep, as positions in the file."""
    positions: np.ndarray
    filter: RowFilter
    total: int

    @property
    def what(self) -> str:
        """Which rows, in words, for the labeling set's name."""
        if not self.filter.active:
            return "all"
        return "flagged" if self.filter == RowFilter(flagged=True) else "matching"


def _key(res: state.ScoredFile, name: str) -> str:
    return f"{KEY_PREFIX}{res.sha256[:16]}_{name}"


def ids_of(res: state.ScoredFile) -> RowIds:
    """The result's row ids (engage.reading.row_ids), computed once per result."""
    held = st.session_state.get(KEY_IDS)
    if isinstance(held, state.Slot) and held.ident == res.key:
        return held.value
    ids = row_ids(res.messages)
    st.session_state[KEY_IDS] = state.Slot(res.key, ids)
    return ids


def named(res: state.ScoredFile, positions: np.ndarray, most: int = 10) -> str:
    """Rows by their ids, in words: "rows 2, 6" or "tweet_id 5703…, 5704…" (the first `most`, then "…")."""
    ids = ids_of(res)
    # The file's ids are the uploader's text: each one escaped for Markdown (row numbers need nothing).
    shown = ", ".join(plain(ids.of(i)) if ids.from_file else ids.of(i) for i in positions[:most])
    what = plain(ids.column) if ids.from_file else ("rows" if len(positions) > 1 else "row")
    return f"{what} {shown}" + (" …" if len(positions) > most else "")


def notes(res: state.ScoredFile) -> None:
    """Which messages are empty (they score 0) and which look non-English (the model's ELMo reads English, so their
    scores mean less), named by their ids."""
    empty = np.flatnonzero([not t for t in res.messages.texts])
    if len(empty):
        many = len(empty) > 1
        st.info(f"{len(empty):,} empty message{'s' if many else ''} score{'' if many else 's'} 0 "
                f"({named(res, empty)}).")
    foreign = np.flatnonzero(state.foreign(res))
    if len(foreign):
        many = len(foreign) > 1
        st.info(f"{len(foreign):,} message{'s' if many else ''} look{'' if many else 's'} non-English "
                f"({named(res, foreign)}): {'their scores are' if many else 'its score is'} less reliable, since "
                "the model's ELMo reads English only.", icon=":material/translate:")


def find(res: state.ScoredFile, scored: pd.DataFrame) -> Found:
    """The search and filters above the table, and the count of matching rows."""
    text_col = res.messages.text_col
    search, score, flagged = st.columns([3, 2, 1], vertical_alignment="bottom")
    words = search.text_input("Search the messages", key=_key(res, "search"), placeholder='words, or a "phrase"',
                              help='rows whose text holds every word and "quoted phrase", any case')
    # Widgets holding a tuple or a list (this range, the multiselects, the table's selection) take no key: the
    # session's keys hold scalars and frozen dataclasses only.
    low, high = score.slider("Score between", 0.0, 1.0, (0.0, 1.0), 0.01)
    which = flagged.selectbox("Show", list(FLAGGED), key=_key(res, "flagged"))
    others = [c for c in scored.columns if c not in (text_col, SCORE_COL, FLAG_COL)]
    columns = st.multiselect("Filter by the values of", others,
                             placeholder="choose columns (for example the airline or the channel)") if others else []
    values = []
    for column in columns:
        chosen = st.multiselect(f"Values of {plain(column)}", value_choices(scored[column], VALUE_CHOICES),
                                placeholder="any value")
        values.append((column, tuple(chosen)))
    flt = RowFilter(words, float(low), float(high), FLAGGED[which], tuple(values))
    positions = np.flatnonzero(matches(scored, text_col, flt))
    if flt.active:
        st.caption(f"**{len(positions):,}** of {len(scored):,} rows match.")
    return Found(positions, flt, len(scored))


def shown_frame(scored: pd.DataFrame, text_col: str, ids: RowIds) -> pd.DataFrame:
    """The table as the page shows it: the row's id, the text, the score and the flag first, then the file's other
    columns in their order (downloads keep the file's order)."""
    front = [text_col, SCORE_COL, FLAG_COL]
    out = scored[front + [c for c in scored.columns if c not in front and c != ids.column]].copy()
    name = ids.column if ids.from_file else _free_name(ROW, scored.columns)
    out.insert(0, name, scored[ids.column] if ids.from_file else ids.values.astype(int))
    return out


def _free_name(name: str, taken) -> str:
    while name in taken:
        name = f"{name} #"
    return name


def table(res: state.ScoredFile, scored: pd.DataFrame, found: Found) -> int | None:
    """The matching rows; returns the file position of the row selected in it, if any."""
    shown = shown_frame(scored, res.messages.text_col, ids_of(res)).iloc[found.positions]
    config = {SCORE_COL: st.column_config.ProgressColumn(SCORE_COL, min_value=0.0, max_value=1.0, format="%.3f")}
    if len(shown) > SELECTABLE_ROWS:
        # Lazy: the browser gets the rows in view and fetches more on scroll or sort, so a million rows stay usable;
        # a lazy table cannot report a selected row (Streamlit refuses it), so the chooser below names rows by id.
        st.dataframe(shown, hide_index=True, key=f"{KEY_PREFIX}lazy_table", lazy=True, column_config=config)
        return None
    event = st.dataframe(shown, hide_index=True, column_config=config, on_select="rerun",
                         selection_mode="single-row")
    return picked(event, found)


def picked(event, found: Found) -> int | None:
    """The file position of the row selected in the table of `found`'s rows (`event` from st.dataframe)."""
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    return int(found.positions[rows[0]]) if rows and 0 <= rows[0] < len(found.positions) else None


def chosen_row(res: state.ScoredFile, found: Found, selected: int | None) -> int | None:
    """The file position of the row to explain: selected in the table, else chosen in a list of the matching rows
    (when they are few enough), else named by its id (any row of the file)."""
    if selected is not None:
        return selected
    ids, texts = ids_of(res), res.messages.texts
    if not len(found.positions):
        return None
    how = "Select a row in the table, or choose" if len(found.positions) <= SELECTABLE_ROWS else "Choose"
    if len(found.positions) <= OPTION_ROWS:
        return st.selectbox(f"Why this score? {how} one here", found.positions.tolist(), index=None,
                            format_func=lambda i: f"{ids.column} {ids.of(i)}: "
                                                  f"{texts[i][:explain_panel.PREVIEW_CHARS]}",
                            placeholder="choose a message to explain (type to search)", key=_key(res, "explain"))
    typed = st.text_input(f"Why this score? {how.replace('choose', 'type')} a row's {plain(ids.column)}",
                          key=_key(res, "explain_id"), help=ids.said)
    st.caption(f"{len(found.positions):,} rows match, too many to list: type a row's {plain(ids.column)} from "
               f"the table, or narrow the rows with the search above to choose from a list.")
    if not typed.strip():
        return None
    found_at = ids.find(typed)
    if found_at is None:
        st.warning(f"No row has {plain(ids.column)} {plain(typed.strip())}.")
    return found_at


def these_rows(scored: pd.DataFrame, found: Found) -> pd.DataFrame | None:
    """The matching rows for "these rows" downloads (the file's column order), or None when no filter is on."""
    return scored.iloc[found.positions] if found.filter.active else None
