"""The app in real headless Chromium: upload a labeled CSV, score it, move the threshold, see the confusion matrix,
download the flagged rows and find them equal to `engage score --flagged-only` on the same file. Screenshots of
every page go to test-artifacts/e2e/."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engage.testing.browser import settled
from tests.e2e.conftest import ARTIFACTS, ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


_CONTENT_HEIGHT = """() => Math.max(document.body.scrollHeight,
    ...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
        .map(e => e.scrollHeight))"""


def _shot(page, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so the viewport grows to the content."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(int(page.evaluate(_CONTENT_HEIGHT)), 10_000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    page.set_viewport_size(size)


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.content()


def _thresholds(page) -> list[str]:
    """The exact threshold of each command-line hint on the page (two while a rerun replaces one)."""
    codes = page.locator('[data-testid="stCode"]').filter(has_text="--threshold").all_inner_texts()
    return [re.search(r"--threshold (\S+)", code).group(1) for code in codes]


def _threshold(page) -> str:
    """The one threshold shown, waiting for the page to draw it (the first run after a cold start is slow)."""
    for _ in range(300):
        found = _thresholds(page)
        if len(found) == 1:
            return found[0]
        page.wait_for_timeout(100)
    raise AssertionError(f"expected one threshold on the page, found {_thresholds(page)}")


def _threshold_reaching(page, slider) -> str:
    """The app's exact threshold once its run for the slider's last position has finished. The slider's position is
    read again each time: under load the browser may draw the last key press after the first read."""
    for _ in range(300):
        found, target = _thresholds(page), float(slider.get_attribute("aria-valuetext"))
        if len(found) == 1 and abs(float(found[0]) - target) < 1e-9:
            settled(page)
            return _threshold(page)
        page.wait_for_timeout(100)
    raise AssertionError(f"the app's threshold never reached {target}: {_thresholds(page)}")


def _upload_and_score(page, url: str, csv: Path) -> None:
    page.goto(url)
    page.get_by_text("Score messages").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(csv))
    page.get_by_text(f"Preview of {csv.name}").wait_for()
    settled(page)
    page.get_by_role("button", name="Score", exact=True).click()
    page.get_by_text("Flagged engageable").wait_for()
    settled(page)


def _cli_flagged(world, threshold: str, out: Path) -> bytes:
    env = os.environ | world.env()
    engage = Path(sys.executable).with_name("engage")
    done = subprocess.run([str(engage), "score", str(world.csv), "--out", str(out), "--flagged-only",
                           "--threshold", threshold], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def test_score_threshold_confusion_and_download_match_the_cli(page, app_url, e2e_world, tmp_path):
    _upload_and_score(page, app_url, e2e_world.csv)
    _no_exception(page)
    before = _threshold(page)
    slider = page.locator('[data-testid="stSlider"] input[type="range"]').first
    slider.focus()
    for _ in range(4):
        slider.press("ArrowLeft")
        page.wait_for_timeout(100)
    moved = _threshold_reaching(page, slider)
    assert moved != before and float(moved) < float(before)
    _shot(page, "score")

    with page.expect_download() as download:
        page.get_by_role("button", name="Flagged rows (CSV)").click()
    app_csv = Path(download.value.path()).read_bytes()
    assert download.value.suggested_filename == "labeled-flagged.csv"
    cli_csv = _cli_flagged(e2e_world, moved, tmp_path / "cli-flagged.csv")
    app_rows = pd.read_csv(io.BytesIO(app_csv), dtype=str, keep_default_na=False)
    cli_rows = pd.read_csv(io.BytesIO(cli_csv), dtype=str, keep_default_na=False)
    assert len(app_rows) > 0
    pd.testing.assert_frame_equal(app_rows, cli_rows)  # same rows, same order, same cells
    assert app_csv == cli_csv

    with page.expect_download() as download:
        page.get_by_role("button", name="Flagged rows (Excel)").click()
    excel = pd.read_excel(download.value.path(), dtype=str, keep_default_na=False)
    assert excel["id"].tolist() == app_rows["id"].tolist()
    with page.expect_download() as download:
        page.get_by_role("button", name="All rows with scores (CSV)").click()
    everything = pd.read_csv(download.value.path(), dtype=str, keep_default_na=False)
    assert len(everything) == 120
    assert everything.loc[1, "text"].startswith("'=HYPERLINK(")  # a spreadsheet will not run it

    page.get_by_role("link", name="Evaluate").click()
    page.get_by_text("Metrics per slice").wait_for()
    settled(page)
    _no_exception(page)
    assert _threshold_on_evaluate(page) == pytest.approx(float(moved), abs=5e-4)  # carried over
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.locator("canvas, svg").first.wait_for()
    box = chart.bounding_box()
    assert box["width"] > 100 and box["height"] > 100
    _shot(page, "evaluate")
    chart.screenshot(path=str(ARTIFACTS / "confusion-matrix.png"))

    page.get_by_role("link", name="Models").click()
    page.get_by_text("Active model").wait_for()
    settled(page)
    _no_exception(page)
    assert page.get_by_text("fixture-b").count() > 0
    _shot(page, "models")


def _threshold_on_evaluate(page) -> float:
    return float(page.locator('[data-testid="stSlider"] input[type="range"]').first.get_attribute("aria-valuetext"))


def test_a_bad_file_shows_an_error_and_the_server_carries_on(page, app_url, tmp_path):
    bad = tmp_path / "notes.docx"
    bad.write_bytes(b"PK\x03\x04 not really a document")
    page.goto(app_url)
    page.get_by_text("Score messages").wait_for()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
    error = page.locator('[data-testid="stAlert"]').filter(has_text="unsupported file type '.docx'")
    error.wait_for()
    _no_exception(page)
    _shot(page, "bad-file")
    page.reload()
    page.get_by_text("Score messages").wait_for()


def test_artifacts_are_ignored_by_git():
    done = subprocess.run(["git", "check-ignore", "-q", str(ARTIFACTS / "score.png")], cwd=ROOT)
    assert done.returncode == 0, "test-artifacts/ must stay out of git"
