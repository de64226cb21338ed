"""Before/after screenshots of issue 24 item 11 (the label card with the file's columns), in headless Chromium.
Not a test: a script.

    PYTHONPATH=$PWD .venv/bin/python tests/e2e/label_context_screens.py --tag after
    PYTHONPATH=$PWD .venv/bin/python tests/e2e/label_context_screens.py --tag before --app-root /work/main

The app is served from --app-root (default: this checkout) on 127.0.0.1 with no model (no ELMo needed: the card
says "no model score yet" on both sides); a small file shaped like the airline export (tweet_id, airline, name,
text, tweet_created, ...) is imported on the Label page as a user would, and on the after side the columns
airline, name and tweet_created are picked for the card. PNGs go to test-artifacts/ux/item11-TAG.png.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from engage.testing.browser import ROOT, launch_chromium, stop_app
from tests.e2e.ux_screens import OUT, _serve, _settled

TWEETS = pd.DataFrame({
    "tweet_id": ["570306133677760513", "570301130888122368", "570301083672813571", "570301031407624196"],
    "airline_sentiment": ["neutral", "negative", "negative", "positive"],
    "airline": ["Virgin America", "United", "Delta", "Southwest"],
    "name": ["cairdin", "jnardino", "yvonnalynn", "Rlb1981"],
    "retweet_count": [0, 0, 1, 0],
    "text": ["@VirginAmerica What @dhepburn said.",
             "@united my bag has been lost for three days and nobody answers the phone",
             "@Delta flight delayed again, can someone help me rebook?",
             "@SouthwestAir thanks for the great crew today!"],
    "tweet_created": ["2015-02-24 11:35:52 -0800", "2015-02-24 11:15:59 -0800", "2015-02-24 11:15:48 -0800",
                      "2015-02-24 11:15:36 -0800"],
    "tweet_location": ["", "Los Angeles", "", "San Francisco CA"],
    "user_timezone": ["Eastern Time (US & Canada)", "Pacific Time (US & Canada)", "Central Time (US & Canada)",
                      "Pacific Time (US & Canada)"],
})
PICKED = ("airline", "name", "tweet_created")


def _pick_columns(page) -> None:
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Columns to show on the card")
    for column in PICKED:
        box.locator('input[role="combobox"]').first.click()
        page.get_by_role("option", name=column, exact=True).click()
        _settled(page)
    page.keyboard.press("Escape")
    page.mouse.click(5, 5)
    _settled(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--app-root", default=str(ROOT))
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "engage-label-context-screens"))
    args = parser.parse_args()
    work = Path(args.work) / args.tag
    shutil.rmtree(work, ignore_errors=True)  # a fresh label database: the import below is the first
    (work / "models").mkdir(parents=True, exist_ok=True)
    source = work / "Tweets.csv"
    TWEETS.to_csv(source, index=False)

    from playwright.sync_api import sync_playwright

    env = {"ENGAGE_MODELS_DIR": str(work / "models"), "ENGAGE_DATA_DIR": str(work / "data"),
           "ENGAGE_CACHE_DIR": str(work / "cache")}
    process, url = _serve(Path(args.app_root), env, work / "streamlit.log")
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1300, "height": 1400})
            page.goto(f"{url}/label?annotator=ana")
            page.get_by_text("Label messages").first.wait_for(timeout=180_000)  # the first load imports a lot
            _settled(page)
            for _ in range(3):  # an upload sent while a run is still going can be dropped: send it again
                page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(source))
                try:
                    page.get_by_role("button", name="Import", exact=True).wait_for(timeout=30_000)
                    break
                except Exception:  # noqa: BLE001 - playwright's TimeoutError: try again
                    _settled(page)
            _settled(page)
            page.get_by_role("button", name="Import", exact=True).click()
            page.get_by_text("Imported 4 rows").wait_for(timeout=60_000)
            _settled(page)
            if args.tag != "before":
                try:
                    _pick_columns(page)
                except Exception:
                    page.screenshot(path=str(work / "failed.png"), full_page=True)
                    raise
            OUT.mkdir(parents=True, exist_ok=True)
            top = page.get_by_text("Labeling set", exact=True).first.bounding_box()["y"] - 10
            bottom = page.get_by_text("Keys:", exact=False).first.bounding_box()["y"] + 40
            page.screenshot(path=str(OUT / f"item11-{args.tag}.png"),
                            clip={"x": 250, "y": max(top, 0), "width": 1050, "height": bottom - top})
            browser.close()
    finally:
        stop_app(process)
    print(OUT / f"item11-{args.tag}.png")


if __name__ == "__main__":
    main()
