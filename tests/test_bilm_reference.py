"""Our biLM against the original implementation's reference outputs (bilm-tf tests/fixtures/model)."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from engage.encoders.bilm.chars import batch_to_ids
from engage.encoders.bilm.weights import load_bilm_files
from engage.errors import InputError

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "data" / "bilm-fixtures"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(),
                                reason=f"reference fixtures not found at {FIXTURES} (../shared is absent)")
TOL = 1e-5


@pytest.fixture(scope="module")
def bilm():
    return load_bilm_files(FIXTURES / "options.json", FIXTURES / "lm_weights.hdf5")


@pytest.fixture(scope="module")
def sentences() -> list[list[list[str]]]:
    raw = json.loads((FIXTURES / "lm_embeddings_sentences.json").read_text(encoding="utf-8"))
    return [[s.split() for s in group] for group in raw]


@pytest.fixture(scope="module")
def reference() -> list[list[np.ndarray]]:
    """reference[k][i]: [n_tokens, 32] = [forward, backward] top layer of sentences[k][i]."""
    out = []
    for k in range(3):
        with h5py.File(FIXTURES / f"lm_embeddings_{k}.hdf5", "r") as fin:
            out.append([np.concatenate([fin[str(i)][0], fin[str(i)][1]], axis=-1) for i in range(10)])
    return out


def test_stateful_batches_match_reference(bilm, sentences, reference):
    states = bilm.zero_states(3)
    for i in range(10):
        batch = [sentences[k][i] for k in range(3)]
        out = bilm.layers(batch_to_ids(batch), states)
        states = out["states"]
        top, mask = out["layer2"].numpy(), out["mask"].numpy()
        for k, sentence in enumerate(batch):
            n = len(sentence)
            assert mask[k].sum() == n
            assert reference[k][i].shape == (n, 32)
            np.testing.assert_allclose(top[k, :n], reference[k][i], atol=TOL, rtol=0,
                                       err_msg=f"batch {i}, sentence {k}")


def test_stateless_first_batch_matches_reference(bilm, sentences, reference):
    batch = [sentences[k][0] for k in range(3)]
    top = bilm.layers(batch_to_ids(batch))["layer2"].numpy()
    for k, sentence in enumerate(batch):
        np.testing.assert_allclose(top[k, :len(sentence)], reference[k][0], atol=TOL, rtol=0)


def test_stateless_is_independent_of_batch_and_padding(bilm, sentences):
    short = sentences[1][9]  # 5 tokens
    alone = bilm.layers(batch_to_ids([short]))
    mixed = bilm.layers(batch_to_ids([sentences[0][0], short, sentences[2][0], []]))
    for name in ("token", "layer1", "layer2"):
        a = alone[name].numpy()[0]
        b = mixed[name].numpy()[1]
        np.testing.assert_allclose(b[: len(short)], a, atol=TOL, rtol=0, err_msg=name)
        assert not b[len(short):].any(), f"{name}: padding positions must be zeros"
    assert mixed["mask"].numpy()[1].sum() == len(short)
    assert mixed["mask"].numpy()[3].sum() == 0


def _copy_weights(dst: Path, drop: str | None = None, reshape: str | None = None) -> Path:
    with h5py.File(FIXTURES / "lm_weights.hdf5", "r") as fin, h5py.File(dst, "w") as fout:
        def copy(name, obj):
            if isinstance(obj, h5py.Dataset) and name != drop:
                data = obj[...]
                fout.create_dataset(name, data=data[..., :-1] if name == reshape else data)
        fin.visititems(copy)
    return dst


def test_missing_array_is_named(tmp_path):
    name = "RNN_1/RNN/MultiRNNCell/Cell1/LSTMCell/W_P_0"
    path = _copy_weights(tmp_path / "w.hdf5", drop=name)
    with pytest.raises(InputError) as err:
        load_bilm_files(FIXTURES / "options.json", path)
    text = str(err.value)
    assert name in text and "missing" in text and str(path) in text and "(64, 16)" in text


def test_misshaped_array_is_named(tmp_path):
    name = "CNN_high_1/W_carry"
    path = _copy_weights(tmp_path / "w.hdf5", reshape=name)
    with pytest.raises(InputError) as err:
        load_bilm_files(FIXTURES / "options.json", path)
    text = str(err.value)
    assert name in text and "(124, 123)" in text and "(124, 124)" in text and str(path) in text
