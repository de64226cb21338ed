"""`engage suspects DATA --label-col C [--like NAME] --out OUT`: every row with its out-of-fold score and rank, most
suspect first; --json's summary; bad input is one line naming the file and column."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from engage.cli import run
from engage.suspects import COLUMNS, RANK_COL, SCORE_COL
from engage.testing.app_world import ACTIVE_VERSION

_ASK = ["my order never arrived", "the app crashes at login", "still waiting on my refund", "charged twice again"]
_CHAT = ["loving the new lineup", "great match last night", "best coffee ever", "happy friday all"]
FLIPPED = (5, 22)  # file positions whose label contradicts their text


@pytest.fixture
def labeled(tmp_path) -> Path:
    rows = [(i, f"{_ASK[i % 4]} #{i}", 1) if i % 2 else (i, f"{_CHAT[i % 4]} #{i}", 0) for i in range(40)]
    frame = pd.DataFrame(rows, columns=["id", "message", "verdict"])
    frame.loc[list(FLIPPED), "verdict"] = 1 - frame.loc[list(FLIPPED), "verdict"]
    path = tmp_path / "labeled.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_suspects_writes_every_row_ranked_and_a_json_summary(capsys, app_env, labeled, tmp_path):
    out = tmp_path / "suspects.csv"
    code = run(["suspects", str(labeled), "--label-col", "verdict", "--like", ACTIVE_VERSION, "--cv-folds", "3",
                "--out", str(out), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out.strip().splitlines()[-1])
    written = pd.read_csv(out)
    assert list(written.columns) == ["id", "message", "verdict", *COLUMNS]
    assert len(written) == summary["rows"] == 40 and sorted(written["id"]) == list(range(40))
    assert written[RANK_COL].tolist() == list(range(1, 41))  # most suspect first
    assert written[SCORE_COL].between(0, 1).all()
    assert summary["output"] == str(out) and summary["like"] == ACTIVE_VERSION and summary["cv_folds"] == 3
    assert summary["label_col"] == "verdict" and summary["suspected"] == int(written["engage_suspected"].sum())
    top = summary["top"][0]
    first = written.iloc[0]
    assert top["rank"] == 1 and top["row"] == int(first["id"]) + 2  # file row: under the header, 1-based
    assert top["label"] == int(first["verdict"])


def test_suspects_names_the_file_and_column_of_bad_input(capsys, app_env, labeled, tmp_path):
    out = tmp_path / "never.csv"
    assert run(["suspects", str(labeled), "--label-col", "nope", "--like", ACTIVE_VERSION, "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "labeled.csv" in err and "nope" in err
    assert run(["suspects", str(labeled), "--label-col", "verdict", "--cv-folds", "1", "--out", str(out)]) == 1
    assert "--cv-folds must be at least 2" in capsys.readouterr().err
    assert not out.exists()
