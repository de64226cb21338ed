"""A small world for the web app's tests and benchmark: a fixture ELMo (a real TF SavedModel with ELMo's
interface), two model versions trained on it, and a labeled CSV with the traps an analyst's file has (a formula,
an empty message, quotes, commas, non-ASCII text).

Built once per folder: a second call with the same folder returns what the first built, and concurrent callers
(pytest-xdist workers) wait on a lock file while the first one builds it.
"""

from __future__ import annotations

import fcntl
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ACTIVE_VERSION = "fixture-a"
OTHER_VERSION = "fixture-b"
_DONE = "world.json"

_ASKING = ["my order never arrived, can you help?", "the app crashes every time I log in", "still waiting on my "
           "refund after 3 weeks", "why was I charged twice this month?", "your support line hangs up on me",
           "the charger broke after two days", "flight delayed again and no one at the desk", "wifi down since "
           "this morning, any news?"]
_CHATTER = ["loving the new season lineup", "what a great match last night", "just had the best coffee ever",
            "happy friday everyone", "that ad made me laugh", "watching the game with friends", "sunny day at the "
            "beach", "new phone, who dis"]
_DOMAINS = ["apparel", "electronics", "airline", "telecom"]


@dataclass
class AppWorld:
    root: Path
    models: Path
    cache: Path
    encoder: Path
    csv: Path

    def env(self) -> dict[str, str]:
        return {"ENGAGE_MODELS_DIR": str(self.models), "ENGAGE_CACHE_DIR": str(self.cache),
                "ENGAGE_DATA_DIR": str(self.cache.parent / "data")}


def labeled_frame(rows: int = 120, seed: int = 0) -> pd.DataFrame:
    """id, text, engage (0/1, about 15% noisy), domain; row 3 is a formula, row 6 is empty."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    texts = []
    for i, label in enumerate(labels):
        pool = _ASKING if label else _CHATTER
        text = f"@brand{i % 7} {pool[rng.integers(len(pool))]} #{i}"
        if rng.random() < 0.15:
            text = f"@brand{i % 7} {(_CHATTER if label else _ASKING)[rng.integers(8)]} #{i}"
        texts.append(text)
    texts[1] = '=HYPERLINK("http://x.example","click") my parcel is lost, "urgent", please'
    texts[4] = ""
    texts[7] = "café crème was cold — can I get a refund? ☕"
    return pd.DataFrame({"id": np.arange(1000, 1000 + rows), "text": texts, "engage": labels,
                         "domain": [_DOMAINS[i % len(_DOMAINS)] for i in range(rows)]})


def build_app_world(base: Path, rows: int = 120) -> AppWorld:
    """Fixture encoder, versions fixture-a (active) and fixture-b, and labeled.csv, under base."""
    world = AppWorld(base, base / "models", base / "cache", base / "models" / "encoders" / "fixture-elmo",
                     base / "labeled.csv")
    if (base / _DONE).is_file():
        return world
    base.mkdir(parents=True, exist_ok=True)
    with open(base.parent / f".{base.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also when the builder dies
        if not (base / _DONE).is_file():
            _build(world, rows)
    return world


def _build(world: AppWorld, rows: int) -> None:
    from engage.cache import EmbeddingCache
    from engage.encoders import load_encoder
    from engage.head import HeadConfig
    from engage.reading import read_messages
    from engage.testing.hub_fixtures import make_tf2_fixture
    from engage.train import train_model
    from engage.validation import Validation

    labeled_frame(rows).to_csv(world.csv, index=False)
    world.encoder.parent.mkdir(parents=True, exist_ok=True)
    make_tf2_fixture(world.encoder, dim=16, seed=0)
    messages = read_messages(world.csv, label_col="engage")
    encoder = load_encoder(str(world.encoder))
    cache = EmbeddingCache(world.cache / "embeddings")
    held_out = Validation.held_out(0.1)  # the world's versions validate on a held-out share (the Train page tests)
    train_model(messages, encoder, HeadConfig(epochs=2), name=ACTIVE_VERSION, activate=True, root=world.models,
                cache=cache, validation=held_out)
    train_model(messages, encoder, HeadConfig(epochs=4, seed=1), name=OTHER_VERSION, root=world.models,
                cache=cache, validation=held_out)
    (world.root / _DONE).write_text(json.dumps({"versions": [ACTIVE_VERSION, OTHER_VERSION]}), encoding="utf-8")
