"""Pretraining on a tiny generated corpus: it learns, it is reproducible, it resumes, its output loads."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import h5py
import numpy as np
import pytest

from engage.encoders.bilm import pretrain as pre
from engage.encoders.bilm.encoder import BilmEncoder
from engage.encoders.bilm.weights import load_bilm
from engage.errors import InputError
from engage.tokens import tokenize

OPTIONS = {
    "lstm": {"dim": 32, "projection_dim": 16, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
             "use_skip_connections": True},
    "char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 8], [2, 8], [3, 16]], "n_highway": 1,
                 "n_characters": 261, "max_characters_per_token": 50, "activation": "relu"},
    "dropout": 0.1, "n_negative_samples_batch": 8,  # pretraining-only keys: ignored by the model
}
SUBJECTS = ["the cat", "my dog", "a bird", "our team", "your order"]
VERBS = ["eats", "sees", "likes", "wants", "ships"]
OBJECTS = ["fish", "the ball", "a toy", "my parcel", "it"]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    rng = random.Random(0)
    lines = [f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} !" for _ in range(1200)]
    (root / "a.txt").write_text("\n".join(lines[:700]) + "\n\n")
    (root / "b.txt").write_text("\n".join(lines[700:]))
    (root / "options.json").write_text(json.dumps(OPTIONS))
    return root


def _run(files, out, **kw):
    settings = {"epochs": 1.0, "batch_size": 32, "seed": 0, "heldout_fraction": 0.05, "log": lambda _: None}
    return pre.pretrain([files / "a.txt", files / "b.txt"], files / "options.json", out, **(settings | kw))


def _weights(path) -> dict[str, np.ndarray]:
    out = {}
    with h5py.File(path, "r") as fin:
        fin.visititems(lambda name, obj: out.__setitem__(name, obj[...]) if isinstance(obj, h5py.Dataset) else None)
    return out


def _unigram_perplexity(files) -> float:
    counts: Counter[str] = Counter()
    for name in ("a.txt", "b.txt"):
        for line in (files / name).read_text().splitlines():
            if line.strip():
                counts.update([*tokenize(line), "</S>"])
    total = sum(counts.values())
    return math.exp(-sum(n * math.log(n / total) for n in counts.values()) / total)


@pytest.mark.slow
def test_learns_and_writes_a_loadable_model(files, tmp_path):
    lines: list[str] = []
    # A higher learning rate than the original's 0.2 only to keep this test to a few seconds.
    summary = _run(files, tmp_path / "long", epochs=2.5, learning_rate=1.0, log=lines.append)
    vocab = summary["vocab_size"]
    assert vocab == 3 + 21  # <S> </S> <UNK> + the generator's 21 words
    # Untrained, the model is about uniform over the vocabulary (24); word frequencies alone give about 18 here;
    # only a model that uses the context gets well below that.
    assert summary["heldout_perplexity"] < 0.6 * _unigram_perplexity(files)
    assert summary["steps"] == summary["total_steps"] and summary["tokens"] > 0
    assert summary["softmax"] == "full softmax"
    assert any("pretraining:" in line for line in lines) and any("done:" in line for line in lines)
    out = tmp_path / "long"
    assert (out / "vocab.txt").read_text().split("\n")[:3] == ["<S>", "</S>", "<UNK>"]
    assert json.loads((out / "pretrain.json").read_text())["vocab_size"] == vocab
    options = json.loads((out / "options.json").read_text())
    assert options["char_cnn"]["n_characters"] == 262
    bilm = load_bilm(out)
    assert bilm.opts.output_dim == 32
    means = BilmEncoder(str(out)).layer_means(["the cat eats fish !", ""])
    assert means.shape == (2, 3, 32) and means[0].any() and not means[1].any()


@pytest.mark.slow
def test_fixed_seed_reproduces_and_resume_continues(files, tmp_path, monkeypatch):
    """A run stopped half-way and resumed ends with exactly the weights of an uninterrupted run from scratch:
    that needs both a reproducible start (fixed seed) and an exact resume (same batches, dropout, negatives)."""
    monkeypatch.setattr(pre, "FULL_SOFTMAX_MAX_VOCAB", 0)  # exercise the sampled softmax on a tiny vocabulary
    whole = _run(files, tmp_path / "whole", epochs=0.6, n_negative=8)
    assert whole["softmax"] == "sampled softmax, 8 negatives"
    half = _run(files, tmp_path / "split", epochs=0.3, n_negative=8)
    lines: list[str] = []
    rest = _run(files, tmp_path / "split", epochs=0.6, n_negative=8, log=lines.append)
    assert 0 < half["steps"] < rest["steps"]
    assert any("resumed from" in line and f"step {half['steps']}" in line for line in lines)
    assert rest["steps"] == whole["steps"] and rest["tokens"] == whole["tokens"]
    assert rest["heldout_perplexity"] == pytest.approx(whole["heldout_perplexity"], rel=1e-6)
    wa, wb = _weights(tmp_path / "whole" / "weights.hdf5"), _weights(tmp_path / "split" / "weights.hdf5")
    assert wa.keys() == wb.keys()
    for name in wa:
        np.testing.assert_allclose(wb[name], wa[name], atol=1e-6, rtol=0, err_msg=name)


@pytest.mark.slow
def test_time_limit_stops_and_still_writes(files, tmp_path):
    summary = _run(files, tmp_path / "t", epochs=50.0, time_limit_s=0.0)
    assert summary["stopped_by_time_limit"] and summary["steps"] == 0
    assert load_bilm(tmp_path / "t").opts.projection_dim == 16


def test_bad_input_is_reported(files, tmp_path):
    with pytest.raises(InputError, match="corpus file not found"):
        pre.pretrain([tmp_path / "missing.txt"], files / "options.json", tmp_path / "o")
    with pytest.raises(InputError, match="heldout_fraction"):
        _run(files, tmp_path / "o", heldout_fraction=1.5)
    (tmp_path / "empty.txt").write_text("\n  \n")
    with pytest.raises(InputError, match="no text"):
        pre.pretrain([tmp_path / "empty.txt"], files / "options.json", tmp_path / "o")
