"""The app served by `streamlit run` on a free local port, and headless Chromium (the Debian package, never a
downloaded browser) for Playwright: what the browser tests and the browser benchmarks both start."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
START_TIMEOUT_S = 90


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_app(env: dict[str, str], log: Path, args: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    """`streamlit run streamlit_app.py` (with more options `args`) on a free local port; returns (process, url)
    once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    streamlit = Path(sys.executable).with_name("streamlit")
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(streamlit), "run", "streamlit_app.py", "--server.address", "127.0.0.1", "--server.port",
             str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none", *(args or [])],
            cwd=ROOT, env=os.environ | env | {"TF_CPP_MIN_LOG_LEVEL": "2"}, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_app(process)
            raise RuntimeError(f"the app did not start; its log: {log}\n{log.read_text(errors='replace')[-3000:]}")
        time.sleep(0.3)
    return process, url


def stop_app(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


def settled(page, timeout_ms: int = 60_000, pause_ms: int = 300) -> None:
    """Wait until the script run the last action started has finished: a short pause first (the action's rerun may
    not have shown Streamlit's status widget yet), then until that widget is gone."""
    page.wait_for_timeout(pause_ms)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=timeout_ms)
