"""Fine-tuning a tiny real biLM on labels (engage.encoders.bilm.finetune, `engage train --finetune`): the weights
and the fingerprint change, the saved encoder reloads to the same outputs, the groups unfreeze in the schedule's
order at their learning rates, a time limit stops cleanly with the best weights, a TF Hub ELMo is refused, a
fine-tuned version scores the same through the CLI and the app (the Train page's option trains it) as through the
engine. On Ray: tests/test_distributed.py (test_a_finetuned_version_scores_on_ray_as_the_local_engine)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from engage import cli, registry
from engage.encoders import load_encoder
from engage.encoders.bilm.chars import batch_to_ids
from engage.encoders.bilm.encoder import BilmEncoder, pooled_layer_means
from engage.encoders.bilm.finetune import (
    Finetuner,
    FinetuneSettings,
    finetune_model,
    start_head,
)
from engage.encoders.bilm.weights import load_bilm, random_bilm, save_bilm
from engage.errors import InputError
from engage.head import HeadConfig
from engage.reading import read_messages
from engage.recipe import recipe_of
from engage.scoring import load_classifier
from engage.tokens import tokenize
from engage.validation import Validation
from tests.test_bilm_encoder import OPTIONS

ROOT = Path(__file__).resolve().parents[1]
COMPLAINT, PRAISE = ["broken", "refund", "late", "cancel"], ["thanks", "love", "great", "nice"]
FILLER = ["my", "order", "the", "app", "today", "@shop"]
RECIPE = HeadConfig(lexical=True, elmo_branch="linear")
FAST = {"batch_size": 16, "learning_rate": 1e-2}


def _rows(n: int, seed: int) -> pd.DataFrame:
    """Short messages whose one content word says engageable (a complaint) or not (praise)."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        words = [rng.choice(FILLER) for _ in range(rng.randint(0, 2))] + [rng.choice(COMPLAINT if i % 2 else PRAISE)]
        rng.shuffle(words)
        rows.append((" ".join(words), i % 2))
    return pd.DataFrame(rows, columns=["text", "engage"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny random biLM, 300 labeled messages, and one fine-tuned version trained on them (3 epochs, 3 folds)."""
    root = tmp_path_factory.mktemp("finetune")
    save_bilm(random_bilm(OPTIONS, seed=5), root / "elmo", OPTIONS)
    _rows(300, 0).to_csv(root / "labels.csv", index=False)
    messages = read_messages(str(root / "labels.csv"), label_col="engage")
    base = load_encoder(str(root / "elmo"))
    seen: dict = {}
    result = finetune_model(messages, base, RECIPE, settings=FinetuneSettings(epochs=3, **FAST), name="tuned",
                            validation=Validation.cross(3), root=root / "models", cache=None, log=lambda _: None,
                            on_epoch=lambda epoch, tuner: seen.update(tuner=tuner))
    return {"root": root, "models": root / "models", "messages": messages, "base": base, "result": result,
            "tuner": seen["tuner"]}


def _means(bilm, texts: list[str]) -> np.ndarray:
    tokens = [tokenize(t) for t in texts]
    return pooled_layer_means(bilm.layers(tf.constant(batch_to_ids(tokens)))).numpy()


@pytest.mark.slow
def test_finetuning_changes_the_weights_and_the_fingerprint_and_records_the_version(world):
    version, base = world["result"].version, world["base"]
    tuned = version.meta["encoder"]
    record = tuned["finetuned"]
    assert record["best_epoch"] > 0  # the labels are learnable: some epoch beat the base biLM on the held fold
    assert record["validation"]["after"] > record["validation"]["before"]
    assert tuned["fingerprint"] != base.fingerprint and tuned["handle"] == "tuned/encoder"
    folder = version.path / "encoder"
    assert (folder / "options.json").read_bytes() == (world["root"] / "elmo" / "options.json").read_bytes()
    before, after = load_bilm(world["root"] / "elmo"), load_bilm(folder)
    changed = [not np.array_equal(a.numpy(), b.numpy())
               for a, b in zip(before.trainable_variables, after.trainable_variables, strict=True)]
    assert any(changed)  # at least the top LSTM layer, which trains from epoch 1 on
    # checksummed with the version; the labels and the base recorded
    assert {"encoder/options.json", "encoder/weights.hdf5", "head.weights.h5"} <= set(version.meta["files"])
    labels = world["root"] / "labels.csv"
    assert record["labels"]["sha256"] == hashlib.sha256(labels.read_bytes()).hexdigest()
    assert record["base"]["fingerprint"] == base.fingerprint and record["base"]["handle"] == str(
        (world["root"] / "elmo").resolve())
    assert [step["trains"] for step in record["schedule"]] == [
        ["head"], ["head", "lstm2"], ["head", "lstm2", "lstm1"], ["head", "lstm2", "lstm1", "char_cnn"]]
    # the recipe on top: the lexical branch and stacking as always
    assert version.meta["head"]["config"]["lexical"] and version.meta["head"]["config"]["elmo_branch"] == "linear"
    # `engage train --like tuned`: the same recipe, i.e. the base ELMo fine-tuned on the new labels
    recipe = recipe_of("tuned", world["models"])
    assert recipe.finetune and Path(recipe.encoder) == (world["root"] / "elmo").resolve()


@pytest.mark.slow
def test_the_saved_encoder_reloads_to_the_same_outputs(world):
    texts = world["messages"].texts[:40] + ["", "a message with words it never saw ###"]
    reloaded = BilmEncoder(str(world["result"].version.path / "encoder"))
    in_memory = _means(world["tuner"].bilm, [t for t in texts if tokenize(t)])
    got = reloaded.layer_means([t for t in texts if tokenize(t)])
    np.testing.assert_allclose(got, in_memory, atol=1e-6, rtol=0)
    assert not np.allclose(got, _means(load_bilm(world["root"] / "elmo"), [t for t in texts if tokenize(t)]),
                           atol=1e-6)
    # and a version loads with it: the fingerprint model.json recorded is the one of the saved files
    clf = load_classifier("tuned", root=world["models"], use_cache=False)
    assert clf.encoder.fingerprint == world["result"].version.meta["encoder"]["fingerprint"]


@pytest.mark.slow
def test_groups_unfreeze_in_order_at_their_learning_rates(tmp_path):
    """Checked on the variables: after each epoch exactly the groups the schedule names have moved, and each
    group's optimizer runs at learning_rate / 2.6 ** depth."""
    bilm = random_bilm(OPTIONS, seed=5)
    frame = _rows(96, 1)
    tokens = [tokenize(t) for t in frame["text"]]
    y = frame["engage"].to_numpy()
    head = start_head(_means(bilm, list(frame["text"])), y, HeadConfig(elmo_branch="linear"))
    settings = FinetuneSettings(epochs=3, patience=10, **FAST)
    tuner = Finetuner(bilm, head, settings, seed=0)
    # the groups named from the biLM's own attributes, not from the tuner's grouping
    named = {"head": [head.w, head.b], "lstm2": [bilm.lstm_w[1], bilm.lstm_b[1], bilm.lstm_p[1]],
             "lstm1": [bilm.lstm_w[0], bilm.lstm_b[0], bilm.lstm_p[0]],
             "char_cnn": [bilm.char_embed, *bilm.cnn_w, *bilm.cnn_b, *bilm.highway[0], bilm.proj_w, bilm.proj_b]}
    snaps: dict[int, dict[str, list[np.ndarray]]] = {}

    def snapshot(epoch: int, t: Finetuner) -> None:
        snaps[epoch] = {name: [v.numpy().copy() for v in group] for name, group in named.items()}

    ran = tuner.run(tokens[:64], y[:64], tokens[64:], y[64:], log=lambda _: None, on_epoch=snapshot)
    assert [r["epoch"] for r in ran["history"]] == [0, 1, 2, 3]
    order = ["head", "lstm2", "lstm1", "char_cnn"]
    assert list(tuner.groups) == order
    for epoch in (1, 2, 3):
        moved = [name for name in order
                 if any(not np.array_equal(a, b) for a, b in zip(snaps[epoch - 1][name], snaps[epoch][name],
                                                                  strict=True))]
        assert moved == order[:epoch + 1], (epoch, moved)
    for depth, name in enumerate(order):
        # each group's variables are its optimizer's, at learning_rate / 2.6 ** depth
        assert [id(v) for v in tuner.groups[name]] == [id(v) for v in named[name]]
        assert float(tuner.optimizers[name].learning_rate) == pytest.approx(1e-2 / 2.6 ** depth, rel=1e-6)
    covered = {id(v) for name in order[1:] for v in named[name]}
    assert covered == {id(v) for v in bilm.trainable_variables}  # the whole biLM is in some group


@pytest.mark.slow
def test_a_time_limit_stops_cleanly_keeping_the_best_weights():
    bilm = random_bilm(OPTIONS, seed=5)
    frame = _rows(96, 2)
    tokens = [tokenize(t) for t in frame["text"]]
    y = frame["engage"].to_numpy()
    head = start_head(_means(bilm, list(frame["text"])), y, HeadConfig(elmo_branch="linear"))
    tuner = Finetuner(bilm, head, FinetuneSettings(epochs=5, patience=10, **FAST), seed=0)
    weights: dict[int, list[np.ndarray]] = {}

    def after(epoch: int, t: Finetuner) -> None:
        weights[epoch] = t.snapshot()

    def budget_ends(step: int, most: int, seconds: float) -> None:
        # The budget runs out at epoch 2's second step (epoch 1 has 4), whatever the machine's speed: a limit in
        # seconds from the start let a fast machine finish epoch 2 before it.
        if step == 6:
            tuner.settings = replace(tuner.settings, time_limit_s=seconds)

    ran = tuner.run(tokens[:64], y[:64], tokens[64:], y[64:], log=lambda _: None, on_epoch=after,
                    on_step=budget_ends)
    history = ran["history"]
    assert ran["stopped_by"] == "time limit" and history[-1]["epoch"] == 2
    assert history[1]["steps"] == 4 and history[2]["steps"] == 2  # epoch 2 cut short, and judged as it stood
    best = max(history, key=lambda r: r["val_roc_auc"])["epoch"]
    assert ran["best_epoch"] == best
    for got, kept in zip(tuner.snapshot(), weights[best], strict=True):
        np.testing.assert_array_equal(got, kept)


def test_a_tf_hub_elmo_is_refused_saying_what_can_be_tuned(hub_fixture, tmp_path, capsys):
    _rows(40, 3).to_csv(tmp_path / "labels.csv", index=False)
    messages = read_messages(str(tmp_path / "labels.csv"), label_col="engage")
    with pytest.raises(InputError, match="TensorFlow Hub ELMo.*only trainable variables are its scalar mix"):
        finetune_model(messages, load_encoder(str(hub_fixture)), RECIPE, validation=Validation.cross(2))
    code = cli.run(["train", str(tmp_path / "labels.csv"), "--label-col", "engage", "--encoder", str(hub_fixture),
                    "--finetune", "--cv-folds", "2"])
    err = capsys.readouterr().err
    assert code == cli.EXIT_INPUT and "cannot fine-tune" in err and "options.json + weights.hdf5" in err
    assert "Traceback" not in err and not registry.list_models()  # nothing saved
    assert cli.run(["train", str(tmp_path / "labels.csv"), "--label-col", "engage", "--time-limit", "5"]) == 1
    assert "--time-limit go with --finetune" in capsys.readouterr().err


@pytest.mark.slow
def test_the_cli_trains_a_finetuned_version_and_scores_it_as_the_engine_does(world, tmp_path):
    """`engage train --finetune` (in process) then `engage score` (a subprocess, as a user runs it): the scores
    equal the engine's for the same version."""
    models = tmp_path / "models"
    data = world["root"] / "labels.csv"
    env = os.environ | {"ENGAGE_MODELS_DIR": str(models), "ENGAGE_CACHE_DIR": str(tmp_path / "cache"),
                        "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "engage.cli", "train", str(data), "--label-col", "engage",
                           "--encoder", str(world["root"] / "elmo"), "--lexical", "--elmo-branch", "linear",
                           "--val-split", "0.25", "--finetune", "--finetune-epochs", "1", "--name", "cli-tuned",
                           "--json"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    payload = json.loads(done.stdout.strip().splitlines()[-1])
    assert payload["finetuned"]["early_stop_rows"] == {"method": "held-out split", "train_rows": 225, "rows": 75}
    assert "fine-tuning epoch 1" in done.stderr
    out = tmp_path / "scored.csv"
    done = subprocess.run([sys.executable, "-m", "engage.cli", "score", str(data), "--out", str(out), "--model",
                           "cli-tuned", "--json"], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    engine = load_classifier("cli-tuned", root=models, use_cache=False).score(world["messages"].texts).values
    np.testing.assert_allclose(pd.read_csv(out)["engage_score"].to_numpy(), engine, atol=1e-6, rtol=0)
    assert registry.read_model("cli-tuned", models).meta["encoder"]["handle"] == "cli-tuned/encoder"


@pytest.mark.slow
def test_the_train_page_finetunes_within_its_budget_and_the_app_scores_it_as_the_engine_does(world, tmp_path,
                                                                                                monkeypatch):
    """The Train page's option (off by default) fine-tunes the active version's base ELMo within the budget chosen
    there, with a progress bar, into a version that carries its own ELMo; promoted, the Score page scores it as
    the engine does."""
    from streamlit.testing.v1 import AppTest

    models = tmp_path / "models"
    shutil.copytree(world["models"], models)  # "tuned" (fine-tuned) is the active version
    registry.activate("tuned", models)
    for key, value in {"ENGAGE_MODELS_DIR": str(models), "ENGAGE_CACHE_DIR": str(tmp_path / "cache"),
                       "ENGAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'labels.sqlite'}"}.items():
        monkeypatch.setenv(key, value)
    data = (world["root"] / "labels.csv").read_bytes()
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=600)
    at.run()
    at.switch_page("engage/ui/pages/train.py").run()
    at.file_uploader(key="train_file").upload("labels.csv", data, "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert at.checkbox(key="finetune_on").value is False and not at.checkbox(key="finetune_on").disabled
    at.checkbox(key="finetune_on").check()
    at.slider(key="finetune_minutes").set_value(2)
    at.radio(key="train_validation").set_value("A held-out share")
    at.text_input(key="train_name").input("app-tuned")
    at.button(key="train_go").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    assert any(s.value.startswith("Trained app-tuned on ELMo fine-tuned on these labels") for s in at.success)
    meta = registry.read_model("app-tuned", models).meta
    record = meta["encoder"]["finetuned"]
    assert record["settings"]["time_limit_s"] == 120.0
    assert record["early_stop_rows"]["method"] == "held-out split"
    # the active version's base ELMo was tuned, not its tuned copy; the new one carries its own
    assert record["base"]["fingerprint"] == world["base"].fingerprint and meta["encoder"]["handle"] == \
        "app-tuned/encoder"
    same = next(d.value for d in at.dataframe if "rows" in d.value.columns)  # both on the held-out rows
    assert same.loc[1, "roc_auc"] == pytest.approx(meta["heldout_metrics"]["roc_auc"])

    at.button(key="train_promote").click().run()
    assert registry.active_name(models) == "app-tuned"
    at.switch_page("engage/ui/pages/score.py").run()
    at.file_uploader(key="score_file").upload("labels.csv", data, "text/csv").run()
    at.button(key="score_go").click().run()
    assert not at.exception and not at.error, [e.value for e in [*at.exception, *at.error]]
    table = next(d.value for d in at.dataframe if "engage_score" in d.value.columns)
    engine = load_classifier("app-tuned", root=models, use_cache=False).score(world["messages"].texts).values
    np.testing.assert_allclose(table["engage_score"].to_numpy(), engine, atol=1e-6, rtol=0)
