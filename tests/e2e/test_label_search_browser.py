"""Search and bulk labels in real headless Chromium (issue 23 items 1 and 3): search a set, tick three matches,
bulk-label them with Shift+E, undo with U, and at each step the label database holds what the page says. The
screenshot of search + bulk labeling in the README is taken here."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from engage.labels import LabelStore
from engage.labels.search import SearchQuery
from engage.testing.browser import ROOT, settled, start_app, stop_app
from engage.testing.label_world import db_path, make_set, open_label_page
from tests.e2e.conftest import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
WORD = "arrived"
SCREENSHOT = ROOT / "test-artifacts" / "label-search.png"
GRID = '[data-testid="stDataFrame"]'


@pytest.fixture(scope="module")
def search_server(chromium_path, e2e_world, tmp_path_factory) -> Iterator[tuple[str, str]]:
    _, url = db_path(tmp_path_factory.mktemp("search"))
    process, app = start_app(e2e_world.env() | {"ENGAGE_DATABASE_URL": url}, ARTIFACTS / "streamlit-search.log")
    try:
        yield app, url
    finally:
        stop_app(process)


def _rows(page) -> list[list[str]]:
    """The matches table as its accessible grid reads (the canvas draws the same cells; the grid fills its
    accessible rows once it is on screen)."""
    page.locator(GRID).first.scroll_into_view_if_needed()
    rows = page.locator(f"{GRID} table tr")
    rows.nth(1).wait_for(state="attached")
    return [rows.nth(i).locator("td").all_inner_texts() for i in range(1, rows.count())]


def _labels_shown(page, want: list[tuple[str, str]], seconds: float = 20.0) -> list[tuple[str, str]]:
    """The first rows' (your label, bulk) cells once they read `want`, or as they read after `seconds`: the grid
    redraws its accessible rows a moment after the rerun that changed them (seen late on a loaded machine)."""
    deadline = time.monotonic() + seconds
    while True:
        shown = [(r[5], r[6]) for r in _rows(page)[:len(want)]]
        if shown == want or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(250)


def _mine(db_url: str, set_id: int) -> list[tuple[str, int, bool]]:
    with LabelStore(db_url) as store:
        found = store.search(set_id, SearchQuery(status=("labeled",)), "ana").frame
    return [(t, int(y), b > 0) for t, y, b in found[["text", "yours", "bulk"]].itertuples(index=False)]


def test_search_tick_three_bulk_label_by_keyboard_undo(browser, search_server, e2e_world):
    app, db_url = search_server
    set_id, _ = make_set(e2e_world, db_url, "search")
    with LabelStore(db_url) as store:
        expected = store.search(set_id, SearchQuery(words=WORD), "ana").frame
        total = next(s.size for s in store.sets() if s.id == set_id)
    assert len(expected) >= 4
    page = browser.new_context(viewport={"width": 1400, "height": 1500}).new_page()
    page.set_default_timeout(180_000)  # the first page imports TensorFlow: minutes on a loaded machine
    open_label_page(page, app, "ana")
    page.set_default_timeout(60_000)

    box = page.get_by_role("textbox", name="Words and phrases")
    box.fill(WORD)
    box.press("Enter")
    page.get_by_text(f"of {total:,} messages match").wait_for()
    settled(page)
    assert page.get_by_text(f"{len(expected)} of {total:,} messages match").count() == 1
    shown = _rows(page)
    assert [r[1] for r in shown] == expected["text"].tolist()[:len(shown)]  # the engine's matches, file order
    assert len(shown) >= 4

    grid = page.locator(GRID).first
    grid.scroll_into_view_if_needed()
    top = grid.bounding_box()
    button = page.locator(".st-key-lsearch_bulk_1 button").first
    for i in range(3):  # the tick boxes of the first three rows (header 35 px, rows 35 px)
        page.mouse.click(top["x"] + 14, top["y"] + 35 + 17 + 35 * i)
        page.wait_for_function("([sel, n]) => { const b = document.querySelector(sel); "
                               "return b && b.innerText.startsWith(`Label ${n} engageable`); }",
                               arg=[".st-key-lsearch_bulk_1 button", i + 1])
        settled(page)
    assert button.inner_text().startswith("Label 3 engageable")  # the count, before it happens

    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # keys go to the page
    page.keyboard.press("Shift+E")
    page.get_by_text("Labeled 3 messages engageable as one bulk label").wait_for()
    settled(page)
    ticked = expected["text"].tolist()[:3]
    assert _mine(db_url, set_id) == [(t, 1, True) for t in ticked]
    # cells: row, message, score, predicted, labels, your label, bulk
    stored = [("engageable", "1")] * 3 + [("", "0")]
    assert _labels_shown(page, stored) == stored  # as stored
    page.get_by_text(f"3 of {total:,} messages labeled").wait_for()
    page.locator(".st-key-lsearch_scope").scroll_into_view_if_needed()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    head = page.get_by_text("Search this set", exact=True).bounding_box()
    page.screenshot(path=str(SCREENSHOT), clip={"x": 360, "y": max(head["y"] - 70, 0), "width": 980,
                                                "height": 900})

    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    page.keyboard.press("u")  # the card's undo: the whole batch, one step
    page.get_by_text("Undone: your bulk label 'engageable' of 3 messages, as one step.").wait_for()
    settled(page)
    assert _mine(db_url, set_id) == []
    assert _labels_shown(page, [("", "0")] * 3) == [("", "0")] * 3
    page.get_by_text(f"0 of {total:,} messages labeled").wait_for()
    with LabelStore(db_url) as store:
        assert store.audit()["action"].tolist()[:2] == ["bulk_undo", "bulk_label"]
    page.context.close()
