"""The web app's pages through Streamlit's AppTest: upload, score, thresholds, metrics equal to the engine's,
models, and every bad input ending in a clear st.error (never a crash, never a trace on the page)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from engage import registry
from engage.metrics import metric_table, mistakes, slice_table
from engage.reading import read_messages
from engage.scoring import load_classifier
from engage.testing.app_world import ACTIVE_VERSION, OTHER_VERSION, AppWorld
from engage.thresholds import choose_threshold
from tests.apptests import APP

# The app world trains two model versions and every test runs whole pages (Streamlit AppTest).
pytestmark = pytest.mark.slow

EVALUATE = "engage/ui/pages/evaluate.py"
MODELS = "engage/ui/pages/models.py"
SCORE = "engage/ui/pages/score.py"
TIMEOUT = 120


@pytest.fixture(scope="session")
def engine_scores(world) -> np.ndarray:
    """The engine's own scores of the labeled file, independent of the app."""
    clf = load_classifier(ACTIVE_VERSION, root=world.models, use_cache=False)
    return clf.score(read_messages(world.csv).texts).values


def _app() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at


def _no_crash(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def _metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The one table with this column (st.dataframe keys are not visible to AppTest)."""
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, f"{len(found)} tables with a column {column!r}"
    return found[0]


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="score_file").upload(name, data, "application/octet-stream")
    return at.run()


def _scored(world: AppWorld) -> AppTest:
    at = _upload(_app(), "labeled.csv", world.csv.read_bytes())
    at.button(key="score_go").click()
    at.run()
    _no_crash(at)
    assert not _errors(at)
    return at


def test_score_page_upload_detect_score_and_threshold(app_env, engine_scores):
    from engage.ui import state

    state._score_store.clear()  # the process's score cache: another test of this worker may have scored this file
    at = _upload(_app(), "labeled.csv", app_env.csv.read_bytes())
    _no_crash(at)
    assert at.dataframe[0].value.shape == (100, 4)  # the preview: the first 100 rows
    assert [s.value for s in at.selectbox][:2] == ["text", "engage"]
    at.button(key="score_go").click()
    at.run()
    _no_crash(at)
    table = _table(at, "engageable")
    assert list(table.columns) == ["id", "text", "engage_score", "engageable", "engage", "domain"]
    np.testing.assert_allclose(table["engage_score"].to_numpy(), engine_scores, rtol=1e-6)
    assert table.loc[4, "engage_score"] == 0.0  # the empty message
    model_threshold = registry.read_model(ACTIVE_VERSION, app_env.models).meta["threshold"]["value"]
    assert at.slider(key="threshold_score_slider").value == pytest.approx(model_threshold)
    assert _metric(at, "Flagged engageable") == f"{int((engine_scores >= model_threshold).sum()):,}"
    assert any("messages/s" in c.value for c in at.caption)

    at.slider(key="threshold_score_slider").set_value(0.3).run()
    assert at.slider(key="threshold_score_slider").value == 0.3
    flagged = _table(at, "engageable")["engageable"]
    assert flagged.sum() == (engine_scores >= 0.3).sum()
    assert _metric(at, "Share flagged") == f"{(engine_scores >= 0.3).mean():.1%}"

    at.selectbox(key="threshold_score_chooser").select("a top-K capacity").run()
    at.number_input(key="threshold_score_top_k").set_value(10)
    at.button(key="threshold_score_apply").click().run()
    expected = choose_threshold(None, engine_scores, "top_k", 10)
    assert at.slider(key="threshold_score_slider").value == expected
    assert at.slider(key="threshold_score_slider").value == expected
    assert _metric(at, "Flagged engageable") == str(int((engine_scores >= expected).sum()))
    assert f"--threshold {expected!r}" in at.code[0].value

    next(s for s in at.selectbox if s.label == "Show").set_value("flagged").run()
    shown = _table(at, "engageable")
    assert len(shown) == int((engine_scores >= expected).sum()) and shown["engageable"].all()
    assert [b.label for b in at.get("download_button")] == [
        f"These {len(shown)} rows (CSV)", f"These {len(shown)} rows (Excel)", "Flagged rows (CSV)",
        "Flagged rows (Excel)", "All rows with scores (CSV)", "All rows with scores (Excel)",
        "Flagged rows: CSV for other programs (texts exactly as in the file)",
        "All rows with scores: CSV for other programs (texts exactly as in the file)"]


def test_scoring_again_comes_from_the_score_cache(app_env):
    at = _scored(app_env)
    at.button(key="score_go").click()
    at.run()
    assert any("from the cache" in c.value for c in at.caption)


def test_evaluate_page_shows_the_engines_metrics_at_the_shared_threshold(app_env, engine_scores):
    at = _scored(app_env)
    at.slider(key="threshold_score_slider").set_value(0.4).run()
    at.switch_page(EVALUATE).run()
    _no_crash(at)
    assert at.slider(key="threshold_evaluate_slider").value == 0.4  # carried over from the Score page
    labels = read_messages(app_env.csv).labels
    shown = _table(at, "support")
    assert list(shown.columns[:7]) == ["accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "support"]
    expected = metric_table(labels, engine_scores, 0.4)
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc"):
        assert shown.loc[0, key] == pytest.approx(expected[key], abs=1e-9), key
    assert shown.loc[0, "support"] == 120

    charts = at.get("vega_lite_chart")
    assert '"Confusion matrix"' in charts[0].proto.spec
    assert len(charts) == 5  # confusion, metrics by threshold, PR, ROC, slices

    wrong = _table(at, "mistake")
    engine_wrong = mistakes(read_messages(app_env.csv).frame, labels, engine_scores, 0.4)
    engine_wrong = engine_wrong[engine_wrong["mistake"] == "false positive"]
    assert wrong["id"].tolist() == engine_wrong["id"].tolist()[:500]
    at.radio(key="evaluate_mistake_kind").set_value("both").run()
    assert len(_table(at, "mistake")) == int(((engine_scores >= 0.4) != labels).sum())

    slices = _table(at, "slice")
    frame = pd.read_csv(app_env.csv)
    expected_slices = slice_table(labels, engine_scores, 0.4, frame["domain"])
    np.testing.assert_allclose(slices["f1"], expected_slices["f1"])

    at.selectbox(key="threshold_evaluate_chooser").select("best F1").run()
    at.button(key="threshold_evaluate_apply").click().run()
    best = choose_threshold(labels, engine_scores, "best_f1")
    assert at.slider(key="threshold_evaluate_slider").value == best
    at.switch_page(SCORE).run()
    assert at.slider(key="threshold_score_slider").value == best  # and back again


def test_models_page_lists_compares_and_activates(app_env, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(app_env.models, models)
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(models))
    at = _app().switch_page(MODELS).run()
    _no_crash(at)
    table = _table(at, "encoder")
    assert table["name"].tolist() == [ACTIVE_VERSION, OTHER_VERSION]
    assert table["active"].tolist() == [True, False]
    assert table.loc[1, "f1"] == pytest.approx(registry.read_model(OTHER_VERSION, models).meta["heldout_metrics"]["f1"])
    assert any(f"`{ACTIVE_VERSION}`" in m.value for m in at.markdown if "Active model" in m.value)
    assert _metric(at, "Device") == "CPU" or _metric(at, "Device").startswith("GPU")
    assert table["validation"].tolist() == [registry.read_model(v, models).meta["heldout_metrics"]["method"]
                                            for v in (ACTIVE_VERSION, OTHER_VERSION)]
    assert '"Held-out metrics by version (cross-validated or on a held-out split' in at.get(
        "vega_lite_chart")[0].proto.spec
    at.selectbox(key="models_pick").select(OTHER_VERSION).run()
    at.button(key="models_activate").click().run()
    _no_crash(at)
    assert registry.active_name(models) == OTHER_VERSION
    assert f"{OTHER_VERSION} is now the active model." in [s.value for s in at.success]
    assert _table(at, "encoder")["active"].tolist() == [False, True]


def test_fresh_registry_gives_a_clear_message_on_every_page(tmp_path, monkeypatch):
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(tmp_path / "empty-models"))
    at = _app()
    for page in (SCORE, EVALUATE, MODELS):
        at.switch_page(page).run()
        _no_crash(at)
        said = " ".join(_errors(at) + [w.value for w in at.warning])
        assert "no active model" in said.lower() or "no model versions" in said.lower(), page
        assert "engage train" in said, page


BAD_UPLOADS = [
    ("notes.docx", b"PK\x03\x04 whatever", "unsupported file type '.docx'"),
    ("empty.csv", b"", "the file is empty"),
    ("broken.jsonl", b'{"text": "fine"}\n{"text": oops}\n', "broken.jsonl, row 2: not valid JSON"),
    ("binary.csv", b"text\nhello\x00world\n", "NUL byte"),
    ("header-only.csv", b"text,label\n", "header row but no data rows"),
]


def test_bad_files_show_what_to_fix(app_env):
    at = _app()
    for name, data, said in BAD_UPLOADS:
        at.file_uploader(key="score_file").set_value((name, data, "application/octet-stream"))
        at.run()
        _no_crash(at)
        assert any(said in e for e in _errors(at)), (name, _errors(at))


def test_bad_labels_name_the_row_and_no_label_column_still_scores(app_env):
    data = b"text,label\nmy order is late,1\nlovely day,maybe\n"
    at = _upload(_app(), "odd.csv", data)
    at.button(key="score_go").click()
    at.run()
    _no_crash(at)
    assert any("odd.csv, row 3, column 'label': unknown label value(s) 'maybe'" in e for e in _errors(at))
    at.selectbox[1].select("(no label column)").run()
    at.button(key="score_go").click()
    at.run()
    assert not _errors(at)
    assert len(_table(at, "engageable")) == 2
    at.switch_page(EVALUATE).run()
    assert any("without a label column" in i.value for i in at.info)


def test_a_file_without_text_asks_for_the_column(app_env):
    at = _upload(_app(), "numbers.csv", b"a,b\n1,2\n3,4\n")
    _no_crash(at)
    assert any("no text column found" in w.value for w in at.warning)
    assert not [b for b in at.button if b.key == "score_go"]  # scoring waits for a column
    assert at.selectbox[0].value is None


def test_an_altered_model_file_is_refused_clearly(app_env, tmp_path, monkeypatch):
    models = tmp_path / "models"
    shutil.copytree(app_env.models, models)
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(models))
    head = models / ACTIVE_VERSION / "head.weights.h5"
    head.write_bytes(head.read_bytes()[:100])
    at = _app()
    _no_crash(at)
    assert any("does not match the sha256" in e for e in _errors(at)), _errors(at)


def test_a_bug_shows_a_generic_message_and_logs_the_trace(app_env, tmp_path, monkeypatch):
    import engage.scoring

    monkeypatch.setenv("ENGAGE_CACHE_DIR", str(tmp_path / "cache"))

    def broken(*args, **kwargs):
        raise RuntimeError("secret internals 42")

    monkeypatch.setattr(engage.scoring, "scored_frame", broken)
    at = _upload(_app(), "labeled.csv", app_env.csv.read_bytes())
    at.button(key="score_go").click()
    at.run()
    _no_crash(at)
    errors = _errors(at)
    assert len(errors) == 1 and "this is a bug" in errors[0] and "secret" not in errors[0]
    log = tmp_path / "cache" / "engage.log"
    assert str(log) in errors[0]
    assert "RuntimeError: secret internals 42" in log.read_text(encoding="utf-8")
