"""The Train page's fine-tuning option on the stubbed engine (tests/test_pages_stubbed.py): off by default, and for
a model whose ELMo cannot be fine-tuned (a TF Hub module) disabled with the engine's reason. Fine-tuning from the
page on a real biLM, and scoring the result in the app, is tests/test_finetune.py's."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from engage.encoders.bilm.finetune import HUB_REFUSAL
from engage.head import HeadConfig
from tests.apptests import APP, ok
from tests.test_pages_stubbed import TIMEOUT, StubClassifier, _csv, engine  # noqa: F401 (engine: fixture)

TRAIN = "engage/ui/pages/train.py"


def test_the_finetune_option_is_off_and_says_why_a_hub_elmo_cannot_be_tuned(engine, monkeypatch):  # noqa: F811
    monkeypatch.setattr(StubClassifier, "config", HeadConfig(), raising=False)  # the Train page reads the head's
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(TRAIN).run()
    at.file_uploader(key="train_file").upload("labeled.csv", _csv()[1], "text/csv").run()
    ok(at)
    box = at.checkbox(key="finetune_on")
    assert box.value is False and box.disabled and at.slider(key="finetune_minutes").disabled
    reason = HUB_REFUSAL.format(handle="stub://elmo")
    assert any(c.value == f"Not available for this model: {reason}." for c in at.caption)
    assert any(b.key == "train_go" and not b.disabled for b in at.button)  # training without it stays offered
