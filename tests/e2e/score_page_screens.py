"""Before/after screenshots of issue 24's items 1-3 (the Score page's results) in headless Chromium (not a test: a
script).

    PYTHONPATH=$PWD .venv/bin/python tests/e2e/score_page_screens.py --tag after
    PYTHONPATH=$PWD .venv/bin/python tests/e2e/score_page_screens.py --tag before --app-root ../old-checkout

The file is airline-like: 1,500 tweets, 15 columns (the text the 11th), and the tweets to one airline (Virgin
America) only after row 1,000. PNGs go to test-artifacts/ux/issue24-ITEM-TAG.png.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from ux_screens import _score, _serve, _settled, _shot

from engage.testing.app_world import build_app_world, labeled_frame
from engage.testing.browser import launch_chromium

AIRLINES = {"United": "united", "Delta": "JetBlue", "American": "AmericanAir", "Southwest": "SouthwestAir",
            "US Airways": "USAirways"}
ROWS, LATE = 1500, 1000


def airline_frame(rows: int = ROWS) -> pd.DataFrame:
    """The Kaggle airline file's columns; tweets to Virgin America only from row LATE on."""
    base = labeled_frame(rows, seed=7)
    names = list(AIRLINES)
    airline = [names[i % len(names)] if i < LATE else "Virgin America" for i in range(rows)]
    handle = {**AIRLINES, "Virgin America": "VirginAmerica"}
    text = [f"@{handle[a]} " + t.split(" ", 1)[-1] if t else t for a, t in zip(airline, base["text"], strict=True)]
    rng = np.random.default_rng(7)
    return pd.DataFrame({
        "tweet_id": 570306133677760513 + np.arange(rows) * 7919,
        "airline_sentiment": rng.choice(["negative", "neutral", "positive"], rows),
        "airline_sentiment_confidence": rng.random(rows).round(4),
        "negativereason": rng.choice(["Late Flight", "Customer Service Issue", "Lost Luggage", ""], rows),
        "negativereason_confidence": rng.random(rows).round(4),
        "airline": airline,
        "airline_sentiment_gold": "",
        "name": [f"traveler{i % 97}" for i in range(rows)],
        "negativereason_gold": "",
        "retweet_count": rng.integers(0, 3, rows),
        "text": text,
        "tweet_coord": "",
        "tweet_created": [f"{1 + i % 28:02d}/02/2015 {i % 24:02d}:{i % 60:02d}" for i in range(rows)],
        "tweet_location": rng.choice(["Boston", "NYC", "Austin", ""], rows),
        "user_timezone": rng.choice(["Eastern Time (US & Canada)", "Pacific Time (US & Canada)"], rows),
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--app-root", default=str(Path(__file__).resolve().parents[2]))
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "engage-score-page-screens"))
    args = parser.parse_args()
    work = Path(args.work)
    world = build_app_world(work / "world")
    tweets = work / "Tweets.csv"
    airline_frame().to_csv(tweets, index=False)

    from playwright.sync_api import sync_playwright

    env = world.env() | {"ENGAGE_DATA_DIR": str(work / f"data-{args.tag}")}
    process, url = _serve(Path(args.app_root), env, work / f"streamlit-{args.tag}.log")
    after = args.tag != "before"
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.get_by_text("Score messages").wait_for()
            _score(page, tweets)
            # item 3: where the text and the score sit in the page's table
            _shot(page, f"issue24-item3-{args.tag}", "Flagged rows only" if not after else "Search the messages",
                  "Why this score")
            if after:  # item 1: a search and an airline filter, with the count of matches and "these rows"
                page.get_by_role("textbox", name="Search the messages").fill("refund")
                page.keyboard.press("Enter")
                _settled(page)
                for box, option in (("Filter by the values of", "airline"), ("Values of airline", "Virgin America")):
                    page.locator('[data-testid="stMultiSelect"]').filter(has_text=box).locator("input").first.click()
                    page.get_by_role("option", name=option, exact=True).click()
                    page.keyboard.press("Escape")
                    _settled(page)
            _shot(page, f"issue24-item1-{args.tag}", "Results", "All rows with scores (Excel)")
            # item 2: "Why this score?" for a tweet to Virgin America (all after row 1,000)
            box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Why this score")
            box.locator('input[role="combobox"]').click()
            page.keyboard.type("VirginAmerica")
            page.wait_for_timeout(1500)
            if after and page.get_by_role("option").count():
                page.get_by_role("option").first.click()
                _settled(page)
                page.get_by_text("vs threshold").first.wait_for(timeout=60_000)
                _settled(page)
            _shot(page, f"issue24-item2-{args.tag}", "Why this score")
            browser.close()
    finally:
        from engage.testing.browser import stop_app
        stop_app(process)


if __name__ == "__main__":
    main()
