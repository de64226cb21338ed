"""Before/after screenshots of issue 17's items 1, 4 and 6 in headless Chromium (not a test: a script).

    PYTHONPATH=$PWD .venv/bin/python tests/e2e/ux_screens.py --tag after
    PYTHONPATH=$PWD .venv/bin/python tests/e2e/ux_screens.py --tag before --app-root ../old-checkout

The app is served from --app-root (default: this checkout) on 127.0.0.1; the world (fixture ELMo, two versions,
files) is built by this checkout under --work. PNGs go to test-artifacts/ux/ITEM-TAG.png.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from engage.testing.app_world import build_app_world, labeled_frame
from engage.testing.browser import ROOT, free_port, healthy, launch_chromium, settled, stop_app

OUT = ROOT / "test-artifacts" / "ux"


def _serve(app_root: Path, env: dict[str, str], log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    streamlit = Path(sys.executable).with_name("streamlit")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(streamlit), "run", "streamlit_app.py", "--server.address", "127.0.0.1", "--server.port", str(port),
             "--server.headless", "true", "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=app_root, env=os.environ | env | {"PYTHONPATH": str(app_root), "TF_CPP_MIN_LOG_LEVEL": "2"},
            stdout=out, stderr=subprocess.STDOUT)
    for _ in range(300):  # at most about 90 s
        if healthy(url):
            return process, url
        if process.poll() is not None:
            break
        time.sleep(0.3)
    stop_app(process)
    raise RuntimeError(f"the app did not start: {log}")


def _settled(page) -> None:
    """The run the last action started has finished and nothing on the page is left over from the one before."""
    settled(page, 120_000, pause_ms=500)
    for _ in range(240):  # at most about 2 minutes
        if page.locator('[data-stale="true"]').count() == 0:
            break
        page.wait_for_timeout(500)
    page.wait_for_timeout(800)


def _upload(page, path: Path) -> None:
    held = page.locator('[data-testid="stFileUploaderDeleteBtn"]')
    if held.count():  # a file is already there: take it off first, as a user would
        held.first.click()
        _settled(page)
    for _ in range(3):  # an upload sent while a run is still going can be dropped: send it again
        page.locator('[data-testid="stFileUploader"] input[type="file"]').first.set_input_files(str(path))
        try:
            page.get_by_text(f"Preview of {path.name}").wait_for(timeout=30_000)
            break
        except Exception:  # noqa: BLE001 - playwright's TimeoutError: try again
            _settled(page)
    _settled(page)


def _score(page, path: Path) -> None:
    _upload(page, path)
    page.get_by_role("button", name="Score", exact=True).click()
    page.get_by_text(f"messages of {path.name} scored").wait_for()
    _settled(page)


def _slide_to(page, value: float) -> None:
    """The first threshold slider moved with the keyboard (0.01 a step) to value."""
    slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
    slider.focus()
    if value >= 1.0:
        slider.press("End")  # one change, not a hundred runs in a row
    for _ in range(200):
        now = float(slider.get_attribute("aria-valuetext"))
        if abs(now - value) < 0.005:
            break
        slider.press("ArrowRight" if now < value else "ArrowLeft")
        page.wait_for_timeout(30)
    page.wait_for_timeout(1500)
    _settled(page)
    page.mouse.click(5, 5)  # focus off the slider


def _shot(page, name: str, first: str, last: str | None = None) -> None:
    """A clip from the element holding `first` down to the end of `last` (or the viewport), as PNG."""
    page.set_viewport_size({"width": 1300, "height": 2600})
    _settled(page)
    top = page.get_by_text(first, exact=False).first.bounding_box()["y"] - 10
    bottom = top + 900
    if last is not None:
        box = page.get_by_text(last, exact=False).last.bounding_box()
        bottom = box["y"] + box["height"] + 15
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), clip={"x": 250, "y": max(top, 0), "width": 1050,
                                                          "height": max(bottom - top, 100)}, full_page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--app-root", default=str(ROOT))
    parser.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "engage-ux-screens"))
    args = parser.parse_args()
    work = Path(args.work)
    world = build_app_world(work / "world")
    files = work / "files"
    files.mkdir(parents=True, exist_ok=True)
    frame = labeled_frame(40)
    cases = files / "cases.csv"
    frame.assign(**{"Case ID": [f"CASE-2024-{i:06d}" for i in range(40)], "Channel": frame["domain"],
                    "Agent Notes": [f"called back the customer, ticket escalated to tier two, case {i}"
                                    for i in range(40)]}).rename(columns={"text": "Remark"})[
        ["Case ID", "Remark", "Channel", "Agent Notes", "engage"]].to_csv(cases, index=False)
    no_airline = labeled_frame()
    no_airline.loc[no_airline["domain"] == "airline", "engage"] = 0
    slices = files / "no-airline.csv"
    no_airline.to_csv(slices, index=False)
    other = files / "next-file.csv"
    labeled_frame(60, seed=3).to_csv(other, index=False)

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
            _upload(page, cases)  # item 1: the guessed text column
            _shot(page, f"item1-{args.tag}", "Messages file", "Score")

            page.goto(url)  # item 6: a threshold set for one file, then the next file
            page.get_by_text("Score messages").wait_for()
            _score(page, world.csv)
            _slide_to(page, 0.8)
            _score(page, other)
            _shot(page, f"item6-{args.tag}", "Results", "Share flagged")

            page.goto(url)  # item 4: undefined metrics
            page.get_by_text("Score messages").wait_for()
            _score(page, slices)
            page.get_by_role("link", name="Evaluate").click()
            page.get_by_text("Metrics per slice").wait_for()
            _settled(page)
            _shot(page, f"item4-slices-{args.tag}", "Metrics per slice")
            _slide_to(page, 1.0)
            page.set_viewport_size({"width": 1300, "height": 1000})
            _shot(page, f"item4-metrics-{args.tag}", "Set the threshold by")
            browser.close()
    finally:
        stop_app(process)


if __name__ == "__main__":
    main()
