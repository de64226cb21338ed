"""Milliseconds from a key press on the Label page to the next message shown, in real headless Chromium against
`streamlit run` with a SQLite label database: median (and p90, max) over 100 labels.

Timed inside the browser: a capturing keydown listener stamps the press (performance.now()), a MutationObserver
stamps the moment the card's text changes. The press goes through Streamlit's shortcut, the callback commits the
label (SQLite WAL, synchronous FULL), the card fragment claims and draws the next message.

The model does not matter here (the set's scores are stored before): the test world's fixture model scores it.

    .venv/bin/python bench/label_latency.py [--labels 100] [--think-ms 0] [--post-script-gc] [--json]

Goal: median under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from engage.testing.app_world import build_app_world
from engage.testing.browser import CHROMIUM, launch_chromium, start_app, stop_app
from engage.testing.label_world import CARD_TEXT, KEYS, db_path, make_set, open_label_page, shown

GOAL_MS = 300.0
WARMUP = 3

_ARM = """() => {
  window.__lap = {key: null, shown: null};
  const before = document.querySelector('CARD').innerText;
  document.addEventListener('keydown', () => { window.__lap.key = performance.now(); }, {capture: true, once: true});
  const observer = new MutationObserver(() => {
    const el = document.querySelector('CARD');
    if (window.__lap.key !== null && (!el || el.innerText !== before)) {
      window.__lap.shown = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
}""".replace("CARD", CARD_TEXT)


def lap(page, value: int | None, think_ms: float = 0.0) -> float:
    """One label, `think_ms` after the card showed its message: milliseconds from the key down to the next one."""
    if think_ms:
        page.wait_for_timeout(think_ms)
    page.evaluate(_ARM)
    page.keyboard.press(KEYS[value])
    page.wait_for_function("() => window.__lap.shown !== null", timeout=30_000, polling=5)
    timing = page.evaluate("() => window.__lap")
    return timing["shown"] - timing["key"]


def run(n_labels: int, post_script_gc: bool = False, think_ms: float = 0.0) -> dict:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="engage-label-bench-") as tmp:
        work = Path(tmp)
        world = build_app_world(work / "world")
        _, db_url = db_path(work)
        set_id, texts = make_set(world, db_url, "bench", rows=n_labels + WARMUP + 20)
        env = world.env() | {"ENGAGE_DATABASE_URL": db_url}
        # The project's .streamlit/config.toml turns it off; the flag turns it back on, to compare.
        env["STREAMLIT_RUNNER_POST_SCRIPT_GC"] = "true" if post_script_gc else "false"
        process, url = start_app(env, work / "streamlit.log")
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(60_000)
                open_label_page(page, url, "bench")
                values = [(1, 0)[i % 2] for i in range(WARMUP + n_labels)]
                start = time.perf_counter()
                laps = [lap(page, value, think_ms) for value in values]
                wall = time.perf_counter() - start
                left = shown(page)
                browser.close()
        finally:
            stop_app(process)
        from engage.labels import LabelStore

        with LabelStore(db_url) as store:
            recorded = store.progress(set_id).by_annotator["bench"].labeled
    timed = laps[WARMUP:]
    ordered = sorted(timed)
    return {"labels": n_labels, "warmup": WARMUP, "median_ms": statistics.median(timed),
            "p90_ms": ordered[int(0.9 * (len(ordered) - 1))], "max_ms": ordered[-1], "min_ms": ordered[0],
            "labels_recorded": recorded, "labels_per_s": len(laps) / wall, "goal_median_ms": GOAL_MS,
            "set_messages": len(texts), "card_after": left is not None, "post_script_gc": post_script_gc,
            "think_ms": think_ms, "chromium": str(CHROMIUM)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=100)
    parser.add_argument("--post-script-gc", action="store_true",
                        help="serve with runner.postScriptGC on (Streamlit's default: a full gc.collect() after every "
                             "run; the project's config turns it off)")
    parser.add_argument("--think-ms", type=float, default=0.0,
                        help="wait this long after each message appears before pressing (a person reading it); "
                             "0 presses back to back, the worst case")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is absent: install the Debian package chromium (scripts/system-deps does)")
    result = run(args.labels, post_script_gc=args.post_script_gc, think_ms=args.think_ms)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    verdict = "meets" if result["median_ms"] < GOAL_MS else "misses"
    gc = "on" if result["post_script_gc"] else "off"
    print(f"key press -> next message, over {result['labels']} labels (after {result['warmup']} warm-up; "
          f"runner.postScriptGC {gc}; {result['think_ms']:.0f} ms between a message and its key):\n"
          f"  median {result['median_ms']:.0f} ms · p90 {result['p90_ms']:.0f} ms · min {result['min_ms']:.0f} ms · "
          f"max {result['max_ms']:.0f} ms\n"
          f"  {result['labels_per_s']:.1f} labels/s end to end; {result['labels_recorded']} labels in the database\n"
          f"  goal: median under {GOAL_MS:.0f} ms: {verdict} it")


if __name__ == "__main__":
    main()
