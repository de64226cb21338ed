"""The audit trail as the Models page shows it: who promoted or activated which version (from which), who imported
or deleted which labeling set, newest first."""

from __future__ import annotations

import streamlit as st

from engage.labels import LabelStore

KEY_PREFIX = "audit_"
SHOWN_ROWS = 200


def audit_table(store: LabelStore) -> None:
    st.subheader("Audit trail")
    frame = store.audit(limit=SHOWN_ROWS)
    if frame.empty:
        st.caption("Nothing recorded yet: promotions, activations, imports and deletions of labeling sets appear "
                   "here, with who did them.")
        return
    frame = frame.drop(columns=["id"]).assign(detail=[_detail(d) for d in frame["detail"]])
    st.dataframe(frame, hide_index=True, key=f"{KEY_PREFIX}table", column_config={
        "at": st.column_config.DatetimeColumn("at (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "from_version": "from", "to_version": "to"})
    st.caption(f"The latest {SHOWN_ROWS} rows; the Train page exports the whole trail beside the labels.")


def _detail(detail: dict | None) -> str:
    return "" if not detail else ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in detail.items())
