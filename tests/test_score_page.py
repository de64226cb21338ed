"""Issue 24 items 1-4 and 17 on the Score page: finding messages (engage.row_filter), the table's order, one row-id
scheme (engage.reading.row_ids), "why this score?" for any row, a reload keeping the result, and a chooser's
threshold not pinned unasked. The engine's rules on small frames; the page's wiring on the stubbed engine of
tests/test_pages_stubbed.py (the real reading, thresholds and filters; the classifier scores by keyword)."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engage.contract import FLAG_COL, SCORE_COL
from engage.reading import messages_from_table
from engage.reading.row_ids import ROW, row_ids
from engage.row_filter import RowFilter, matches, search_terms
from engage.scoring import scored_frame
from engage.thresholds import choose_threshold
from engage.ui import score_results
from tests import test_pages_stubbed
from tests.apptests import APP, ok
from tests.test_pages_stubbed import THRESHOLD, TIMEOUT, _app, _table, stub_scores

engine = test_pages_stubbed.engine  # the stubbed engine's fixture

AIRLINES = ["United", "Delta", "Virgin America"]


def _tweets(rows: int = 60) -> pd.DataFrame:
    """An airline export: an id column, the text in the middle, an airline column; every 5th tweet asks for a
    refund, every 7th is in Spanish, row 4 is empty."""
    texts = [f"@{AIRLINES[i % 3].replace(' ', '')} " + ("still waiting on my refund" if i % 5 == 0 else
                                                          "lovely crew today") + f" #{i}" for i in range(rows)]
    for i in range(3, rows, 7):
        texts[i] = "¿dónde está mi maleta? nadie responde en el mostrador"
    texts[4] = ""
    return pd.DataFrame({"tweet_id": 570306133677760513 + np.arange(rows) * 7919,
                         "negativereason": ["Late Flight" if i % 2 else "" for i in range(rows)],
                         "text": texts, "airline": [AIRLINES[i % 3] for i in range(rows)],
                         "retweet_count": np.arange(rows) % 3})


def _data(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


def _score(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="score_file").upload(name, data, "application/octet-stream").run()
    at.button(key="score_go").click().run()
    ok(at)
    return at


def _labeled(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def _key(data: bytes, name: str) -> str:
    return f"{score_results.KEY_PREFIX}{hashlib.sha256(data).hexdigest()[:16]}_{name}"


# ---------------------------------------------------------------- the engine's rules

def test_a_search_keeps_rows_holding_every_word_and_phrase_and_filters_combine():
    frame = pd.DataFrame({"text": ["My Refund never came", "refund came, never mind", "no refunds here", None],
                          "airline": ["United", "Delta", "United", np.nan],
                          SCORE_COL: [0.9, 0.5, 0.2, 0.0], FLAG_COL: [True, True, False, False]})
    assert search_terms('refund "never came" ') == ["never came", "refund"]
    keep = lambda **kw: np.flatnonzero(matches(frame, "text", RowFilter(**kw))).tolist()  # noqa: E731
    assert keep() == [0, 1, 2, 3]
    assert keep(search="REFUND never") == [0, 1]          # every word, any case, inside longer words too
    assert keep(search='"never came"') == [0]             # a phrase as written
    assert keep(search="refund", flagged=False) == [2]
    assert keep(score_min=0.4, score_max=0.9) == [0, 1]   # both ends included
    assert keep(values=(("airline", ("United",)),)) == [0, 2]
    assert keep(values=(("airline", ("",)),)) == [3]      # an empty cell is ""
    assert keep(search="refund", values=(("airline", ("United", "Delta")),), flagged=True) == [0, 1]
    assert not RowFilter().active and RowFilter(search="x").active


def test_rows_are_named_by_the_files_id_column_else_by_their_row_number():
    frame = _tweets(6)
    found = row_ids(messages_from_table(frame, name="t.csv", text_col="text"))
    assert found.from_file and found.column == "tweet_id"
    assert found.of(2) == str(570306133677760513 + 2 * 7919) and found.find(f" {found.of(5)} ") == 5
    mangled = frame.assign(tweet_id=["5.70306E+17"] * 6)  # Excel's rounding: ids repeat, so none is used
    by_row = row_ids(messages_from_table(mangled, name="t.csv", text_col="text"))
    assert (by_row.column, by_row.of(0), by_row.of(5), by_row.from_file) == (ROW, "2", "7", False)
    assert "header is row 1" in by_row.said
    records = row_ids(messages_from_table(mangled, name="t.jsonl", text_col="text"))
    assert records.of(0) == "1"  # a JSON Lines record counts from 1
    assert by_row.find("99") is None


def test_the_pages_table_puts_the_id_text_and_score_first_and_downloads_keep_the_files_order():
    frame = _tweets(8)
    messages = messages_from_table(frame, name="t.csv", text_col="text")
    scored = scored_frame(messages, stub_scores(messages.texts), THRESHOLD)
    shown = score_results.shown_frame(scored, "text", row_ids(messages))
    assert list(shown.columns) == ["tweet_id", "text", SCORE_COL, FLAG_COL, "negativereason", "airline",
                                   "retweet_count"]
    no_ids = messages_from_table(frame.drop(columns="tweet_id"), name="t.csv", text_col="text")
    shown = score_results.shown_frame(scored_frame(no_ids, stub_scores(no_ids.texts), THRESHOLD), "text",
                                      row_ids(no_ids))
    assert list(shown.columns[:4]) == [ROW, "text", SCORE_COL, FLAG_COL] and shown[ROW].tolist()[:2] == [2, 3]
    found = score_results.Found(np.array([1, 5]), RowFilter(search="x"), len(scored))
    assert list(score_results.these_rows(scored, found).columns) == list(frame.columns) + [SCORE_COL, FLAG_COL]


def test_a_row_selected_in_the_filtered_table_is_that_row_of_the_file():
    from types import SimpleNamespace

    found = score_results.Found(np.array([3, 1_150, 1_400]), RowFilter(search="x"), 1_500)
    assert score_results.picked(SimpleNamespace(selection=SimpleNamespace(rows=[1])), found) == 1_150
    assert score_results.picked(SimpleNamespace(selection=SimpleNamespace(rows=[])), found) is None
    assert score_results.picked(SimpleNamespace(selection=SimpleNamespace(rows=[3])), found) is None  # stale
    assert score_results.picked(None, found) is None


# ---------------------------------------------------------------- the page

def test_the_score_page_searches_and_filters_its_results_and_downloads_these_rows(engine):
    frame = _tweets()
    data = _data(frame)
    at = _score(_app(), "Tweets.csv", data)
    assert len(_table(at, FLAG_COL)) == len(frame)
    table = _table(at, FLAG_COL)
    assert list(table.columns[:4]) == ["tweet_id", "text", SCORE_COL, FLAG_COL]  # item 3
    at.text_input(key=_key(data, "search")).input("refund").run()
    _labeled(at.multiselect, "Filter by the values of").select("airline").run()
    _labeled(at.multiselect, "Values of airline").select("Virgin America").run()
    ok(at)
    texts = frame["text"].fillna("")
    expected = frame[texts.str.contains("refund") & (frame["airline"] == "Virgin America")]
    shown = _table(at, FLAG_COL)
    assert shown["tweet_id"].astype(str).tolist() == expected["tweet_id"].astype(str).tolist() and len(shown)
    assert f"**{len(expected):,}** of {len(frame):,} rows match." in [c.value for c in at.caption]
    labels = [b.label for b in at.get("download_button")]
    assert labels[:2] == [f"These {len(expected):,} rows (CSV)", f"These {len(expected):,} rows (Excel)"]
    assert any(b.label == f"Send these {len(expected):,} rows to labeling" for b in at.button)

    _labeled(at.slider, "Score between").set_value((0.0, 0.5)).run()  # the stub scores refunds 0.9
    assert f"**0** of {len(frame):,} rows match." in [c.value for c in at.caption]
    _labeled(at.slider, "Score between").set_value((0.0, 1.0)).run()
    next(s for s in at.selectbox if s.label == "Show").set_value("not flagged").run()
    assert _table(at, FLAG_COL).empty


def test_why_this_score_reaches_any_row_of_the_file_and_names_rows_by_its_ids(engine, monkeypatch):
    from engage.ui import explain_panel

    handed = []
    monkeypatch.setattr(explain_panel, "show", lambda frame, row, text_col, *_: handed.append(
        None if row is None else frame[text_col].iloc[row]))
    frame = _tweets(1_200)
    data = _data(frame)
    at = _score(_app(), "Tweets.csv", data)
    ids = frame["tweet_id"].astype(str)
    # Item 4: the notes name rows by the file's ids, as the table shows them.
    empty = next(i.value for i in at.info if "empty message" in i.value)
    assert f"tweet\\_id {ids[4]}" in empty
    spanish = next(i.value for i in at.info if "non-English" in i.value)
    assert f"tweet\\_id {ids[3]}, {ids[10]}" in spanish
    # Item 2: the table selects rows; more matching rows than a list holds: any row of the file by its id.
    assert next(d for d in at.dataframe if FLAG_COL in d.value.columns).proto.selection_mode
    at.text_input(key=_key(data, "explain_id")).input(ids[1_150]).run()
    ok(at)
    assert handed[-1] == frame["text"][1_150]
    at.text_input(key=_key(data, "explain_id")).input("12345").run()
    assert any("No row has tweet" in w.value for w in at.warning)
    # Narrowed by the search, every matching row is listed, the last ones of the file too.
    at.text_input(key=_key(data, "search")).input("VirginAmerica refund").run()
    chooser = at.selectbox(key=_key(data, "explain"))
    matching = np.flatnonzero(frame["text"].str.contains("VirginAmerica still waiting on my refund"))
    assert chooser.options == [f"tweet_id {ids[i]}: {frame['text'][i]}" for i in matching]
    chooser.select_index(len(matching) - 1).run()
    assert handed[-1] == frame["text"][matching[-1]] and matching[-1] > 1_000


def test_a_reload_keeps_the_last_result_of_the_browser_tab(engine):
    frame = _tweets()
    at = _score(_app(), "Tweets.csv", _data(frame))
    tab = at.session_state["engage_tab"]

    reloaded = AppTest.from_file(APP, default_timeout=TIMEOUT)  # a reload: a new session, the same URL
    reloaded.query_params["tab"] = tab
    reloaded.run()
    ok(reloaded)
    assert any(i.value.startswith("Showing the results for Tweets\\.csv") for i in reloaded.info)
    assert len(_table(reloaded, FLAG_COL)) == len(frame)
    assert len(engine["stub-a"].calls) == 1  # shown again, not scored again

    other = AppTest.from_file(APP, default_timeout=TIMEOUT)  # another tab: nothing of this one's
    other.run()
    assert not [d for d in other.dataframe if FLAG_COL in d.value.columns]


def test_a_top_k_threshold_is_for_this_file_unless_pinned(engine):
    frame = _tweets()
    at = _score(_app(), "Tweets.csv", _data(frame))
    at.selectbox(key="threshold_score_chooser").select("a top-K capacity").run()
    at.number_input(key="threshold_score_top_k").set_value(5)
    at.button(key="threshold_score_apply").click().run()
    expected = choose_threshold(None, stub_scores(frame["text"].fillna("").tolist()), "top_k", 5)
    assert at.slider(key="threshold_score_slider").value == pytest.approx(expected)
    assert not at.checkbox(key="threshold_score_pin").value
    at = _score(at, "next.csv", _data(_tweets(30)))
    assert at.slider(key="threshold_score_slider").value == pytest.approx(THRESHOLD)  # the model's own


def test_the_labeling_card_names_a_sent_row_as_the_score_page_does(engine):
    frame = _tweets()
    data = _data(frame)
    at = _score(_app(), "Tweets.csv", data)
    at.button(key="label_send").click().run()
    ok(at)
    at.switch_page("engage/ui/pages/label.py").run()
    at.text_input(key="label_name_input").input("ana")
    next(b for b in at.button if b.label == "Start labeling").click()
    at.run()
    ok(at)
    shown = at.text[0].value
    row = frame.index[frame["text"] == shown][0]
    caption = next(c.value for c in at.caption if "of the file" in c.value)
    assert caption.startswith(f"tweet\\_id {frame['tweet_id'][row]} of the file · score ")
