"""The Monitor page in headless Chromium on a month of simulated history (stored scores, no TensorFlow): charts
drawn, alerts shown, a sampled message with markup drawn as text, the banner on another page; a screenshot of the
page is saved as test-artifacts/monitor-page.png (committed: the issue's picture of a month of history)."""

from __future__ import annotations

import pytest

from engage.testing import monitor_stream
from engage.testing.browser import settled
from tests.e2e.conftest import ROOT, start_app, stop_app
from tests.test_monitor_stream import _record

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

XSS = '<img src=x onerror="document.title=\'pwned\'"> my parcel is lost <b>help</b>'
SHOT = ROOT / "test-artifacts" / "monitor-page.png"


@pytest.fixture(scope="module")
def monitor_app(chromium_path, complaints, tmp_path_factory):
    base = tmp_path_factory.mktemp("monitor-app")
    models = monitor_stream.shipped_with_texts(base / "models")
    url = f"sqlite:///{base / 'engage.sqlite'}"
    days = monitor_stream.stream_days(normal_days=27, changed_days=3, spike_day=20)
    last, part = days[-1]
    days[-1] = (last, part.assign(text=[XSS] * 5 + part["text"].tolist()[5:]))
    _record(url, days, source="support inbox")
    _record(url, monitor_stream.stream_days(normal_days=30, changed_days=0, seed=1), source="twitter")
    (base / "engage.toml").write_text("[monitor]\nkeep_texts_days = 0\n")
    env = {"ENGAGE_DATABASE_URL": url, "ENGAGE_MODELS_DIR": str(models), "ENGAGE_CONFIG": str(base / "engage.toml"),
           "ENGAGE_CACHE_DIR": str(base / "cache"), "ENGAGE_DATA_DIR": str(base / "data")}
    process, app = start_app(env, base / "streamlit.log")
    try:
        yield app
    finally:
        stop_app(process)


def test_monitor_page_in_chromium(monitor_app, page):
    page.goto(f"{monitor_app}/monitor")
    page.get_by_role("heading", name="Monitor").wait_for(timeout=120_000)
    settled(page, 120_000)
    page.locator('[data-testid="stVegaLiteChart"]').nth(4).wait_for(timeout=120_000)
    assert page.locator('[data-testid="stVegaLiteChart"]').count() >= 5
    assert page.get_by_text("text drift", exact=False).count() > 0
    page.get_by_text("Sampled messages of the period").click()
    settled(page, 120_000)
    assert page.title() != "pwned" and page.locator('img[src="x"]').count() == 0
    height = page.evaluate("() => Math.max(...[...document.querySelectorAll('[data-testid=\"stMain\"], "
                           "[data-testid=\"stAppViewContainer\"]')].map(e => e.scrollHeight))")
    page.set_viewport_size({"width": 1400, "height": min(int(height), 8000)})
    page.wait_for_timeout(1500)
    SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOT), full_page=True)
    page.goto(f"{monitor_app}/score")
    page.get_by_text("open monitor alert", exact=False).wait_for(timeout=60_000)
    assert page.title() != "pwned"


def test_alert_text_from_messages_is_escaped():
    from engage.ui.text import plain

    assert plain(XSS).count("\\<") == 3 and plain(XSS).startswith("\\<img")  # every < escaped
