"""Issue 24 items 5-8 and 16 on the engine and the CLI: a version knows the texts it trained on and an evaluation on
them says so (engage.overlap), versions are compared on the same messages and promotion warns (engage.promotion),
training_rows is the final head's, and fitting reports each fit with an estimate of the time left."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from engage import overlap as overlap_mod
from engage import registry
from engage.cli import run
from engage.encoders import load_encoder
from engage.errors import InputError
from engage.head import HeadConfig
from engage.labels import text_hash
from engage.overlap import overlap_note, training_overlap, training_record
from engage.promotion import MIN_LABELS, compare_on_same_messages, promotion_warnings
from engage.reading import Messages, read_messages
from engage.scoring import load_classifier
from engage.summary import models_frame, models_metrics_long
from engage.testing.app_world import ACTIVE_VERSION, OTHER_VERSION
from engage.train import FitStep, _split, fit_step_text, train_model
from engage.validation import Validation


def _messages(texts: list[str], labels, source: str = "made.csv") -> Messages:
    labels = np.asarray(labels, dtype=np.int8)
    return Messages(frame=pd.DataFrame({"text": texts, "label": labels}), text_col="text", label_col="label",
                    texts=texts, labels=labels, empty_rows=[], source=source, first_row=2)


# ------------------------------------------------------------------ item 5: the version knows its training texts

def test_a_version_records_the_texts_its_final_head_learned_from_and_an_evaluation_on_them_says_so(world):
    version = registry.read_model(ACTIVE_VERSION, world.models)  # trained on labeled.csv, 10 % held out
    messages = read_messages(world.csv, label_col="engage")
    texts = messages.texts
    entry = version.meta["training_data"]["texts"]
    assert entry["file"] in version.meta["files"]  # checksummed like every file of the version
    fit_rows, held_rows = _split(len(texts), messages.labels, Validation.held_out(0.1), 0)  # the world's split
    expected = {text_hash(texts[i])[:overlap_mod.HASH_DIGITS] for i in fit_rows if texts[i].strip()}
    assert set(version.file(entry["file"]).read_text().split()) == expected  # the held-out rows are not in it
    assert entry["kept"] == entry["distinct"] == len(expected) and entry["up_to"] is None
    found = training_overlap(version, texts, messages.labels)
    nonempty = sum(bool(t.strip()) for t in texts)
    assert found.same_data and not found.estimated
    assert (found.rows, found.training) == (nonempty, len(expected))
    note = overlap_note(found, version)
    assert note.startswith("This is the file it was trained on")
    assert f"{len(expected) / nonempty:.0%} of these messages ({len(expected)} of {nonempty})" in note
    assert f"Its own {version.meta['heldout_metrics']['method']} said ROC-AUC" in note
    # the held-out rows and new messages: not the same data, and none of them trained on
    fresh = [texts[i] for i in held_rows] + [f"a message nobody trained on #{i}" for i in range(60)]
    assert training_overlap(version, fresh).training == 0 and overlap_note(training_overlap(version, fresh),
                                                                           version) is None
    # some of each: the share of rows that were training rows
    mixed = [texts[i] for i in fit_rows[:30]] + fresh
    part = training_overlap(version, mixed, np.zeros(len(mixed)))
    assert not part.same_data and part.training == sum(bool(texts[i].strip()) for i in fit_rows[:30])


def test_an_older_version_without_the_record_loads_and_its_overlap_is_unknown_not_guessed(world, tmp_path):
    shutil.copytree(world.models / ACTIVE_VERSION, tmp_path / ACTIVE_VERSION)
    meta_path = tmp_path / ACTIVE_VERSION / "model.json"
    meta = json.loads(meta_path.read_text())
    del meta["training_data"]["texts"]
    meta_path.write_text(json.dumps(meta))
    old = registry.read_model(ACTIVE_VERSION, tmp_path)
    assert training_overlap(old, ["anything"]) is None
    assert "did not record the messages it trained on" in overlap_note(None, old)
    meta["training_data"]["texts"] = {"file": overlap_mod.HASH_FILE, "distinct": "many", "kept": 3}
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(InputError, match="training_data.texts.distinct is not a count"):
        registry.read_model(ACTIVE_VERSION, tmp_path)  # model.json is read strictly


def test_the_record_is_bounded_and_past_the_bound_the_share_is_estimated_on_a_hash_range(monkeypatch):
    monkeypatch.setattr(overlap_mod, "MAX_HASHES", 1000)
    trained = [f"training message number {i}" for i in range(4000)]
    entry, keys = training_record(trained)
    assert (entry["distinct"], entry["kept"]) == (4000, 1000) and len(keys.split()) == 1000
    assert keys.split() == sorted(keys.split()) and entry["up_to"] == keys.split()[-1]
    version = registry.ModelVersion("v", None, {"training_data": {"texts": entry}})
    monkeypatch.setattr(registry.ModelVersion, "file", lambda self, key: _Text(keys))
    evaluated = trained[:1500] + [f"new message {i}" for i in range(1500)]  # half were training rows
    found = training_overlap(version, evaluated)
    assert found.estimated and found.rows == 3000 and 0.4 < found.share < 0.6 and found.judged < 3000
    assert "about 5" in overlap_note(found, version) or "about 4" in overlap_note(found, version)


class _Text:
    def __init__(self, text: str) -> None:
        self.text = text

    def read_text(self, encoding: str = "utf-8") -> str:
        return self.text


def test_engage_evaluate_prints_the_note_above_the_metrics(app_env, capsys):
    assert run(["evaluate", str(app_env.csv), "--label-col", "engage", "--model", ACTIVE_VERSION, "--json"]) == 0
    out = capsys.readouterr().out.splitlines()
    note = next(i for i, line in enumerate(out) if "note: This is the file it was trained on" in line)
    assert note < next(i for i, line in enumerate(out) if line.strip().startswith("roc_auc"))
    found = json.loads(out[-1])["training_overlap"]
    assert found["same_data"] and not found["estimated"] and found["rows"] == 119  # the empty row has no text
    assert found["share"] == found["training_rows"] / 119 and 0.85 < found["share"] < 0.95


# ------------------------------------------------------------------ item 8: training_rows

def test_training_rows_is_what_the_final_head_trained_on(world):
    versions = [registry.read_model(n, world.models) for n in (ACTIVE_VERSION, OTHER_VERSION)]
    frame = models_frame(versions, ACTIVE_VERSION)
    assert frame["training_rows"].tolist() == [108, 108]  # 120 rows, 12 held out: not 120
    assert frame["heldout_rows"].tolist() == [12, 12]
    old = registry.ModelVersion("old", None, {"training_data": {"rows": 120, "val_split": 0.1, "heldout_rows": 12},
                                              "heldout_metrics": {"n": 12}})
    assert models_frame([old], None)["training_rows"].tolist() == [108]  # recorded before train_rows was


# ------------------------------------------------------------------ item 6: the same messages; the Models chart

def test_models_chart_data_says_which_versions_were_measured_on_the_same_data_as_the_active_one(world):
    versions = [registry.read_model(n, world.models) for n in (ACTIVE_VERSION, OTHER_VERSION)]
    elsewhere = registry.ModelVersion("elsewhere", None, {
        "training_data": {"source": "airline.csv", "rows": 38, "fingerprint": "0" * 64},
        "heldout_metrics": {"method": "5-fold cross-validation", "roc_auc": 0.6}})
    long = models_metrics_long([*versions, elsewhere], ACTIVE_VERSION)
    same = long.groupby("version")["same_data"].first().to_dict()
    assert same == {ACTIVE_VERSION: True, OTHER_VERSION: True, "elsewhere": False}
    assert long.loc[long["version"] == "elsewhere", "measured_on"].iloc[0] == (
        "5-fold cross-validation of airline.csv (38 labels)")
    assert models_frame([elsewhere], None)["measured_on"].tolist() == ["5-fold cross-validation of airline.csv "
                                                                      "(38 labels)"]


@pytest.fixture(scope="module")
def trained(world, tmp_path_factory):
    """A version trained by 3-fold cross-validation on labeled.csv's texts with their labels shuffled (the world's
    encoder; so it has learned nothing), with every FitStep heard; and the true labels."""
    from engage.cache import EmbeddingCache

    root = tmp_path_factory.mktemp("trust-models")
    shutil.copytree(world.models, root, dirs_exist_ok=True)
    messages = read_messages(world.csv, label_col="engage")
    cache = EmbeddingCache(tmp_path_factory.mktemp("trust-cache") / "embeddings")
    steps: list[FitStep] = []
    shuffled = np.random.default_rng(0).permutation(messages.labels)
    bad = train_model(_messages(messages.texts, shuffled, "shuffled.csv"), load_encoder(str(world.encoder)),
                      HeadConfig(elmo_branch="linear"), name="cv-bad", validation=Validation.cross(3), root=root,
                      cache=cache, on_fit=steps.append)
    return root, messages, bad, steps


@pytest.mark.slow  # trains
def test_the_new_versions_cross_validation_rows_are_scored_by_the_active_version_too(trained):
    from engage.metrics import metric_table

    root, messages, bad, _ = trained
    active = load_classifier(ACTIVE_VERSION, root=root)
    same = compare_on_same_messages(bad, messages, active)  # its 120 rows, with their true labels
    assert same.how == "cross-validation" and (same.candidate, same.active) == ("cv-bad", ACTIVE_VERSION)
    assert same.table["name"].tolist() == [ACTIVE_VERSION, "cv-bad"]
    assert same.table["rows"].tolist() == [120, 120]
    candidate = metric_table(messages.labels, bad.validation_scores, bad.version.meta["threshold"]["value"])
    assert same.figure("candidate", "roc_auc") == pytest.approx(candidate["roc_auc"])  # its cross-validated scores
    scores = active.score(messages.texts).values
    assert same.figure("active", "f1") == pytest.approx(metric_table(messages.labels, scores, active.threshold)["f1"])
    # the active version trained on most of them: the page says its figures are optimistic
    assert same.active_overlap.training == training_overlap(active.version, messages.texts).training > 100


@pytest.mark.slow  # trains
def test_promotion_warns_for_a_worse_candidate_on_the_same_messages_and_for_few_labels(trained):
    root, messages, bad, _ = trained
    same = compare_on_same_messages(bad, messages, load_classifier(ACTIVE_VERSION, root=root))
    said = promotion_warnings(bad.version, same)
    assert said[0].startswith(f"cv-bad trained on only 120 labels (under {MIN_LABELS})")
    assert said[1].startswith("On the same 120 messages its ROC-AUC is ")
    assert said[1].endswith(f"the active version {ACTIVE_VERSION}'s {same.figure('active', 'roc_auc'):.3f}.")
    assert len(said) == 2 + (same.figure("candidate", "f1") < same.figure("active", "f1") - 0.02), said
    many = registry.ModelVersion("many", None, {"training_data": {"rows": 5000, "train_rows": 5000,
                                                                  "engageable": 2000, "not_engageable": 3000}})
    assert promotion_warnings(many, None) == []
    few = registry.ModelVersion("few", None, {"training_data": {"rows": 5000, "train_rows": 5000,
                                                                "engageable": 20, "not_engageable": 4980}})
    assert promotion_warnings(few, None) == ["few trained on only 20 engageable labels (under 50)."]


# ------------------------------------------------------------------ item 16: each fit and the time left

@pytest.mark.slow  # trains
def test_fitting_reports_each_fold_then_the_final_head_with_an_estimate_of_the_time_left(trained):
    steps = trained[-1]
    assert [s.doing for s in steps] == ["choosing the settings on every row", "cross-validation fold 1 of 3",
                                        "cross-validation fold 2 of 3", "cross-validation fold 3 of 3",
                                        "the final head on every training row", ""]
    assert [s.done for s in steps] == [0, 1, 2, 3, 4, 5] and {s.total for s in steps} == {5}
    assert steps[0].left_s is None and all(s.left_s is not None and s.left_s >= 0 for s in steps[1:])
    assert fit_step_text(steps[2]).startswith("cross-validation fold 2 of 3 (2 of 5 fits done, about ")
    assert fit_step_text(steps[-1]).startswith("done: 5 fits in ")


@pytest.mark.slow  # trains
def test_engage_train_prints_each_fit(env, capsys):
    world, _, models = env
    argv = ["train", str(world.csv), "--label-col", "engage", "--encoder", str(world.encoder), "--elmo-branch",
            "linear", "--cv-folds", "2", "--name", "cli-folds", "--json"]
    assert run(argv) == 0
    err = capsys.readouterr().err
    assert "fitting: cross-validation fold 1 of 2 (1 of 4 fits done, about " in err
    assert "fitting: the final head on every training row (3 of 4 fits done" in err
    assert "fitting: done: 4 fits in " in err
