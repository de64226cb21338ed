"""The pages' layout and wiring on a stubbed engine (Streamlit AppTest), as example-streamlit's page tests patch
their services: the classifier the pages load is replaced by one that scores by a keyword, so these tests need no
trained world, no encoder and no model file, and check what the page does with what the engine returns (which
tables, columns, counts, buttons and messages, and that the engine is handed the right texts). Reading files,
thresholds, metrics and the registry are the real engine. What needs the real model (scores equal to the engine's,
explanations, training, promotion re-scoring) stays in tests/test_app*.py on the trained world."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engage import registry
from engage.formula_guard import PLAIN_CSV
from engage.metrics import metric_table
from engage.scoring import Scores
from engage.testing.app_world import labeled_frame
from engage.ui.text import plain
from tests.apptests import APP, ok

SCORE, EVALUATE, MODELS = "engage/ui/pages/score.py", "engage/ui/pages/evaluate.py", "engage/ui/pages/models.py"
ACTIVE, OTHER = "stub-a", "stub-b"
THRESHOLD = 0.5
TIMEOUT = 60
ASKING = ("help", "refund", "crash", "charged", "waiting", "broke", "delayed", "down", "lost", "hangs")


@dataclass
class StubEncoder:
    kind: str = "hub"
    handle: str = "stub://elmo"
    device: str = "CPU"
    dim: int = 16
    # New for every load: the app's score cache (shared by every session in the process) never carries a stub's
    # scores from one test to the next.
    fingerprint: str = field(default_factory=lambda: f"stub-{uuid.uuid4().hex}")


@dataclass
class StubClassifier:
    """What the pages read of engage.scoring.Classifier; scores 0.9 for a message asking for help, else 0.1, and
    0 for an empty one (as the engine does), and records every batch it was asked to score."""

    version: registry.ModelVersion
    encoder: StubEncoder = field(default_factory=StubEncoder)
    calls: list[list[str]] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.version.name

    @property
    def threshold(self) -> float:
        return float(self.version.meta["threshold"]["value"])

    def score(self, texts, progress=None) -> Scores:
        texts = list(texts)
        self.calls.append(texts)
        if progress is not None:
            progress(len(texts))
        return Scores(stub_scores(texts), len(texts), np.zeros(len(texts), dtype=bool))


def stub_scores(texts) -> np.ndarray:
    return np.array([0.0 if not t.strip() else 0.9 if any(w in t.lower() for w in ASKING) else 0.1 for t in texts],
                    dtype=np.float32)


def _version(name: str, root: Path, f1: float, active: bool) -> None:
    meta = {"encoder": {"kind": "hub", "handle": "stub://elmo", "dim": 16}, "head": {"weights": "head.weights.h5"},
            "threshold": {"value": THRESHOLD, "method": "best_f1"},
            "training_data": {"source": "stub.csv", "rows": 120},
            "heldout_metrics": {"method": "5-fold cross-validation", "accuracy": 0.8, "precision": 0.7,
                                "recall": 0.6, "f1": f1, "roc_auc": 0.9, "pr_auc": 0.8, "n": 120}}
    registry.save_version(name, meta, lambda folder: (folder / "head.weights.h5").write_bytes(name.encode()),
                          root=root, make_active=active)


@pytest.fixture
def engine(tmp_path, monkeypatch) -> dict[str, StubClassifier]:
    """A registry of two stub versions (stub-a active) and the pages' model loader patched to stub classifiers;
    returns the classifiers loaded so far, by name."""
    root = tmp_path / "models"
    _version(ACTIVE, root, 0.7, active=True)
    _version(OTHER, root, 0.6, active=False)
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(root))
    monkeypatch.setenv("ENGAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'labels.sqlite'}")
    loaded: dict[str, StubClassifier] = {}

    def load(name, root=None, cache=None, **_):
        loaded[name] = StubClassifier(registry.read_model(name, root))
        return loaded[name]

    with patch("engage.ui.state.load_classifier", side_effect=load):
        yield loaded


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _table(at: AppTest, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, f"{len(found)} tables with a column {column!r}"
    return found[0]


def _csv(rows: int = 120) -> tuple[pd.DataFrame, bytes]:
    frame = labeled_frame(rows)
    return frame, frame.to_csv(index=False).encode("utf-8")


def _scored(name: str = "labeled.csv", data: bytes | None = None) -> AppTest:
    at = _app()
    at.file_uploader(key="score_file").upload(name, data if data is not None else _csv()[1],
                                              "application/octet-stream")
    at.run()
    at.button(key="score_go").click()
    at.run()
    ok(at)
    return at


def test_score_page_hands_the_text_column_to_the_engine_and_lays_out_its_scores(engine):
    frame, data = _csv()
    at = _app()
    ok(at)
    assert any(f"Model **{ACTIVE}**" in c.value for c in at.caption)
    at.file_uploader(key="score_file").upload("labeled.csv", data, "application/octet-stream").run()
    ok(at)
    assert at.dataframe[0].value.shape == (100, 4)  # the preview: the first 100 rows
    assert [s.value for s in at.selectbox][:2] == ["text", "engage"]
    assert not engine[ACTIVE].calls  # nothing is scored before the click
    at.button(key="score_go").click().run()
    ok(at)
    texts = frame["text"].fillna("").tolist()
    assert engine[ACTIVE].calls == [texts]
    expected = stub_scores(texts)
    table = _table(at, "engageable")
    assert list(table.columns) == ["id", "text", "engage_score", "engageable", "engage", "domain"]
    np.testing.assert_allclose(table["engage_score"].to_numpy(), expected)
    assert table["engageable"].tolist() == (expected >= THRESHOLD).tolist()
    assert _metric(at, "Flagged engageable") == f"{int((expected >= THRESHOLD).sum()):,}"
    assert at.slider(key="threshold_score_slider").value == pytest.approx(THRESHOLD)
    assert f"--model {ACTIVE} --threshold {THRESHOLD!r}" in at.code[0].value
    assert [b.label for b in at.get("download_button")] == [
        "Flagged rows (CSV)", "Flagged rows (Excel)", "All rows with scores (CSV)", "All rows with scores (Excel)",
        f"Flagged rows: {PLAIN_CSV}", f"All rows with scores: {PLAIN_CSV}"]

    next(s for s in at.selectbox if s.label == "Show").set_value("flagged").run()
    assert _table(at, "engageable")["engageable"].all()
    assert len(_table(at, "engageable")) == int((expected >= THRESHOLD).sum())
    assert any(b.label == f"Send these {int((expected >= THRESHOLD).sum()):,} rows to labeling" for b in at.button)

    at.button(key="score_go").click().run()
    assert len(engine[ACTIVE].calls) == 1  # the same file, column and model again: from the score cache
    assert any("from the cache" in c.value for c in at.caption)


def test_evaluate_page_shows_the_metrics_of_the_engines_scores_at_the_shared_threshold(engine):
    frame, data = _csv()
    at = _scored(data=data)
    at.slider(key="threshold_score_slider").set_value(0.4).run()
    at.switch_page(EVALUATE).run()
    ok(at)
    assert at.slider(key="threshold_evaluate_slider").value == 0.4
    scores = stub_scores(frame["text"].fillna("").tolist())
    expected = metric_table(frame["engage"].to_numpy(), scores, 0.4)
    shown = _table(at, "support")
    for key in ("accuracy", "precision", "recall", "f1"):
        assert shown.loc[0, key] == pytest.approx(expected[key], abs=1e-9), key
    assert len(at.get("vega_lite_chart")) == 5  # confusion, metrics by threshold, PR, ROC, slices
    assert len(_table(at, "mistake")) > 0


BAD_UPLOADS = [
    ("notes.docx", b"PK\x03\x04 whatever", "unsupported file type '.docx'"),
    ("empty.csv", b"", "the file is empty"),
    ("broken.jsonl", b'{"text": "fine"}\n{"text": oops}\n', "broken.jsonl, row 2: not valid JSON"),
    ("binary.csv", b"text\nhello\x00world\n", "NUL byte"),
    ("header-only.csv", b"text,label\n", "header row but no data rows"),
]


def test_bad_files_say_what_to_fix_and_reach_no_engine(engine):
    at = _app()
    for name, data, said in BAD_UPLOADS:
        at.file_uploader(key="score_file").set_value((name, data, "application/octet-stream"))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(said in e.value for e in at.error), (name, [e.value for e in at.error])
    assert not engine[ACTIVE].calls


def test_a_file_without_text_asks_for_the_column_before_scoring(engine):
    at = _app()
    at.file_uploader(key="score_file").upload("numbers.csv", b"a,b\n1,2\n3,4\n", "application/octet-stream").run()
    assert not at.exception
    assert any("no text column found" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "score_go"]
    assert at.selectbox[0].value is None


def test_models_page_lists_the_registry_and_activates_a_version(engine, tmp_path):
    at = _app().switch_page(MODELS).run()
    ok(at)
    table = _table(at, "encoder")
    assert table["name"].tolist() == [ACTIVE, OTHER]
    assert table["active"].tolist() == [True, False]
    assert table["f1"].tolist() == [0.7, 0.6]
    assert _metric(at, "Device") == "CPU"
    assert any(f"`{ACTIVE}`" in m.value for m in at.markdown if "Active model" in m.value)
    at.selectbox(key="models_pick").select(OTHER).run()
    at.button(key="models_activate").click().run()
    ok(at)
    assert registry.active_name(tmp_path / "models") == OTHER
    assert f"{OTHER} is now the active model." in [s.value for s in at.success]
    assert _table(at, "encoder")["active"].tolist() == [False, True]


def test_after_a_model_change_the_score_page_offers_to_score_the_kept_file_again(engine):
    at = _scored()
    at.switch_page(MODELS).run()
    at.selectbox(key="models_pick").select(OTHER).run()
    at.button(key="models_activate").click().run()
    at.switch_page(SCORE).run()
    ok(at)
    again = next(b for b in at.button if b.key == "score_again")
    assert again.label == f"Score {plain('labeled.csv')} again with {OTHER}"
    again.click().run()
    ok(at)
    assert len(engine[OTHER].calls) == 1
    assert any(f"with model {OTHER}" in c.value for c in at.caption)


def test_a_page_run_leaves_the_keras_session_alone(engine):
    """Streamlit would clear Keras's session after every run, a forced full garbage collection on each key press
    (engage/ui/keras_session.py)."""
    import keras

    with patch.object(keras.backend, "clear_session") as cleared:
        at = _app().switch_page(MODELS).run()
    ok(at)
    assert cleared.call_count == 0
