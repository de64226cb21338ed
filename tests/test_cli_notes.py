"""What `engage` says beside its figures: a text column it guessed (score, evaluate, train), and metrics that are
undefined rather than 0 (evaluate)."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from engage.cli import run
from engage.testing.app_world import labeled_frame


@pytest.fixture
def notes_file(tmp_path):
    """No column named like message text: the longest texts are the agent's notes."""
    frame = labeled_frame(30)
    path = tmp_path / "cases.csv"
    pd.DataFrame({"Case ID": [f"CASE-2024-{i:06d}" for i in range(30)], "Remark": frame["text"],
                  "Agent Notes": [f"called back the customer, ticket escalated to tier two, case {i}"
                                  for i in range(30)], "engage": frame["engage"]}).to_csv(path, index=False)
    return path


GUESSED = "note: no column is named like message text (text, message, tweet, body, ...), so 'Agent Notes' is a guess"


def test_score_evaluate_and_train_say_when_the_text_column_was_guessed(env, notes_file, tmp_path, capsys):
    world = env[0]  # its models are this test's copy: training adds a version
    assert run(["score", str(notes_file), "--out", str(tmp_path / "out.csv"), "--json"]) == 0
    said = capsys.readouterr()
    assert GUESSED in said.err and "pass --text-col" in said.err
    assert json.loads(said.out.splitlines()[-1])["text_col"] == "Agent Notes"
    assert run(["evaluate", str(notes_file), "--label-col", "engage"]) == 0
    assert GUESSED in capsys.readouterr().err
    assert run(["train", str(notes_file), "--label-col", "engage", "--encoder", str(world.encoder), "--epochs", "1",
                "--val-split", "0.3", "--cv-folds", "0", "--name", "guessed"]) == 0
    assert GUESSED in capsys.readouterr().err
    assert run(["score", str(notes_file), "--out", str(tmp_path / "out2.csv"), "--text-col", "Remark"]) == 0
    assert GUESSED not in capsys.readouterr().err  # (the scoring-history note on time may remain)


def test_evaluate_prints_undefined_metrics_as_undefined(app_env, capsys):
    assert run(["evaluate", str(app_env.csv), "--label-col", "engage", "--threshold", "1.0", "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  precision undefined" in out and "  f1        undefined" in out
    assert "  note: precision is undefined: no message is flagged at this threshold" in out
    payload = json.loads(out[-1])
    assert payload["precision"] is None and payload["f1"] is None and payload["recall"] == 0.0
