"""The Label and Train pages through Streamlit's AppTest: the name prompt, importing a file, labeling, skipping,
undoing, progress, agreement between two annotators, training from stored labels (plus a labeled file), metrics
beside the active model's, and promotion re-scoring the labeling sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import cohen_kappa_score
from streamlit.testing.v1 import AppTest

from engage import registry
from engage.formula_guard import PLAIN_CSV
from engage.labels import LabelStore
from engage.reading import read_messages
from engage.scoring import load_classifier
from engage.testing.app_world import ACTIVE_VERSION, AppWorld
from engage.ui.text import plain
from tests.apptests import APP, ok

# The app world trains two model versions and every test runs whole pages (Streamlit AppTest).
pytestmark = pytest.mark.slow

LABEL = "engage/ui/pages/label.py"
TRAIN = "engage/ui/pages/train.py"
TIMEOUT = 120


def _page(page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    return at.switch_page(page).run()


def _named(at: AppTest, name: str) -> AppTest:
    at.text_input(key="label_name_input").input(name)
    next(b for b in at.button if b.label == "Start labeling").click()
    return at.run()


def _click(at: AppTest, label: str) -> AppTest:
    next(b for b in at.button if b.label == label).click()
    return at.run()


def _shown(at: AppTest) -> str:
    return at.text[0].value


def _table(at: AppTest, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(found) == 1, f"{len(found)} tables with a column {column!r}"
    return found[0]


def _active(store: LabelStore) -> pd.DataFrame:
    rows = pd.read_sql("SELECT message_id, annotator, kind, value FROM labels WHERE undone_at IS NULL ORDER BY id",
                       store.engine)
    texts = store.messages(store.sets()[0].id).set_index("message_id")["text"]
    return rows.assign(text=rows["message_id"].map(texts))


def _uncertain_order(world: AppWorld) -> list[str]:
    """The engine's own ranking of the file's messages: closest to the active model's threshold first."""
    clf = load_classifier(ACTIVE_VERSION, root=world.models, use_cache=False)
    texts = [t for t in read_messages(world.csv).texts if t.strip()]
    distance = np.abs(clf.score(texts).values - clf.threshold)
    return [texts[i] for i in np.argsort(distance, kind="stable")]


def test_label_page_name_import_label_skip_undo_progress(env):
    world, url, _ = env
    at = _page(LABEL)
    ok(at)
    assert not [b for b in at.button if b.label == "Engageable"]  # nothing to label before the name
    at = _named(at, "ana")
    assert any("Labeling as **ana**" in c.value for c in at.caption)

    unlabeled = pd.read_csv(world.csv).drop(columns=["engage"]).to_csv(index=False).encode()
    at.file_uploader(key="label_file").upload("inbox.csv", unlabeled, "text/csv").run()
    at.button(key="label_import").click().run()
    ok(at)
    assert f"Imported 120 rows of {plain('inbox.csv')} as set 'inbox'." in [s.value for s in at.success]
    store = LabelStore(url)
    (labeling_set,) = store.sets()
    assert (labeling_set.name, labeling_set.size, labeling_set.n_empty) == ("inbox", 119, 1)

    order = _uncertain_order(world)  # the set was scored by the active model at import
    assert _shown(at) == order[0]
    at = _click(at, "Engageable")
    ok(at)
    assert _shown(at) == order[1]
    at = _click(at, "Skip")
    assert _shown(at) == order[2]
    answers = _active(store)
    assert answers[["text", "annotator", "kind"]].values.tolist() == [[order[0], "ana", "label"],
                                                                      [order[1], "ana", "skip"]]
    assert answers["value"].iloc[0] == 1

    at = _click(at, "Undo")
    ok(at)
    assert _shown(at) == order[1]  # the skipped message is back
    assert "Undone: your answer 'skip'. The message is back." in [i.value for i in at.info]
    at = _click(at, "Not engageable")
    assert _shown(at) == order[2]
    answers = _active(store)
    assert answers[["text", "kind", "value"]].values.tolist() == [[order[0], "label", 1], [order[1], "label", 0]]
    assert "2 of 119 messages labeled (by anyone)" in at.get("progress")[0].proto.text
    assert "Per annotator: **ana** 2 labeled, 0 skipped" in [c.value for c in at.caption]


def test_agreement_between_two_annotators(env):
    world, url, _ = env
    store = LabelStore(url)
    store.import_messages("inbox", read_messages(world.csv).texts)
    sessions = {}
    for name, answers in (("ana", ["Engageable", "Not engageable", "Engageable", "Engageable"]),
                          ("ben", ["Engageable", "Not engageable", "Not engageable", "Engageable"])):
        at = _named(_page(LABEL), name)
        at.selectbox(key="label_order").select("file").run()
        for answer in answers:
            at = _click(at, answer)
            ok(at)
        sessions[name] = at
    at = sessions["ben"]
    pairs = _table(at, "kappa")
    expected = cohen_kappa_score([1, 0, 1, 1], [1, 0, 0, 1])
    assert pairs[["annotator_a", "annotator_b", "messages"]].values.tolist() == [["ana", "ben", 4]]
    assert pairs.loc[0, "kappa"] == pytest.approx(expected)
    conflicts = _table(at, "text")  # the conflicts table: message_id, text, one column per annotator
    third = store.messages(store.sets()[0].id)["text"].iloc[2]
    assert conflicts["text"].tolist() == [third]
    assert conflicts[["ana", "ben"]].values.tolist() == [[1, 0]]
    assert "Per annotator: ana 4 labeled, 0 skipped · **ben** 4 labeled, 0 skipped" in [c.value for c in at.caption]


def test_train_page_from_stored_labels_plus_a_file_then_promote(env):
    world, url, models = env
    store = LabelStore(url)
    labeled = read_messages(world.csv, label_col="engage")
    set_id = store.import_messages("inbox", labeled.texts)
    frame = store.messages(set_id)
    truth = dict(zip(labeled.texts, labeled.labels, strict=True))
    for row in frame.head(60).itertuples():
        store.label(row.message_id, "ana", int(truth[row.text]), set_id=set_id)

    at = _page(TRAIN)
    ok(at)
    assert next(m.value for m in at.metric if m.label == "Labeled messages") == "60"
    at.file_uploader(key="train_file").upload("labeled.csv", world.csv.read_bytes(), "text/csv").run()
    ok(at)
    assert at.selectbox(key="train_label_col").value == "engage"
    assert next(m.value for m in at.metric if m.label == "Labeled messages") == "119"  # the file adds 59 new
    at.text_input(key="train_name").input("relabeled-1")
    at.button(key="train_go").click().run()
    ok(at)
    assert any(s.value.startswith("Trained relabeled-1 on 119 messages") for s in at.success)
    new = registry.read_model("relabeled-1", models)
    assert new.meta["training_data"]["rows"] == 119
    assert new.meta["encoder"]["fingerprint"] == registry.read_model(ACTIVE_VERSION, models).meta["encoder"][
        "fingerprint"]
    compared = _table(at, "active")
    assert compared["name"].tolist() == [ACTIVE_VERSION, "relabeled-1"]
    assert compared["active"].tolist() == [True, False]
    assert compared.loc[1, "f1"] == pytest.approx(new.meta["heldout_metrics"]["f1"])
    # Both versions scored again on the new one's held-out rows: for the new one, its recorded figures exactly.
    same = _table(at, "rows")
    assert same["name"].tolist() == [ACTIVE_VERSION, "relabeled-1"]
    assert same["rows"].tolist() == [new.meta["training_data"]["heldout_rows"]] * 2
    for key in ("f1", "accuracy", "roc_auc"):
        assert same.loc[1, key] == pytest.approx(new.meta["heldout_metrics"][key])

    at.button(key="train_promote").click().run()
    ok(at)
    assert registry.active_name(models) == "relabeled-1"
    assert ("relabeled-1 is now the active model; new scores stored for 1 labeling set, so the labeling queue "
            "follows it.") in [s.value for s in at.success]
    stored = pd.read_sql("SELECT DISTINCT model FROM scores", store.engine)["model"].tolist()
    assert stored == ["relabeled-1"]  # the queue now ranks by the new model
    assert [b.label for b in at.get("download_button")] == ["Labels (CSV)", "Labels (JSONL)", "Audit trail (CSV)",
                                                            f"Labels: {PLAIN_CSV}"]
    row = store.audit().iloc[0]  # open mode: nobody signed in
    assert (row.action, row.actor, row.from_version, row.to_version) == ("promote", "open mode", ACTIVE_VERSION,
                                                                         "relabeled-1")


def test_train_page_without_labels_informs_and_trains_from_a_labeled_file_alone(env):
    world, _, models = env
    at = _page(TRAIN)
    ok(at)  # information, not an error: a labeled file can be added
    assert any("No labels yet in the label store" in i.value and "add a labeled file" in i.value for i in at.info)
    at.file_uploader(key="train_file").upload("labeled.csv", world.csv.read_bytes(), "text/csv").run()
    ok(at)
    assert next(m.value for m in at.metric if m.label == "Labeled messages") == "119"
    at.text_input(key="train_name").input("from-file")
    at.button(key="train_go").click().run()
    ok(at)
    new = registry.read_model("from-file", models)
    assert (new.meta["training_data"]["rows"], new.meta["training_data"]["source"]) == (119, "labeled.csv")


def test_score_page_sends_the_flagged_rows_to_labeling_with_their_scores(env):
    world, url, _ = env
    at = _page("engage/ui/pages/score.py")
    at.file_uploader(key="score_file").upload("labeled.csv", world.csv.read_bytes(), "text/csv").run()
    at.button(key="score_go").click().run()
    next(s for s in at.selectbox if s.label == "Show").set_value("flagged").run()
    flagged = _table(at, "engageable")
    at.button(key="label_send").click().run()
    ok(at)
    store = LabelStore(url)
    (sent,) = store.sets()
    assert sent.size == len(flagged) > 0
    stored = pd.read_sql("SELECT m.text, s.score, s.model FROM scores s JOIN messages m ON m.id = s.message_id",
                         store.engine)
    expected = flagged.set_index("text")["engage_score"]
    np.testing.assert_allclose(stored.set_index("text")["score"].loc[expected.index], expected, rtol=1e-6)
    assert set(stored["model"]) == {ACTIVE_VERSION}

    at.switch_page(LABEL).run()
    at = _named(at, "ana")
    assert at.selectbox(key="label_set_pick").value == sent.id
    assert _shown(at) in set(flagged["text"])


def test_activating_on_the_models_page_rescores_the_labeling_sets(env):
    from engage.testing.app_world import OTHER_VERSION

    world, url, models = env
    with LabelStore(url) as store:
        store.import_messages("tweets", read_messages(world.csv).texts)
    at = _page("engage/ui/pages/models.py")
    at.selectbox(key="models_pick").select(OTHER_VERSION).run()
    at.button(key="models_activate").click().run()
    ok(at)
    assert registry.active_name(models) == OTHER_VERSION
    with LabelStore(url) as store:
        stored = pd.read_sql("SELECT DISTINCT model FROM scores", store.engine)["model"].tolist()
    assert stored == [OTHER_VERSION]  # the queue now ranks by the version activated here
