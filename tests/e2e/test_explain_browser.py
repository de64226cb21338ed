"""Why this score in real headless Chromium: messages that are markup (an <img> with an onerror handler, a
<script>) are scored, chosen and explained, and show as text: a dialog opening (alert) fails the test."""

from __future__ import annotations

import pandas as pd
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from engage.testing.browser import settled
from tests.e2e.test_app_browser import _no_exception, _shot, _upload_and_score

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

XSS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script> my refund never came"]


def _choose(page, option: str) -> None:
    """Choose `option` in the "Why this score" box by keyboard: a mouse click on the open list that lands while the
    page reruns falls through to the table below and selects a row there, which replaces the box."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Why this score")
    wanted = page.get_by_role("option", name=option, exact=True)
    chosen = box.locator('input[role="combobox"]')
    for _ in range(5):  # bounded: a rerun may close the list before Enter
        chosen.focus()
        page.keyboard.type(option.split(":")[0] + ":")
        try:
            wanted.wait_for(timeout=10_000)
            page.keyboard.press("Enter")
            expect(chosen).to_have_value(option, timeout=5_000)
            settled(page)
            return
        except (PlaywrightTimeout, AssertionError):
            page.keyboard.press("Escape")
            settled(page)
    raise AssertionError(f"the explanation's box never showed {option!r}: {chosen.input_value()!r}")


def test_markup_messages_are_explained_as_text_and_run_nothing(page, app_url, tmp_path):
    dialogs: list[str] = []

    def on_dialog(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    csv = tmp_path / "markup.csv"
    pd.DataFrame({"text": XSS + ["thanks, all good"], "engage": [1, 1, 0]}).to_csv(csv, index=False)
    _upload_and_score(page, app_url, csv)
    _no_exception(page)
    for row, text in enumerate(XSS):
        _choose(page, f"row {row + 2}: {text}")  # rows as in the file: the header is row 1
        explained = page.locator(".engage-explained")
        expect(explained).to_have_text(text, timeout=60_000)  # the message, drawn as text (the new one)
        settled(page)
        assert explained.count() == 1 and explained.inner_text() == text
        assert explained.locator("img, script").count() == 0
        assert explained.locator(".engage-token").count() > 0
        assert page.get_by_text("vs threshold").count() >= 1
        _no_exception(page)
        page.wait_for_timeout(500)  # an injected <img src=x> would have fired its onerror by now
    _shot(page, "explain")
    assert page.locator('img[src="x"]').count() == 0
    assert dialogs == [], f"a dialog opened: {dialogs}"
