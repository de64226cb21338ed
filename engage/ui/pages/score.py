"""Score: upload a file, check its columns, score it, set the threshold, download the flagged rows."""

from __future__ import annotations

import shlex

import streamlit as st

from engage.errors import InputError
from engage.reading import SUPPORTED_SUFFIXES, choose_text_column, detect_label_column, guessed_column_note
from engage.scoring import scored_frame
from engage.ui import controls, explain_panel, label_card, label_column, score_results, state, time_chooser
from engage.ui.errors import run_page, shown_errors
from engage.ui.text import plain
from engage.ui.threshold import panel as threshold_panel

KEY_PREFIX = "score_"
NO_LABELS = "(no label column)"
PREVIEW_ROWS = 100


def _preview(frame, up: state.Upload) -> None:
    with st.expander(f"Preview of {plain(up.name)}: {len(frame):,} rows, {len(frame.columns)} columns", expanded=True):
        st.dataframe(frame.head(PREVIEW_ROWS), hide_index=True)


def _columns(frame, up: state.Upload) -> tuple[str | None, str | None]:
    names = list(frame.columns)
    try:
        text_default, guessed = choose_text_column(frame, source=up.name)
    except InputError as exc:
        st.warning(f"{exc}; choose the text column below")
        text_default, guessed = None, False
    left, right = st.columns(2)
    text_col = left.selectbox("Text column", names, index=names.index(text_default) if text_default else None,
                              placeholder="choose the column holding the messages",
                              key=f"{KEY_PREFIX}text_{up.sha256[:16]}")
    labels = [NO_LABELS] + [c for c in names if c != text_col]
    label_default = detect_label_column(frame, text_col) if text_col else None
    label = right.selectbox("Label column (optional: it enables the Evaluate page)", labels,
                            index=labels.index(label_default) if label_default in labels else 0,
                            key=f"{KEY_PREFIX}label_{up.sha256[:16]}")
    label_column.remember(up.sha256, None if label == NO_LABELS else label)  # the Train page starts from it
    if guessed and text_col == text_default:
        note = guessed_column_note(plain(text_col))
        st.warning(f"{note[0].upper()}{note[1:]}; if not, pick the right one under 'Text column'.",
                   icon=":material/help:")
    return text_col, None if label == NO_LABELS else label


def _score(up: state.Upload, rows: int, text_col: str, label_col: str | None,
           time_col: str | None = None) -> state.ScoredFile | None:
    update, close = controls.scoring_progress(rows)
    try:
        with shown_errors():
            return state.score(up, text_col, label_col, update, time_col)
    finally:
        close()
    return None


def _score_again(res: state.ScoredFile) -> state.ScoredFile | None:
    update, close = controls.scoring_progress(len(res.scores))
    try:
        with shown_errors():
            return state.score_again(res, update)
    finally:
        close()
    return None


def _results(res: state.ScoredFile, active: str) -> None:
    st.subheader("Results")
    how = "from the cache" if res.from_cache else f"at {res.rate:,.0f} messages/s"
    st.caption(f"{len(res.scores):,} messages of {plain(res.name)} scored in {res.seconds:.2f} s {how} "
               f"with model {res.model}.")
    if res.model != active:
        st.warning(f"These scores come from model {res.model}; the active model is now {active}: score again.")
    score_results.notes(res)
    threshold = threshold_panel(res, "score")
    controls.flag_counts(res, threshold)
    scored = scored_frame(res.messages, res.scores, threshold)
    found = score_results.find(res, scored)
    row = score_results.chosen_row(res, found, score_results.table(res, scored, found))
    explain_panel.show(scored, row, res.messages.text_col, res.model, threshold, "score")
    controls.downloads(scored, res.name, score_results.these_rows(scored, found))
    label_card.send_button(res, found.positions, found.what)
    st.caption("The same flagged rows from the command line:")
    # File and column names are the uploader's text: quoted for a POSIX shell, so a pasted command runs nothing else.
    st.code(shlex.join(["engage", "score", res.name, "--out", "flagged.csv", "--flagged-only", "--text-col",
                        res.messages.text_col, "--model", res.model, "--threshold", repr(float(threshold))]),
            language="bash")


def page() -> None:
    st.header("Score messages")
    loaded = controls.require_model()
    if loaded is None:
        return
    controls.model_caption(loaded)
    uploaded = st.file_uploader(f"Messages file ({', '.join(SUPPORTED_SUFFIXES)})", key="score_file")
    res = state.result()
    if uploaded is not None:
        up = state.upload(uploaded)
        frame = state.table(up)
        _preview(frame, up)
        text_col, label_col = _columns(frame, up)
        if text_col is None:
            return
        time_col = time_chooser.choose(frame, up.sha256, text_col, label_col)
        same = (res is not None and res.sha256 == up.sha256 and res.messages.text_col == text_col
                and res.model == loaded.classifier.name and res.messages.label_col == label_col)
        clicked = st.button("Score", type="primary", key="score_go")
        # Scores already cached for this file, column and model cost nothing: show them without waiting for a click.
        if clicked or (not same and state.has_scores(up, text_col)):
            res = _score(up, len(frame), text_col, label_col, time_col)
        elif not same:
            res = None  # the results of another file or column would mislead under this upload
    elif res is not None:
        st.info(f"Showing the results for {plain(res.name)}; upload a file to score another.")
        if res.model != loaded.classifier.name and st.button(
                f"Score {plain(res.name)} again with {loaded.classifier.name}", type="primary", key="score_again"):
            res = _score_again(res) or res
    if res is not None:
        _results(res, loaded.classifier.name)


run_page(page)
