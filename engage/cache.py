"""Persistent embedding cache: encoder fingerprint + exact text -> the [3, D] layer means.

One SQLite file per encoder fingerprint: SQLite gives safe concurrent readers (WAL) and atomic writes for free.
Every entry carries a digest of its bytes, so a corrupt entry is noticed and recomputed instead of served.

Reading many entries (a labeling set's 100,000 for "more like this": 300 MB at 256 dimensions) is bound by SQLite's
page reads and the digests: readers map the file into memory (no system call per page), and `get_array` checks
each entry and copies its bytes once into one array instead of making 100,000 small ones.
"""

from __future__ import annotations

import functools
import hashlib
import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engage.config import cache_dir
from engage.encoders.base import Encoder, Progress

_SCHEMA = "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, shape TEXT NOT NULL, blob BLOB NOT NULL, " \
          "digest TEXT NOT NULL)"
_QUERY_CHUNK = 500  # stays under SQLite's limit on bound parameters
_MMAP_BYTES = 1 << 30  # readers map up to 1 GiB of the file: pages come without a read() each


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
        con.execute(f"PRAGMA mmap_size={_MMAP_BYTES}")
        con.execute(_SCHEMA)
        return con

    def _entries(self, fingerprint: str, keys: Sequence[str]):
        """(key, shape, blob) of each sound entry among these keys (in no particular order); corrupt ones are left
        out (and so recomputed)."""
        con = self._connect(fingerprint)
        try:
            for start in range(0, len(keys), _QUERY_CHUNK):
                chunk = keys[start:start + _QUERY_CHUNK]
                rows = con.execute(
                    f"SELECT key, shape, blob, digest FROM vectors WHERE key IN ({','.join('?' * len(chunk))})",
                    chunk).fetchall()
                for key, shape, blob, digest in rows:
                    dims = _sound(shape, blob, digest)
                    if dims is not None:
                        yield key, dims, blob
        finally:
            con.close()

    def get_many(self, fingerprint: str, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors found for these texts, by text key; corrupt entries are left out (and so recomputed)."""
        keys = sorted({text_key(t) for t in texts})
        return {key: np.frombuffer(blob, dtype=np.float32).reshape(dims)
                for key, dims, blob in self._entries(fingerprint, keys)}

    def get_array(self, fingerprint: str, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(found [N] bool, vectors [found.sum(), *shape] float32 in the texts' order) for these texts, checked as
        get_many checks them. An encoder's entries share one shape: an entry of another than the most common one
        counts as corrupt."""
        keys = [text_key(t) for t in texts]
        by_shape: dict[tuple[int, ...], dict[str, bytes]] = {}
        for key, dims, blob in self._entries(fingerprint, sorted(set(keys))):
            by_shape.setdefault(dims, {})[key] = blob
        shape = max(by_shape, key=lambda dims: len(by_shape[dims]), default=None)
        blobs = by_shape.get(shape, {})
        found = np.fromiter((k in blobs for k in keys), dtype=bool, count=len(keys))
        joined = b"".join(blobs[k] for k, f in zip(keys, found, strict=True) if f)
        return found, np.frombuffer(joined, dtype=np.float32).reshape(int(found.sum()), *(shape or (0,)))

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


@functools.lru_cache(maxsize=64)
def _dims(shape: str) -> tuple[int, ...] | None:
    """"3x256" -> (3, 256); an encoder's entries share a handful of shapes, so each is parsed once."""
    try:
        return tuple(int(d) for d in shape.split("x"))
    except (ValueError, AttributeError):
        return None


def _sound(shape: str, blob: bytes, digest: str) -> tuple[int, ...] | None:
    """The entry's dimensions if its bytes are whole and match their digest, else None."""
    dims = _dims(shape) if isinstance(shape, str) else None
    if dims is None or not isinstance(blob, bytes) or len(blob) != 4 * math.prod(dims) or _digest(blob) != digest:
        return None
    return dims


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

