"""The Label page's review place through AppTest, with sign-in and roles: an analyst decides a disagreement and a
suspected error (the decision is the training label, the answers it overrules are kept, agreement before and
after; the Train page says how many disagreements are open); an annotator sees only their own labels and changes
one by answering again, and may not decide (the action refuses them on the server); ranking the labels from the
page."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from engage.label_loop import record_suspects, training_messages
from engage.labels import LabelStore
from engage.testing.app_world import AppWorld
from engage.ui.text import plain
from tests.apptests import APP, SIGN_IN, ok, opened, signed_in

pytestmark = pytest.mark.slow  # whole pages on the app world

LABEL = "engage/ui/pages/label.py"
TRAIN = "engage/ui/pages/train.py"
TIMEOUT = 120
ACCESS = """[access]
admins = ["boss@acme.example"]
analysts = ["carl@acme.example"]
annotators = ["@acme.example"]
"""
ADMIN, ANALYST, ANA, BEN = "boss@acme.example", "carl@acme.example", "ana@acme.example", "ben@acme.example"
TEXTS = ["my order never arrived", "loving the new lineup", "the app crashes at login", "great match last night"]


@pytest.fixture
def env(env, tmp_path, monkeypatch) -> tuple[AppWorld, str, Path]:
    (tmp_path / "engage.toml").write_text(ACCESS, encoding="utf-8")
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "engage.toml"))
    return env


def _app(email: str) -> AppTest:
    return opened(signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), email), LABEL)


def _labeled(url: str) -> tuple[int, list[int]]:
    """Ana and Ben label four messages and disagree on the second."""
    with LabelStore(url) as store:
        set_id = store.import_messages("inbox", TEXTS)
        ids = store.messages(set_id)["message_id"].tolist()
        for who, values in ((ANA, [1, 0, 1, 0]), (BEN, [1, 1, 1, 0])):
            for message_id, value in zip(ids, values, strict=True):
                store.label(message_id, who, value, set_id=set_id)
    return set_id, ids


def _captions(at: AppTest) -> str:
    return "\n".join(c.value for c in at.caption)


def test_an_analyst_decides_a_disagreement_and_the_training_label_follows(env):
    world, url, _ = env
    set_id, ids = _labeled(url)
    train = _app(ANALYST).switch_page(TRAIN).run()  # the Train page says what training does with the open one
    ok(train)
    assert "1 messages with disagreeing labels are not decided yet" in _captions(train)
    at = _app(ANALYST)
    ok(at)
    assert at.radio(key="review_list").options == ["Suspected errors", "Disagreements", "All labels"]
    assert "**87.5%** before review, **87.5%** after" in _captions(at)  # 7 of 8 labels equal the majority
    at.radio(key="review_list").set_value("Disagreements").run()
    ok(at)
    assert at.selectbox(key="review_pick").value == ids[1]
    assert f"{plain(BEN)}: engageable" in _captions(at) and f"{plain(ANA)}: not engageable" in _captions(at)
    at.button(key="review_decide_0").click().run()
    ok(at)
    assert "Decided: not engageable" in at.success[0].value
    with LabelStore(url) as store:
        made = store.decisions(set_id)
        assert made[["message_id", "value", "reviewer", "source"]].values.tolist() == [[ids[1], 0, ANALYST,
                                                                                       "dispute"]]
        assert made["before"].iloc[0]["labels"] == {ANA: 0, BEN: 1}
        gold = training_messages(store, set_id)
        assert gold.labels[gold.texts.index(TEXTS[1])] == 0
        assert len(store.export(set_id, fmt="jsonl", history=True).decode().splitlines()) == 8  # answers kept
    assert "1 decided in review, 0 open" in _captions(at)
    assert "not decided yet" not in _captions(_app(ANALYST).switch_page(TRAIN).run())
    assert "**87.5%** before review, **87.5%** after (1 training labels changed by review)" in _captions(at)
    history = next(d.value for d in at.dataframe if "reviewer" in d.value.columns)
    assert history[["reviewer", "decision", "found in"]].values.tolist() == [[ANALYST, "not engageable", "dispute"]]


def test_an_analyst_works_the_suspected_errors_queue(env):
    world, url, _ = env
    set_id, ids = _labeled(url)
    with LabelStore(url) as store:
        messages = training_messages(store, set_id)
        oof = np.array([0.9 if t in (TEXTS[0], TEXTS[2]) else 0.1 for t in messages.texts])
        oof[messages.texts.index(TEXTS[3])] = 0.95  # labeled 0 by both: the model says otherwise
        record_suspects(store, messages, oof, "fixture-a")
    at = _app(ANALYST)
    ok(at)
    queue = next(d.value for d in at.dataframe if "rank" in d.value.columns)
    assert queue["text"].iloc[0] == TEXTS[3] and queue["rank"].iloc[0] == 1
    assert at.selectbox(key="review_pick").value == ids[3]
    at.button(key="review_decide_1").click().run()
    ok(at)
    with LabelStore(url) as store:
        assert store.decisions(set_id)["source"].tolist() == ["suspect"]
        assert ids[3] not in store.suspects(set_id)["message_id"].tolist()  # reviewed: out of the queue
    queue = next(d.value for d in at.dataframe if "rank" in d.value.columns)
    assert TEXTS[3] not in queue["text"].tolist()


def test_an_annotator_changes_only_their_own_older_label_and_may_not_decide(env):
    world, url, _ = env
    set_id, ids = _labeled(url)
    at = _app(ANA)
    ok(at)
    assert at.radio(key="review_list").options == ["My labels"]
    listed = next(d.value for d in at.dataframe if "annotator" in d.value.columns)
    assert set(listed["annotator"]) == {ANA} and len(listed) == 4  # older than any undo reaches, all of them
    assert not [b for b in at.button if b.key and b.key.startswith("review_decide")]
    at.selectbox(key="review_pick").set_value(ids[0]).run()
    at.button(key="review_mine_0").click().run()
    ok(at)
    with LabelStore(url) as store:
        mine = store.active_labels(set_id)
        assert mine[(mine["annotator"] == ANA) & (mine["message_id"] == ids[0])]["value"].tolist() == [0]
        history = store.export(set_id, fmt="jsonl", history=True).decode()
        assert history.count(f'"annotator":"{ANA}"') == 5  # the earlier answer is kept
        assert store.decisions().empty


def _decide_directly() -> None:
    """A page that calls the review action itself, as a forged request that reached it would."""
    import streamlit as st

    from engage.ui import review_panel, state
    from engage.ui.errors import run_page

    store = state.label_store()
    message_id = int(store.messages(store.sets()[0].id)["message_id"].iloc[0])
    run_page(lambda: st.success(review_panel.decide(store, message_id, 0, "dispute", None)))


@pytest.mark.parametrize("email", [ANA, ANALYST])
def test_the_review_action_itself_refuses_an_annotator(env, email):
    world, url, _ = env
    _labeled(url)
    at = AppTest.from_function(_decide_directly, default_timeout=TIMEOUT)
    at.secrets["auth"] = SIGN_IN
    at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    with LabelStore(url) as store:
        decided = store.decisions()
    if email == ANA:
        assert not at.success and at.error[0].value.startswith(f"{ANA} is an annotator")
        assert decided.empty
    else:
        assert at.success and decided["reviewer"].tolist() == [ANALYST]


def test_an_admin_ranks_the_labels_from_the_page(env):
    world, url, _ = env
    set_id, ids = _labeled(url)
    with LabelStore(url) as store:  # enough of each class for the folds: 10 more labels
        more = store.import_messages("more", [f"{t} #{i}" for i in range(5) for t in TEXTS[:2]])
        for i, message_id in enumerate(store.messages(more)["message_id"]):
            store.label(int(message_id), ANA, 1 - i % 2, set_id=more)
    at = _app(ADMIN)
    ok(at)
    at.button(key="review_rank").click().run()
    ok(at)
    assert "Ranked 14 labels by how likely each is wrong." in at.success[0].value
    with LabelStore(url) as store:
        ranked = store.suspects(reviewed=True)
    assert sorted(ranked["rank"]) == list(range(1, 15)) and set(ranked["model"]) == {"fixture-a"}
