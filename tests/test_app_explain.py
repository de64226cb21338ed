"""Why this score in the app (AppTest): choosing a row of the Score page's table, or of the Evaluate page's mistakes,
shows that message with its words highlighted, its score against the threshold and its top words; message text is
escaped in the markup."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engage.explain import explain
from engage.scoring import load_classifier
from engage.testing.app_world import ACTIVE_VERSION
from tests.apptests import APP

EVALUATE = "engage/ui/pages/evaluate.py"
TIMEOUT = 120
XSS = ["<img src=x onerror=alert(1)>", "<script>alert(1)</script> my refund never came"]


def _scored(name: str, data: bytes) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.file_uploader(key="score_file").upload(name, data, "application/octet-stream")
    at.run()
    at.button(key="score_go").click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _chooser(at: AppTest):
    """The Score page's "Why this score?" list (its options: rows' positions in the file)."""
    return next(s for s in at.selectbox if s.label.startswith("Why this score?"))


def _explained(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.html if "engage-explained" in h.proto.body]


def test_choosing_a_scored_row_shows_its_explanation(app_env):
    at = _scored("labeled.csv", app_env.csv.read_bytes())
    assert _explained(at) == []  # nothing chosen yet
    frame = pd.read_csv(app_env.csv, keep_default_na=False)
    _chooser(at).select(7).run()
    assert not at.exception
    (body,) = _explained(at)
    text = frame["text"][7]  # "café crème was cold — can I get a refund? ☕"
    clf = load_classifier(ACTIVE_VERSION, root=app_env.models, use_cache=False)
    (ex,) = explain(clf, [text])
    for token in ex.tokens:
        assert f">{token}</span>" in body
    assert body.count('class="engage-token"') == len(ex.tokens)
    score = next(m for m in at.metric if m.label == "Score")
    assert score.value == f"{ex.score:.3f}"
    threshold = at.slider(key="threshold_score_slider").value
    assert f"vs threshold {threshold:.3f}" in score.proto.delta
    words = [d.value for d in at.dataframe if list(d.value.columns) == ["word", "contribution"]]
    assert len(words) == 2
    assert (words[0]["contribution"] > 0).all() and (words[1]["contribution"] < 0).all()
    best = int(np.argmax(ex.contributions))
    if ex.contributions[best] > 0:
        assert words[0]["word"].iloc[0] == ex.tokens[best]

    at.slider(key="threshold_score_slider").set_value(0.05).run()  # the same message, against the new threshold
    score = next(m for m in at.metric if m.label == "Score")
    assert "vs threshold 0.050" in score.proto.delta


def test_message_markup_is_escaped(app_env):
    frame = pd.DataFrame({"text": XSS + ["thanks, all good"], "engage": [1, 1, 0]})
    at = _scored("xss.csv", frame.to_csv(index=False).encode())
    for row, text in enumerate(XSS):
        _chooser(at).select(row).run()
        assert not at.exception
        (body,) = _explained(at)
        assert set(re.findall(r"<\s*(\w+)", body)) == {"div", "span"}  # no markup from the message
        assert html.unescape(re.sub(r"<[^>]*>", "", body)) == text  # the message, as text
        assert "&lt;" in body


def test_the_evaluate_pages_mistakes_can_be_explained(app_env):
    at = _scored("labeled.csv", app_env.csv.read_bytes())
    at.slider(key="threshold_score_slider").set_value(0.4).run()
    at.switch_page(EVALUATE).run()
    assert not at.exception
    mistakes = next(d.value for d in at.dataframe if "mistake" in d.value.columns)
    at.selectbox(key="explain_evaluate_row").select(0).run()
    assert not at.exception
    (body,) = _explained(at)
    first = mistakes["text"].iloc[0]
    assert all(f">{w}</span>" in body for w in first.split()[:1] if w.isalnum())
    score = next(m for m in at.metric if m.label == "Score")
    assert float(score.value) == pytest.approx(mistakes["engage_score"].iloc[0], abs=1e-3)
