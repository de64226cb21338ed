"""The Monitor page through Streamlit's AppTest on the simulated stream (stored scores, the shipped model with its
reference): figures drawn, alerts shown and stored, the banner on another page, a spot check drawn, labeled and
measured, and an annotator kept out. No TensorFlow: nothing is scored here."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from engage.labels import LabelStore
from engage.monitor.spotcheck import spot_check_results
from engage.testing import monitor_stream
from tests.apptests import APP, ok, opened, signed_in
from tests.test_monitor_stream import _record

# Whole app runs (AppTest), as the other app tests.
pytestmark = pytest.mark.slow

MONITOR = "engage/ui/pages/monitor.py"
SCORE = "engage/ui/pages/score.py"
TIMEOUT = 180
XSS = '<img src=x onerror="document.title=\'pwned\'"> my order is lost **help**'


@pytest.fixture(scope="module")
def models(tmp_path_factory, complaints) -> Path:
    return monitor_stream.shipped_with_texts(tmp_path_factory.mktemp("models"))


@pytest.fixture
def env(models, tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'engage.sqlite'}"
    days = monitor_stream.stream_days()
    days[16] = (16, days[16][1].assign(text=[XSS] + days[16][1]["text"].tolist()[1:]))
    _record(url, days)
    monkeypatch.setenv("ENGAGE_DATABASE_URL", url)
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(models))
    (tmp_path / "engage.toml").write_text('[monitor]\nkeep_texts_days = 0\n[access]\nanalysts = ["carl@acme.example"]'
                                          '\nannotators = ["ana@acme.example"]\n')
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "engage.toml"))
    return url


def test_monitor_page_figures_alerts_banner_and_a_spot_check(env):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(MONITOR).run()
    ok(at)
    assert at.header[0].value == "Monitor"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Messages"] == f"{17 * 200:,}" and 0.5 < float(metrics["Text drift (AUC)"]) < 1  # 3 of 17 days
    warnings = [w.value for w in at.warning]
    assert any(w.startswith("**text drift**") for w in warnings)
    assert len(at.get("vega_lite_chart")) >= 5  # volume, share, scores, performance, calibration
    words = [d.value for d in at.dataframe if "typical of this period" in d.value.columns][0]
    assert len(words) == 10
    at.selectbox(key="monitor_split").select("domain").run()
    ok(at)
    # one click draws a spot-check set from the period's sample; labels on it give measured figures
    at.number_input(key="monitor_spot_size").set_value(40)
    at.button(key="monitor_spot").click().run()
    ok(at)
    with LabelStore(env) as store:
        (row,) = spot_check_results(store)
        messages = store.messages(row["set_id"])
        assert len(messages) == 40
        for i, message_id in enumerate(messages["message_id"]):
            store.label(int(message_id), "ana", i % 2, set_id=row["set_id"])
        (row,) = spot_check_results(store)
    assert row["labeled"] == 40 and row["precision_low"] <= row["precision"] <= row["precision_high"]
    at.run()
    ok(at)
    table = [d.value for d in at.dataframe if "precision_low" in d.value.columns][0]
    assert table["precision"].iloc[0] == pytest.approx(row["precision"])
    # the banner of every page
    other = AppTest.from_file(APP, default_timeout=TIMEOUT)
    other.run()
    other.switch_page(SCORE).run()
    assert any("open monitor alert" in w.value for w in other.warning)


def test_an_annotator_cannot_open_the_monitor_and_sees_no_banner(env):
    at = opened(signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), "ana@acme.example"), None)
    with pytest.raises(ValueError, match="Known pages"):
        at.switch_page(MONITOR)
    assert not any("monitor alert" in w.value for w in at.warning)
    analyst = opened(signed_in(AppTest.from_file(APP, default_timeout=TIMEOUT), "carl@acme.example"), MONITOR)
    ok(analyst)
    assert analyst.header[0].value == "Monitor"
