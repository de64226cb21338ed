"""Issue 24 items 10, 11, 13, 15 on the pages (AppTest, stubbed engine as in tests/test_pages_stubbed.py): the
agreement panel redraws itself while annotators label, the label card shows the file's columns the analyst picks
(escaped), the plain CSV is offered beside the spreadsheet-safe one with its risk, and the Train page starts from
the label column chosen on the Score page."""

from __future__ import annotations

import hashlib
import os
from unittest.mock import patch

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest, local_script_runner

from engage.formula_guard import PLAIN_CSV, PLAIN_CSV_RISK
from engage.head.config import HeadConfig
from engage.labels import LabelStore
from engage.ui import live_agreement
from engage.ui.text import plain
from tests.apptests import APP, ok
from tests.test_pages_stubbed import TIMEOUT, StubClassifier, _scored, engine  # noqa: F401 (a fixture)

pytestmark = pytest.mark.usefixtures("engine")  # the stub classifiers, a registry and a label database per test
LABEL, TRAIN = "engage/ui/pages/label.py", "engage/ui/pages/train.py"
TWEETS = pd.DataFrame({
    "tweet_id": ["570306133677760513", "570301130888122368", "570301083672813571"],
    "airline": ["Virgin America", "United", "United"],
    "name": ["cairdin", "**bold** ![x](http://host.invalid/i.png)", "jnardino"],
    "text": ["@VirginAmerica What @dhepburn said.", "@united my bag is lost, please help", "@united fine"],
    "tweet_created": ["2015-02-24 11:35:52 -0800", "2015-02-24 11:15:59 -0800", "2015-02-24 11:15:48 -0800"],
})


def _label_page(annotator: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["annotator"] = annotator
    at.run()
    return at.switch_page(LABEL).run()


def _fragment_tick(at: AppTest, key: str) -> AppTest:
    """What the browser does every run_every seconds: a rerun of that fragment alone (its elements only come back)."""
    ids = at._fragment_storage.resolve_target(key)
    real = local_script_runner.RerunData
    with patch.object(local_script_runner, "RerunData", lambda **kw: real(**kw, fragment_id_queue=ids)):
        return at.run()


def test_agreement_redraws_itself_while_annotators_label():
    store = LabelStore(os.environ["ENGAGE_DATABASE_URL"])
    set_id = store.import_messages("inbox", TWEETS["text"])
    at = _label_page("ben")
    at.selectbox(key="label_order").select("file").run()
    for _ in range(2):
        next(b for b in at.button if b.label == "Engageable").click()
        at.run()
    ok(at)
    assert any("Shown once two annotators" in c.value for c in at.caption)
    for _ in range(2):  # another annotator labels the same messages, in another browser
        item = store.next_message(set_id, "ana", "file")
        store.label(item.message_id, "ana", 0, set_id=set_id)
    at = _fragment_tick(at, live_agreement.FRAGMENT)
    ok(at)
    pairs = next(d.value for d in at.dataframe if "kappa" in d.value.columns)
    assert pairs[["annotator_a", "annotator_b", "messages", "agreement"]].values.tolist() == [["ana", "ben", 2, 0.0]]
    store.close()


def test_the_card_shows_the_columns_picked_escaped():
    at = _label_page("ana")
    at.file_uploader(key="label_file").upload("tweets.csv", TWEETS.to_csv(index=False).encode(), "text/csv").run()
    at.button(key="label_import").click().run()
    ok(at)
    picker = next(m for m in at.multiselect if m.label == "Columns to show on the card")
    assert picker.options == ["tweet_id", "airline", "name", "tweet_created"]
    picker.select("airline").select("name").run()
    ok(at)
    row = TWEETS.set_index("text").loc[at.text[0].value]
    shown = f"**airline** {plain(row['airline'])} · **name** {plain(row['name'])}"
    assert shown in [c.value for c in at.caption]
    next(b for b in at.button if b.label == "Engageable").click()
    at.run()  # the next message: its own row's values, the same columns
    row = TWEETS.set_index("text").loc[at.text[0].value]
    assert f"**airline** {plain(row['airline'])} · **name** {plain(row['name'])}" in [c.value for c in at.caption]


def test_the_plain_csv_is_offered_beside_the_safe_one_with_its_risk():
    at = _scored()
    labels = [b.label for b in at.get("download_button")]
    assert f"All rows with scores: {PLAIN_CSV}" in labels and f"Flagged rows: {PLAIN_CSV}" in labels
    assert "All rows with scores (CSV)" in labels  # the spreadsheet-safe one stays
    assert any(PLAIN_CSV_RISK in c.value for c in at.caption)
    at.switch_page(TRAIN).run()
    ok(at)
    assert f"Labels: {PLAIN_CSV}" in [b.label for b in at.get("download_button")]
    assert any(PLAIN_CSV_RISK in c.value for c in at.caption)


def test_the_train_page_starts_from_the_label_column_chosen_on_the_score_page(monkeypatch):
    monkeypatch.setattr(StubClassifier, "config", HeadConfig(), raising=False)  # the Train page reads the recipe
    frame = TWEETS.assign(engage=[1, 1, 0], needs_reply=["no", "yes", "no"])
    data = frame.to_csv(index=False).encode()
    at = _scored("tweets.csv", data)
    chooser = next(s for s in at.selectbox if s.label.startswith("Label column"))
    assert chooser.value == "engage"
    chooser.select("needs_reply").run()
    ok(at)
    at.switch_page(TRAIN).run()
    at.file_uploader(key="train_file").upload("tweets.csv", data, "text/csv").run()
    ok(at)
    assert at.selectbox(key="train_label_col").value == "needs_reply"
    assert hashlib.sha256(data).hexdigest()[:16] in "".join(at.session_state)  # the owned key, per file
