"""More like this: the messages of a labeling set nearest to a chosen one by their ELMo embeddings (cosine).

The vectors come from the embedding cache (engage/cache.py) of the encoder that scored the set, so finding
neighbours never runs ELMo: scoring a set (on import, on promotion) caches every message's vector. A message is the
mean of its three layer means (ELMo's equal mix), scaled to unit length.

The search is scikit-learn's NearestNeighbors, brute force: exact, and on unit vectors the Euclidean order is the
cosine order (|a - b|^2 = 2 - 2 cos), which lets scikit-learn use its chunked, multi-threaded Euclidean k-nearest
kernel instead of recomputing every row's norm per query as its "cosine" metric does. Trees (ball tree, k-d tree)
do not help at ELMo's hundreds of dimensions, and an approximate index is not needed below millions of messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from engage.cache import EmbeddingCache, text_key
from engage.errors import InputError

DEFAULT_K = 20


@dataclass(frozen=True)
class NeighbourIndex:
    message_ids: np.ndarray      # [N] the indexed messages
    vectors: np.ndarray          # [N, D] unit vectors, float32
    model: NearestNeighbors
    missing: tuple[int, ...]     # messages of the set without a cached vector (not indexed)

    def __len__(self) -> int:
        return len(self.message_ids)


def message_vectors(layer_means: np.ndarray) -> np.ndarray:
    """[N, 3, D] layer means -> [N, D] unit vectors (a zero vector stays zero)."""
    mixed = np.asarray(layer_means, dtype=np.float32).mean(axis=1)
    norms = np.linalg.norm(mixed, axis=1, keepdims=True)
    return mixed / np.where(norms > 0, norms, 1.0)


def build_index(message_ids: Sequence[int], texts: Sequence[str], fingerprint: str,
                cache: EmbeddingCache) -> NeighbourIndex:
    """An index of the messages whose vector the cache holds for this encoder fingerprint."""
    found = cache.get_many(fingerprint, list(texts))
    keys = [text_key(t) for t in texts]
    have = [k in found for k in keys]
    ids = np.array([m for m, h in zip(message_ids, have, strict=True) if h], dtype=np.int64)
    missing = tuple(int(m) for m, h in zip(message_ids, have, strict=True) if not h)
    if len(ids) == 0:
        raise InputError("none of this set's messages has a cached embedding yet: score the set with the active "
                         "model first (promoting a version re-scores every set)")
    vectors = message_vectors(np.stack([found[k] for k, h in zip(keys, have, strict=True) if h]))
    model = NearestNeighbors(algorithm="brute", metric="euclidean").fit(vectors)
    return NeighbourIndex(ids, vectors, model, missing)


def neighbours(index: NeighbourIndex, message_id: int, k: int = DEFAULT_K) -> pd.DataFrame:
    """The k messages nearest to `message_id` (itself left out), nearest first: message_id, similarity (cosine)."""
    where = np.flatnonzero(index.message_ids == int(message_id))
    if len(where) == 0:
        reason = ("it has no cached embedding yet" if int(message_id) in index.missing
                  else "it is not in this labeling set")
        raise InputError(f"no similar messages for message {message_id}: {reason}")
    n = min(int(k) + 1, len(index))
    distances, rows = index.model.kneighbors(index.vectors[where], n_neighbors=n)
    out = pd.DataFrame({"message_id": index.message_ids[rows[0]],
                        "similarity": 1.0 - distances[0].astype(np.float64) ** 2 / 2.0})
    return out[out["message_id"] != int(message_id)].head(int(k)).reset_index(drop=True)
