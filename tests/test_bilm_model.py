"""The biLM on its own: character ids, a numpy re-implementation of the forward pass, weights in/out."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

from engage.encoders.bilm.chars import batch_to_ids, tf_batch_to_ids
from engage.encoders.bilm.model import BiLM, parse_options
from engage.encoders.bilm.weights import (
    expected_shapes,
    load_bilm,
    load_bilm_files,
    random_bilm,
    save_bilm,
    save_weights_hdf5,
)
from engage.errors import InputError

TINY = {
    "lstm": {"dim": 24, "projection_dim": 8, "n_layers": 2, "cell_clip": 3, "proj_clip": 3,
             "use_skip_connections": True},
    "char_cnn": {"embedding": {"dim": 4}, "filters": [[1, 4], [2, 6], [3, 8]], "n_highway": 1,
                 "n_characters": 262, "max_characters_per_token": 50, "activation": "relu"},
}


@pytest.fixture(scope="module")
def tiny() -> BiLM:
    bilm = random_bilm(TINY, seed=3)
    # Larger LSTM weights than the initializer gives, so that both clips are actually reached.
    for w, p in zip(bilm.lstm_w, bilm.lstm_p, strict=True):
        w.assign(w * 3.0)
        p.assign(p * 3.0)
    return bilm


# ------------------------------------------------------------------ characters

def test_char_ids_layout():
    ids = batch_to_ids([["ab", "é"], []])
    assert ids.shape == (2, 4, 50) and ids.dtype == np.int32
    assert list(ids[0, 0, :4]) == [259, 257, 260, 261]  # bow, bos, eow, pad (+1)
    assert list(ids[0, 1, :5]) == [259, 98, 99, 260, 261]  # bow, 'a', 'b', eow, pad
    assert list(ids[0, 2, :5]) == [259, 0xC3 + 1, 0xA9 + 1, 260, 261]  # UTF-8 bytes, not code points
    assert list(ids[0, 3, :4]) == [259, 258, 260, 261]  # eos
    assert list(ids[1, 1, :4]) == [259, 258, 260, 261] and not ids[1, 2:].any()
    long = batch_to_ids([["x" * 60]])[0, 1]
    assert (long[1:49] == ord("x") + 1).all() and long[49] == 260


def test_tf_char_ids_equal_numpy():
    sentences = [["Hello", "wörld", "😀" * 20, "", "a" * 70, "\x00z"], ["@x", "#tag"], [], ["ß"]]
    longest = max(len(s) for s in sentences)
    tokens = tf.constant([s + [""] * (longest - len(s)) for s in sentences])
    lengths = tf.constant([len(s) for s in sentences], tf.int32)
    np.testing.assert_array_equal(tf_batch_to_ids(tokens, lengths).numpy(), batch_to_ids(sentences))
    graph = tf.function(tf_batch_to_ids, input_signature=[tf.TensorSpec([None, None], tf.string),
                                                          tf.TensorSpec([None], tf.int32)])
    np.testing.assert_array_equal(graph(tokens, lengths).numpy(), batch_to_ids(sentences))


# ------------------------------------------------------------------ numpy reference of the forward pass

def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _numpy_layers(bilm: BiLM, sentence: list[str], clips: dict[str, bool]) -> list[np.ndarray]:
    """Token layer, then each LSTM layer [fw, bw], for one sentence, written straight from elmo-facts §3."""
    o = bilm.opts
    ids = batch_to_ids([sentence])[0]  # [n + 2, 50]
    emb = bilm.char_embed.numpy().astype(np.float64)[ids]  # [n + 2, 50, E]
    feats = []
    for w, b in zip(bilm.cnn_w, bilm.cnn_b, strict=True):
        w, b = w.numpy().astype(np.float64), b.numpy().astype(np.float64)
        width = w.shape[0]
        conv = np.stack([np.einsum("tke,ken->tn", emb[:, k:k + width], w) for k in range(50 - width + 1)], 1)
        feats.append(np.maximum((conv + b).max(axis=1), 0.0))
    x = np.concatenate(feats, -1)
    for w_c, b_c, w_t, b_t in bilm.highway:
        carry = _sigmoid(x @ w_c.numpy().astype(np.float64) + b_c.numpy().astype(np.float64))
        x = carry * np.maximum(x @ w_t.numpy().astype(np.float64) + b_t.numpy().astype(np.float64), 0) + (1 - carry) * x
    x = x @ bilm.proj_w.numpy().astype(np.float64) + bilm.proj_b.numpy().astype(np.float64)
    layers = [np.concatenate([x, x], -1)]
    inputs = [x, x[::-1]]
    for layer in range(o.n_layers):
        outs = []
        for d in range(2):
            w, bias, proj = (v.numpy().astype(np.float64)[d]
                             for v in (bilm.lstm_w[layer], bilm.lstm_b[layer], bilm.lstm_p[layer]))
            c, h, seq = np.zeros(o.dim), np.zeros(o.projection_dim), []
            for xt in inputs[d]:
                i, j, f, g = np.split(np.concatenate([xt, h]) @ w + bias, 4)
                c = _sigmoid(f + 1.0) * c + _sigmoid(i) * np.tanh(j)
                clips["cell"] |= bool((np.abs(c) > o.cell_clip).any())
                c = np.clip(c, -o.cell_clip, o.cell_clip)
                h = (_sigmoid(g) * np.tanh(c)) @ proj
                clips["proj"] |= bool((np.abs(h) > o.proj_clip).any())
                h = np.clip(h, -o.proj_clip, o.proj_clip)
                seq.append(h)
            out = np.array(seq)
            if o.use_skip_connections and layer > 0:
                out = out + inputs[d]
            outs.append(out)
        inputs = outs
        layers.append(np.concatenate([outs[0], outs[1][::-1]], -1))
    return [layer[1:-1] for layer in layers]


def test_forward_pass_matches_numpy_reimplementation(tiny):
    sentences = [["The", "cat", "sät", "!"], ["ok"], ["a", "b", "c", "d", "e", "f", "g"]]
    out = tiny.layers(batch_to_ids(sentences))
    assert out["token"].shape == (3, 7, 16) and out["mask"].dtype == tf.bool
    clips = {"cell": False, "proj": False}
    for b, sentence in enumerate(sentences):
        expected = _numpy_layers(tiny, sentence, clips)
        for name, exp in zip(("token", "layer1", "layer2"), expected, strict=True):
            got = out[name].numpy()[b, : len(sentence)]
            np.testing.assert_allclose(got, exp, atol=1e-5, rtol=0, err_msg=f"{name} of sentence {b}")
    assert clips == {"cell": True, "proj": True}, "the test weights should reach both clips"


def test_lm_outputs_keep_markers(tiny):
    ids = batch_to_ids([["a", "b"], ["c"]])
    lm = tiny.lm_outputs(ids)
    layers = tiny.layers(ids)
    assert lm["forward"].shape == (2, 4, 8) and lm["mask"].numpy().sum() == 7
    np.testing.assert_allclose(lm["forward"].numpy()[0, 1:3], layers["layer2"].numpy()[0, :, :8], atol=1e-5)
    np.testing.assert_allclose(lm["backward"].numpy()[1, 1:2], layers["layer2"].numpy()[1, :1, 8:], atol=1e-5)


# ------------------------------------------------------------------ weights in/out

def test_hdf5_round_trip(tiny, tmp_path):
    save_bilm(tiny, tmp_path, TINY)
    again = load_bilm(tmp_path)
    ids = batch_to_ids([["round", "trip"]])
    for name in ("token", "layer1", "layer2"):
        np.testing.assert_array_equal(again.layers(ids)[name].numpy(), tiny.layers(ids)[name].numpy())
    assert json.loads((tmp_path / "options.json").read_text()) == TINY
    assert expected_shapes(again)["char_embed"] == (261, 4)
    assert expected_shapes(again)["RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_0"] == (16, 96)


def test_weights_of_other_options_are_rejected(tiny, tmp_path):
    save_weights_hdf5(tiny, tmp_path / "weights.hdf5")
    other = json.loads(json.dumps(TINY))
    other["lstm"]["dim"] = 32
    (tmp_path / "options.json").write_text(json.dumps(other))
    with pytest.raises(InputError, match=r"LSTMCell/W_0' has shape \(16, 96\), expected \(16, 128\)"):
        load_bilm(tmp_path)


def test_bad_files_are_input_errors(tmp_path):
    (tmp_path / "options.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_bilm(tmp_path)
    (tmp_path / "options.json").write_text(json.dumps({"lstm": {"dim": 4}}))
    with pytest.raises(InputError, match="char_cnn"):
        load_bilm(tmp_path)
    (tmp_path / "options.json").write_text(json.dumps(TINY))
    (tmp_path / "weights.hdf5").write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="HDF5"):
        load_bilm_files(tmp_path / "options.json", tmp_path / "weights.hdf5")


def test_options_without_projection_are_refused():
    options = json.loads(json.dumps(TINY))
    options["lstm"]["projection_dim"] = 24
    with pytest.raises(InputError, match="projection_dim"):
        parse_options(options, file="o.json")


def test_options_ignore_unknown_keys():
    options = json.loads(json.dumps(TINY))
    options["n_negative_samples_batch"] = 16
    options["dropout"] = 0.1
    assert parse_options(options).output_dim == 16


def test_random_bilm_is_reproducible():
    a, b = random_bilm(TINY, seed=1), random_bilm(TINY, seed=1)
    c = random_bilm(TINY, seed=2)
    assert all(np.array_equal(x.numpy(), y.numpy()) for x, y in zip(a.variables, b.variables, strict=True))
    assert not np.array_equal(a.lstm_w[0].numpy(), c.lstm_w[0].numpy())


def test_saved_model_round_trip(tiny, tmp_path):
    ids = batch_to_ids([["saved", "model"], ["x"]])
    tf.saved_model.save(tiny, str(tmp_path / "sm"))
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    got = loaded._stateless(tf.constant(ids))
    np.testing.assert_allclose(got["layer2"].numpy(), tiny.layers(ids)["layer2"].numpy(), atol=1e-6)
