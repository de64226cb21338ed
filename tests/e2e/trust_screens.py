"""Before/after screenshot of issue 24's item 5 in headless Chromium (not a test: a script): the Evaluate page on the
file the active version was trained on.

    PYTHONPATH=$PWD .venv/bin/python tests/e2e/trust_screens.py --tag after
    PYTHONPATH=$PWD .venv/bin/python tests/e2e/trust_screens.py --tag before --app-root ../old-checkout

The app is served from --app-root (default: this checkout) on 127.0.0.1; the world (fixture ELMo, two versions
trained on labeled.csv, 10 % held out) is built by this checkout under --work, so its versions record their
training texts; an older checkout's app ignores that record. PNG: test-artifacts/ux/issue24-item5-TAG.png.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from engage.testing.app_world import build_app_world
from engage.testing.browser import ROOT, launch_chromium, stop_app
from tests.e2e.ux_screens import _score, _serve, _settled, _shot


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--app-root", default=str(ROOT))
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "engage-trust-screens"))
    args = parser.parse_args()
    work = Path(args.work)
    world = build_app_world(work / "world")

    from playwright.sync_api import sync_playwright

    env = world.env() | {"ENGAGE_DATA_DIR": str(work / f"data-{args.tag}")}
    process, url = _serve(Path(args.app_root), env, work / f"streamlit-{args.tag}.log")
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.get_by_text("Score messages").wait_for()
            _score(page, world.csv)  # the file fixture-a (active) was trained on
            page.get_by_role("link", name="Evaluate").click()
            page.get_by_text("Mistakes, most confident first").wait_for()
            _settled(page)
            _shot(page, f"issue24-item5-{args.tag}", "messages, labels from column")
            browser.close()
    finally:
        stop_app(process)


if __name__ == "__main__":
    main()
