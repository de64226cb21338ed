"""Evaluate: metrics, confusion matrix, curves, mistakes and slices of the file scored on the Score page."""

from __future__ import annotations

import streamlit as st

from engage.metrics import metric_table, mistakes, pr_curve, roc_curve, undefined_metrics
from engage.reading.row_ids import row_ids
from engage.reading.times import TIME_GRAINS, is_time_column
from engage.summary import (
    confusion_frame,
    default_slice_column,
    metrics_frame,
    operating_point,
    slice_metrics,
    slice_notes,
    time_slice_metrics,
)
from engage.ui import charts, controls, explain_panel, overlap_panel, state
from engage.ui.errors import run_page, shown_errors
from engage.ui.text import plain
from engage.ui.threshold import panel as threshold_panel

KEY_PREFIX = "evaluate_"
MISTAKE_KINDS = ("false positives", "false negatives", "both")
MISTAKE_ROWS = 500
_FORMAT = controls.metric_columns(*controls.METRIC_COLUMNS)


def _charts(res: state.ScoredFile, table: dict) -> None:
    left, right = st.columns(2)
    left.altair_chart(charts.confusion_heatmap(confusion_frame(table["confusion"])),
                      key=f"{KEY_PREFIX}confusion_chart")
    right.altair_chart(charts.threshold_chart(state.by_threshold(res), table["threshold"]))
    if table["roc_auc"] is None:
        st.info("The labels hold one class only, so there are no precision-recall or ROC curves.")
        return
    point = operating_point(table)
    left, right = st.columns(2)
    left.altair_chart(charts.pr_chart(pr_curve(res.labels, res.scores), point))
    right.altair_chart(charts.roc_chart(roc_curve(res.labels, res.scores), point, table["roc_auc"]))


def _mistakes(res: state.ScoredFile, threshold: float) -> None:
    st.subheader("Mistakes, most confident first")
    kind = st.radio("Show", MISTAKE_KINDS, horizontal=True, key="evaluate_mistake_kind")
    wrong = mistakes(res.messages.frame.reset_index(drop=True), res.labels, res.scores, threshold)
    if kind != "both":
        wrong = wrong[wrong["mistake"] == kind[:-1]]
    st.caption(f"{len(wrong):,} {kind}" + (f"; the first {MISTAKE_ROWS} shown" if len(wrong) > MISTAKE_ROWS else ""))
    shown = wrong.head(MISTAKE_ROWS)
    event = st.dataframe(shown, hide_index=True, key="evaluate_mistakes", on_select="rerun",
                         selection_mode="single-row")
    ids = row_ids(res.messages)  # the chooser names rows as the Score page does (the mistakes keep file positions)
    row = explain_panel.selected_row(event, shown, res.messages.text_col, "evaluate",
                                     lambda i: ids.label(int(shown.index[i])))
    explain_panel.show(shown, row, res.messages.text_col, res.model, threshold, "evaluate")


def _slices(res: state.ScoredFile, threshold: float) -> None:
    st.subheader("Metrics per slice")
    frame = res.messages.frame
    columns = [c for c in frame.columns if c not in (res.messages.text_col, res.messages.label_col)]
    if not columns:
        st.caption("The file has no other column to slice by.")
        return
    column = st.selectbox("Slice by", columns, index=columns.index(default_slice_column(frame, columns)),
                          key="evaluate_slice_col")
    grain = (st.radio("Slice its times by", TIME_GRAINS, horizontal=True, key="evaluate_time_grain")
             if is_time_column(frame, column) else None)
    with shown_errors():
        if grain is None:
            slices, notes = slice_metrics(frame, column, res.labels, res.scores, threshold), []
        else:  # days and weeks are UTC's, as in the scoring history
            slices, notes = time_slice_metrics(frame, column, res.labels, res.scores, threshold, grain,
                                               res.name, res.messages.first_row)
        st.dataframe(slices, hide_index=True, key="evaluate_slices", column_config=_FORMAT, placeholder="")
        for note in filter(None, [slice_notes(slices), *notes]):
            st.caption(plain(note))
        st.altair_chart(charts.slices_chart(slices) if grain is None else charts.slices_over_time_chart(slices, grain))


def page() -> None:
    st.header("Evaluate")
    if controls.require_model() is None:
        return
    res = state.result()
    if res is None:
        st.info("Nothing scored yet: score a file with a label column on the Score page, then come back here.")
        return
    if res.labels is None:
        st.info(f"{plain(res.name)} was scored without a label column: choose its label column on the Score page to "
                "see metrics.")
        return
    st.caption(f"{plain(res.name)}: {len(res.scores):,} messages, labels from column "
               f"'{plain(res.messages.label_col)}', "
               f"model {res.model}.")
    threshold = threshold_panel(res, "evaluate")
    table = metric_table(res.labels, res.scores, threshold)
    st.subheader("Metrics")
    overlap_panel.note(res)  # the file holds messages the version trained on: its figures are optimistic
    st.dataframe(metrics_frame(table), hide_index=True, key="evaluate_metrics", column_config=_FORMAT, placeholder="")
    if notes := undefined_metrics(table):
        st.caption("Empty cells are undefined, not 0: " + "; ".join(notes) + ".")
    _charts(res, table)
    _mistakes(res, threshold)
    _slices(res, threshold)


run_page(page)
