"""Adapting a tiny pretrained biLM to new messages: it lowers their held-out perplexity, resumes exactly, an early
stop keeps the best weights, and the output is an encoder of its own with a model card."""

from __future__ import annotations

import json
import random

import h5py
import numpy as np
import pandas as pd
import pytest

from engage.encoders.bilm import adapt as ad
from engage.encoders.bilm import pretrain as pre
from engage.encoders.bilm.encoder import BilmEncoder
from engage.errors import InputError
from engage.validation import Validation
from tests.test_bilm_pretrain import OBJECTS, OPTIONS, SUBJECTS, VERBS

# The new domain: other words, in another order, so the base model has something to learn.
BRANDS = ["@airline", "@bank", "@phoneco", "@shop", "@hotel", "@telco", "@store", "@rail"]
ASKS = ["where is", "please refund", "still waiting for", "fix", "cancel", "who has"]
THINGS = ["my bag", "the card", "my refund", "the app", "my order", "the seat", "my bill", "the room"]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A tiny biLM pretrained on the generic sentences of test_bilm_pretrain."""
    root = tmp_path_factory.mktemp("base")
    rng = random.Random(0)
    lines = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} !" for _ in range(800)]
    (root / "corpus.txt").write_text("\n".join(lines))
    (root / "options.json").write_text(json.dumps(OPTIONS))
    pre.pretrain([root / "corpus.txt"], root / "options.json", root / "elmo", epochs=1.0, batch_size=32,
                 learning_rate=1.0, heldout_fraction=0.0, log=lambda _: None)
    (root / "elmo" / "README.md").write_text("# tiny-elmo: a test biLM\n")
    return root / "elmo"


@pytest.fixture(scope="module")
def messages(tmp_path_factory):
    """The analyst's messages: a labeled CSV and an unlabeled JSON Lines file."""
    root = tmp_path_factory.mktemp("messages")
    rng = random.Random(1)
    texts = [f"{rng.choice(BRANDS)} {rng.choice(ASKS)} {rng.choice(THINGS)} ?" for _ in range(500)]
    pd.DataFrame({"message": texts[:300], "engage": [i % 2 for i in range(300)]}).to_csv(root / "a.csv", index=False)
    pd.DataFrame({"text": texts[300:]}).to_json(root / "b.jsonl", orient="records", lines=True)
    return [root / "a.csv", root / "b.jsonl"]


def _adapt(base, messages, out, **kw):
    settings = {"epochs": 2.0, "batch_size": 16, "learning_rate": 0.5, "softmax_epochs": 3, "eval_every": 4,
                "patience": 100, "log": lambda _: None}
    return ad.adapt(messages, base, out, **(settings | kw))


def _weights(path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as fin:
        fin.visititems(lambda name, obj: out.__setitem__(name, obj[...]) if isinstance(obj, h5py.Dataset) else None)
    return out


@pytest.mark.slow
def test_adaptation_lowers_heldout_perplexity_and_writes_an_encoder(base, messages, tmp_path):
    lines: list[str] = []
    steps: list[int] = []
    summary = _adapt(base, messages, tmp_path / "out", epochs=6.0, eval_every=16, log=lines.append,
                     progress=lambda s, n, t: steps.append(s))
    out = tmp_path / "out"
    # "before" is the base biLM with a softmax fitted on it: the gain is the biLM's, not the softmax's.
    assert summary["heldout_perplexity_after"] < 0.8 * summary["heldout_perplexity_before"]
    assert summary["heldout_perplexity_before"] < summary["heldout_perplexity_softmax_init"]
    assert summary["best_step"] > 0 and steps == list(range(1, summary["steps"] + 1))
    assert [d["file"] for d in summary["data"]] == ["a.csv", "b.jsonl"]
    assert [d["rows"] for d in summary["data"]] == [300, 200] and len(summary["data"][0]["sha256"]) == 64
    # 500 generated messages hold many repeats: each text counts once, and never in both splits
    assert summary["n_train_messages"] + summary["n_heldout_messages"] < 500
    assert any(line.startswith("before adaptation") for line in lines) and lines[-1].startswith("done:")
    assert json.loads((out / "adapt.json").read_text())["best_step"] == summary["best_step"]
    card = (out / "README.md").read_text()
    assert str(base) in card and "a.csv" in card and summary["data"][1]["sha256"] in card
    adapted, original = BilmEncoder(str(out)), BilmEncoder(str(base))
    assert adapted.fingerprint != original.fingerprint
    texts = ["@bank where is my refund ?", "the cat eats fish !"]
    a, b = adapted.layer_means(texts), original.layer_means(texts)
    assert a.shape == b.shape == (2, 3, 32) and not np.allclose(a, b)


@pytest.mark.slow
def test_a_version_trained_on_the_adapted_encoder_records_it(base, messages, tmp_path):
    """The app's path: a classifier on the base biLM, its ELMo adapted to the training messages, a new version on
    the adapted one; model.json says what the encoder was adapted from and on what, and the version loads."""
    from engage import label_loop, registry
    from engage.head import HeadConfig
    from engage.reading import read_messages
    from engage.scoring import load_classifier
    from engage.train import train_model

    models = tmp_path / "models"
    data = read_messages(messages[0], label_col="engage")
    config = HeadConfig(elmo_branch="linear")
    train_model(data, BilmEncoder(str(base)), config, name="v1", root=models, validation=Validation.held_out(0.2))
    clf = load_classifier("v1", root=models, use_cache=False)
    steps: list[int] = []
    encoder = label_loop.adapt_encoder(data, clf, models / "v2-elmo", time_limit_s=120,
                                       progress=lambda s, n, t: steps.append(s))
    assert steps and encoder.fingerprint != clf.encoder.fingerprint
    assert not (models / "v2-elmo" / "checkpoints").exists()  # the app never resumes: 4x the weights saved
    label_loop.retrain(data, clf, name="v2", root=models, encoder=encoder)
    meta = registry.read_model("v2", models).meta["encoder"]
    assert meta["fingerprint"] == encoder.fingerprint and meta["handle"] == "v2-elmo"
    assert meta["adapted"]["base_encoder"] == str(base)
    assert meta["adapted"]["data"][0]["rows"] == 300 and meta["adapted"]["data"][0]["file"] == data.source
    assert "adapted" not in registry.read_model("v1", models).meta["encoder"]
    assert load_classifier("v2", root=models, use_cache=False).score(["@bank fix my bill ?"]).values.shape == (1,)


@pytest.mark.slow
def test_resume_is_exact(base, messages, tmp_path):
    whole = _adapt(base, messages, tmp_path / "whole", epochs=1.0)
    half = _adapt(base, messages, tmp_path / "split", epochs=0.5)
    lines: list[str] = []
    rest = _adapt(base, messages, tmp_path / "split", epochs=1.0, log=lines.append)
    assert 0 < half["steps"] < rest["steps"] == whole["steps"]
    assert any("resumed from" in line and f"step {half['steps']}" in line for line in lines)
    assert rest["heldout_perplexity_before"] == whole["heldout_perplexity_before"]
    assert rest["heldout_perplexity_after"] == pytest.approx(whole["heldout_perplexity_after"], rel=1e-6)
    wa, wb = _weights(tmp_path / "whole" / "weights.hdf5"), _weights(tmp_path / "split" / "weights.hdf5")
    for name in wa:
        np.testing.assert_allclose(wb[name], wa[name], atol=1e-6, rtol=0, err_msg=name)


@pytest.mark.slow
def test_early_stop_keeps_the_best_weights(base, messages, tmp_path):
    """On these few messages the held-out perplexity gains at the first evaluation, then loses at the next two;
    the run stops there and hands back the weights of its best evaluation, the very weights of a run that ends
    at that step."""
    kw = {"eval_every": 16, "patience": 2, "epochs": 6.0}
    stopped = _adapt(base, messages, tmp_path / "stopped", **kw)
    assert stopped["stopped_early"] and stopped["steps"] < stopped["total_steps"]
    assert stopped["steps"] == stopped["best_step"] + 2 * 16  # two evaluations without a gain
    assert 0 < stopped["best_step"] and stopped["heldout_perplexity_after"] < stopped["heldout_perplexity_before"]
    per_epoch = stopped["total_steps"] / 6.0
    short = _adapt(base, messages, tmp_path / "short", **(kw | {"epochs": (stopped["best_step"] - 0.5) / per_epoch}))
    assert short["steps"] == stopped["best_step"]
    wa, wb = _weights(tmp_path / "stopped" / "weights.hdf5"), _weights(tmp_path / "short" / "weights.hdf5")
    for name in wa:
        np.testing.assert_allclose(wa[name], wb[name], atol=1e-6, rtol=0, err_msg=name)
    assert "early stop" in (tmp_path / "stopped" / "README.md").read_text()


def test_bad_input_is_reported(base, messages, tmp_path):
    with pytest.raises(InputError, match="not found|does not exist|no such"):
        ad.adapt([tmp_path / "missing.csv"], base, tmp_path / "o")
    with pytest.raises(InputError, match="heldout_fraction"):
        ad.adapt(messages, base, tmp_path / "o", heldout_fraction=1.0)
    with pytest.raises(InputError, match="new folder"):
        ad.adapt(messages, base, base)
    (tmp_path / "blank.csv").write_text("text\n \n")
    with pytest.raises(InputError):
        ad.adapt([tmp_path / "blank.csv"], base, tmp_path / "o")


def test_the_work_before_the_time_limit_is_bounded_on_a_large_corpus(base, messages, tmp_path, monkeypatch):
    # The softmax fit holds the frozen biLM's vectors of its messages in memory, and every perplexity check
    # re-encodes the held-out messages: both are capped, so 100,000 messages start as fast as 5,000.
    monkeypatch.setattr(ad, "SOFTMAX_FIT_MESSAGES", 40)
    monkeypatch.setattr(ad, "MAX_HELDOUT_MESSAGES", 7)
    fitted_on = []
    real = ad.top_vectors

    def counting(trainer, sentences, vocab):
        fitted_on.append(len(sentences))
        return real(trainer, sentences, vocab)

    monkeypatch.setattr(ad, "top_vectors", counting)
    summary = _adapt(base, messages, tmp_path / "out", epochs=0.1)
    assert fitted_on == [40]
    assert summary["n_heldout_messages"] == 7 and summary["n_train_messages"] > 40  # the rest train (all of it)
