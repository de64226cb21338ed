"""Seconds from upload to scored table for 10,000 messages in the real browser: the first time (empty embedding
cache) and again from cache (the same browser reopening the app, a new session, uploading the same file).

The messages are the complaints train+test texts, repeated with a row-index suffix until there are 10,000
distinct ones. The model is the active one of the project's models/ folder when there is one; otherwise a fixture
model is trained on a small ELMo-shaped TensorFlow model (engage/testing/hub_fixtures.py). It says which.

    .venv/bin/python bench/app_latency.py [--messages 10000] [--json]

Goal: under 30 s the first time, under 2 s from cache.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from engage import registry
from engage.testing.browser import CHROMIUM, launch_chromium, start_app, stop_app

ROOT = Path(__file__).resolve().parents[1]

COMPLAINTS = ROOT.parent / "shared" / "data" / "complaints"
GOALS = {"first": 30.0, "cached": 2.0}


def bench_messages(n: int) -> pd.DataFrame:
    """n distinct messages: the complaints texts (or the test world's, without ../shared) with a row suffix."""
    if COMPLAINTS.is_dir():
        source = pd.concat([pd.read_csv(COMPLAINTS / f, dtype=str, keep_default_na=False)
                            for f in ("train.csv", "test.csv")], ignore_index=True)
    else:
        from engage.testing.app_world import labeled_frame

        print(f"note: {COMPLAINTS} is absent; using generated messages", file=sys.stderr)
        source = labeled_frame(200).astype(str)
    rows = source.iloc[[i % len(source) for i in range(n)]].reset_index(drop=True)
    rows["text"] = [f"{text} [{i}]" for i, text in enumerate(rows["text"])]
    return rows[[c for c in ("id", "text", "engage", "domain") if c in rows.columns]]


def model_env(work: Path) -> tuple[dict[str, str], str]:
    """(environment for the app, which model): the project's active model, else a freshly trained fixture."""
    project = ROOT / "models"
    active = registry.active_name(project)
    if active is not None:
        return {"ENGAGE_MODELS_DIR": str(project)}, f"the project's active model '{active}' ({project})"
    from engage.testing.app_world import ACTIVE_VERSION, build_app_world

    world = build_app_world(work / "world")
    return ({"ENGAGE_MODELS_DIR": str(world.models)},
            f"fixture model '{ACTIVE_VERSION}' on a 16-dim ELMo-shaped TF SavedModel (no active model in {project})")


def _shown_without_click(page, said) -> bool:
    """Whether the app shows scores on upload (it does when they are cached); False once its run has ended."""
    idle = 0
    while idle < 3:
        if said.count():
            return True
        idle = idle + 1 if page.locator('[data-testid="stStatusWidget"]').count() == 0 else 0
        page.wait_for_timeout(100)
    return said.count() > 0


def upload_to_table(page, url: str, csv: Path) -> tuple[float, str]:
    """Seconds from choosing the file to the scored table on screen, and the app's own line about it."""
    page.goto(url)
    page.get_by_text("Score messages").wait_for()
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploader.wait_for(state="attached")  # the uploader shows once the model is loaded
    start = time.perf_counter()
    uploader.set_input_files(str(csv))
    page.get_by_text(f"Preview of {csv.name}").wait_for()
    previewed = time.perf_counter() - start
    said = page.get_by_text(f"messages of {csv.name} scored in")
    if not _shown_without_click(page, said):
        page.get_by_role("button", name="Score", exact=True).click()
        said.wait_for()
    page.locator('[data-testid="stDataFrame"]').nth(1).wait_for()  # the results, after the preview
    seconds = time.perf_counter() - start
    return seconds, f"{said.inner_text()} (preview after {previewed:.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is absent: run scripts/system-deps")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="engage-bench-") as tmp:
        work = Path(tmp)
        env, which = model_env(work)
        env["ENGAGE_CACHE_DIR"] = str(work / "cache")  # empty: the first time computes every embedding
        print(f"model: {which}")
        csv = work / "bench.csv"
        bench_messages(args.messages).to_csv(csv, index=False)
        process, url = start_app(env, work / "streamlit.log")
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                # One browser, as an analyst has: the second upload comes after reopening the app, a new
                # Streamlit session, so only the server's score cache (not this session's state) can help.
                page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
                page.set_default_timeout(600_000)
                results = {run: upload_to_table(page, url, csv) for run in ("first", "cached")}
                browser.close()
        finally:
            stop_app(process)
    summary = {"messages": args.messages, "model": which,
               **{f"{run}_s": round(seconds, 3) for run, (seconds, _) in results.items()},
               **{f"{run}_app_says": said for run, (_, said) in results.items()}}
    for run, (seconds, said) in results.items():
        verdict = "meets" if seconds < GOALS[run] else "misses"
        print(f"{run:>6}: {seconds:6.2f} s from upload to scored table ({verdict} the {GOALS[run]:.0f} s goal); "
              f"app: {said}")
    if args.json:
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
