"""Issue 24 item 16 (its waiting parts): `engage score` says what it is doing before each slow step (loading the
model, encoding each chunk's N messages), and the app's first visit shows something before TensorFlow's import."""

from __future__ import annotations

import sys

from streamlit.testing.v1 import AppTest

import engage.scoring as scoring
import engage.ui
from engage.cli import run
from tests.apptests import APP


def test_engage_score_says_what_it_is_doing_before_each_slow_step(app_env, tmp_path, capsys, monkeypatch):
    said_before: dict = {"chunks": []}
    real_load, real_score = scoring.load_classifier, scoring.score_messages

    def load(*args, **kwargs):
        said_before["load"] = capsys.readouterr().err  # what stderr held when the slow load began
        return real_load(*args, **kwargs)

    def score(clf, chunk, *args, **kwargs):
        said_before["chunks"].append(capsys.readouterr().err)
        return real_score(clf, chunk, *args, **kwargs)

    monkeypatch.setattr(scoring, "load_classifier", load)
    monkeypatch.setattr(scoring, "score_messages", score)
    out = tmp_path / "out.csv"
    assert run(["score", str(app_env.csv), "--out", str(out), "--chunk-size", "50", "--no-record"]) == 0
    assert "loading model the active one (TensorFlow and the ELMo encoder)…" in said_before["load"]
    first, second, third = said_before["chunks"]
    assert "loaded model fixture-a (encoder on " in first
    assert "encoding and scoring 50 messages (rows 2-51 of labeled.csv)…" in first
    assert "encoding and scoring 50 messages (rows 52-101 of labeled.csv)…" in second
    assert "encoding and scoring 20 messages (rows 102-121 of labeled.csv)…" in third
    assert "scored 120 messages" in capsys.readouterr().out


def test_the_first_visit_shows_a_note_before_the_slow_imports(monkeypatch):
    # The import TensorFlow comes with is stopped: what the visitor saw by then is what a first visit shows at once.
    monkeypatch.delattr(engage.ui, "state", raising=False)
    monkeypatch.setitem(sys.modules, "engage.ui.state", None)
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert at.exception  # the stopped import
    assert any(c.value.startswith(":material/hourglass_top: Starting engage") for c in at.caption)
