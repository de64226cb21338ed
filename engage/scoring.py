"""Scoring: a saved model version applied to texts, tables and whole files (streamed in chunks)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from engage import registry
from engage.cache import EmbeddingCache, cached_layer_means
from engage.encoders import load_encoder
from engage.encoders.base import Encoder, Progress
from engage.errors import InputError
from engage.head import HeadConfig, head_inputs, load_head, predict
from engage.outputs import ExcelStream, neutralize_formulas
from engage.reading import Messages, iter_messages
from engage.summary import FLAG_COL, SCORE_COL, scored_frame  # noqa: F401 (SCORE_COL: re-exported)

OUTPUT_SUFFIXES = (".csv", ".tsv", ".jsonl", ".parquet", ".xlsx")


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


def load_classifier(name: str | None = None, *, root: str | Path | None = None,
                    cache: EmbeddingCache | None = None, use_cache: bool = True) -> Classifier:
    version = registry.read_model(name, root)
    enc_meta = version.meta["encoder"]
    encoder = load_encoder(registry.resolve_handle(enc_meta["handle"], root), max_tokens=enc_meta["max_tokens"])
    if encoder.fingerprint != enc_meta["fingerprint"]:
        raise InputError(f"model '{version.name}' was trained on an encoder whose weights differ from the one at "
                         f"{enc_meta['handle']} now (fingerprint mismatch); retrain the model on this encoder")
    return Classifier(version, encoder, (cache or EmbeddingCache()) if use_cache else None)


def score_messages(clf: Classifier, messages: Messages, threshold: float | None = None,
                   progress: Progress | None = None) -> pd.DataFrame:
    """The input columns plus engage_score and engageable."""
    scores = clf.score(messages.texts, progress)
    return scored_frame(messages, scores, clf.threshold if threshold is None else threshold)


def score_file(clf: Classifier, in_path: str | Path, out_path: str | Path, *, text_col: str | None = None,
               chunk_size: int = 10_000, flagged_only: bool = False, threshold: float | None = None,
               progress: Progress | None = None) -> dict:
    """Stream a file through the model chunk by chunk; memory stays bounded by chunk_size, for every output format."""
    out_path = Path(out_path)
    if out_path.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InputError(f"cannot write '{out_path.suffix}' files; use one of {', '.join(OUTPUT_SUFFIXES)}",
                         file=str(out_path))
    if chunk_size < 1:
        raise InputError(f"--chunk-size must be at least 1, got {chunk_size}")
    writer = _writer(out_path)
    summary = {"rows": 0, "flagged": 0, "empty_messages": 0, "encoder_computed": 0}
    for chunk in iter_messages(in_path, chunk_size=chunk_size, text_col=text_col):
        scored = score_messages(clf, chunk, threshold, progress)
        summary["rows"] += len(scored)
        summary["flagged"] += int(scored[FLAG_COL].sum())
        summary["empty_messages"] += len(chunk.empty_rows)
        summary["encoder_computed"] += clf.last_computed
        writer(scored[scored[FLAG_COL]] if flagged_only else scored)
    writer(None)
    return summary | {"threshold": clf.threshold if threshold is None else threshold, "model": clf.name,
                      "output": str(out_path), "truncated": clf.encoder.n_truncated}


def _writer(path: Path) -> Callable[[pd.DataFrame | None], None]:
    """A function that appends a chunk, and closes the file when given None."""
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    state: dict = {"first": True, "parquet": None, "excel": None}

    def write(frame: pd.DataFrame | None) -> None:
        if frame is None:
            _finish(path, suffix, state)
            return
        if suffix in (".csv", ".tsv"):
            neutralize_formulas(frame).to_csv(path, mode="w" if state["first"] else "a", header=state["first"],
                                              index=False, sep="\t" if suffix == ".tsv" else ",")
        elif suffix == ".jsonl":
            with open(path, "w" if state["first"] else "a", encoding="utf-8") as f:
                for record in frame.to_dict(orient="records"):
                    f.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
        elif suffix == ".parquet":
            _parquet_append(path, frame, state)
        else:
            if state["excel"] is None:
                state["excel"] = ExcelStream(path)
            state["excel"].append(frame)
        state["first"] = False

    return write


def _parquet_append(path: Path, frame: pd.DataFrame, state: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    if state["parquet"] is None:
        state["parquet"] = pq.ParquetWriter(path, table.schema)
    state["parquet"].write_table(table.cast(state["parquet"].schema))


def _finish(path: Path, suffix: str, state: dict) -> None:
    if suffix == ".parquet" and state["parquet"] is not None:
        state["parquet"].close()
    elif suffix == ".xlsx" and state["excel"] is not None:
        state["excel"].close()
    elif state["first"]:
        path.write_text("", encoding="utf-8")
