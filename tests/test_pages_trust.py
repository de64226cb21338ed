"""Issue 24 items 5-7 and 16 on the pages, on the stubbed engine of tests/test_pages_stubbed.py (the classifier the
pages load scores by keyword; training is replaced by a version saved as train_model saves one): the Evaluate page's
note when the file holds the version's training messages, the Models chart on the same data by default, and the
Train page's comparison on the same messages, its warnings before Promote and its line for each fit."""

from __future__ import annotations

from dataclasses import dataclass, field
from unittest.mock import patch

import numpy as np
import pytest

from engage import registry
from engage.head import HeadConfig
from engage.overlap import training_record
from engage.train import FitStep, TrainResult, data_fingerprint
from engage.ui import fit_panel
from tests.apptests import ok
from tests.test_pages_stubbed import (
    ACTIVE,
    EVALUATE,
    MODELS,
    OTHER,
    THRESHOLD,
    StubClassifier,
    _app,
    _csv,
    _scored,
    _table,
    _version,
    stub_scores,
)

TRAIN = "engage/ui/pages/train.py"


@dataclass
class TrainableStub(StubClassifier):
    config: HeadConfig = field(default_factory=HeadConfig)
    cache: object = None


@pytest.fixture
def engine(tmp_path, monkeypatch) -> dict[str, StubClassifier]:
    """tests/test_pages_stubbed.py's registry (stub-a active, stub-b), where stub-a recorded the training texts of
    the first 90 rows of its labeled file, plus stub-c measured on other data."""
    root = tmp_path / "models"
    frame, _ = _csv()
    _version(ACTIVE, root, 0.7, active=True)
    _version(OTHER, root, 0.6, active=False)
    entry, keys = training_record(frame["text"].fillna("").tolist()[:90])
    folder = root / ACTIVE
    (folder / entry["file"]).write_text(keys, encoding="ascii")
    meta = registry.read_model(ACTIVE, root).meta
    meta["training_data"]["texts"] = entry
    meta["files"][entry["file"]] = registry.sha256_file(folder / entry["file"])
    import json
    (folder / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    registry.save_version("stub-c", {"encoder": meta["encoder"], "head": meta["head"], "threshold": meta["threshold"],
                                     "training_data": {"source": "airline.csv", "rows": 38, "fingerprint": "0" * 64},
                                     "heldout_metrics": {"method": "5-fold cross-validation", "roc_auc": 0.6,
                                                         "f1": 0.5, "n": 38}},
                          lambda f: (f / "head.weights.h5").write_bytes(b"c"), root=root)
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(root))
    monkeypatch.setenv("ENGAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'labels.sqlite'}")
    loaded: dict[str, StubClassifier] = {}

    def load(name, root=None, cache=None, **_):
        loaded[name] = TrainableStub(registry.read_model(name, root))
        return loaded[name]

    with patch("engage.ui.state.load_classifier", side_effect=load):
        yield loaded


def test_evaluate_says_above_the_metrics_which_share_of_the_file_the_version_trained_on(engine):
    at = _scored()
    at.switch_page(EVALUATE).run()
    ok(at)
    said = [w.value for w in at.warning if "were training messages of" in w.value]
    assert said == [f"75% of these messages (89 of 119) were training messages of {ACTIVE}: it has seen their "
                    "labels, so the figures below are optimistic. Judge it on messages it did not train on. Its own "
                    "5-fold cross-validation said ROC-AUC 0.900, F1 0.700."]  # row 5 is empty


def test_the_models_chart_compares_versions_on_the_same_data_unless_asked(engine):
    at = _app().switch_page(MODELS).run()
    ok(at)
    assert _table(at, "encoder")["measured_on"].tolist() == [
        "5-fold cross-validation of stub.csv (120 labels)", "5-fold cross-validation of stub.csv (120 labels)",
        "5-fold cross-validation of airline.csv (38 labels)"]
    spec = at.get("vega_lite_chart")[0].proto
    assert "stub-c" not in str(spec) and "same data as the active one" in spec.spec
    assert any(f"measured on other data than {ACTIVE}: stub-c" in c.value for c in at.caption)
    at.toggle(key="models_other_data").set_value(True).run()
    ok(at)
    assert "stub-c (other data: not comparable)" in str(at.get("vega_lite_chart")[0].proto)
    at.selectbox(key="models_pick").select("stub-c").run()
    assert [w.value for w in at.warning] == ["Before activating: stub-c trained on only 38 labels (under 200): its "
                                             "figures are noisy."]


def _retrain(trained_on: list):
    """label_loop.retrain as the engine does it, for the page: each fit heard, a version saved with the recorded
    fields train_model writes, the rows it measured itself on and its cross-validated scores (here: the opposite of
    the stub's, so it is worse than the active version on the same messages)."""
    def retrain(messages, clf, *, name=None, validation=None, on_fit=None, **_):
        for done, doing in enumerate(["cross-validation fold 1 of 2", "cross-validation fold 2 of 2", ""]):
            on_fit(FitStep(done, 2, doing, float(done), None if not done else 1.0))
        trained_on.append(list(messages.texts))
        y = messages.labels
        meta = {"encoder": {"kind": "hub", "handle": "stub://elmo", "dim": 16},
                "head": {"weights": "head.weights.h5"}, "threshold": {"value": THRESHOLD, "method": "best_f1"},
                "training_data": {"source": messages.source, "rows": len(y), "train_rows": len(y), "cv_folds": 2,
                                  "engageable": int(y.sum()), "not_engageable": int(len(y) - y.sum()),
                                  "fingerprint": data_fingerprint(messages.texts, y)},
                "heldout_metrics": {"method": "2-fold cross-validation", "roc_auc": 0.5, "f1": 0.4, "n": len(y)}}
        version = registry.save_version(name, meta, lambda f: (f / "head.weights.h5").write_bytes(b"n"))
        scores = 1.0 - stub_scores(messages.texts).astype(np.float64)
        return TrainResult(version, len(y), 0, 0, 0, meta["heldout_metrics"], {}, {"total": 1.0},
                           validation_index=np.arange(len(y)), validation_scores=scores)

    return retrain


def test_train_compares_on_the_same_messages_and_warns_before_promote(engine):
    trained_on: list = []
    at = _app().switch_page(TRAIN).run()
    at.file_uploader(key="train_file").upload("labeled.csv", _csv()[1], "text/csv").run()
    at.text_input(key="train_name").input("worse-1")
    with patch("engage.ui.train_panel.label_loop.retrain", side_effect=_retrain(trained_on)):
        at.button(key="train_go").click().run()
    ok(at)
    assert len(trained_on) == 1
    same = _table(at, "rows")
    assert same["name"].tolist() == [ACTIVE, "worse-1"] and same["rows"].tolist() == [119, 119]
    assert any(m.value.startswith("**Both on the same 119 messages**: every label the new version trained on, "
                          "each with its cross-validated score")
               for m in at.markdown)
    assert any(f"{ACTIVE} trained on 75% of these messages" in c.value for c in at.caption)
    recorded = _table(at, "measured_on")
    assert recorded["measured_on"].tolist() == ["5-fold cross-validation of stub.csv (120 labels)",
                                                "2-fold cross-validation of labeled.csv (119 labels)"]
    assert any(c.value.startswith("Not comparable across versions") for c in at.caption)
    warned = [w.value for w in at.warning if w.value.startswith("Before promoting")]
    assert warned[0] == "Before promoting: worse-1 trained on only 119 labels (under 200): its figures are noisy."
    assert warned[1].startswith("Before promoting: On the same 119 messages its ROC-AUC is 0.")
    assert [b.key for b in at.button].index("train_promote") > 0


class _Bar:
    def __init__(self) -> None:
        self.shown: list[tuple[float, str]] = []

    def progress(self, value: float, text: str) -> None:
        self.shown.append((value, text))


def test_the_train_pages_bar_says_each_fit_and_the_time_left():
    bar = _Bar()
    heard = fit_panel.on_fit(bar)
    heard(FitStep(0, 7, "choosing the settings on every row", 0.0, None))
    heard(FitStep(3, 7, "cross-validation fold 3 of 5", 30.0, 40.0))
    heard(FitStep(7, 7, "", 70.0, 0.0))
    assert bar.shown == [
        (0.0, "Fitting the head: choosing the settings on every row (0 of 7 fits done, estimating the time left)"),
        (3 / 7, "Fitting the head: cross-validation fold 3 of 5 (3 of 7 fits done, about 40 s left)"),
        (1.0, "Fitting the head: done: 7 fits in 70.0 s")]
