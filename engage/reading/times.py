"""The time column: found by name like the text column (created_at, date, timestamp, tweet_created, ...), parsed
with ONE format for the whole column. Whether "03/04/2025" is day-first or month-first is decided from the values
themselves (a first number above 12 means day-first, a second one above 12 month-first); a column that stays
ambiguous is not guessed: its times are left unused and a note says so. Time zones are kept: every time becomes an
aware datetime at the same instant (a value with no zone is read as UTC, and a note says so)."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from engage.errors import InputError
from engage.reading.columns import _column_by_name, _words, resolve_column

TIME_COLUMN_NAMES: tuple[str, ...] = (
    "created_at", "tweet_created", "timestamp", "datetime", "date_time", "date", "time", "created", "created_time",
    "posted_at", "sent_at", "published_at", "received_at", "submitted_at", "creation_date", "post_date",
)
_TIME_WORDS = frozenset(("date", "time", "timestamp", "created", "datetime", "posted", "sent", "received", "at"))
_NUMERIC_DATE = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")
_NUMBER = r"\s*[+\-]?\d+(\.\d+)?\s*"
TIME_GRAINS: tuple[str, ...] = ("day", "week")  # how the Evaluate page slices a time column
_ZONE = re.compile(r"(Z|[+\-]\d{2}:?\d{2}|UTC|GMT)\s*$|[+\-]\d{4}\s+\d{4}$", re.IGNORECASE)


def detect_time_column(frame: pd.DataFrame, exclude: tuple = ()) -> str | None:
    """A column named like a time (TIME_COLUMN_NAMES), else one whose name has a time word and whose values are
    dates; None when there is none."""
    found = _column_by_name(frame, TIME_COLUMN_NAMES, exclude=exclude)
    if found is not None:
        return found
    for column in frame.columns:
        if column in exclude or not _TIME_WORDS & set(_words(column)):
            continue
        values = frame[column].dropna().head(200)
        if len(values) and (pd.api.types.is_datetime64_any_dtype(values) or _parses(values)):
            return column
    return None


def is_time_column(frame: pd.DataFrame, column: str) -> bool:
    """Whether a column holds times: a datetime column, numbers under a time's name (seconds since 1970), or text
    whose values (the first 200 present) are dates, not plain numbers."""
    values = frame[column]
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    if pd.api.types.is_bool_dtype(values):
        return False
    if pd.api.types.is_numeric_dtype(values):
        return _column_by_name(frame[[column]], TIME_COLUMN_NAMES) is not None
    strings = values.dropna().astype(str).str.strip()
    strings = strings[strings.ne("")].head(200)
    return bool(len(strings)) and not strings.str.fullmatch(_NUMBER).any() and _parses(strings)


def time_periods(frame: pd.DataFrame, column: str, grain: str, source: str = "",
                 first_row: int = 2) -> tuple[pd.Series, list[str]]:
    """Each row's period: its UTC day ('2025-03-14') or week ('week of 2025-03-10', from its Monday); None for an
    empty cell. The column is read with one format for all of it (TimeReader); one whose day/month order no value
    tells is refused, not guessed. Returns the periods and the reader's notes."""
    if grain not in TIME_GRAINS:
        raise InputError(f"slice times by {' or '.join(TIME_GRAINS)}, not {grain!r}", column=column)
    reader = TimeReader(column, source)
    times = reader.read(frame, first_row)
    if times is None:
        raise InputError(f"the dates in column '{column}' could be day-first or month-first and no value tells "
                         "which: write them as YYYY-MM-DD to slice by day or week", file=source or None,
                         column=column)
    utc = pd.Series(pd.to_datetime(pd.Series(times, dtype=object), utc=True), index=frame.index)
    if grain == "day":
        periods = utc.dt.strftime("%Y-%m-%d")
    else:
        periods = (utc.dt.normalize() - pd.to_timedelta(utc.dt.weekday, unit="D")).dt.strftime("week of %Y-%m-%d")
    return periods.astype(object).where(utc.notna(), None), list(reader.notes)


def _parses(values: pd.Series) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bool(pd.to_datetime(values.astype(str), errors="coerce", utc=True, format="mixed").notna().mean()
                    >= 0.9)


@dataclass
class TimeReader:
    """Parses one column chunk by chunk with the format decided on the first chunk."""

    column: str
    source: str = ""
    dayfirst: bool | None = None       # decided from the values; None: not a numeric d/m date, or undecided yet
    ambiguous: bool = False            # d/m values that never reveal their order: times left unused
    notes: list[str] = field(default_factory=list)
    _decided: bool = False

    def read(self, frame: pd.DataFrame, first_row: int) -> list[datetime | None] | None:
        """Aware datetimes per row (None for an empty cell), or None when the column is ambiguous."""
        column = resolve_column(frame, self.column, self.source)
        values = frame[column]
        if not self._decided:
            self._decide(values)
        if self.ambiguous:
            return None
        return self._parse(values, column, first_row)

    def _decide(self, values: pd.Series) -> None:
        self._decided = True
        if pd.api.types.is_datetime64_any_dtype(values) or pd.api.types.is_numeric_dtype(values):
            return
        strings = values.dropna().astype(str).str.strip()
        pairs = strings.str.extract(_NUMERIC_DATE).dropna()
        if pairs.empty:
            return
        first, second = pairs[0].astype(int), pairs[1].astype(int)
        if (first > 12).any() and (second > 12).any():
            raise InputError("the time column mixes day-first and month-first dates (both a first and a second "
                             "number above 12): give it in one format, e.g. 2025-03-14", file=self.source or None,
                             column=self.column)
        if (first > 12).any():
            self.dayfirst = True
        elif (second > 12).any():
            self.dayfirst = False
        elif not (first == second).all():
            self.ambiguous = True
            self.notes.append(f"the time column '{self.column}' has dates like {strings.iloc[0]!r} that could be "
                              "day-first or month-first, and no value tells which: its times are not used (the "
                              "scoring time is); write the dates as YYYY-MM-DD to use them")
        else:
            self.dayfirst = False  # every value has day == month: the order does not matter

    def _parse(self, values: pd.Series, column: str, first_row: int) -> list[datetime | None]:
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            # seconds since 1970 (milliseconds when they are that large)
            unit = "ms" if values.dropna().abs().median() > 1e11 else "s"
            parsed = pd.to_datetime(values, unit=unit, utc=True, errors="coerce")
        elif pd.api.types.is_datetime64_any_dtype(values):
            parsed = values if getattr(values.dt, "tz", None) is not None else values.dt.tz_localize("UTC")
            self._no_zone_note(getattr(values.dt, "tz", None) is None)
        else:
            strings = values.map(lambda v: None if v is None or (isinstance(v, float) and v != v)
                                 or not str(v).strip() else str(v).strip())
            present = strings.dropna()
            self._no_zone_note(bool(len(present)) and not present.map(lambda s: bool(_ZONE.search(s))).all())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(strings, errors="coerce", utc=True, format="mixed",
                                        dayfirst=bool(self.dayfirst))
        bad = parsed.isna() & values.notna() & values.astype(str).str.strip().ne("")
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise InputError(f"not a date or time: {str(values.iloc[i])[:60]!r}", file=self.source or None,
                             row=first_row + i, column=column)
        return [None if pd.isna(t) else t.to_pydatetime() for t in parsed]

    def _no_zone_note(self, naive: bool) -> None:
        note = f"the times in '{self.column}' have no time zone: they are read as UTC"
        if naive and note not in self.notes:
            self.notes.append(note)
