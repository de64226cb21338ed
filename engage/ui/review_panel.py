"""The Label page's one review place: suspected label errors, disagreements between annotators, and any older label,
each shown with every annotator's answer and the label training uses now (engage/labels/review.py).

An analyst or an admin decides (Action.REVIEW): the decision is the message's gold label for training, and the
answers it overrules are kept with it. An annotator sees only their own labels here, of any age, and changes one by
answering again (their earlier answer is kept, as every answer is). Deciding reruns the page; labeling on the card
does not rerun this panel (the card is a fragment), so a key press costs what it did.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engage import label_loop
from engage.access import Action
from engage.labels import LabelStore
from engage.ui import access_gate, state
from engage.ui.text import plain

KEY_PREFIX = "review_"          # every session key of the review panel (its widgets' too) starts so
KEY_LIST = "review_list"        # str: which list (a radio)
KEY_PICK = "review_pick"        # int: the message id on the review card (a selectbox)
KEY_FILTER = "review_filter"    # str: words the listed messages must contain
KEY_WHO = "review_who"          # str: one annotator's labels only (the "All labels" list)
KEY_FLASH = "review_flash"      # str: what the last decision did, shown after its rerun
SUSPECTS, DISPUTES, OLDER, MINE = "Suspected errors", "Disagreements", "All labels", "My labels"
SOURCES = {SUSPECTS: "suspect", DISPUTES: "dispute", OLDER: "label"}
SHOWN = 200                     # the most messages a list offers at once (the filter narrows it)
VALUE = {1: "engageable", 0: "not engageable"}
ANYONE = "(everyone)"


def panel(store: LabelStore, set_id: int, annotator: str, tab: str) -> None:
    st.subheader("Review")
    if (flash := st.session_state.pop(KEY_FLASH, None)) is not None:
        st.success(flash, icon=":material/gavel:")
    reviewer = access_gate.may(Action.REVIEW)
    _agreement(store, set_id)
    lists = [SUSPECTS, DISPUTES, OLDER] if reviewer else [MINE]
    if st.session_state.get(KEY_LIST) not in lists:
        st.session_state[KEY_LIST] = lists[0]
    chosen = st.radio("Review", lists, key=KEY_LIST, horizontal=True, label_visibility="collapsed")
    if chosen == SUSPECTS:
        frame = _suspects(store, set_id)
    elif chosen == DISPUTES:
        frame = _disputes(store, set_id)
    else:
        frame = _labels(store, set_id, None if chosen == OLDER else annotator)
    if frame is None or frame.empty:
        return
    frame = _filtered(frame)
    if frame.empty:
        st.caption("No message here contains those words.")
        return
    st.dataframe(frame.drop(columns=["message_id"]), hide_index=True, key=f"{KEY_PREFIX}table")
    picked = st.selectbox("Message to review", frame["message_id"].tolist(), key=KEY_PICK,
                          format_func=dict(zip(frame["message_id"], frame["text"].map(_short), strict=True)).get)
    if picked is not None:
        text = frame.loc[frame["message_id"] == picked, "text"].iloc[0]
        _card(store, set_id, int(picked), text, annotator, tab, SOURCES.get(chosen))
    if reviewer:
        _history(store, set_id)


def _short(text: str) -> str:
    return text if len(text) <= 90 else text[:89] + "…"


def _agreement(store: LabelStore, set_id: int) -> None:
    found = store.review_agreement(set_id)
    if found.before is None:
        return
    if found.disputed:
        st.caption(f"{found.disputed:,} messages with disagreeing labels: {found.decided:,} decided in review, "
                   f"{found.open:,} open (until decided, training takes the annotators' majority, a tie the latest "
                   "label).")
    st.caption(f"Labels agreeing with the label training uses: **{found.before:.1%}** before review, "
               f"**{found.after:.1%}** after ({found.changed:,} training labels changed by review).",
               help="each annotator's active labels compared with the training label: before review their "
                    "majority (a tie the latest label), after it a reviewer's decision where there is one")


def open_disputes_note(store: LabelStore, set_id: int | None) -> None:
    """For the Train page: disagreements nobody decided yet are trained on by majority, which it says."""
    found = store.review_agreement(set_id)
    if found.open:
        st.caption(f"{found.open:,} messages with disagreeing labels are not decided yet: training takes the "
                   "annotators' majority for them (a tie: the latest label). Decide them under Review on the Label "
                   "page.")


def _filtered(frame: pd.DataFrame) -> pd.DataFrame:
    words = st.text_input("Only messages containing", key=KEY_FILTER, placeholder="words (plain text, any case)")
    if words.strip():
        frame = frame[frame["text"].str.casefold().str.contains(words.strip().casefold(), regex=False)]
    if len(frame) > SHOWN:
        st.caption(f"The first {SHOWN:,} of {len(frame):,}: type words above to narrow them.")
    return frame.head(SHOWN).reset_index(drop=True)


def _suspects(store: LabelStore, set_id: int) -> pd.DataFrame | None:
    queue = store.suspects(set_id)
    if queue.empty:
        st.caption("No suspected label errors to review in this set: the ranking comes from the out-of-fold scores "
                   "of a training with cross-validation (the Train page), or rank the labels now.")
        if st.button("Rank every label now", key=f"{KEY_PREFIX}rank",
                     help="the active model's recipe, cross-validated on every stored label (a few seconds to "
                          "minutes)"):
            access_gate.require(Action.REVIEW)
            with st.spinner("Training the active model's recipe with cross-validation on the labels…"):
                ranked = label_loop.find_suspects(store, state.active_model().classifier)
            st.session_state[KEY_FLASH] = f"Ranked {ranked:,} labels by how likely each is wrong."
            st.rerun()
        return None
    st.caption(f"Most likely wrong first (ranking of {queue['computed_at'].iloc[0]:%Y-%m-%d %H:%M} UTC, trained like "
               f"{plain(str(queue['model'].iloc[0]))}); a reviewed message leaves the queue.")
    return pd.DataFrame({"message_id": queue["message_id"], "rank": queue["rank"], "text": queue["text"],
                         "label": queue["label"].map(VALUE), "out-of-fold score": queue["score"].round(3),
                         "suspected": queue["suspected"].astype(bool)})


def _disputes(store: LabelStore, set_id: int) -> pd.DataFrame | None:
    conflicts = store.agreement(set_id).conflicts
    if conflicts.empty:
        st.caption("No disagreements: the annotators agree on every message they share.")
        return None
    decided = store.decisions(set_id).set_index("message_id")["value"]
    out = conflicts.copy()
    out["decided"] = out["message_id"].map(decided).map(VALUE)
    return out.sort_values("decided", na_position="first", kind="stable")


def _labels(store: LabelStore, set_id: int, only: str | None) -> pd.DataFrame | None:
    active = store.active_labels(set_id)
    if only is None and not active.empty:
        who = st.selectbox("Annotator", [ANYONE, *sorted(active["annotator"].unique())], key=KEY_WHO)
        if who != ANYONE:
            active = active[active["annotator"] == who]
    elif only is not None:
        active = active[active["annotator"] == only]
    if active.empty:
        st.caption("No labels yet." if only is None else "You have no labels in this set yet.")
        return None
    newest = active.sort_values("label_id", ascending=False)
    return pd.DataFrame({"message_id": newest["message_id"], "text": newest["text"],
                         "annotator": newest["annotator"], "label": newest["value"].map(VALUE),
                         "labeled at (UTC)": pd.to_datetime(newest["created_at"]).dt.strftime("%Y-%m-%d %H:%M")}
                        ).drop_duplicates("message_id")


def _card(store: LabelStore, set_id: int, message_id: int, text: str, annotator: str, tab: str,
          source: str | None) -> None:
    labels, decided = store.message_review(message_id)
    with st.container(border=True, key=f"{KEY_PREFIX}card"):
        st.text(text)
    answers = " · ".join(f"{plain(a)}: {VALUE[int(v)]}" for a, v in zip(labels["annotator"], labels["value"],
                                                                        strict=True))
    st.caption(f"Answers: {answers or 'none active'}")
    if not decided.empty:
        row = decided.iloc[-1]
        st.caption(f"Decided **{VALUE[int(row['value'])]}** by {plain(row['reviewer'])} at "
                   f"{row['created_at']:%Y-%m-%d %H:%M} UTC: training uses it.")
    left, right = st.columns(2)
    if source is not None:  # a reviewer decides
        for column, value in ((left, 1), (right, 0)):
            if column.button(f"Decide: {VALUE[value]}", key=f"{KEY_PREFIX}decide_{value}", width="stretch"):
                decide(store, message_id, value, source, set_id)
                st.session_state[KEY_FLASH] = (f"Decided: {VALUE[value]}. Training uses this label; the answers "
                                               "it overrules are kept.")
                st.rerun()
        return
    for column, value in ((left, 1), (right, 0)):  # an annotator answers again: the earlier answer is kept
        if column.button(f"Change my label to {VALUE[value]}", key=f"{KEY_PREFIX}mine_{value}", width="stretch"):
            access_gate.require(Action.LABEL)
            store.label(message_id, annotator, value, set_id=set_id, session=tab)
            st.session_state[KEY_FLASH] = f"Your label is now {VALUE[value]}; your earlier answer is kept."
            st.rerun()


def decide(store: LabelStore, message_id: int, value: int, source: str, set_id: int | None) -> int:
    """The review action, checked on the server where it acts: only an analyst or an admin decides."""
    who = access_gate.require(Action.REVIEW)
    return store.decide(message_id, who.actor, value, source=source, set_id=set_id)


def _history(store: LabelStore, set_id: int) -> None:
    made = store.decisions(set_id, latest=False)
    if made.empty:
        return
    with st.expander(f"Review history ({len(made):,} decisions)"):
        newest = made.iloc[::-1]
        st.dataframe(pd.DataFrame({
            "decided at (UTC)": pd.to_datetime(newest["created_at"]).dt.strftime("%Y-%m-%d %H:%M:%S"),
            "reviewer": newest["reviewer"], "text": newest["text"], "decision": newest["value"].map(VALUE),
            "found in": newest["source"],
            "before": [", ".join(f"{a}: {v}" for a, v in (b or {}).get("labels", {}).items()) for b in
                       newest["before"]],
        }), hide_index=True, key=f"{KEY_PREFIX}history")
