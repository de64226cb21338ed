"""Persistent embedding cache: encoder fingerprint + exact text -> the [3, D] layer means.

One SQLite file per encoder fingerprint: SQLite gives safe concurrent readers (WAL) and atomic writes for free.
Every entry carries a digest of its bytes, so a corrupt entry is noticed and recomputed instead of served.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engage.config import cache_dir
from engage.encoders.base import Encoder, Progress

_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, shape TEXT NOT NULL, blob BLOB NOT NULL, " \
          "digest TEXT NOT NULL)"
_QUERY_CHUNK = 500  # stays under SQLite's limit on bound parameters


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _digest(blob: bytes) -> str:
    return hashlib.blake2b(blob, digest_size=16).hexdigest()


class EmbeddingCache:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "embeddings"

    def _connect(self, fingerprint: str) -> sqlite3.Connection:
        self.root.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.root / f"{fingerprint[:40]}.sqlite", timeout=30)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(_SCHEMA)
        return con

    def get_many(self, fingerprint: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors found for these texts, by text key; corrupt entries are left out (and so recomputed)."""
        keys = sorted({text_key(t) for t in texts})
        found: dict[str, np.ndarray] = {}
        con = self._connect(fingerprint)
        try:
            for start in range(0, len(keys), _QUERY_CHUNK):
                chunk = keys[start:start + _QUERY_CHUNK]
                rows = con.execute(
                    f"SELECT key, shape, blob, digest FROM vectors WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()
                for key, shape, blob, digest in rows:
                    vec = _decode(shape, blob, digest)
                    if vec is not None:
                        found[key] = vec
        finally:
            con.close()
        return found

    def put_many(self, fingerprint: str, texts: Sequence[str], vectors: np.ndarray) -> None:
        rows = []
        for text, vec in zip(texts, vectors, strict=True):
            blob = np.ascontiguousarray(vec, dtype=np.float32).tobytes()
            rows.append((text_key(text), "x".join(map(str, vec.shape)), blob, _digest(blob)))
        con = self._connect(fingerprint)
        try:
            with con:
                con.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?, ?)", rows)
        finally:
            con.close()


def _decode(shape: str, blob: bytes, digest: str) -> np.ndarray | None:
    try:
        dims = tuple(int(d) for d in shape.split("x"))
        if _digest(blob) != digest or len(blob) != 4 * int(np.prod(dims)):
            return None
        return np.frombuffer(blob, dtype=np.float32).reshape(dims)
    except (ValueError, TypeError):
        return None


def cached_layer_means(encoder: Encoder, texts: Sequence[str], cache: EmbeddingCache | None = None,
                       progress: Progress | None = None) -> tuple[np.ndarray, int]:
    """Layer means for every text, running the encoder only on texts the cache lacks.

    Returns (vectors [N, 3, D], number of texts the encoder computed)."""
    if cache is None:
        return encoder.layer_means(texts, progress), len(texts)
    found = cache.get_many(encoder.fingerprint, texts)
    keys = [text_key(t) for t in texts]
    absent = [k not in found for k in keys]
    missing = list(dict.fromkeys(t for t, gone in zip(texts, absent, strict=True) if gone))
    if progress:
        progress(len(texts) - sum(absent))
    if missing:
        # Progress counts texts; duplicates of a missing text are few, so the bar may end a little short.
        computed = encoder.layer_means(missing, progress)
        cache.put_many(encoder.fingerprint, missing, computed)
        found.update(zip((text_key(t) for t in missing), computed, strict=True))
    out = np.stack([found[k] for k in keys]) if texts else np.zeros((0, 3, encoder.dim), np.float32)
    return out.astype(np.float32, copy=False), len(missing)

