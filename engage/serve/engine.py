"""The service's side of the scoring engine: the one adapter to it (`engine_scores`), a loaded model version with
what every answer names (version, fingerprint, threshold), and the notes a message gets.

Everything the service asks of engage.scoring goes through `engine_scores`, so a change of the engine's API is met
here and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engage.language import non_english

NOTE_EMPTY, NOTE_NON_ENGLISH, NOTE_TRUNCATED = "empty text", "looks non-English", "truncated"


@dataclass(frozen=True)
class EngineScores:
    values: np.ndarray      # float per text
    truncated: np.ndarray   # bool per text: cut to the encoder's max_tokens
    threshold: float        # the threshold in force for this model
    computed: int           # texts the encoder computed (the rest came from the embedding cache)


def engine_scores(clf, texts: list[str]) -> EngineScores:
    """The adapter: engage.scoring's Classifier.score (thread-safe by itself) and the threshold rule every front
    end uses (engage.thresholds.threshold_in_force)."""
    from engage.scoring import threshold_in_force

    scores = clf.score(texts)
    return EngineScores(np.asarray(scores.values, dtype=float), np.asarray(scores.truncated, dtype=bool),
                        float(threshold_in_force(clf, None)), int(scores.computed))


def model_fingerprint(meta: dict) -> str:
    """A short digest of a version's model.json (which holds the sha256 of each of its files and its encoder's
    fingerprint): two versions with the same fingerprint score alike."""
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode("utf-8")).hexdigest()[:16]


@dataclass
class LoadedModel:
    """A model version loaded for serving. Requests hold on to the LoadedModel they started with, so a reload never
    changes the version a request in flight is scored by."""

    clf: object
    name: str
    fingerprint: str

    @classmethod
    def load(cls, name: str | None, root: Path, cache_root: Path) -> LoadedModel:
        """`name` or the active version of the models folder `root`, with the embedding cache at `cache_root`."""
        from engage.cache import EmbeddingCache
        from engage.scoring import load_classifier

        # checksums and the encoder's fingerprint checked as for `engage score`
        clf = load_classifier(name, root=root, cache=EmbeddingCache(cache_root))
        return cls(clf, clf.name, model_fingerprint(clf.version.meta))  # the threshold comes with each score

    def score(self, texts: list[str]) -> EngineScores:
        return engine_scores(self.clf, texts)

    def explain(self, text: str):
        """engage.explain's Explanation of one text, as `engage explain TEXT` computes it."""
        from engage.explain import explain

        (ex,) = explain(self.clf, [text])  # thread-safe: the encoder locks itself, the head parts are numbers
        return ex


def notes(texts: list[str], truncated: np.ndarray) -> list[list[str]]:
    """Per message: empty text, looks non-English, truncated (the score is less reliable or says nothing)."""
    foreign = non_english(texts)
    out = []
    for text, is_foreign, cut in zip(texts, foreign, truncated, strict=True):
        row = []
        if not text.strip():
            row.append(NOTE_EMPTY)
        if is_foreign:
            row.append(NOTE_NON_ENGLISH)
        if cut:
            row.append(NOTE_TRUNCATED)
        out.append(row)
    return out
