"""Scoring: a saved model version applied to texts, tables and whole files (streamed in chunks)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engage import registry
from engage.cache import EmbeddingCache, cached_layer_means
from engage.contract import FLAG_COL, SCORE_COL
from engage.encoders import load_encoder
from engage.encoders.base import Encoder, Progress
from engage.errors import InputError
from engage.head import HeadConfig, load_head
from engage.head.serving import predict_texts
from engage.metrics import decide
from engage.monitor.history import HistoryWriter
from engage.monitor.recorder import FileRecorder
from engage.outputs import TableWriter
from engage.reading import Messages, iter_messages
from engage.thresholds import threshold_in_force
from engage.tokens import truncated


@dataclass(frozen=True)
class Scores:
    """What one call of Classifier.score computed: nothing about a call is kept on the classifier, so a caller
    reads its own counts here, whoever else is scoring at the same time."""

    values: np.ndarray     # float64 [N]: probability of engageable per text (an empty text scores 0)
    computed: int          # texts the encoder actually ran on (the embedding cache lacked them)
    truncated: np.ndarray  # bool [N]: the text is longer than the model reads (the encoder's max_tokens)


class Classifier:
    """A verified model version with its encoder loaded: texts in, probabilities out.

    Safe to call from many threads at once by itself (the Streamlit sessions, an HTTP service's requests): score()
    keeps nothing per call (its counts come back in Scores), the encoder runs one call at a time under its own
    lock, and the Keras head under the classifier's. No caller takes a lock."""

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
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.version.name

    def score(self, texts: list[str], progress: Progress | None = None) -> Scores:
        """Probability of engageable per text, with what this call computed; an empty message scores 0 (there is
        nothing to answer)."""
        texts = list(texts)
        vectors, computed = cached_layer_means(self.encoder, texts, self.cache, progress)
        with self._lock:
            values = predict_texts(self.head, self.config, vectors, texts) if texts else np.zeros(0)
        values[np.array([not t.strip() for t in texts], dtype=bool)] = 0.0
        return Scores(values, computed, truncated(texts, self.encoder.max_tokens))


def load_classifier(name: str | None = None, *, root: str | Path | None = None,
                    cache: EmbeddingCache | None = None, use_cache: bool = True) -> Classifier:
    version = registry.read_model(name, root)
    enc_meta = version.meta["encoder"]
    encoder = load_encoder(registry.loadable_handle(enc_meta["handle"], root), max_tokens=enc_meta["max_tokens"])
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
                   progress: Progress | None = None) -> tuple[pd.DataFrame, Scores]:
    """(the input columns plus engage_score and engageable, the Scores they came from)."""
    scores = clf.score(messages.texts, progress)
    return scored_frame(messages, scores.values, threshold_in_force(clf, threshold)), scores


def score_file(clf: Classifier, in_path: str | Path, out_path: str | Path, *, text_col: str | None = None,
               label_col: str | None = None, chunk_size: int = 10_000, flagged_only: bool = False,
               threshold: float | None = None, progress: Progress | None = None, time_col: str | None = None,
               history: HistoryWriter | None = None, source: str = "cli",
               log: Callable[[str], None] | None = None, spreadsheet_safe: bool = True) -> dict:
    """Read, score, write, chunk by chunk: memory stays bounded by chunk_size for every format, and the output
    appears only when complete (engage.outputs.TableWriter). Labels are passed through untouched unless
    `label_col` is given; then they are checked, and a bad value ends the run before any output appears.
    With `history`, the file is recorded in the scoring history once written (bounded summaries, merged per
    chunk), under each message's time from the time column (given, or detected by name). `log` hears what is
    being done, chunk by chunk, before it is done (the CLI prints it: a large file is never silent). A CSV/TSV
    output is formula-guarded unless spreadsheet_safe is False (engage.formula_guard.PLAIN_CSV: texts as read)."""
    if chunk_size < 1:
        raise InputError(f"the chunk size (rows read at a time) must be at least 1, got {chunk_size}")
    cut = threshold_in_force(clf, threshold)
    summary = {"rows": 0, "flagged": 0, "empty_messages": 0, "encoder_computed": 0, "truncated": 0}
    recorder = FileRecorder(history, source, clf.name, time_col) if history is not None and history.enabled \
        else None
    with TableWriter(out_path, spreadsheet_safe) as writer:
        for chunk in iter_messages(in_path, chunk_size=chunk_size, text_col=text_col, label_col=label_col,
                                   detect_labels=False):
            # which column was scored, and whether it was a guess (the caller tells the user)
            summary |= {"text_col": chunk.text_col, "text_col_guessed": chunk.text_col_guessed}
            if log is not None and len(chunk.texts):
                log(f"encoding and scoring {len(chunk.texts):,} messages (rows {chunk.row_number(0):,}-"
                    f"{chunk.row_number(len(chunk.texts) - 1):,} of {Path(in_path).name})")
            scored, scores = score_messages(clf, chunk, cut, progress)
            if recorder is not None:
                recorder.add(chunk, scored)
            summary["rows"] += len(scored)
            summary["flagged"] += int(scored[FLAG_COL].sum())
            summary["empty_messages"] += len(chunk.empty_rows)
            summary["encoder_computed"] += scores.computed
            summary["truncated"] += int(scores.truncated.sum())
            if chunk.labels is not None:
                positives = int(chunk.labels.sum())
                labels = summary.setdefault("labels", {"engageable": 0, "not_engageable": 0})
                labels["engageable"] += positives
                labels["not_engageable"] += len(chunk.labels) - positives
            writer.write(scored[scored[FLAG_COL]] if flagged_only else scored)
    if recorder is not None:
        summary |= recorder.finish(registry.sha256_file(Path(in_path)))
    return summary | {"threshold": cut, "model": clf.name, "output": str(out_path)}
