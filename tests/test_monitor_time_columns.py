"""Time columns outside the Monitor page (issue 22, item 2): the Evaluate page's slices by day or week of a time
column (the rule in engage.summary / engage.reading.times, the page on the stubbed engine of test_pages_stubbed),
and the Score page's time column chooser feeding the scoring history (real SQLite history)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from engage.errors import InputError
from engage.metrics import metric_table
from engage.monitor import read_history
from engage.reading.times import is_time_column, time_periods
from engage.summary import MAX_SLICES, slice_metrics, time_slice_metrics
from engage.testing.app_world import labeled_frame
from engage.ui.time_chooser import NONE
from tests.apptests import ok
from tests.test_pages_stubbed import EVALUATE, _app, _scored, _table, engine, stub_scores  # noqa: F401 (engine: a fixture)

START = datetime(2026, 11, 2, 6, tzinfo=UTC)  # a Monday


# ---------------------------------------- the engine's rule


def test_days_and_weeks_are_utc_periods_read_with_one_format():
    frame = pd.DataFrame({"date": ["01/11/2026 23:30 -0500", "13/11/2026 10:00 +0000", "", "08/11/2026 01:00 +0200"]})
    days, notes = time_periods(frame, "date", "day")
    # day-first (13/11 tells it, for every row); 23:30 at -05:00 is the next UTC day, 01:00 at +02:00 the previous
    assert days.tolist() == ["2026-11-02", "2026-11-13", None, "2026-11-07"] and notes == []
    weeks, _ = time_periods(frame, "date", "week")
    assert weeks.tolist() == ["week of 2026-11-02", "week of 2026-11-09", None, "week of 2026-11-02"]
    with pytest.raises(InputError, match="day-first or month-first") as err:
        time_periods(pd.DataFrame({"date": ["03/04/2025", "04/05/2025"]}), "date", "day")
    assert err.value.column == "date"
    with pytest.raises(InputError, match="day or week"):
        time_periods(frame, "date", "month")
    _, notes = time_periods(pd.DataFrame({"date": ["2026-11-02 10:00"]}), "date", "day")
    assert "no time zone" in notes[0]


def test_time_columns_are_told_by_their_values():
    frame = pd.DataFrame({"created_at": ["2026-11-02T10:00:00Z"] * 3, "when": ["2 Nov 2026", "3 Nov 2026", ""],
                          "stamp": pd.to_datetime(["2026-11-02"] * 3), "timestamp": [1.79e9] * 3,
                          "ticket": ["1001", "1002", "1003"], "domain": ["apparel", "airline", "telecom"],
                          "count": [1, 2, 3], "flag": [True, False, True]})
    assert [c for c in frame.columns if is_time_column(frame, c)] == ["created_at", "when", "stamp", "timestamp"]


def _stream(days: int, per_day: int = 3) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    n = days * per_day
    rng = np.random.default_rng(3)
    times = [(START + timedelta(days=i // per_day, minutes=7 * (i % per_day))).isoformat() for i in range(n)]
    return pd.DataFrame({"created_at": times}), rng.integers(0, 2, n), rng.random(n)


def test_a_time_column_with_more_values_than_slices_is_sliced_by_day_and_week():
    frame, y, scores = _stream(days=40)  # 120 distinct times: more than MAX_SLICES, refused as plain values
    with pytest.raises(InputError, match="distinct values"):
        slice_metrics(frame, "created_at", y, scores, 0.5)
    assert frame["created_at"].nunique() > MAX_SLICES
    table, notes = time_slice_metrics(frame, "created_at", y, scores, 0.5, "day")
    assert len(table) == 40 and table["slice"].tolist() == sorted(table["slice"]) and notes == []
    day = (START + timedelta(days=5)).date().isoformat()
    rows = (np.arange(len(y)) // 3) == 5
    expected = metric_table(y[rows], scores[rows], 0.5)  # the same figures computed on that day's rows alone
    got = table.set_index("slice").loc[day]
    assert got["n"] == 3 and got["accuracy"] == pytest.approx(expected["accuracy"])
    weeks, _ = time_slice_metrics(frame, "created_at", y, scores, 0.5, "week")
    assert weeks["slice"].tolist()[:2] == ["week of 2026-11-02", "week of 2026-11-09"] and weeks["n"].sum() == 120
    assert weeks["n"].tolist()[0] == 21  # 7 days x 3
    with pytest.raises(InputError, match=r"spans 40 days; at most 30 can be shown \(slice by week\)"):
        time_slice_metrics(frame, "created_at", y, scores, 0.5, "day", max_slices=30)


# ---------------------------------------- the Evaluate page (stubbed engine)


@pytest.mark.usefixtures("engine")
def test_evaluate_page_slices_a_time_column_by_day_and_by_week():
    frame = labeled_frame(150)
    frame["created_at"] = [(START + timedelta(days=i // 15, minutes=11 * (i % 15))).isoformat() for i in range(150)]
    at = _scored(data=frame.to_csv(index=False).encode("utf-8"))
    at.switch_page(EVALUATE).run()
    ok(at)
    assert at.selectbox(key="evaluate_slice_col").value == "domain"  # the time column is no default slice
    at.selectbox(key="evaluate_slice_col").select("created_at").run()
    ok(at)  # today's code refused the column: 150 distinct values
    assert at.radio(key="evaluate_time_grain").value == "day"
    table = _table(at, "slice")
    assert table["slice"].tolist() == [(START + timedelta(days=d)).date().isoformat() for d in range(10)]
    scores = stub_scores(frame["text"].fillna("").tolist())
    expected = metric_table(frame["engage"].to_numpy()[15:30], scores[15:30], 0.5)
    assert table["n"].tolist() == [15] * 10 and table.loc[1, "f1"] == pytest.approx(expected["f1"])
    at.radio(key="evaluate_time_grain").set_value("week").run()
    ok(at)
    assert _table(at, "slice")["slice"].tolist() == ["week of 2026-11-02", "week of 2026-11-09"]
    assert _table(at, "slice")["n"].tolist() == [105, 45]


# ---------------------------------------- the Score page's time column chooser (stubbed engine, real history)


def _upload(at, name: str, frame: pd.DataFrame):
    at.file_uploader(key="score_file").upload(name, frame.to_csv(index=False).encode("utf-8"),
                                              "application/octet-stream").run()
    ok(at)
    return next(s for s in at.selectbox if s.key.startswith("time_chooser_"))


def _days(url: str) -> dict[str, int]:
    found = read_history(url, samples=False).days
    return {d.date().isoformat(): int(n) for d, n in found.groupby("day")["n"].sum().items()}


@pytest.mark.usefixtures("engine")
def test_score_page_time_chooser_detected_overridden_or_none(tmp_path):
    url = f"sqlite:///{tmp_path / 'labels.sqlite'}"  # the engine fixture's database
    frame = labeled_frame(60)
    frame["created_at"] = [(START + timedelta(days=i % 2)).isoformat() for i in range(60)]
    frame["shipped_on"] = [(START + timedelta(days=10 + i % 3)).date().isoformat() for i in range(60)]
    at = _app()
    chooser = _upload(at, "timed.csv", frame)
    assert chooser.value == "created_at" and chooser.options[0] == NONE  # detected by name; none offered first
    assert any("the scoring time is used" in c.value for c in at.caption)
    chooser.select("shipped_on").run()
    at.button(key="score_go").click().run()
    ok(at)
    assert any("under each message's time from 'shipped_on'" in c.value for c in at.caption)
    shipped = {(START + timedelta(days=10 + k)).date().isoformat(): 20 for k in range(3)}
    assert _days(url) == shipped

    other = frame.assign(text=frame["text"] + " again")  # another file: none chosen, dated by the scoring time
    chooser = _upload(at, "untimed.csv", other)
    before = datetime.now(UTC).date()
    chooser.select(NONE).run()
    assert any("No time column: the scoring time is used" in c.value for c in at.caption)
    at.button(key="score_go").click().run()
    ok(at)
    assert any("no time column chosen" in c.value for c in at.caption)
    (day, n), = [(d, n) for d, n in _days(url).items() if d not in shipped]
    assert n == 60 and day in {before.isoformat(), datetime.now(UTC).date().isoformat()}


def test_no_time_column_is_a_choice_the_cli_and_ray_share(tmp_path):
    from engage.monitor import HistoryWriter
    from engage.monitor.recorder import SCORING_TIME, block_spec, record_messages
    from engage.reading import messages_from_table

    frame = labeled_frame(30)
    frame["created_at"] = [(START + timedelta(days=i % 3)).isoformat() for i in range(30)]
    messages = messages_from_table(frame, name="timed.csv", text_col="text", detect_labels=False)
    assert block_spec(messages, None, 200).time_col == "created_at"  # detected by default
    spec = block_spec(messages, SCORING_TIME, 200)  # `engage score --engine ray --time-col ''`
    assert spec.time_col is None and "no time column chosen" in spec.notes[0]
    url = f"sqlite:///{tmp_path / 'h.sqlite'}"
    before = datetime.now(UTC).date()
    outcome = record_messages(HistoryWriter(url), messages, np.linspace(0, 1, 30), 0.5, "m", "sha",
                              time_col=SCORING_TIME)  # `engage score --time-col ''`, the page's (none)
    assert outcome["time_col"] is None and "no time column chosen" in outcome["time_notes"][0]
    ((day, n),) = _days(url).items()
    assert n == 30 and day in {before.isoformat(), datetime.now(UTC).date().isoformat()}
