"""The Train page's learning curve: the active version's recipe on 10 / 25 / 50 / 75 / 100 % of the labels, its
cross-validated ROC-AUC and F1 with their spread over repeats, and the sentence that says whether more labels
should still help (engage.learning_curve computes all of it; nothing is computed here beyond layout)."""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd
import streamlit as st

from engage.access import Action
from engage.learning_curve import CURVE_METRICS, DEFAULT_REPEATS, NAMES, SHARES, LearningCurve, learning_curve_of
from engage.reading import Messages
from engage.train import data_fingerprint
from engage.ui import access_gate, state

KEY_PREFIX = "curve_"          # every session key of this component (its widgets' too) starts so
KEY_DRAWN = "curve_drawn"      # Drawn: the curve drawn last


@dataclass(frozen=True)
class Drawn:
    """A curve, and the labels (their fingerprint) and version it was drawn for."""
    data: str
    version: str
    curve: LearningCurve


def section(messages: Messages, loaded: state.LoadedModel) -> None:
    """The expander: a button that draws the curve for these labels, and the curve drawn last for them."""
    clf = loaded.classifier
    with st.expander("Learning curve: will more labels help?"):
        st.caption(f"Trains {clf.name}'s recipe on {', '.join(f'{s:.0%}' for s in SHARES)} of these labels, each "
                   "share drawn again on every repeat, and cross-validates each fit as training does: about "
                   f"{sum(SHARES):.1f} trainings per repeat. Nothing is saved.")
        repeats = st.slider("Repeats", 1, 5, DEFAULT_REPEATS, key=f"{KEY_PREFIX}repeats",
                            help="each share is drawn this many times; the spread says how much a share's figures "
                                 "move from one draw to the next")
        data = data_fingerprint(messages.texts, messages.labels)
        if st.button("Draw the learning curve", key=f"{KEY_PREFIX}go"):
            access_gate.require(Action.TRAIN)
            bar = st.progress(0.0, text="Drawing the learning curve…")
            curve = learning_curve_of(messages, clf, repeats=repeats, on_fit=lambda done, total: bar.progress(
                done / total, text=f"Learning curve: {done} of {total} cross-validated fits"))
            bar.empty()
            st.session_state[KEY_DRAWN] = Drawn(data, clf.name, curve)
        drawn = st.session_state.get(KEY_DRAWN)
        if drawn is not None and (drawn.data, drawn.version) == (data, clf.name):
            show(drawn.curve)


def show(curve: LearningCurve) -> None:
    """The sentence, the chart (mean and the band of one spread either side) and the table."""
    st.markdown(f"**{curve.verdict.sentence}**")
    if curve.skipped:
        st.caption(f"Left out, too few labels of a class for {curve.folds} folds: "
                   f"{', '.join(f'{s:.0%}' for s in curve.skipped)} of the labels.")
    if not curve.points:
        return
    table = curve.table()
    st.altair_chart(chart(table), key=f"{KEY_PREFIX}chart")
    shown = pd.DataFrame({"share of labels": table["share"], "labels": table["rows"],
                          **{f"{NAMES[m]}{k}": table[f"{m}{c}"] for m in CURVE_METRICS
                             for k, c in (("", ""), (" spread", "_spread"))}})
    st.dataframe(shown, hide_index=True, key=f"{KEY_PREFIX}table",
                 column_config={"share of labels": st.column_config.NumberColumn(format="percent")})
    st.caption(f"Each figure: the mean of {curve.repeats} draws' {curve.folds}-fold cross-validated figures; "
               "spread: their standard deviation.")


def chart(table: pd.DataFrame) -> alt.LayerChart:
    """Each metric's mean against the number of labels, with a band of one spread either side."""
    long = pd.concat([pd.DataFrame({"labels": table["rows"], "metric": NAMES[m], "mean": table[m],
                                    "low": table[m] - table[f"{m}_spread"], "high": table[m] + table[f"{m}_spread"]})
                      for m in CURVE_METRICS], ignore_index=True)
    base = alt.Chart(long).encode(x=alt.X("labels:Q", title="labels trained on"),
                                  color=alt.Color("metric:N", title=None))
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("low:Q", title="cross-validated figure"), y2="high:Q")
    line = base.mark_line(point=True).encode(y="mean:Q", tooltip=["metric", "labels", alt.Tooltip("mean:Q",
                                                                                                     format=".4f")])
    return (band + line).properties(title="Learning curve", height=280)
