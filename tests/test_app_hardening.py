"""Hardening of the web app (issue 26): the command the Score page shows is safe to paste whatever the file and
column are called."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engage.testing.app_world import AppWorld
from tests.apptests import APP

TIMEOUT = 120
HOSTILE_FILE = "x'; touch y; echo '.csv"
HOSTILE_COLUMN = "m'$(touch x)'"


@pytest.fixture
def app_env(world, monkeypatch) -> AppWorld:
    for key, value in world.env().items():
        monkeypatch.setenv(key, value)
    return world


@pytest.mark.slow
def test_the_shown_command_line_runs_nothing_but_engage_on_the_right_file_and_column(app_env, tmp_path):
    frame = pd.read_csv(app_env.csv).rename(columns={"text": HOSTILE_COLUMN})
    data = frame.to_csv(index=False).encode()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.file_uploader(key="score_file").upload(HOSTILE_FILE, data, "text/csv")
    at.run()
    assert at.selectbox(key=next(k for k in (s.key for s in at.selectbox) if k.startswith("score_text_"))).value == \
        HOSTILE_COLUMN
    at.button(key="score_go").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    command = next(c.value for c in at.code if c.value.startswith("engage score "))

    work = tmp_path / "work"
    work.mkdir()
    (work / HOSTILE_FILE).write_bytes(data)
    bin_dir = str(Path(sys.executable).parent)  # the `engage` console script of this environment
    env = os.environ | app_env.env() | {"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in work.iterdir()) == sorted([HOSTILE_FILE, "flagged.csv"])  # no x, no y
    flagged = pd.read_csv(work / "flagged.csv")
    assert HOSTILE_COLUMN in flagged.columns
    assert len(flagged) > 0 and flagged["engageable"].all()  # --flagged-only reached engage as its own flag
