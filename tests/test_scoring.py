"""The classifier as every front end calls it: one call's result comes back whole (scores and counts), one classifier
serves many threads at once with no lock held by the caller, and one rule says which threshold is in force."""

from __future__ import annotations

import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from engage.cache import EmbeddingCache
from engage.cli import run
from engage.config import PROJECT_ROOT
from engage.errors import InputError
from engage.scoring import Classifier, Scores, load_classifier, threshold_in_force
from engage.tokens import tokenize

SHIPPED = PROJECT_ROOT / "models"  # the shipped model: real, small, loads in seconds, trains nothing
THREADS = 8


def _texts(n: int, tag: str) -> list[str]:
    """n different messages: short ones, one longer than the encoder reads, one empty."""
    words = "refund order late app crash love thanks great delay support broken help".split()
    rng = np.random.default_rng(zlib.crc32(tag.encode()))
    out = [f"@{tag} " + " ".join(rng.choice(words, size=int(rng.integers(1, 12)))) for _ in range(n - 2)]
    return out + [f"@{tag} " + " ".join(rng.choice(words, size=70)), ""]


@pytest.fixture(scope="module")
def shipped() -> Classifier:
    return load_classifier(root=SHIPPED, use_cache=False)


def test_a_call_returns_its_scores_with_what_it_computed(shipped, tmp_path):
    texts = _texts(12, "one") + ["@one refund please"] * 2  # a repeated text is encoded once
    cached = Classifier(shipped.version, shipped.encoder, EmbeddingCache(tmp_path / "emb"))
    first = cached.score(texts)
    assert isinstance(first, Scores) and first.values.shape == (len(texts),)
    assert first.computed == len(set(texts))
    assert first.truncated.tolist() == [len(tokenize(t)) > shipped.encoder.max_tokens for t in texts]
    assert 0 < first.truncated.sum() < len(texts)
    again = cached.score(texts)  # from the cache: nothing computed, the same scores
    assert again.computed == 0 and np.array_equal(again.values, first.values)
    assert first.values[texts.index("")] == 0.0
    assert not hasattr(cached, "last_computed") and not hasattr(shipped.encoder, "n_truncated")


def test_one_classifier_scores_from_eight_threads_at_once_as_from_one(shipped, tmp_path):
    batches = [_texts(4 + i, f"thread{i}") for i in range(THREADS)]
    alone = [shipped.score(b) for b in batches]  # one thread, one call after the other
    shared = Classifier(shipped.version, shipped.encoder, EmbeddingCache(tmp_path / "emb"))
    start = threading.Barrier(THREADS)

    def call(batch: list[str]) -> Scores:
        start.wait()  # all eight calls begin together
        return shared.score(batch)

    with ThreadPoolExecutor(THREADS) as pool:
        together = list(pool.map(call, batches))
    for batch, one, many in zip(batches, alone, together, strict=True):
        np.testing.assert_array_equal(many.values, one.values)
        np.testing.assert_array_equal(many.truncated, one.truncated)
        assert many.computed == len(set(batch))  # each call's own count, whatever the others did


def test_the_threshold_in_force_is_the_models_own_unless_one_is_given(shipped):
    assert threshold_in_force(shipped, None) == shipped.threshold
    assert threshold_in_force(shipped, 0.25) == 0.25
    for bad in (1.5, -0.1, float("nan")):
        with pytest.raises(InputError, match="threshold must be between 0 and 1"):
            threshold_in_force(shipped, bad)


def test_engage_score_checks_its_threshold_as_evaluate_does(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(SHIPPED))
    data = tmp_path / "in.csv"
    data.write_text("text,engage\nmy order is late,1\nlovely day,0\n", encoding="utf-8")
    for command in (["score", str(data), "--out", str(tmp_path / "out.csv")],
                    ["evaluate", str(data), "--label-col", "engage"]):
        capsys.readouterr()
        assert run([*command, "--threshold", "1.5", "--no-cache"]) == 1
        assert "threshold must be between 0 and 1, got 1.5" in capsys.readouterr().err
    assert not (tmp_path / "out.csv").exists()
