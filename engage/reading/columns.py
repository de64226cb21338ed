"""Which column holds the messages and which the labels: by name, else by content; explicit names resolved."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from engage.errors import InputError
from engage.reading.label_values import LABEL_VALUES, label_key

# Looked up case-insensitively, ignoring spaces, '_' and '-'; earlier names win when several exist.
TEXT_COLUMN_NAMES: tuple[str, ...] = (
    "text", "message", "messages", "cleantext", "clean_text", "tweet", "tweet_text", "full_text", "body",
    "content", "comment", "review", "post", "msg", "sentence",
)
LABEL_COLUMN_NAMES: tuple[str, ...] = (
    "engage", "engageable", "is_engageable", "label", "labels", "target", "y", "class", "complaint",
    "needs_reply", "needs_response", "reply_needed", "should_reply", "should_respond", "respond", "reply",
)
# Words that make a longer column name a label column ("Needs Reply?", "to_respond", "AgentShouldAnswer") when
# its values are label values (a column of reply texts is not labels).
_LABEL_WORDS = frozenset(("reply", "respond", "response", "answer", "engage", "engageable"))

# Words that make a longer column name a text column ("Message Body", "tweet_text", "CustomerComment").
_TEXT_WORDS = frozenset((
    "text", "body", "message", "messages", "msg", "tweet", "tweets", "post", "posts", "content", "comment",
    "comments", "review", "reviews", "feedback", "description", "sentence", "utterance", "caption", "transcript",
))
# Words that make a name about a text rather than the text: "message_id", "post_date", "review_score".
_ID_WORDS = frozenset(("id", "ids", "uuid", "guid"))
_NOT_TEXT_WORDS = _ID_WORDS | frozenset((
    "key", "num", "number", "count", "len", "length", "date", "time", "timestamp", "created", "url", "link",
    "type", "kind", "lang", "language", "score", "rating", "author", "username", "sender", "status",
    "label", "labels", "class", "category", "sentiment", "flag",
))
# The brand's side of a conversation: the messages to score are the customers'.
_OTHER_SIDE_WORDS = frozenset(("agent", "staff", "internal", "note", "notes", "reply", "replies", "response",
                               "answer"))

# Detection looks at the first rows only, so that a large file is judged quickly.
_DETECT_ROWS = 2000


def _key(name: object) -> str:
    return re.sub(r"[\s_\-]+", "", str(name).strip().lower())


def columns_list(frame: pd.DataFrame) -> str:
    """The columns as errors list them, so the user sees what the file does hold."""
    return ", ".join(f"'{c}'" for c in frame.columns) or "none"


def _column_by_name(frame: pd.DataFrame, names: Iterable[str], exclude: Iterable[str] = ()) -> str | None:
    skip = set(exclude)
    by_key: dict[str, str] = {}
    for column in frame.columns:
        if column not in skip:
            by_key.setdefault(_key(column), column)
    for wanted in names:
        if _key(wanted) in by_key:
            return by_key[_key(wanted)]
    return None


def _text_values(values: pd.Series) -> pd.Series | None:
    """The non-empty strings of a column, or None when it is not a column of text (numbers, ids, dates)."""
    if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values):
        return None
    strings = values[values.map(lambda v: isinstance(v, str))].str.strip()
    strings = strings[strings != ""]
    if strings.empty or pd.to_numeric(strings, errors="coerce").notna().mean() >= 0.9:
        return None
    return strings


def _longest_text_column(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> str | None:
    best, best_length = None, 0.0
    for column in frame.columns if columns is None else columns:
        strings = _text_values(frame[column].head(_DETECT_ROWS))
        if strings is not None and strings.str.len().mean() > best_length:
            best, best_length = column, float(strings.str.len().mean())
    return best


def _words(name: object) -> list[str]:
    """A column name's words, whatever its style: "Message Body", "tweet_text", "CustomerComment", "msgID"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", str(name))
    return re.findall(r"[a-z0-9]+", spaced.lower())


def _named_like_id(column: object) -> bool:
    """An id's values can be long strings ("CASE-2024-000123"), so its name alone rules it out as the text."""
    return bool(_ID_WORDS & set(_words(column)))


def _word_match_column(frame: pd.DataFrame) -> str | None:
    """A text column whose name holds a text word ("Message Body", "tweet_text"), not one about the text
    ("message_id", "post_date"); a column for the brand's side (agent notes, replies) only when no other."""
    found = [c for c in frame.columns
             if _TEXT_WORDS & set(_words(c)) and not _NOT_TEXT_WORDS & set(_words(c))]
    customer = [c for c in found if not _OTHER_SIDE_WORDS & set(_words(c))]
    return _longest_text_column(frame, customer) or _longest_text_column(frame, found)


def choose_text_column(frame: pd.DataFrame, *, source: str = "") -> tuple[str, bool]:
    """The text column and whether it was guessed from content (True: the longest text, no name matched).

    An exact name (TEXT_COLUMN_NAMES) wins, then a text word inside a longer name; the guess is the column with
    the longest texts, never one named like an id. The caller says so when it guessed, so the user can check.
    """
    column = _column_by_name(frame, TEXT_COLUMN_NAMES) or _word_match_column(frame)
    if column is not None:
        return column, False
    column = _longest_text_column(frame, [c for c in frame.columns if not _named_like_id(c)])
    if column is None:
        raise InputError(f"no text column found: no column is named {', '.join(TEXT_COLUMN_NAMES)} and no "
                         f"column holds text; the columns are {columns_list(frame)}; pass --text-col"
                         f"{_header_hint(frame)}", file=source or None)
    return column, True


def guessed_column_note(column: str) -> str:
    """What to tell the user when choose_text_column guessed (the page and the CLI add how to pick another)."""
    return (f"no column is named like message text (text, message, tweet, body, ...), so '{column}' is a guess: "
            "the column with the longest texts; check that it holds the messages to score")


def is_id_name(column: object) -> bool:
    """Whether a column is named like an id ("Case ID", "message_id", "msgID")."""
    return _named_like_id(column)


def _header_hint(frame: pd.DataFrame) -> str:
    """A header made of long texts or numbers is a first data row: the commonest cause of 'no text column'."""
    looks_like_data = any(len(str(c)) > 40 or pd.to_numeric(pd.Series([str(c)]), errors="coerce").notna()[0]
                          for c in frame.columns)
    return " (the first row looks like data: add a header row naming the columns)" if looks_like_data else ""


def detect_text_column(frame: pd.DataFrame, *, source: str = "") -> str:
    """A column named like text (text, message, CleanText, tweet, Message Body, ...), else the longest text."""
    return choose_text_column(frame, source=source)[0]


def detect_label_column(frame: pd.DataFrame, text_col: str) -> str | None:
    """A column named like labels (LABEL_COLUMN_NAMES: engage, label, target, needs_reply, ...), else one whose name
    holds a reply or respond word (_LABEL_WORDS) and whose values are label values."""
    return _column_by_name(frame, LABEL_COLUMN_NAMES, exclude=[text_col]) or _word_label_column(frame, text_col)


def _word_label_column(frame: pd.DataFrame, text_col: str) -> str | None:
    for column in frame.columns:
        if column != text_col and _LABEL_WORDS & set(_words(column)) and _mostly_labels(frame[column]):
            return column
    return None


def _mostly_labels(values: pd.Series) -> bool:
    """Nine in ten of the column's filled cells (first rows) are label values (yes/no, 1/0, ...)."""
    keys = [label_key(v) for v in values.head(_DETECT_ROWS).tolist()]
    filled = [k for k in keys if k]
    return bool(filled) and sum(k in LABEL_VALUES for k in filled) >= 0.9 * len(filled)


def resolve_column(frame: pd.DataFrame, wanted: str, source: str) -> str:
    """An explicit column: exact name, else the one column that matches ignoring case and outer spaces."""
    if wanted in frame.columns:
        return wanted
    close = [c for c in frame.columns if str(c).strip().lower() == str(wanted).strip().lower()]
    if len(close) == 1:
        return close[0]
    raise InputError(f"no column named '{wanted}'; the columns are {columns_list(frame)}",
                     file=source, column=wanted)


def _has_known_label(values: pd.Series) -> bool:
    return any(label_key(v) in LABEL_VALUES for v in values.head(_DETECT_ROWS).tolist())


def pick_label_column(frame: pd.DataFrame, text_col: str, label_col: str | None, source: str,
                      detect_labels: bool, require_labels: bool) -> str | None:
    """The label column: the one given, else one found by name that holds label values; None when optional."""
    if label_col is not None:
        return resolve_column(frame, label_col, source)
    found = detect_label_column(frame, text_col) if detect_labels else None
    # A column found by name with no label value in it (categories, a blank column to fill) is not the labels.
    if found is not None and not require_labels and not _has_known_label(frame[found]):
        found = None
    if found is None and require_labels:
        raise InputError(f"no label column found: looked for columns named {', '.join(LABEL_COLUMN_NAMES)}; "
                         f"the columns are {columns_list(frame)}; pass --label-col", file=source)
    return found
