"""Why this score: one message of a table, its words highlighted by the sign and strength of their contribution,
its score against the threshold, and its top words for and against (engage.explain computes them).

Message text is untrusted: every piece of it is html.escape'd (quotes included) before it joins the markup, and
the markup goes to st.html, which also runs no script. Tokens' contributions go in as numbers only.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import replace

import pandas as pd
import streamlit as st

from engage.explain import Explanation
from engage.ui import state

KEY_PREFIX = "explain_"  # its widgets' keys: explain_<page>_...
OPTION_ROWS = 1000   # rows offered in the chooser (the table's selection reaches every row)
PREVIEW_CHARS = 80   # of each message, in the chooser
TOP_WORDS = 8


def selected_row(event, frame: pd.DataFrame, text_col: str, key: str,
                 name: Callable[[int], str] | None = None) -> int | None:
    """The position in frame of the row to explain: the one selected in the table (`event`, from st.dataframe with
    on_select="rerun", selection_mode="single-row"; None for a lazy table, which cannot select), else the one
    chosen in a selectbox of its first OPTION_ROWS rows (shown as plain text, no markup), each named by `name`
    (its row in the file, engage.reading.row_ids) or else by its position in frame."""
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    if rows and rows[0] < len(frame):
        return int(rows[0])
    if frame.empty:
        return None
    options = list(range(min(len(frame), OPTION_ROWS)))
    label = "Why this score? Select a row in the table, or choose one here" if event is not None else \
        "Why this score? Choose a message"
    return st.selectbox(label, options, index=None,
                        format_func=lambda i: _preview(frame, text_col, i, name),
                        placeholder="choose a message to explain", key=f"{KEY_PREFIX}{key}_row")


def show(frame: pd.DataFrame, row: int | None, text_col: str, model: str, threshold: float, key: str) -> None:
    """The explanation of frame's row `row` (a position) under version `model`, against `threshold`."""
    if row is None:
        return
    text = frame[text_col].iloc[row]
    text = "" if pd.isna(text) else str(text)
    ex = replace(state.explanation(model, text), threshold=float(threshold))
    with st.container(border=True):
        left, right = st.columns([1, 2])
        left.metric("Score", f"{ex.score:.3f}", delta=f"{ex.score - ex.threshold:+.3f} vs threshold "
                    f"{ex.threshold:.3f}", delta_color="normal")
        right.markdown("**Engageable**" if ex.flagged else "**Not engageable**")
        right.caption(_sum_line(ex))
        if not ex.tokens:
            st.info("This message has no words: it scores 0.")
            return
        st.html(highlighted(ex))
        for_col, against_col = st.columns(2)
        for_col.caption("Words for engageable")
        for_col.dataframe(_words(ex, +1), hide_index=True, key=f"{KEY_PREFIX}{key}_for")
        against_col.caption("Words against")
        against_col.dataframe(_words(ex, -1), hide_index=True, key=f"{KEY_PREFIX}{key}_against")


def highlighted(ex: Explanation) -> str:
    """The message as HTML: each token on a green (for) or red (against) background, as strong as its share of
    the largest |contribution|; the text between tokens kept as it was. Every piece of text is escaped."""
    strongest = max((abs(c) for c in ex.contributions), default=0.0) or 1.0
    pieces, pos = [], 0
    for (start, end), value in zip(ex.spans, ex.contributions, strict=True):
        pieces.append(html.escape(ex.text[pos:start], quote=True))
        alpha = min(abs(float(value)) / strongest, 1.0) * 0.85
        rgb = "22, 163, 74" if value > 0 else "220, 38, 38"
        pieces.append(f'<span class="engage-token" title="{float(value):+.3f}" data-contribution="{float(value):.6f}" '
                      f'style="background: rgba({rgb}, {alpha:.3f}); border-radius: 3px; padding: 0 1px">'
                      f"{html.escape(ex.text[start:end], quote=True)}</span>")
        pos = end
    pieces.append(html.escape(ex.text[pos:], quote=True))
    return (f'<div class="engage-explained" style="line-height: 1.9; white-space: pre-wrap; font-size: 1.05rem">'
            f'{"".join(pieces)}</div>')


def _words(ex: Explanation, sign: int) -> pd.DataFrame:
    # Shown through st.dataframe: text cells, never markup.
    return pd.DataFrame(ex.top(TOP_WORDS, sign), columns=["word", "contribution"])


def _sum_line(ex: Explanation) -> str:
    lexical = ex.parts.get("lexical")
    how = "ELMo by occlusion" + (", words and characters exactly" if lexical else "")
    return (f"logit {ex.logit:+.2f} = base {ex.base:+.2f} + words {ex.total:+.2f} ({how}). Each word is measured "
            f"against the message without it, so many words push up: compare their sizes.")


def _preview(frame: pd.DataFrame, text_col: str, i: int, name: Callable[[int], str] | None = None) -> str:
    text = frame[text_col].iloc[i]
    return f"{name(i) if name else f'row {i + 1}'}: {'' if pd.isna(text) else str(text)[:PREVIEW_CHARS]}"
