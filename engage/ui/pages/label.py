"""Label: import messages as a labeling set, label them one at a time (keys E, N, S, U), see progress and
agreement between annotators."""

from __future__ import annotations

import streamlit as st

from engage.ui import card_context, label_card, label_search, live_agreement, review_panel, state
from engage.ui.errors import run_page, shown_errors


def page() -> None:
    st.header("Label messages")
    if (flash := st.session_state.pop(label_card.KEY_FLASH, None)) is not None:
        st.success(flash, icon=":material/check:")
    annotator = label_card.ask_annotator()
    if annotator is None:
        return
    store = state.label_store()
    tab = state.tab_id()
    sets = label_card.sets(store)  # while the database is down: the sets read last, after saying so
    if sets is None:
        return
    label_card.import_panel(store, expanded=not sets)
    if not sets:
        st.info("No labeling sets yet: import a file above, or send scored rows from the Score page.")
        return
    set_id, order = label_card.pick_set(store, sets, tab)
    card_context.pick_columns(next(s for s in sets if s.id == set_id))
    label_card.delete_panel(store, sets, set_id)
    label_card.answer_guard()
    label_card.card(store, set_id, annotator, order, tab)
    with shown_errors():
        label_search.panel(store, set_id, annotator, tab)
        review_panel.panel(store, set_id, annotator, tab)  # suspects, disagreements, older labels: one place
    live_agreement.panel(store, set_id)


run_page(page)
