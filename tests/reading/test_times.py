"""The time column: found by name, one day/month order decided from the values, ambiguity a note, zones kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pandas as pd
import pytest

from engage.errors import InputError
from engage.reading.times import TimeReader, detect_time_column


@pytest.mark.parametrize("name", ["created_at", "Date", "timestamp", "tweet_created", "Created At"])
def test_time_column_found_by_name(name):
    frame = pd.DataFrame({"id": [1], "text": ["hi"], name: ["2025-03-14"]})
    assert detect_time_column(frame, exclude=("text",)) == name


def test_time_column_found_by_a_time_word_and_date_values_only():
    frame = pd.DataFrame({"text": ["a", "b"], "message_sent_on": ["2025-03-14", "2025-03-15"],
                          "sent_by": ["ana", "bo"]})
    assert detect_time_column(frame, exclude=("text",)) == "message_sent_on"
    assert detect_time_column(pd.DataFrame({"text": ["a"], "sent_by": ["ana"]}), exclude=("text",)) is None


def test_day_first_decided_from_the_whole_column():
    frame = pd.DataFrame({"date": ["03/04/2025", "13/04/2025", "05/04/2025"]})
    times = TimeReader("date", "f.csv").read(frame, 2)
    assert [t.date().isoformat() for t in times] == ["2025-04-03", "2025-04-13", "2025-04-05"]


def test_month_first_decided_from_the_whole_column():
    frame = pd.DataFrame({"date": ["03/04/2025", "04/13/2025", ""]})
    times = TimeReader("date", "f.csv").read(frame, 2)
    assert [t.date().isoformat() for t in times[:2]] == ["2025-03-04", "2025-04-13"] and times[2] is None


def test_ambiguous_column_is_a_note_not_a_guess():
    reader = TimeReader("date", "f.csv")
    assert reader.read(pd.DataFrame({"date": ["03/04/2025", "04/05/2025"]}), 2) is None
    assert reader.ambiguous and "day-first or month-first" in reader.notes[0]


def test_mixed_orders_and_bad_values_name_the_place():
    with pytest.raises(InputError, match="mixes day-first and month-first"):
        TimeReader("date", "f.csv").read(pd.DataFrame({"date": ["13/04/2025", "04/13/2025"]}), 2)
    with pytest.raises(InputError, match=r"f.csv, row 3, column 'date': not a date"):
        TimeReader("date", "f.csv").read(pd.DataFrame({"date": ["2025-04-03", "soon"]}), 2)


def test_time_zones_are_kept_and_naive_times_noted():
    frame = pd.DataFrame({"t": ["2015-02-24 11:35:52 -0800", "2015-02-24 23:30:00 +0100"]})
    reader = TimeReader("t")
    times = reader.read(frame, 2)
    assert times[0] == datetime(2015, 2, 24, 11, 35, 52, tzinfo=timezone(timedelta(hours=-8)))
    assert times[1] == datetime(2015, 2, 24, 22, 30, tzinfo=UTC) and not reader.notes
    naive = TimeReader("t")
    naive.read(pd.DataFrame({"t": ["2025-03-14 10:00"]}), 2)
    assert "no time zone" in naive.notes[0]


def test_later_chunks_keep_the_first_chunks_order():
    reader = TimeReader("date")
    reader.read(pd.DataFrame({"date": ["13/04/2025"]}), 2)
    assert reader.read(pd.DataFrame({"date": ["02/03/2025"]}), 3)[0].date().isoformat() == "2025-03-02"
