"""The Label page's search panel (issue 23 items 1-3) through Streamlit's AppTest, on the stubbed engine of
tests/test_pages_stubbed.py (no trained world): search and its count, a refused pattern, ticking, bulk labels and
the card's one undo, more like this, and the role checks (an annotator searches but may not bulk-label)."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engage.cache import EmbeddingCache
from engage.labels import LabelStore
from engage.ui.label_search import Similar
from tests.apptests import APP, SIGN_IN, ok, opened, signed_in
from tests.test_pages_stubbed import engine  # noqa: F401  (the stubbed engine's fixture)

LABEL = "engage/ui/pages/label.py"
TIMEOUT = 60
TEXTS = ["Refund please, my order never came", "my refunds are late again", "hello world",
         "late again, really late", "lovely day", "lovely day!!"]
ACCESS = """[access]
admins = ["boss@acme.example"]
analysts = ["carl@acme.example"]
annotators = ["@acme.example"]
"""


@pytest.fixture
def labeling(engine, tmp_path, monkeypatch):  # noqa: F811
    """A labeling set of TEXTS with scores in the stubbed app's label database: (store url, set id, message ids)."""
    import os

    url = os.environ["ENGAGE_DATABASE_URL"]
    with LabelStore(url) as store:
        set_id = store.import_messages("inbox.csv", TEXTS)
        ids = store.messages(set_id)["message_id"].tolist()
        store.store_scores(set_id, "stub-a", dict(zip(ids, [0.9, 0.8, 0.1, 0.6, 0.2, 0.3], strict=True)), 0.5)
    return url, set_id, ids


def _label_page(email: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if email is None:
        at.query_params["annotator"] = "ana"
    else:
        signed_in(at, email)
    return opened(at, LABEL)


def _search(at: AppTest, words: str = "", pattern: str = "") -> AppTest:
    at.text_input(key="lsearch_words").input(words)
    at.text_input(key="lsearch_regex").input(pattern)
    next(b for b in at.button if b.label == "Search").click()
    return at.run()


def _matches(at: AppTest):
    return next(d for d in at.dataframe if d.key and d.key.startswith("lsearch_table_"))


def _active(url: str) -> list[tuple]:
    with LabelStore(url) as store:
        frame = store.export(fmt="jsonl")
    import json

    return sorted((r["text"], r["annotator"], r["label"]) for r in map(json.loads, frame.decode().splitlines()))


def test_search_tick_bulk_label_and_one_undo_on_the_card(labeling):
    url, set_id, ids = labeling
    at = _label_page()
    ok(at)
    assert any("Search to see the matches" in c.value for c in at.caption)
    at = _search(at, words="refund")
    ok(at)
    assert any(m.value.startswith("**2** of 6 messages match") for m in at.markdown)
    table = _matches(at)
    assert table.value["text"].tolist() == TEXTS[:2] and table.value["score"].tolist() == [0.9, 0.8]
    at.session_state[table.key] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    ok(at)
    assert at.button(key="lsearch_focus").label == "Put row 2 on the card"
    assert at.radio(key="lsearch_scope").value == "ticked"
    assert at.button(key="lsearch_bulk_1").label == "Label 1 engageable"
    at.radio(key="lsearch_scope").set_value("all").run()
    button = at.button(key="lsearch_bulk_0")
    assert button.label == "Label 2 not engageable" and "2 get this label as one batch" in button.help
    button.click().run()
    ok(at)
    assert _active(url) == [(TEXTS[0], "ana", 0), (TEXTS[1], "ana", 0)]
    assert "Labeled 2 messages not engageable as one bulk label" in at.success[0].value
    with LabelStore(url) as store:
        trail = store.audit()
    assert trail.loc[0, "action"] == "bulk_label" and trail.loc[0, "detail"]["query"] == {"words": "refund"}
    assert _matches(at).value["yours"].tolist() == ["not engageable"] * 2
    at.button(key="label_undo").click().run()  # the card's undo (key U): the whole batch
    ok(at)
    assert _active(url) == []
    assert any("bulk label 'not engageable' of 2 messages" in i.value for i in at.info)
    assert _matches(at).value["yours"].tolist() == ["", ""]  # the whole page reran: the table says so too


def test_the_filters_and_a_refused_pattern(labeling):
    url, set_id, ids = labeling
    at = _label_page()
    at.multiselect(key="lsearch_predicted").set_value(["engageable"])
    at = _search(at, pattern=r"late\b")
    ok(at)
    assert _matches(at).value["text"].tolist() == [TEXTS[1], TEXTS[3]]
    at = _search(at, pattern="(late")
    assert not at.exception
    assert "not a valid regular expression: missing ) at position 5" in at.error[0].value


def test_putting_a_match_on_the_card_and_more_like_this(labeling, engine, tmp_path):  # noqa: F811
    url, set_id, ids = labeling
    at = _label_page()
    at = _search(at, words="lovely")
    table = _matches(at)
    at.session_state[table.key] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    at.button(key="lsearch_focus").click().run()
    ok(at)
    assert at.text[0].value == TEXTS[4]  # on the card now: E labels it
    at.button(key="label_yes").click().run()
    assert _active(url) == [(TEXTS[4], "ana", 1)]

    clf = engine["stub-a"]  # loaded by the page; give it a cache holding every message's vector
    clf.encoder.fingerprint, clf.cache = f"stub-{uuid.uuid4().hex}", EmbeddingCache(tmp_path / "vectors")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(TEXTS), 3, 16)).astype(np.float32)
    vectors[5] = vectors[4] + 0.01  # "lovely day!!" is a near-duplicate of "lovely day"
    clf.cache.put_many(clf.encoder.fingerprint, TEXTS, vectors)
    at.session_state["lsearch_similar"] = Similar(set_id, ids[4], 5)
    at.run()
    ok(at)
    near = _matches(at).value
    assert near["text"].tolist()[0] == TEXTS[5] and len(near) == len(TEXTS) - 1
    assert near["similarity"].iloc[0] > 0.99 and near["similarity"].is_monotonic_decreasing


@pytest.fixture
def roles(labeling, tmp_path, monkeypatch):
    (tmp_path / "engage.toml").write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "engage.toml"))
    return labeling


def _forged_bulk() -> None:
    """A page that calls the bulk action itself, as a forged request that reached it would."""
    import streamlit as st

    from engage.ui import label_search, state
    from engage.ui.errors import run_page

    def body() -> None:
        store = state.label_store()
        set_id = store.sets()[0].id
        label_search._bulk(store, set_id, store.messages(set_id)["message_id"].tolist(), "x", "tab", 1, {})
        st.write(st.session_state.get(label_search.KEY_PROBLEM) or st.session_state.get(label_search.KEY_NOTE))

    run_page(body)


def test_an_annotator_searches_but_may_not_bulk_label(roles):
    url, set_id, ids = roles
    at = _search(_label_page("ana@acme.example"), words="late")
    ok(at)
    assert len(_matches(at).value) == 2
    assert not any(b.key.startswith("lsearch_bulk") for b in at.button if b.key)
    assert any("Bulk labels are given by analysts and admins" in c.value for c in at.caption)
    forged = AppTest.from_function(_forged_bulk, default_timeout=TIMEOUT)
    forged.secrets["auth"] = SIGN_IN
    forged.user = {"is_logged_in": True, "email": "ana@acme.example", "email_verified": True}
    forged.run()
    assert "ana@acme.example is an annotator: only an analyst or above may label many messages at once" in \
        forged.markdown[0].value
    assert _active(url) == []
    at = _search(_label_page("carl@acme.example"), words="late")  # an analyst does
    at.radio(key="lsearch_scope").set_value("all").run()
    at.button(key="lsearch_bulk_1").click().run()
    ok(at)
    assert _active(url) == sorted([(TEXTS[1], "carl@acme.example", 1), (TEXTS[3], "carl@acme.example", 1)])
    with LabelStore(url) as store:
        assert store.audit().loc[0, "actor"] == "carl@acme.example"


def test_the_train_page_uses_bulk_labels_unless_told_not_to(labeling, monkeypatch):
    from engage.head import HeadConfig
    from tests.test_pages_stubbed import StubClassifier

    monkeypatch.setattr(StubClassifier, "config", HeadConfig(), raising=False)  # the Train page reads the head's
    url, set_id, ids = labeling
    with LabelStore(url) as store:
        store.label(ids[2], "ana", 0, set_id=set_id)
        store.bulk_label(set_id, ids[:2], "ana", 1)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("engage/ui/pages/train.py").run()
    ok(at)
    toggle = at.toggle(key="train_bulk")
    assert toggle.value is True and toggle.help.startswith("2 labels were given to many messages at once")
    assert next(m.value for m in at.metric if m.label == "Labeled messages") == "3"
    toggle.set_value(False).run()
    assert next(m.value for m in at.metric if m.label == "Labeled messages") == "1"
