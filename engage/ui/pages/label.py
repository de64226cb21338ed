"""Label: import messages as a labeling set, label them one at a time (keys E, N, S, U), see progress and
agreement between annotators."""

from __future__ import annotations

import streamlit as st

from engage.ui import labeling, state
from engage.ui.errors import run_page


def page() -> None:
    st.header("Label messages")
    if (flash := st.session_state.pop(labeling.KEY_FLASH, None)) is not None:
        st.success(flash, icon=":material/check:")
    annotator = labeling.ask_annotator()
    if annotator is None:
        return
    store = state.label_store()
    tab = state.tab_id()
    sets = store.sets()
    labeling.import_panel(store, expanded=not sets)
    if not sets:
        st.info("No labeling sets yet: import a file above, or send scored rows from the Score page.")
        return
    set_id, order = labeling.pick_set(store, sets, tab)
    labeling.answer_guard()
    labeling.card(store, set_id, annotator, order, tab)
    labeling.agreement(store, set_id)


run_page(page)
