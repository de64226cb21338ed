"""HubEncoder against small real modules in google/elmo/3's two formats (generated, never downloaded)."""

from __future__ import annotations

import hashlib
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from engage.config import DEFAULT_HUB_HANDLE
from engage.encoders import hub as hub_module
from engage.encoders import load_encoder
from engage.encoders.base import Encoder
from engage.encoders.hub import HubEncoder
from engage.errors import InputError
from engage.testing.hub_fixtures import DEFAULT_DIM, make_tf1_hub_fixture, make_tf2_fixture
from engage.tokens import tokenize, truncated

TEXTS = [
    "@brand my order never arrived, can you help?",
    "love it",
    "Great service today!!! https://t.co/xyz #happy",
    "why is the app down again",
    "ok",
]
ELMO3_SHA1 = "58051eb9ff2f7c649b7c541acc518dac54e786ca"


@pytest.fixture(scope="session")
def modules(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hub_modules")
    return {
        "tf1": make_tf1_hub_fixture(root / "tf1"),
        "tf2": make_tf2_fixture(root / "tf2"),
        "tf1_seed1": make_tf1_hub_fixture(root / "tf1_seed1", seed=1),
        "tf2_default_only": make_tf2_fixture(root / "tf2_default_only", signatures=("default",)),
        "tf2_text_input": make_tf2_fixture(root / "tf2_text_input", signatures=("default",), default_input="text"),
    }


@pytest.fixture(scope="session")
def tf1_encoder(modules) -> HubEncoder:
    return HubEncoder(str(modules["tf1"]))


def manual_means(module, texts: list[str]) -> np.ndarray:
    """Per-layer means over real tokens, computed here from the module's own `default` outputs, one text at a
    time."""
    rows = []
    for text in texts:
        out = module.signatures["default"](default=tf.constant([" ".join(tokenize(text))]))
        n = int(out["sequence_len"].numpy()[0])
        word = out["word_emb"].numpy()[0, :n]
        layers = [np.concatenate([word, word], axis=-1), out["lstm_outputs1"].numpy()[0, :n],
                  out["lstm_outputs2"].numpy()[0, :n]]
        rows.append(np.stack([layer.mean(axis=0) for layer in layers]))
    return np.stack(rows)


def test_fixture_formats_compute_the_same_function(modules):
    import tensorflow_hub as hub

    tf1, tf2 = hub.load(str(modules["tf1"])), hub.load(str(modules["tf2"]))
    assert tf1._is_hub_module_v1 and not tf2._is_hub_module_v1
    sentences = tf.constant(["hello world !", "a"])
    tokens = {"tokens": tf.constant([["hello", "world", "!"], ["a", "", ""]]),
              "sequence_len": tf.constant([3, 1], dtype=tf.int32)}
    outputs = [m.signatures["default"](default=sentences) for m in (tf1, tf2)]
    outputs += [m.signatures["tokens"](**tokens) for m in (tf1, tf2)]
    d = DEFAULT_DIM
    shapes = {"word_emb": (2, 3, d // 2), "lstm_outputs1": (2, 3, d), "lstm_outputs2": (2, 3, d),
              "elmo": (2, 3, d), "default": (2, d), "sequence_len": (2,)}
    for out in outputs:
        assert {k: tuple(v.shape) for k, v in out.items()} == shapes
        for key in shapes:
            np.testing.assert_allclose(out[key].numpy(), outputs[0][key].numpy(), atol=1e-6)
    assert outputs[0]["sequence_len"].numpy().tolist() == [3, 1]
    # `default` is the mean of `elmo` over real tokens only
    elmo = outputs[0]["elmo"].numpy()
    np.testing.assert_allclose(outputs[0]["default"].numpy()[1], elmo[1, 0], atol=1e-6)
    np.testing.assert_allclose(outputs[0]["default"].numpy()[0], elmo[0].mean(axis=0), atol=1e-6)


def test_shape_dtype_and_protocol(tf1_encoder):
    means = tf1_encoder.layer_means(TEXTS)
    assert means.shape == (len(TEXTS), 3, DEFAULT_DIM)
    assert means.dtype == np.float32
    assert tf1_encoder.dim == DEFAULT_DIM
    assert tf1_encoder.kind == "hub"
    assert tf1_encoder.signature == "tokens"
    assert tf1_encoder.device.startswith(("CPU", "GPU"))
    assert isinstance(tf1_encoder, Encoder)
    assert np.all(np.abs(means).sum(axis=-1) > 0)


def test_both_formats_give_identical_means(modules, tf1_encoder):
    tf2 = HubEncoder(str(modules["tf2"]))
    np.testing.assert_allclose(tf2.layer_means(TEXTS), tf1_encoder.layer_means(TEXTS), atol=1e-6)


def test_means_equal_manual_computation_from_module_outputs(tf1_encoder):
    expected = manual_means(tf1_encoder._module, TEXTS)
    np.testing.assert_allclose(tf1_encoder.layer_means(TEXTS), expected, rtol=1e-5, atol=1e-6)


def test_default_signature_path(modules, tf1_encoder):
    encoder = HubEncoder(str(modules["tf2_default_only"]))
    assert encoder.signature == "default"
    np.testing.assert_allclose(encoder.layer_means(TEXTS), tf1_encoder.layer_means(TEXTS), atol=1e-6)
    assert encoder.layer_means(["one"]).shape == (1, 3, DEFAULT_DIM)


def test_default_signature_called_by_its_own_input_name(modules, tf1_encoder):
    # A TF2 SavedModel may name the default signature's one input anything: here "text", not "default".
    encoder = HubEncoder(str(modules["tf2_text_input"]))
    assert list(encoder._fn.structured_input_signature[1]) == ["text"]
    np.testing.assert_allclose(encoder.layer_means(TEXTS), tf1_encoder.layer_means(TEXTS), atol=1e-6)


def test_batch_of_one_and_batching_do_not_change_results(modules, tf1_encoder):
    together = tf1_encoder.layer_means(TEXTS)
    for i, text in enumerate(TEXTS):
        alone = tf1_encoder.layer_means([text])
        assert alone.shape == (1, 3, DEFAULT_DIM)
        np.testing.assert_allclose(alone[0], together[i], atol=1e-6)
    tiny_batches = HubEncoder(str(modules["tf1"]), batch_tokens=4, max_batch=2)
    np.testing.assert_allclose(tiny_batches.layer_means(TEXTS), together, atol=1e-6)


def test_context_changes_lstm_layers_not_token_layer(tf1_encoder):
    # The same words in another order: the token layer (no context) has the same mean, the LSTM layers (which read
    # the words in order) do not.
    a, b = tf1_encoder.layer_means(["service good", "good service"])
    np.testing.assert_allclose(a[0], b[0], atol=1e-6)
    assert not np.allclose(a[1], b[1], atol=1e-4) and not np.allclose(a[2], b[2], atol=1e-4)
    # The token layer of a message is the mean of its words' own token layers, each computed alone.
    service, good = tf1_encoder.layer_means(["service", "good"])
    np.testing.assert_allclose(a[0], (service[0] + good[0]) / 2, atol=1e-6)
    assert not np.allclose(a[1], (service[1] + good[1]) / 2, atol=1e-4)


def test_empty_texts_give_zeros_and_progress_counts_all(tf1_encoder):
    seen: list[int] = []
    means = tf1_encoder.layer_means(["", "   ", "hello there", ""], progress=seen.append)
    assert np.all(means[[0, 1, 3]] == 0)
    assert np.abs(means[2]).sum() > 0
    assert sum(seen) == 4
    assert tf1_encoder.layer_means([]).shape == (0, 3, DEFAULT_DIM)


def test_truncation_is_applied(modules):
    encoder = HubEncoder(str(modules["tf1"]), max_tokens=3)
    long, short = "one two three four five", "one two"
    means = encoder.layer_means([long, short])
    assert truncated([long, short], encoder.max_tokens).tolist() == [True, False]
    np.testing.assert_allclose(means[0], encoder.layer_means(["one two three"])[0], atol=1e-6)


def test_fingerprint_follows_weights_and_max_tokens(modules, tf1_encoder, tmp_path):
    other_seed = HubEncoder(str(modules["tf1_seed1"]))
    assert other_seed.fingerprint != tf1_encoder.fingerprint
    assert not np.allclose(other_seed.layer_means(TEXTS), tf1_encoder.layer_means(TEXTS))
    assert HubEncoder(str(modules["tf1"]), max_tokens=32).fingerprint != tf1_encoder.fingerprint
    copy = shutil.copytree(modules["tf1"], tmp_path / "copy")
    assert HubEncoder(str(copy)).fingerprint == tf1_encoder.fingerprint


def test_http_handle_served_from_cache_without_network(modules, tmp_path, monkeypatch, tf1_encoder):
    cache = tmp_path / "tfhub_cache"
    shutil.copytree(modules["tf1"], cache / hashlib.sha1(DEFAULT_HUB_HANDLE.encode()).hexdigest())
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(cache))
    monkeypatch.delenv("ENGAGE_ELMO_HANDLE", raising=False)

    def no_network(url, timeout=0):
        raise AssertionError(f"tried the network for {url}")

    monkeypatch.setattr(hub_module, "_reachable", no_network)
    encoder = HubEncoder()  # the default handle, https://tfhub.dev/google/elmo/3
    assert encoder.handle == DEFAULT_HUB_HANDLE
    assert encoder.folder.name == ELMO3_SHA1
    np.testing.assert_allclose(encoder.layer_means(TEXTS), tf1_encoder.layer_means(TEXTS), atol=1e-6)


def test_missing_cached_module_offline_says_how_to_provide_it(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty_cache"))
    monkeypatch.setattr(hub_module, "_reachable", lambda url, timeout=0: False)
    with pytest.raises(InputError) as err:
        HubEncoder(DEFAULT_HUB_HANDLE)
    message = str(err.value)
    for part in ("https://tfhub.dev/google/elmo/3?tf-hub-format=compressed", "tar xzf", "--encoder",
                 "ENGAGE_ELMO_HANDLE", f"$TFHUB_CACHE_DIR/{ELMO3_SHA1}", "cannot be reached"):
        assert part in message
    assert "\n" not in message


def test_unresolvable_host_fails_with_input_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty_cache"))
    with pytest.raises(InputError, match="tf-hub-format=compressed"):
        HubEncoder("https://tfhub.invalid/google/elmo/3")


def test_missing_or_non_module_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist") as err:
        HubEncoder(str(tmp_path / "nowhere"))
    assert "tar xzf" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "not_a_module").mkdir()
    (tmp_path / "not_a_module" / "readme.txt").write_text("hello")
    with pytest.raises(InputError, match="no saved_model.pb"):
        HubEncoder(str(tmp_path / "not_a_module"))


def test_tar_gz_path_is_refused(modules, tmp_path):
    archive = tmp_path / "elmo3.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(modules["tf1"], arcname=".")
    with pytest.raises(InputError, match="unpacked"):
        HubEncoder(str(archive))


def test_unpacked_with_a_top_folder_is_found(modules, tmp_path):
    shutil.copytree(modules["tf1"], tmp_path / "download" / "elmo3")
    assert HubEncoder(str(tmp_path / "download")).folder == tmp_path / "download" / "elmo3"


def test_load_encoder_picks_hub_for_a_module_folder(modules):
    encoder = load_encoder(str(modules["tf2"]), max_tokens=16)
    assert isinstance(encoder, HubEncoder)
    assert encoder.max_tokens == 16
