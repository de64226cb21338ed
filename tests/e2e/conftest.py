"""Browser fixtures: the app served by `streamlit run` on a free port, and headless Chromium (the Debian package,
never a downloaded browser) driven by Playwright (engage/testing/browser.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from engage.testing.app_world import AppWorld
from engage.testing.browser import CHROMIUM, ROOT, launch_chromium, start_app, stop_app

ARTIFACTS = ROOT / "test-artifacts" / "e2e"


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install the Debian package chromium (scripts/system-deps does)")
    return CHROMIUM


@pytest.fixture(scope="session")
def e2e_world(world) -> AppWorld:
    """The same world the AppTests use (tests/conftest.py), built once per session."""
    return world


@pytest.fixture(scope="module")
def app_url(chromium_path, e2e_world) -> Iterator[str]:
    process, url = start_app(e2e_world.env(), ARTIFACTS / "streamlit.log")
    try:
        yield url
    finally:
        stop_app(process)


@pytest.fixture(scope="module")
def browser(chromium_path) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
