"""The Label page's agreement, kept current while annotators label: a fragment that reruns on its own every
EVERY_S seconds (a label reruns only the card, and other annotators label in other browsers, so a panel drawn once
per page load went stale until a reload). One short read of the set's active labels per tick and open tab."""

from __future__ import annotations

import streamlit as st

from engage.labels import LabelStore
from engage.ui import access_gate, label_card
from engage.ui.errors import shown_errors

EVERY_S = 10
FRAGMENT = "label_agreement"  # the fragment's key (not a session key): a rerun can target it


@st.fragment(run_every=EVERY_S, key=FRAGMENT)
def panel(store: LabelStore, set_id: int) -> None:
    """label_card.agreement, redrawn every EVERY_S seconds."""
    access_gate.recheck()  # a fragment's rerun skips the gate
    with shown_errors():  # the database down: said in the panel, and the next tick tries again
        label_card.agreement(store, set_id)
