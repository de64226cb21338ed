"""Between the label store and the models: an app label beats a file's, retraining keeps the threshold rule, and a
model is refused on an encoder other than its own."""

import shutil

import numpy as np
import pandas as pd
import pytest

from engage.errors import InputError
from engage.head import HeadConfig
from engage.label_loop import retrain, training_messages
from engage.labels import LabelStore
from engage.reading import Messages
from engage.scoring import load_classifier
from engage.train import train_model
from tests.fixtures.hub_fixtures import make_tf2_fixture

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


@pytest.fixture(scope="module")
def own_encoder(tmp_path_factory):
    """A fixture ELMo in a folder of this module's own, so that a test may swap its weights."""
    return make_tf2_fixture(tmp_path_factory.mktemp("own") / "elmo", dim=16, seed=0)


@pytest.mark.slow
def test_retraining_keeps_the_active_versions_threshold_rule(tmp_path, own_encoder):
    from engage.encoders import load_encoder

    first = train_model(_messages(), load_encoder(str(own_encoder)), HeadConfig(elmo_branch="linear"),
                        name="first", val_split=0.25, threshold_method="target_recall", threshold_value=0.9,
                        root=tmp_path)
    assert first.version.meta["threshold"]["method"] == "target_recall"
    clf = load_classifier("first", root=tmp_path)
    again = retrain(_messages(80, seed=1), clf, name="again", root=tmp_path)
    rule = again.version.meta["threshold"]
    assert (rule["method"], rule["target"]) == ("target_recall", 0.9)
    assert again.heldout["recall"] >= 0.9  # the rule was applied, not only recorded


def test_a_model_is_refused_on_an_encoder_whose_weights_changed(tmp_path, own_encoder):
    from engage.encoders import load_encoder

    models = tmp_path / "models"
    encoder_dir = models / "elmo"  # inside the models folder: model.json records it relatively, as shipped
    shutil.copytree(own_encoder, encoder_dir)
    train_model(_messages(), load_encoder(str(encoder_dir)), HeadConfig(elmo_branch="linear"), name="m",
                val_split=0.25, root=models)
    assert load_classifier("m", root=models).name == "m"  # loads on its own encoder
    other = make_tf2_fixture(tmp_path / "other", dim=16, seed=1)  # same shapes, other weights
    shutil.rmtree(encoder_dir / "variables")
    shutil.copytree(other / "variables", encoder_dir / "variables")
    with pytest.raises(InputError, match="fingerprint mismatch"):
        load_classifier("m", root=models)
