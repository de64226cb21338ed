"""BilmEncoder: the Encoder interface over a tiny random biLM written to disk."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engage.encoders import load_encoder
from engage.encoders.base import Encoder
from engage.encoders.bilm.chars import batch_to_ids
from engage.encoders.bilm.encoder import BilmEncoder
from engage.encoders.bilm.weights import random_bilm, save_bilm
from engage.errors import InputError
from engage.tokens import tokenize, truncated

OPTIONS = {
    "lstm": {"dim": 16, "projection_dim": 6, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
             "use_skip_connections": True},
    "char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 4], [3, 8]], "n_highway": 1,
                 "n_characters": 262, "max_characters_per_token": 50, "activation": "relu"},
}
TEXTS = ["Where is my parcel?? @shop #late", "ok", "", "   ", "Thanks a lot, great service! :)",
         "one two three four five six seven eight nine ten eleven twelve"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("bilm")
    save_bilm(random_bilm(OPTIONS, seed=5), path, OPTIONS)
    return path


def _manual_means(bilm, text: str, max_tokens: int) -> np.ndarray:
    tokens = tokenize(text)[:max_tokens]
    if not tokens:
        return np.zeros((3, 12), np.float32)
    out = bilm.layers(batch_to_ids([tokens]))
    return np.stack([out[name].numpy()[0].mean(axis=0) for name in ("token", "layer1", "layer2")])


def test_means_equal_manual_computation(folder):
    enc = BilmEncoder(str(folder), max_tokens=8, batch_tokens=20, max_batch=3)
    assert isinstance(enc, Encoder)
    assert (enc.kind, enc.dim, enc.handle) == ("bilm", 12, str(folder))
    assert enc.device == "CPU" or enc.device.startswith("GPU")
    done: list[int] = []
    means = enc.layer_means(TEXTS, progress=done.append)
    assert means.shape == (len(TEXTS), 3, 12) and means.dtype == np.float32
    assert sum(done) == len(TEXTS) and len(done) > 1  # several batches under this token budget
    for text, got in zip(TEXTS, means, strict=True):
        np.testing.assert_allclose(got, _manual_means(enc.bilm, text, 8), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(means[0, 0, :6], means[0, 0, 6:])  # token layer duplicated as [x, x]
    assert not means[2].any() and not means[3].any()  # no token: zeros
    assert truncated(TEXTS, enc.max_tokens).sum() == 2  # the 9-token and the 12-token messages
    assert [len(tokenize(t)) for t in TEXTS] == [8, 1, 0, 0, 9, 12]


def test_truncation_is_applied(folder):
    enc = BilmEncoder(str(folder), max_tokens=2)
    assert truncated(["a b c", "a b", "x y z w"], enc.max_tokens).tolist() == [True, False, True]
    np.testing.assert_allclose(enc.layer_means(["a b c"])[0], enc.layer_means(["a b"])[0], atol=1e-6)


def test_batch_of_one_and_empty_list(folder):
    enc = BilmEncoder(str(folder))
    one = enc.layer_means(["just one"])
    assert one.shape == (1, 3, 12) and one.any()
    np.testing.assert_allclose(one[0], enc.layer_means(["other", "just one", "a longer message here"])[1],
                               atol=1e-5, rtol=0)
    assert enc.layer_means([]).shape == (0, 3, 12)


def test_fingerprint_follows_weights_and_max_tokens(folder, tmp_path):
    a = BilmEncoder(str(folder))
    assert a.fingerprint == BilmEncoder(str(folder)).fingerprint
    assert a.fingerprint != BilmEncoder(str(folder), max_tokens=32).fingerprint
    save_bilm(random_bilm(OPTIONS, seed=6), tmp_path, OPTIONS)
    assert BilmEncoder(str(tmp_path)).fingerprint != a.fingerprint


def test_encoder_needs_two_layers(tmp_path):
    options = json.loads(json.dumps(OPTIONS))
    options["lstm"]["n_layers"] = 1
    save_bilm(random_bilm(options, seed=0), tmp_path, options)
    with pytest.raises(InputError, match="2 LSTM layers"):
        BilmEncoder(str(tmp_path))


def test_load_encoder_dispatches_to_bilm(folder):
    enc = load_encoder(str(folder), max_tokens=16)
    assert isinstance(enc, BilmEncoder) and enc.max_tokens == 16
