import sqlite3
import subprocess
import sys

import numpy as np

from engage.cache import EmbeddingCache, cached_layer_means, text_key
from engage.encoders import load_encoder

TEXTS = ["my order never arrived", "thanks for the quick help!", "", "my order never arrived", "why is it broken"]


def test_second_pass_runs_the_encoder_zero_times(tmp_path, hub_fixture):
    enc = load_encoder(str(hub_fixture))
    cache = EmbeddingCache(tmp_path)
    first, computed = cached_layer_means(enc, TEXTS, cache)
    assert computed == 4  # the duplicate is encoded once
    again, computed = cached_layer_means(enc, TEXTS, cache)
    assert computed == 0
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(first, enc.layer_means(TEXTS), atol=1e-6)
    assert first.dtype == np.float32 and first.shape == (5, 3, enc.dim)


def test_corrupt_entry_is_detected_and_recomputed(tmp_path, hub_fixture):
    enc = load_encoder(str(hub_fixture))
    cache = EmbeddingCache(tmp_path)
    good, _ = cached_layer_means(enc, TEXTS[:2], cache)
    db = next(tmp_path.glob("*.sqlite"))
    with sqlite3.connect(db) as con:
        blob = con.execute("SELECT blob FROM vectors WHERE key = ?", (text_key(TEXTS[0]),)).fetchone()[0]
        con.execute("UPDATE vectors SET blob = ? WHERE key = ?", (blob[:-4] + b"\0\0\0\0", text_key(TEXTS[0])))
        con.execute("UPDATE vectors SET blob = ? WHERE key = ?", (b"junk", text_key(TEXTS[1])))
    fixed, computed = cached_layer_means(enc, TEXTS[:2], cache)
    assert computed == 2
    np.testing.assert_array_equal(fixed, good)


def test_fingerprints_do_not_share_entries(tmp_path):
    cache = EmbeddingCache(tmp_path)
    cache.put_many("a" * 64, ["x"], np.ones((1, 3, 4), np.float32))
    assert cache.get_many("b" * 64, ["x"]) == {}
    assert cache.get_many("a" * 64, ["x"])[text_key("x")].shape == (3, 4)


_WORKER = """
import sys, numpy as np
from engage.cache import EmbeddingCache, text_key
cache, wid = EmbeddingCache(sys.argv[1]), int(sys.argv[2])
texts = [f"text {i}" for i in range(300)]
for step in range(30):
    if wid == 0:
        part = texts[step * 10:(step + 1) * 10]
        vecs = [np.full((3, 4), i, np.float32) for i in range(step * 10, step * 10 + 10)]
        cache.put_many("f" * 64, part, np.stack(vecs))
    found = cache.get_many("f" * 64, texts)
    for i, t in enumerate(texts):
        v = found.get(text_key(t))
        assert v is None or (v == i).all(), (t, v)
print("ok", len(found))
"""


def test_concurrent_writer_and_readers_see_only_whole_entries(tmp_path):
    procs = [subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path), str(w)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for w in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert EmbeddingCache(tmp_path).get_many("f" * 64, [f"text {i}" for i in range(300)]).__len__() == 300
