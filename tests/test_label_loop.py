"""Between the label store and the models: an app label beats a file's, retraining keeps the threshold rule, and a
model is refused on an encoder other than its own."""

import shutil

import numpy as np
import pandas as pd
import pytest

from engage.errors import InputError
from engage.head import HeadConfig
from engage.label_loop import (
    NoLabels,
    distinct_name,
    labels_needed,
    retrain,
    same_set,
    training_data,
    training_messages,
    validation_of,
)
from engage.labels import LabelStore
from engage.reading import Messages
from engage.scoring import load_classifier
from engage.testing.hub_fixtures import make_tf2_fixture
from engage.train import train_model
from engage.validation import Validation

WORDS_YES = ["refund", "broken", "waiting", "never", "late"]
WORDS_NO = ["thanks", "love", "great", "nice", "happy"]


def _messages(n: int = 60, seed: int = 0, source: str = "made.csv") -> Messages:
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) % 3 == 0).astype(np.int8)
    texts = [" ".join(rng.choice(WORDS_YES if y else WORDS_NO, 3)) + f" #{i}" for i, y in enumerate(labels)]
    return Messages(frame=pd.DataFrame({"text": texts, "label": labels}), text_col="text", label_col="label",
                    texts=texts, labels=labels, empty_rows=[], source=source, first_row=2)


def test_a_label_given_in_the_app_wins_over_the_added_files(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'labels.sqlite'}") as store:
        set_id = store.import_messages("s", ["Where is my refund?", "love it"])
        ids = store.messages(set_id)["message_id"].tolist()
        store.label(ids[0], "ana", 1, set_id=set_id)
        store.label(ids[1], "ana", 0, set_id=set_id)
        texts = ["where is my   REFUND?", "a fresh one", "   "]  # the first is the app's message, written otherwise
        added = Messages(frame=pd.DataFrame({"text": texts, "label": [0, 1, 1]}), text_col="text",
                         label_col="label", texts=texts, labels=np.array([0, 1, 1], dtype=np.int8), empty_rows=[2],
                         source="added.csv", first_row=2)
        both = training_messages(store, extra=added)
    assert dict(zip(both.texts, both.labels.tolist(), strict=True)) == {
        "Where is my refund?": 1, "love it": 0, "a fresh one": 1}
    assert both.source == "label store + added.csv"


def test_the_added_file_must_have_labels(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'labels.sqlite'}") as store:
        unlabeled = Messages(frame=pd.DataFrame({"text": ["x"]}), text_col="text", label_col=None, texts=["x"],
                             labels=None, empty_rows=[], source="added.csv", first_row=2)
        with pytest.raises(InputError, match="needs a label column"):
            training_messages(store, extra=unlabeled)


def _added(texts: list[str], labels: list[int]) -> Messages:
    return Messages(frame=pd.DataFrame({"text": texts, "label": labels}), text_col="text", label_col="label",
                    texts=texts, labels=np.array(labels, dtype=np.int8), empty_rows=[], source="added.csv",
                    first_row=2)


def test_an_added_file_alone_is_enough_and_nothing_at_all_is_no_labels(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'labels.sqlite'}") as store:
        with pytest.raises(NoLabels, match="or add a labeled file"):
            training_data(store)
        found = training_data(store, extra=_added(["late again", "love it", "late again"], [1, 0, 1]))
    assert found.messages.texts == ["late again", "love it", "late again"]
    assert found.messages.labels.tolist() == [1, 0, 1]
    assert found.messages.source == "added.csv"
    assert (found.stored, found.from_file, found.overlapping) == (0, 3, 0)


def test_training_data_counts_stored_file_and_overlapping_rows(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'labels.sqlite'}") as store:
        set_id = store.import_messages("s", ["Where is my refund?", "love it", "never came"])
        for message_id, value in zip(store.messages(set_id)["message_id"], (1, 0, 1), strict=True):
            store.label(message_id, "ana", value, set_id=set_id)
        found = training_data(store, extra=_added(["where is my REFUND?", "love it", "new one", "other"],
                                                  [0, 1, 1, 0]))
    assert (found.stored, found.from_file, found.overlapping) == (3, 2, 2)
    assert len(found.messages.texts) == found.stored + found.from_file


@pytest.mark.parametrize("share", [0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5])
def test_min_per_class_is_enough_for_the_held_out_split_and_its_inner_folds(share):
    from sklearn.model_selection import train_test_split

    need = Validation.held_out(share).min_per_class()
    for majority in (need, need + 1, 3 * need, 200):
        y = np.array([1] * need + [0] * majority)
        train, held = train_test_split(np.arange(len(y)), test_size=share, stratify=y, random_state=0)
        for c in (0, 1):
            assert (y[held] == c).sum() >= 1 and (y[train] == c).sum() >= 2


def test_labels_needed_names_the_short_class():
    labels, fifth = np.array([1] + [0] * 14), Validation.held_out(0.2)
    assert labels_needed(labels, fifth) == {1: fifth.min_per_class() - 1}
    assert labels_needed(np.array([1, 1, 0]), fifth) == {1: fifth.min_per_class() - 2, 0: fifth.min_per_class() - 1}
    assert labels_needed(np.array([1] * 20 + [0] * 20), Validation.held_out(0.1)) == {}


def test_same_set_finds_a_twin_by_name_or_by_messages_and_distinct_name_avoids_it(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'labels.sqlite'}") as store:
        first = store.import_messages("inbox", ["a b", "c d"])
        assert same_set(store, "inbox", ["x"]).id == first
        assert same_set(store, "other name", ["C D", "a  b", ""]).id == first  # the same messages, normalized
        assert same_set(store, "other name", ["a b"]) is None
        assert distinct_name(store, "inbox") == "inbox (2)"
        store.import_messages("inbox (2)", ["e"])
        assert distinct_name(store, "inbox") == "inbox (3)"
        assert distinct_name(store, "fresh") == "fresh"


def test_progress_counts_labels_that_came_from_other_sets(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'labels.sqlite'}") as store:
        old = store.import_messages("old", ["a", "b", "c"])
        for message_id in store.messages(old)["message_id"][:2]:
            store.label(message_id, "ana", 1, set_id=old)
        new = store.import_messages("new", ["a", "b", "z", "y"])
        assert (store.progress(new).labeled, store.progress(new).from_other_sets) == (2, 2)
        store.label(int(store.messages(new)["message_id"].iloc[2]), "ana", 0, set_id=new)
        assert (store.progress(new).labeled, store.progress(new).from_other_sets) == (3, 2)
        assert store.progress(old).from_other_sets == 0


@pytest.fixture(scope="module")
def own_encoder(tmp_path_factory):
    """A fixture ELMo in a folder of this module's own, so that a test may swap its weights."""
    return make_tf2_fixture(tmp_path_factory.mktemp("own") / "elmo", dim=16, seed=0)


@pytest.mark.slow
def test_retraining_keeps_the_active_versions_threshold_rule(tmp_path, own_encoder):
    from engage.encoders import load_encoder

    first = train_model(_messages(), load_encoder(str(own_encoder)), HeadConfig(elmo_branch="linear"),
                        name="first", validation=Validation.held_out(0.25), threshold_method="target_recall",
                        threshold_value=0.9, root=tmp_path)
    assert first.version.meta["threshold"]["method"] == "target_recall"
    clf = load_classifier("first", root=tmp_path)
    again = retrain(_messages(80, seed=1), clf, name="again", root=tmp_path)
    rule = again.version.meta["threshold"]
    assert (rule["method"], rule["target"]) == ("target_recall", 0.9)
    assert again.heldout["recall"] >= 0.9  # the rule was applied, not only recorded


@pytest.mark.slow
def test_retraining_validates_as_the_active_version_did_unless_told(tmp_path, own_encoder):
    from engage.encoders import load_encoder

    train_model(_messages(), load_encoder(str(own_encoder)), HeadConfig(elmo_branch="linear"), name="cv",
                validation=Validation.cross(4), root=tmp_path)
    clf = load_classifier("cv", root=tmp_path)
    assert validation_of(clf) == Validation.cross(4)
    again = retrain(_messages(80, seed=1), clf, name="again", root=tmp_path)
    recorded = again.version.meta["training_data"]
    assert (recorded["cv_folds"], recorded["val_split"], recorded["train_rows"]) == (4, 0.0, 80)  # every label
    told = retrain(_messages(80, seed=1), clf, name="told", validation=Validation.held_out(0.25), root=tmp_path)
    assert (told.version.meta["training_data"]["cv_folds"], len(told.heldout_index)) == (0, 20)


def test_labels_needed_for_cross_validation_count_the_folds():
    assert Validation.cross(5).min_per_class() == 5 and Validation.cross(2).min_per_class() == 4  # two left
    assert labels_needed(np.array([1] * 3 + [0] * 9), Validation.cross(5)) == {1: 2}
    assert labels_needed(np.array([1] * 5 + [0] * 5), Validation.cross(5)) == {}


def test_a_model_is_refused_on_an_encoder_whose_weights_changed(tmp_path, own_encoder):
    from engage.encoders import load_encoder

    models = tmp_path / "models"
    encoder_dir = models / "elmo"  # inside the models folder: model.json records it relatively, as shipped
    shutil.copytree(own_encoder, encoder_dir)
    train_model(_messages(), load_encoder(str(encoder_dir)), HeadConfig(elmo_branch="linear"), name="m",
                validation=Validation.held_out(0.25), root=models)
    assert load_classifier("m", root=models).name == "m"  # loads on its own encoder
    other = make_tf2_fixture(tmp_path / "other", dim=16, seed=1)  # same shapes, other weights
    shutil.rmtree(encoder_dir / "variables")
    shutil.copytree(other / "variables", encoder_dir / "variables")
    with pytest.raises(InputError, match="fingerprint mismatch"):
        load_classifier("m", root=models)
