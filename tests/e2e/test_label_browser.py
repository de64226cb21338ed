"""Labeling in real headless Chromium against `streamlit run` on a SQLite file: two tabs labeling one set at once
lose no label and never show the same message at the same moment; a server killed with SIGKILL mid-session loses
no label the page had acknowledged (by showing the next message)."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from engage.labels import LabelStore
from engage.testing.browser import start_app, stop_app
from engage.testing.label_world import db_path, display_log, make_set, open_label_page, press, shown, wait_next
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ROUNDS = 10


@pytest.fixture(scope="module")
def label_server(chromium_path, e2e_world, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(app url, database url) of a server whose label store is a SQLite file of this module."""
    _, url = db_path(tmp_path_factory.mktemp("labels"))
    process, app = start_app(e2e_world.env() | {"ENGAGE_DATABASE_URL": url}, ARTIFACTS / "streamlit-label.log")
    try:
        yield app, url
    finally:
        stop_app(process)


def _answers(db_url: str, set_id: int) -> pd.DataFrame:
    with LabelStore(db_url) as store:
        query = ("SELECT l.id, l.annotator, l.session, l.kind, l.value, m.text FROM labels l "
                 f"JOIN messages m ON m.id = l.message_id WHERE l.set_id = {int(set_id)} AND l.undone_at IS NULL "
                 "ORDER BY l.id")
        return pd.read_sql(query, store.engine)


def _no_overlap(first: list[dict], second: list[dict]) -> None:
    """No message was on both cards at once: each showing runs from its appearance to the key that answered it."""
    for a in first:
        for b in second:
            if a["text"] == b["text"]:
                a_end, b_end = a["answered"] or float("inf"), b["answered"] or float("inf")
                assert a_end <= b["start"] or b_end <= a["start"], f"both tabs showed {a['text']!r} at once"


@pytest.mark.parametrize("names", [("ana", "ana"), ("ana", "ben")], ids=["one-annotator-two-tabs", "two-annotators"])
def test_two_tabs_lose_no_label_and_never_share_a_message(browser, label_server, e2e_world, names):
    app, db_url = label_server
    set_id, _ = make_set(e2e_world, db_url, f"two-tabs-{'-'.join(names)}")
    pages = []
    for name in names:
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_label_page(page, app, name)
        pages.append(page)
    given: list[list[tuple[str, int | None]]] = [[], []]
    for round_ in range(ROUNDS):
        assert shown(pages[0]) != shown(pages[1])
        values = [(1, 0, None)[round_ % 3], (0, 1, 1)[round_ % 3]]
        texts = [press(page, value) for page, value in zip(pages, values, strict=True)]  # both at once
        for i, page in enumerate(pages):
            wait_next(page, texts[i])
            given[i].append((texts[i], values[i]))
    logs = [display_log(page) for page in pages]
    for page in pages:
        page.context.close()

    _no_overlap(*logs)
    answers = _answers(db_url, set_id)
    assert len(answers) == 2 * ROUNDS
    assert answers["session"].nunique() == 2
    for session in answers.drop_duplicates("session")["session"]:
        mine = answers[answers["session"] == session]
        recorded = [(t, None if k == "skip" else int(v)) for t, k, v in mine[["text", "kind", "value"]].values]
        expected = next(g for g in given if g[0][0] == recorded[0][0])
        assert recorded == expected  # every key press, once, with its value, on the message that tab showed
    if names[0] == names[1]:
        assert answers["text"].is_unique  # one annotator in two tabs never answers a message twice


def test_sigkill_loses_no_acknowledged_label(browser, e2e_world, tmp_path):
    _, db_url = db_path(tmp_path)
    set_id, _ = make_set(e2e_world, db_url, "sigkill")
    process, app = start_app(e2e_world.env() | {"ENGAGE_DATABASE_URL": db_url}, ARTIFACTS / "streamlit-kill.log")
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_label_page(page, app, "ana")
        acknowledged = []
        for value in (1, 0, 1, None, 0, 1):
            text = press(page, value)
            wait_next(page, text)  # the page shows the next message: the answer was acknowledged
            acknowledged.append((text, value))
        unacknowledged = press(page, 1)  # and one more, killed before its answer is shown
    finally:
        process.kill()  # SIGKILL: no shutdown, no flush
        process.wait()
        context.close()
    stop_app(process)
    answers = _answers(db_url, set_id)
    recorded = [(t, None if k == "skip" else int(v)) for t, k, v in answers[["text", "kind", "value"]].values]
    assert recorded[:len(acknowledged)] == acknowledged
    assert recorded[len(acknowledged):] in ([], [(unacknowledged, 1)])
    with LabelStore(db_url) as store:
        assert pd.read_sql("PRAGMA integrity_check", store.engine).iloc[0, 0] == "ok"


@pytest.mark.parametrize("how", ["keys", "clicks"])
def test_a_second_answer_before_the_next_message_shows_answers_nothing(browser, label_server, e2e_world, how):
    """Two answers in a row, the second before the browser could show the next message: only the message that was
    on screen is answered; the next one arrives unanswered (the page's answer guard)."""
    app, db_url = label_server
    set_id, _ = make_set(e2e_world, db_url, f"double-{how}")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_label_page(page, app, f"quick-{how}")
        rounds = []
        for _ in range(3):
            first = shown(page)
            if how == "keys":
                page.keyboard.press("e")
                page.keyboard.press("e")
            else:  # raw mouse clicks: a locator's click() would wait for the page to settle first
                box = page.locator(".st-key-label_yes button").bounding_box()
                page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
                page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            wait_next(page, first)
            page.wait_for_timeout(1000)  # anything still on its way to the server lands
            rounds.append((first, shown(page)))
    finally:
        context.close()
    answers = _answers(db_url, set_id)
    assert answers["text"].tolist() == [first for first, _ in rounds]  # one answer per round, on what was shown
    assert rounds[-1][1] not in answers["text"].tolist()  # the message now on the card waits for its answer


def test_keys_answer_again_after_the_queue_order_is_changed_with_the_mouse(browser, label_server, e2e_world):
    """A selectbox keeps the focus after a choice, and a key typed into it is a search, not an answer: after a
    control change the page hands the keys back to the card (label_card's page script)."""
    app, db_url = label_server
    set_id, _ = make_set(e2e_world, db_url, "order-change")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_label_page(page, app, "order-keys")
        page.locator(".st-key-label_order").get_by_role("combobox").click()  # the mouse, as a person would
        page.get_by_role("option", name="file order").click()
        page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached")
        page.wait_for_timeout(500)
        first = shown(page)
        page.screenshot(path=str(ARTIFACTS / "keys-after-queue-order-before-key.png"))
        page.keyboard.press("e")
        wait_next(page, first, timeout_ms=10_000)
        page.screenshot(path=str(ARTIFACTS / "keys-after-queue-order-after-key.png"))
    finally:
        context.close()
    answers = _answers(db_url, set_id)
    assert answers[["text", "kind", "value"]].values.tolist() == [[first, "label", 1]]
