"""Search and filter within a labeling set: words and phrases, a regular expression (guarded), score range,
predicted class, label status (unlabeled / labeled / disputed) and the values of the set's columns.

A set's texts never change after import, so they are read once (`set_texts`, which a page keeps); what changes
(scores, labels) is read at each search (`set_state`), and `run` filters the two joined. Words and phrases match
case-insensitively at the start of a word ("refund" finds "refunds", not "prefund"); every term must occur; a
"quoted phrase" must occur as written (any spacing between its words); a term with a leading minus must not.

The regular expression runs on the `regex` package with a time budget for the whole set: a pattern that backtracks
without end (`(a|aa)+$` on a long run of a's) is stopped and refused with a message, instead of holding the server.

Speed (bench/label_queue.py, 100,000 messages): the filters are numpy masks over the set in file order, computed
from the stored state aligned once; text is matched only on the rows the cheaper filters kept, each part on the
survivors of the one before; the result frame is built for the matches alone. Texts are kept as Python strings
(object columns), which the per-row matching reads without conversion.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import regex
from sqlalchemy import Connection, and_, select

from engage.errors import InputError
from engage.labels.schema import labels, messages, scores, set_messages
from engage.thresholds import flagged

STATUSES = ("unlabeled", "labeled", "disputed")
PREDICTED = ("engageable", "not engageable", "no score")
MAX_PATTERN_CHARS = 300
REGEX_BUDGET_S = 2.0  # CPU seconds for the whole set: 100,000 tweets take ~0.1 s with a sane pattern
_RECHECK_S = 0.02     # wall seconds between reads of the CPU clock while a regular expression runs
_QUICK_TEXT_CHARS = 1_000  # a pattern without choices runs untimed on texts up to this long
_FIXED_REPEAT = regex.compile(r"\{\d{1,2}\}")  # {m}: one count, no choice
_UNSURE_ESCAPES = set("pPNgkxuU0123456789")        # properties, names, codes, back references: not judged
_TERMS = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


def _frame(conn: Connection, query, columns: list[str]) -> pd.DataFrame:
    """A query's rows as a frame, from the driver's plain tuples: building a frame from SQLAlchemy rows (pandas
    probes each row's attributes) or unpacking them costs seconds per 100,000 rows. Only for columns whose driver
    values are already what they mean (integers, floats, text), as here."""
    rows = conn.execute(query).cursor.fetchall()
    return pd.DataFrame.from_records(rows, columns=columns)


@dataclass(frozen=True)
class SearchQuery:
    words: str = ""                                  # words and "quoted phrases"; -word excludes
    pattern: str = ""                                # a regular expression (case-insensitive)
    score_min: float | None = None
    score_max: float | None = None
    predicted: tuple[str, ...] = ()                  # any of PREDICTED; empty: all
    status: tuple[str, ...] = ()                     # any of STATUSES; empty: all
    columns: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())  # (column, values it may have)

    @property
    def empty(self) -> bool:
        return self == SearchQuery()

    def describe(self) -> dict:
        """The query in plain keys (an audit row, a batch's record); only what is set."""
        out = {"words": self.words, "pattern": self.pattern, "score_min": self.score_min,
               "score_max": self.score_max, "predicted": list(self.predicted), "status": list(self.status),
               "columns": {name: list(values) for name, values in self.columns}}
        return {k: v for k, v in out.items() if v not in ("", None, [], {})}


@dataclass(frozen=True)
class Matches:
    frame: pd.DataFrame   # message_id, position, text, score, predicted, labels, engageable, status, yours, ...
    total: int            # messages in the set
    seconds: float


def set_texts(conn: Connection, set_id: int) -> pd.DataFrame:
    """The set's messages in file order: message_id, position, text (and, lower-cased once, the text searched)."""
    query = (select(set_messages.c.message_id, set_messages.c.position, messages.c.text)
             .join(messages, messages.c.id == set_messages.c.message_id)
             .where(set_messages.c.set_id == set_id).order_by(set_messages.c.position))
    frame = _frame(conn, query, ["message_id", "position", "text"])
    # Python strings, not Arrow ones: every search matches them row by row in Python, which would otherwise convert
    # all of them each time (~20 ms per column on 100,000 messages).
    frame["text"] = frame["text"].astype(object)
    frame["lower"] = pd.Series([t.lower() for t in frame["text"]], index=frame.index, dtype=object)
    return frame


def set_state(conn: Connection, set_id: int, annotator: str | None = None) -> pd.DataFrame:
    """Per message of the set that has a score or an active label: score, threshold; labels (annotators
    whose active answer is a label), engageable (of them, how many said engageable), bulk (of them, bulk ones);
    yours (the annotator's active label, <NA> if none). Indexed by message_id."""
    # In message_id order: SQLite then walks the primary key, whose order is the table's, instead of the score
    # index, whose order sends each of 100,000 row reads to a random page (0.1 s against 1.5 s). Not the model's
    # name: nothing searched shows it, and 100,000 strings cost ~40 ms per search.
    rows = conn.execute(select(scores.c.message_id, scores.c.score, scores.c.threshold)
                        .where(scores.c.set_id == set_id).order_by(scores.c.message_id)).cursor.fetchall()
    numbers = np.array(rows, dtype=float).reshape(-1, 3)  # all numbers: one array, no frame of tuples
    stored = pd.DataFrame({"score": numbers[:, 1], "threshold": numbers[:, 2]},
                          index=pd.Index(numbers[:, 0].astype(np.int64), name="message_id"))
    in_set = and_(set_messages.c.set_id == set_id, set_messages.c.message_id == labels.c.message_id)
    answers = _frame(conn, select(labels.c.message_id, labels.c.annotator, labels.c.kind, labels.c.value,
                                  labels.c.batch_id)
                     .join(set_messages, in_set).where(labels.c.undone_at.is_(None)).order_by(labels.c.id),
                     ["message_id", "annotator", "kind", "value", "batch_id"])
    active = answers.drop_duplicates(["message_id", "annotator"], keep="last")
    active = active[active["kind"] == "label"]
    counts = active.groupby("message_id").agg(labels=("value", "size"), engageable=("value", "sum"),
                                              bulk=("batch_id", "count"))
    state = stored.join(counts, how="outer")
    if annotator is not None:
        mine = active[active["annotator"] == annotator].set_index("message_id")["value"]
        state["yours"] = mine.reindex(state.index).astype("Int8")
    else:
        state["yours"] = pd.array([pd.NA] * len(state), dtype="Int8")
    return state


def _term_regex(term: str) -> str:
    """A term as a regular expression on lower-cased text: its first word at a word start, then its other words
    with any non-word characters between them. The word-start check is a lookbehind written after the first word
    (not before it) so that the pattern opens with a literal, which `re` finds by a fast scan: 7x faster."""
    first, *rest = [re.escape(w) for w in term.lower().split()]
    return first + rf"(?<!\w{first})" + "".join(r"\W+" + w for w in rest)


def parse_words(words: str) -> tuple[list[str], list[str]]:
    """(patterns that must match, patterns that must not) of a words-and-phrases query."""
    if words.count('"') % 2:
        raise InputError('the search has an unclosed quote: put a phrase between two " marks')
    must, must_not = [], []
    for match in _TERMS.finditer(words):
        minus, phrase = (match.group(1), match.group(2)) if match.group(2) is not None else \
            (match.group(3), match.group(4))
        if not phrase.strip() or phrase == "-":
            continue
        (must_not if minus else must).append(_term_regex(phrase))
    return must, must_not


def compile_pattern(pattern: str) -> regex.Pattern:
    """The user's regular expression, case-insensitive; a refusal names what is wrong."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise InputError(f"the regular expression is {len(pattern):,} characters long: at most "
                         f"{MAX_PATTERN_CHARS} are allowed")
    try:
        return regex.compile(pattern, regex.IGNORECASE | regex.V0)
    except regex.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        raise InputError(f"not a valid regular expression: {exc.msg}{where}") from None


def _class_end(pattern: str, i: int) -> int | None:
    """The index after the character class opening at `i`, or None if it holds a nested or POSIX set."""
    j = i + 1 + (pattern[i + 1:i + 2] == "^")
    j += pattern[j:j + 1] == "]"  # a leading ] is a literal
    while j < len(pattern) and pattern[j] != "]":
        if pattern[j] == "[":
            return None
        j += 2 if pattern[j] == "\\" else 1
    return j + 1 if j < len(pattern) else None


def without_choices(pattern: str) -> bool:
    """True when the pattern has no group, no alternation and no repeat but of one fixed count ({m}, m < 100): it
    then matches at each position of a text in one pass, never backtracking, at most its written-out length in
    steps (300 characters x 99), so a text of n characters costs at most n times that. What this does not
    recognise counts as a choice."""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            if pattern[i + 1:i + 2] in _UNSURE_ESCAPES or pattern[i + 1:i + 2] == "":
                return False
            i += 2
        elif char == "[":
            end = _class_end(pattern, i)
            if end is None:
                return False
            i = end
        elif char == "{":
            fixed = _FIXED_REPEAT.match(pattern, i)
            if fixed is None:
                return False
            i = fixed.end()
        elif char in "()|*+?":
            return False
        else:
            i += 1
    return True


def _contains(pattern: str, texts: np.ndarray) -> np.ndarray:
    search = re.compile(pattern).search
    return np.fromiter((search(t) is not None for t in texts), dtype=bool, count=len(texts))


def _regex_mask(compiled: regex.Pattern, texts: np.ndarray, positions: np.ndarray,
                budget_s: float = REGEX_BUDGET_S) -> np.ndarray:
    # CPU time of this thread, not the wall clock: on a busy server a sane pattern is not refused for waiting. That
    # clock costs a system call (a third of a sane search per row), so it is read again only once the cheap wall
    # clock shows _RECHECK_S gone: this thread's CPU time never outruns the wall clock, so the budget holds to
    # within _RECHECK_S. A search gets a timeout (two more reads of that clock inside `regex`, triple the cost of
    # a sane search) unless the pattern has no choices and the text is short: then no row can run away.
    out = np.zeros(len(texts), dtype=bool)
    search, wall, quick = compiled.search, time.perf_counter, without_choices(compiled.pattern)
    cpu_start, left, checked = time.thread_time(), budget_s, wall()
    for i, text in enumerate(texts):
        if wall() - checked > _RECHECK_S:
            left, checked = budget_s - (time.thread_time() - cpu_start), wall()
        try:
            if left <= 0:
                raise TimeoutError
            if (search(text) if quick and len(text) <= _QUICK_TEXT_CHARS else search(text, timeout=left)) is not None:
                out[i] = True
        except TimeoutError:
            raise InputError(f"the regular expression took more than {budget_s:g} s of CPU over this set's messages "
                             f"(stopped at row {int(positions[i]) + 1}): it backtracks too much; nested "
                             "repeats such as (a|aa)+ are the usual cause. Simplify it.") from None
    return out


def _predicted(score: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Codes into PREDICTED: engageable at or above the threshold; no score where there is none (NaN)."""
    return np.where(np.isnan(score), 2, np.where(flagged(score, threshold), 0, 1)).astype(np.int8)


def _status(n: np.ndarray, yes: np.ndarray) -> np.ndarray:
    """Codes into STATUSES from the count of labels and, of them, engageable ones."""
    return np.where(n == 0, 0, np.where((yes > 0) & (yes < n), 2, 1)).astype(np.int8)


def _aligned(state: pd.DataFrame, where: np.ndarray, name: str, fill: float) -> np.ndarray:
    """A numeric column of the state at rows `where` (state.index.get_indexer of the set's ids): `fill` where the
    state has no row (-1, which takes the appended fill) or a missing value."""
    return np.append(state[name].to_numpy(dtype=float, na_value=fill), fill)[where]


def _check_choices(query: SearchQuery, columns: pd.DataFrame | None) -> None:
    for name, allowed, choices in (("predicted", query.predicted, PREDICTED), ("status", query.status, STATUSES)):
        unknown = set(allowed) - set(choices)
        if unknown:
            raise InputError(f"unknown {name} {sorted(unknown)}; use any of {', '.join(choices)}")
    for name, _ in query.columns:
        if columns is None or name not in columns.columns:
            raise InputError(f"this labeling set keeps no column {name!r}")


def _in(codes: np.ndarray, allowed: tuple[str, ...], choices: tuple[str, ...]) -> np.ndarray:
    return np.isin(codes, [choices.index(a) for a in allowed]) if allowed else np.ones(len(codes), dtype=bool)


def run(texts: pd.DataFrame, state: pd.DataFrame, query: SearchQuery,
        columns: pd.DataFrame | None = None) -> Matches:
    """The set's messages that match every part of `query`, in file order. `columns`: the set's own columns by
    message_id (the values a column filter reads); a filter on a column the set does not keep is refused."""
    start = time.perf_counter()
    _check_choices(query, columns)
    must, must_not = parse_words(query.words)
    compiled = compile_pattern(query.pattern) if query.pattern else None
    ids = texts["message_id"].to_numpy()
    where = state.index.get_indexer(ids)
    score, threshold = _aligned(state, where, "score", np.nan), _aligned(state, where, "threshold", np.nan)
    predicted = _predicted(score, threshold)
    status = _status(_aligned(state, where, "labels", 0), _aligned(state, where, "engageable", 0))
    keep = _in(predicted, query.predicted, PREDICTED) & _in(status, query.status, STATUSES)
    if query.score_min is not None:
        keep &= score >= query.score_min  # NaN (no score) compares False: left out
    if query.score_max is not None:
        keep &= score <= query.score_max
    for name, values in query.columns:
        keep &= columns[name].reindex(ids).astype(str).isin([str(v) for v in values]).to_numpy()
    rows = np.flatnonzero(keep)  # text is matched on these alone, each part on what the one before kept
    lower = np.asarray(texts["lower"], dtype=object)
    for term in must:
        rows = rows[_contains(term, lower[rows])]
    for term in must_not:
        rows = rows[~_contains(term, lower[rows])]
    if compiled is not None:
        rows = rows[_regex_mask(compiled, np.asarray(texts["text"], dtype=object)[rows],
                                texts["position"].to_numpy()[rows])]
    return Matches(_found(texts, state, columns, rows, predicted, status), total=len(texts),
                   seconds=time.perf_counter() - start)


def _found(texts: pd.DataFrame, state: pd.DataFrame, columns: pd.DataFrame | None, rows: np.ndarray,
           predicted: np.ndarray, status: np.ndarray) -> pd.DataFrame:
    """The matches' frame: message_id, position, text, the state's columns (counts 0 where none), the set's own
    columns, predicted, status."""
    frame = texts.iloc[rows].drop(columns=["lower"]).reset_index(drop=True).join(state, on="message_id")
    for name in ("labels", "engageable", "bulk"):
        frame[name] = frame[name].fillna(0).astype(int)
    if columns is not None and len(columns.columns):
        frame = frame.join(columns, on="message_id", rsuffix=" (column)")
    frame["predicted"] = np.asarray(PREDICTED, dtype=object)[predicted[rows]]
    frame["status"] = np.asarray(STATUSES, dtype=object)[status[rows]]
    return frame


def column_values(columns: pd.DataFrame | None, limit: int = 200) -> Mapping[str, list[str]]:
    """Each kept column's distinct values (the most frequent `limit`), for a filter's choices."""
    if columns is None:
        return {}
    return {name: columns[name].astype(str).value_counts().index[:limit].tolist() for name in columns.columns}
