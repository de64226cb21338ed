"""Scoring: a saved model version applied to texts, tables and whole files (streamed in chunks)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from engage import registry
from engage.cache import EmbeddingCache, cached_layer_means
from engage.contract import FLAG_COL, SCORE_COL
from engage.encoders import load_encoder
from engage.encoders.base import Encoder, Progress
from engage.errors import InputError
from engage.head import HeadConfig, head_inputs, load_head, predict
from engage.metrics import decide
from engage.outputs import TableWriter
from engage.reading import Messages, iter_messages


class Classifier:
    """A verified model version with its encoder loaded: texts in, probabilities out."""

    def __init__(self, version: registry.ModelVersion, encoder: Encoder, cache: EmbeddingCache | None) -> None:
        self.version = version
        self.encoder = encoder
        self.cache = cache
        try:
            self.config = HeadConfig.from_json(version.meta["head"]["config"],
                                                 source=str(version.path / registry.META_FILE))
            self.head = load_head(self.config, encoder.dim, version.file(version.meta["head"]["weights"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"model '{version.name}': its head does not load ({exc})",
                             file=str(version.path / registry.META_FILE)) from None
        self.threshold = float(version.meta["threshold"]["value"])
        self.last_computed = 0

    @property
    def name(self) -> str:
        return self.version.name

    def score(self, texts: list[str], progress: Progress | None = None) -> np.ndarray:
        """Probability of engageable per text; an empty message scores 0 (there is nothing to answer)."""
        vectors, self.last_computed = cached_layer_means(self.encoder, texts, self.cache, progress)
        scores = predict(self.head, head_inputs(self.config, vectors, list(texts))) if len(texts) else np.zeros(0)
        empty = np.array([not t.strip() for t in texts], dtype=bool)
        scores[empty] = 0.0
        return scores


def threshold_in_force(clf: Classifier, given: float | None) -> float:
    """The threshold a decision uses: the one given, else the model's own. (Stand-in on the ui-state branch for
    the engine-structure branch's function of the same name and signature: keep theirs when merging.)"""
    return clf.threshold if given is None else float(given)


def load_classifier(name: str | None = None, *, root: str | Path | None = None,
                    cache: EmbeddingCache | None = None, use_cache: bool = True) -> Classifier:
    version = registry.read_model(name, root)
    enc_meta = version.meta["encoder"]
    encoder = load_encoder(registry.resolve_handle(enc_meta["handle"], root), max_tokens=enc_meta["max_tokens"])
    if encoder.fingerprint != enc_meta["fingerprint"]:
        raise InputError(f"model '{version.name}' was trained on an encoder whose weights differ from the one at "
                         f"{enc_meta['handle']} now (fingerprint mismatch); retrain the model on this encoder")
    return Classifier(version, encoder, (cache or EmbeddingCache()) if use_cache else None)


def scored_frame(messages: Messages, scores: np.ndarray, threshold: float) -> pd.DataFrame:
    """The input columns plus engage_score and engageable, from scores already computed (so moving a threshold
    never runs the model). Input columns of those names are replaced."""
    out = messages.frame.drop(columns=[c for c in (SCORE_COL, FLAG_COL) if c in messages.frame.columns])
    out = out.reset_index(drop=True)
    out[SCORE_COL] = np.asarray(scores, dtype=float)
    out[FLAG_COL] = decide(scores, threshold).astype(bool)
    return out


def score_messages(clf: Classifier, messages: Messages, threshold: float | None = None,
                   progress: Progress | None = None) -> pd.DataFrame:
    """The input columns plus engage_score and engageable."""
    scores = clf.score(messages.texts, progress)
    return scored_frame(messages, scores, clf.threshold if threshold is None else threshold)


def score_file(clf: Classifier, in_path: str | Path, out_path: str | Path, *, text_col: str | None = None,
               label_col: str | None = None, chunk_size: int = 10_000, flagged_only: bool = False,
               threshold: float | None = None, progress: Progress | None = None) -> dict:
    """Read, score, write, chunk by chunk: memory stays bounded by chunk_size for every format, and the output
    appears only when complete (engage.outputs.TableWriter). Labels are passed through untouched unless
    `label_col` is given; then they are checked, and a bad value ends the run before any output appears."""
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be at least 1, got {chunk_size}")
    cut = clf.threshold if threshold is None else threshold
    summary = {"rows": 0, "flagged": 0, "empty_messages": 0, "encoder_computed": 0}
    with TableWriter(out_path) as writer:
        for chunk in iter_messages(in_path, chunk_size=chunk_size, text_col=text_col, label_col=label_col,
                                   detect_labels=False):
            # which column was scored, and whether it was a guess (the caller tells the user)
            summary |= {"text_col": chunk.text_col, "text_col_guessed": chunk.text_col_guessed}
            scored = score_messages(clf, chunk, cut, progress)
            summary["rows"] += len(scored)
            summary["flagged"] += int(scored[FLAG_COL].sum())
            summary["empty_messages"] += len(chunk.empty_rows)
            summary["encoder_computed"] += clf.last_computed
            if chunk.labels is not None:
                positives = int(chunk.labels.sum())
                labels = summary.setdefault("labels", {"engageable": 0, "not_engageable": 0})
                labels["engageable"] += positives
                labels["not_engageable"] += len(chunk.labels) - positives
            writer.write(scored[scored[FLAG_COL]] if flagged_only else scored)
    return summary | {"threshold": cut, "model": clf.name, "output": str(out_path),
                      "truncated": clf.encoder.n_truncated}
