"""export_hub: a biLM saved with TensorFlow Hub ELMo's signatures, read back by the unchanged HubEncoder."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_hub as hub

from engage.encoders import load_encoder
from engage.encoders.bilm.chars import batch_to_ids
from engage.encoders.bilm.export import export_hub
from engage.encoders.bilm.weights import load_bilm, random_bilm, save_bilm
from engage.encoders.hub import HubEncoder
from engage.errors import InputError
from engage.tokens import tokenize, truncated

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
OFFICIAL = SHARED / "data" / "bilm-fixtures"

TINY_OPTIONS = {
    "char_cnn": {"activation": "relu", "embedding": {"dim": 4}, "filters": [[1, 4], [2, 4], [3, 8]],
                 "max_characters_per_token": 50, "n_characters": 262, "n_highway": 1},
    "lstm": {"cell_clip": 3, "dim": 16, "n_layers": 2, "proj_clip": 3, "projection_dim": 8,
             "use_skip_connections": True},
}
TEXTS = [
    "@brand my order never arrived, can you help?",
    "ok",
    "",
    "Ünïcödé tëxt ✓ and a very long token " + "x" * 70,
    "why is the app down again, third time this week",
]


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("export_hub")
    src = root / "bilm"
    save_bilm(random_bilm(TINY_OPTIONS, seed=7), src, TINY_OPTIONS)
    (root / "hub").mkdir()  # an existing empty folder is a valid target
    return {"src": src, "hub": export_hub(src, root / "hub")}


def test_hub_encoder_reads_export_like_bilm_encoder(tiny):
    from engage.encoders.bilm.encoder import BilmEncoder

    hub_encoder = HubEncoder(str(tiny["hub"]), max_tokens=8)
    bilm_encoder = BilmEncoder(str(tiny["src"]), max_tokens=8)
    assert isinstance(load_encoder(str(tiny["hub"])), HubEncoder)
    assert hub_encoder.dim == bilm_encoder.dim == 2 * TINY_OPTIONS["lstm"]["projection_dim"]
    got, expected = hub_encoder.layer_means(TEXTS), bilm_encoder.layer_means(TEXTS)
    assert got.shape == (len(TEXTS), 3, hub_encoder.dim) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert np.all(got[2] == 0)
    assert truncated(TEXTS, hub_encoder.max_tokens).nonzero()[0].tolist() == [0, 3, 4]


def test_means_equal_the_bilm_layers(tiny):
    """Independent of BilmEncoder: the same numbers straight from BiLM.layers on numpy character ids."""
    bilm = load_bilm(tiny["src"])
    got = HubEncoder(str(tiny["hub"])).layer_means(TEXTS)
    for text, row in zip(TEXTS, got, strict=True):
        tokens = tokenize(text)
        if not tokens:
            continue
        layers = bilm.layers(batch_to_ids([tokens]))
        expected = np.stack([layers[k].numpy()[0, : len(tokens)].mean(axis=0)
                             for k in ("token", "layer1", "layer2")])
        np.testing.assert_allclose(row, expected, atol=1e-5)


def test_both_signatures_have_hub_elmos_interface(tiny):
    module = hub.load(str(tiny["hub"]))
    assert set(module.signatures) == {"default", "tokens"}
    p = TINY_OPTIONS["lstm"]["projection_dim"]
    by_sentence = module.signatures["default"](default=tf.constant(["the  app is down", "hi"]))
    by_tokens = module.signatures["tokens"](
        tokens=tf.constant([["the", "app", "is", "down"], ["hi", "", "", ""]]),
        sequence_len=tf.constant([4, 1], dtype=tf.int32))
    shapes = {"word_emb": (2, 4, p), "lstm_outputs1": (2, 4, 2 * p), "lstm_outputs2": (2, 4, 2 * p),
              "elmo": (2, 4, 2 * p), "default": (2, 2 * p), "sequence_len": (2,)}
    for out in (by_sentence, by_tokens):
        assert {k: tuple(v.shape) for k, v in out.items()} == shapes
        assert out["sequence_len"].numpy().tolist() == [4, 1]
    for key in shapes:
        np.testing.assert_allclose(by_sentence[key].numpy(), by_tokens[key].numpy(), atol=1e-6)
    # the mix starts equal with gamma 1, and `default` averages it over real tokens only
    out = {k: v.numpy() for k, v in by_tokens.items()}
    word = np.concatenate([out["word_emb"], out["word_emb"]], axis=-1)
    np.testing.assert_allclose(out["elmo"], (word + out["lstm_outputs1"] + out["lstm_outputs2"]) / 3, atol=1e-6)
    np.testing.assert_allclose(out["default"][0], out["elmo"][0].mean(axis=0), atol=1e-6)
    np.testing.assert_allclose(out["default"][1], out["elmo"][1, 0], atol=1e-6)
    assert len(module.variables) > 2
    assert sorted(v.shape.rank for v in module.trainable_variables) == [0, 1]  # the 4 mix scalars


@pytest.mark.skipif(not OFFICIAL.is_dir(), reason=f"shared bilm-tf fixtures not found at {OFFICIAL}")
def test_official_weights_export_matches_reference_top_layer(tmp_path):
    src = tmp_path / "official"
    src.mkdir()
    (src / "options.json").symlink_to(OFFICIAL / "options.json")
    (src / "weights.hdf5").symlink_to(OFFICIAL / "lm_weights.hdf5")
    module = hub.load(str(export_hub(src, tmp_path / "hub")))
    sentences = json.loads((OFFICIAL / "lm_embeddings_sentences.json").read_text())
    # batch 0 of the reference ran from zero states, as a stateless model does
    first = [sentences[k][0].split() for k in range(3)]
    longest = max(len(s) for s in first)
    out = module.signatures["tokens"](
        tokens=tf.constant([s + [""] * (longest - len(s)) for s in first]),
        sequence_len=tf.constant([len(s) for s in first], dtype=tf.int32))
    for k, tokens in enumerate(first):
        with h5py.File(OFFICIAL / f"lm_embeddings_{k}.hdf5", "r") as f:
            reference = np.concatenate(f["0"][...], axis=-1)  # [fw, bw] of the top layer
        np.testing.assert_allclose(out["lstm_outputs2"].numpy()[k, : len(tokens)], reference, atol=1e-5)


def test_refuses_non_empty_out_and_non_bilm_src(tiny, tmp_path):
    with pytest.raises(InputError, match="not empty"):
        export_hub(tiny["src"], tiny["hub"])
    with pytest.raises(InputError, match="options.json"):
        export_hub(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    shutil.copytree(tiny["src"], tmp_path / "copy")
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not empty"):
        export_hub(tmp_path / "copy", tmp_path / "file")
