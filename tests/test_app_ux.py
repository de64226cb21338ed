"""What a new analyst trips over in the app (issue 17), through Streamlit's AppTest: a guessed text column is said,
undefined metrics are empty with a note (never 0), the threshold in force is said and carries over only when
pinned, the slice selector starts on a column with few values, and the Models page shows the whole active name and
re-scores the kept upload after a model change."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

from engage import registry
from engage.testing.app_world import ACTIVE_VERSION, OTHER_VERSION, AppWorld, labeled_frame
from tests.test_app import EVALUATE, MODELS, SCORE, _app, _errors, _no_crash, _table, _upload


@pytest.fixture
def own_models(app_env, tmp_path, monkeypatch) -> AppWorld:
    """A copy of the world's registry, for tests that activate another version."""
    models = tmp_path / "models"
    shutil.copytree(app_env.models, models)
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(models))
    return AppWorld(app_env.root, models, app_env.cache, app_env.encoder, app_env.csv)


def _score(at, name: str, data: bytes):
    at = _upload(at, name, data)
    at.button(key="score_go").click()
    at.run()
    _no_crash(at)
    assert not _errors(at), _errors(at)
    return at


def _said(at) -> str:
    return " | ".join([c.value for c in at.caption] + [w.value for w in at.warning] + [i.value for i in at.info]
                      + [m.value for m in at.markdown])


def _threshold_of(models, name: str) -> float:
    return registry.read_model(name, models).meta["threshold"]["value"]


def _csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode("utf-8")


# ---------------------------------------------------------------- item 1: a guessed text column is said

def _notes_file(rows: int = 40) -> pd.DataFrame:
    """No column named like message text: the longest texts are the agent's notes, not the customer's words."""
    frame = labeled_frame(rows)
    return pd.DataFrame({"Case ID": [f"CASE-2024-{i:06d}" for i in range(rows)], "Remark": frame["text"],
                         "Channel": frame["domain"],
                         "Agent Notes": [f"called back the customer, ticket escalated to tier two, case {i}"
                                         for i in range(rows)], "engage": frame["engage"]})


def test_a_guessed_text_column_is_named_with_a_warning_until_one_is_picked(app_env):
    at = _upload(_app(), "cases.csv", _csv(_notes_file()))
    _no_crash(at)
    assert at.selectbox[0].value == "Agent Notes"
    warned = [w.value for w in at.warning if "Agent Notes" in w.value]
    assert len(warned) == 1 and "guess" in warned[0] and "Text column" in warned[0], [w.value for w in at.warning]
    at.selectbox[0].select("Remark").run()
    assert not [w.value for w in at.warning if "guess" in w.value]


def test_a_text_column_found_by_name_gets_no_warning(app_env):
    frame = _notes_file().rename(columns={"Remark": "Message Body"})
    at = _upload(_app(), "cases.csv", _csv(frame))
    assert at.selectbox[0].value == "Message Body"
    assert not [w.value for w in at.warning if "guess" in w.value]


# ---------------------------------------------------------------- item 4: undefined metrics are not 0

def test_undefined_metrics_are_empty_cells_with_a_note_and_left_out_of_the_charts(app_env):
    frame = labeled_frame()
    frame.loc[frame["domain"] == "airline", "engage"] = 0  # a slice with no engageable message
    at = _score(_app(), "no-airline.csv", _csv(frame))
    at.switch_page(EVALUATE).run()
    _no_crash(at)
    slices = _table(at, "slice").set_index("slice")
    assert np.isnan(slices.loc["airline", "recall"]) and np.isnan(slices.loc["airline", "f1"])
    assert slices.drop(index="airline")["f1"].notna().all()
    assert any("Empty cells are undefined" in c.value and "recall where it has no engageable" in c.value
               for c in at.caption), _said(at)
    charts = at.get("vega_lite_chart")
    assert '"F1 by slice"' in charts[-1].proto.spec and "F1 undefined: airline" in charts[-1].proto.spec

    at.slider(key="threshold_evaluate_slider").set_value(1.0).run()  # nothing is flagged
    _no_crash(at)
    shown = _table(at, "support")
    assert np.isnan(shown.loc[0, "precision"]) and np.isnan(shown.loc[0, "f1"])
    assert shown.loc[0, "recall"] == 0.0
    assert any("precision is undefined: no message is flagged" in c.value for c in at.caption), _said(at)
    specs = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert any("precision undefined from threshold" in s for s in specs)
    pr = next(s for s in specs if "Precision-recall curve" in s)
    assert "nothing is flagged, so its precision is undefined" in pr


# ---------------------------------------------------------------- item 6: the threshold in force

def test_a_new_file_starts_from_the_models_threshold_unless_pinned(app_env):
    model_t = _threshold_of(app_env.models, ACTIVE_VERSION)
    at = _score(_app(), "labeled.csv", app_env.csv.read_bytes())
    assert f"the model's own {model_t:.3f}" in _said(at)
    at.slider(key="threshold_score_slider").set_value(0.8).run()
    assert "set by you: 0.800" in _said(at)

    at = _score(at, "other.csv", _csv(labeled_frame(60, seed=3)))  # the next file in the same tab
    assert at.slider(key="threshold_score_slider").value == pytest.approx(model_t)
    assert at.slider(key="threshold_score_slider").value == pytest.approx(model_t)
    assert f"the model's own {model_t:.3f}" in _said(at)

    at.slider(key="threshold_score_slider").set_value(0.8).run()
    at.checkbox(key="threshold_score_pin").check().run()
    assert "pinned" in _said(at)
    at = _score(at, "third.csv", _csv(labeled_frame(50, seed=4)))
    assert at.slider(key="threshold_score_slider").value == pytest.approx(0.8)
    assert "set by you: 0.800" in _said(at)


@pytest.mark.slow
def test_the_score_page_resets_the_threshold_explicitly_and_scoring_leaves_it_alone(app_env):
    """Issue 20 item 2: one owner of the threshold (engage.ui.threshold, one frozen value under one key), reset by a
    control on the Score page; scoring writes no threshold. And item 3: every key the flow leaves has one owner and
    holds no tuple."""
    import dataclasses

    from engage.ui import threshold
    from tests.test_app_ui_state import _owners

    model_t = _threshold_of(app_env.models, ACTIVE_VERSION)
    at = _score(_app(), "labeled.csv", app_env.csv.read_bytes())
    assert threshold.KEY not in at.session_state  # scoring set nothing: the model's own is read, not stored
    assert at.button(key="threshold_score_reset").disabled
    at.slider(key="threshold_score_slider").set_value(0.8).run()
    at.checkbox(key="threshold_score_pin").check().run()
    assert at.session_state[threshold.KEY] == threshold.ThresholdChoice(0.8, "you", True, (
        at.session_state["engage_result"].sha256, ACTIVE_VERSION))
    at = _score(at, "other.csv", _csv(labeled_frame(60, seed=3)))
    assert at.slider(key="threshold_score_slider").value == pytest.approx(0.8)  # pinned: kept

    at.button(key="threshold_score_reset").click().run()
    _no_crash(at)
    assert threshold.KEY not in at.session_state
    assert at.slider(key="threshold_score_slider").value == pytest.approx(model_t)
    assert not at.checkbox(key="threshold_score_pin").value
    assert f"the model's own {model_t:.3f}" in _said(at)

    owners = sorted(_owners())
    for key in at.session_state:
        assert len([p for p in owners if key.startswith(p)]) == 1, key
        value = at.session_state[key]
        assert not isinstance(value, (tuple, list, dict)), key
        assert not dataclasses.is_dataclass(value) or value.__dataclass_params__.frozen, key


@pytest.mark.slow
def test_a_markdown_file_name_is_shown_as_text_in_the_preview_and_captions(app_env):
    """Issue 26 item 9, on the Score and Evaluate pages (the Label page's names: tests/test_app_ui_state.py)."""
    from markdown_it import MarkdownIt

    name = "![x](http://host.invalid/img.png).csv"
    at = _score(_app(), name, app_env.csv.read_bytes())
    shown = [c.value for c in at.caption if "invalid" in c.value]  # "120 messages of ... scored"
    at.switch_page(EVALUATE).run()
    _no_crash(at)
    shown += [c.value for c in at.caption if "invalid" in c.value]
    at.switch_page(SCORE).run()  # the result is shown again, the upload widget empty
    _no_crash(at)
    shown += [i.value for i in at.info if "invalid" in i.value]  # "Showing the results for ..."
    assert len(shown) == 3, _said(at)
    at = _upload(_app(), name, app_env.csv.read_bytes())
    shown += [e.label for e in at.expander if "invalid" in e.label]
    assert any(s.startswith("Preview of") for s in shown), shown
    for markdown in shown:
        html = MarkdownIt("commonmark").render(markdown)
        assert "<img" not in html and "<a " not in html and "http\\:" in markdown, markdown
        assert "![x](http://host.invalid/img.png)" in html, html


def test_a_new_active_model_brings_its_own_threshold(own_models):
    at = _score(_app(), "labeled.csv", own_models.csv.read_bytes())
    at.slider(key="threshold_score_slider").set_value(0.8).run()
    at.switch_page(MODELS).run()
    at.selectbox(key="models_pick").select(OTHER_VERSION).run()
    at.button(key="models_activate").click().run()
    at.switch_page(SCORE).run()
    at.button(key="score_again").click().run()
    _no_crash(at)
    other_t = _threshold_of(own_models.models, OTHER_VERSION)
    assert at.slider(key="threshold_score_slider").value == pytest.approx(other_t)
    assert f"the model's own {other_t:.3f}" in _said(at)


# ---------------------------------------------------------------- item 7: the slice selector's default

def test_slices_default_to_a_column_with_few_values_never_an_id(app_env):
    cases = _notes_file().rename(columns={"Remark": "Message Body"})
    at = _score(_app(), "cases.csv", _csv(cases))
    at.switch_page(EVALUATE).run()
    _no_crash(at)
    assert at.selectbox(key="evaluate_slice_col").value == "Channel"
    assert not _errors(at)


# ---------------------------------------------------------------- item 9: the Models page

def test_models_page_shows_the_whole_active_name_and_the_validation_column(own_models):
    long_name = "engage-default-2026-12-01-retrained-on-complaints"
    shutil.copytree(own_models.models / ACTIVE_VERSION, own_models.models / long_name)
    registry.activate(long_name, own_models.models)
    at = _app().switch_page(MODELS).run()
    _no_crash(at)
    assert "Active model" not in [m.label for m in at.metric]  # st.metric cuts long text with an ellipsis
    assert any(long_name in m.value for m in at.markdown), _said(at)
    table = _table(at, "encoder")
    assert "validation" in list(table.columns)[:4]  # beside the name, not off to the right of a wide table
    assert "validation column says which" in at.get("vega_lite_chart")[0].proto.spec


def test_score_again_after_a_model_change_needs_no_new_upload(own_models):
    at = _score(_app(), "labeled.csv", own_models.csv.read_bytes())
    at.switch_page(MODELS).run()
    at.selectbox(key="models_pick").select(OTHER_VERSION).run()
    at.button(key="models_activate").click().run()
    at.switch_page(SCORE).run()
    _no_crash(at)
    assert not at.file_uploader(key="score_file").value  # the upload widget is empty again
    assert any("score again" in w.value for w in at.warning)
    at.button(key="score_again").click().run()
    _no_crash(at)
    assert at.session_state["engage_result"].model == OTHER_VERSION
    assert not [w.value for w in at.warning if "score again" in w.value]
    assert len(_table(at, "engageable")) == 120
