"""A model version's reference: what its messages looked like when it was validated, the yardstick of drift.

`reference.json` in the version folder (covered by model.json's sha256 list like every file there) holds the
validation scores (cross-validated for a CV-trained version, else the held-out split's) with their labels, their
histogram and flagged share at the version's threshold, the length histogram of the training texts, and a uniform
random sample of at most SAMPLE_TEXTS training texts. So a version folder now holds some training texts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engage.errors import InputError
from engage.monitor.summary import length_histogram, score_histogram
from engage.thresholds import flagged

REFERENCE_FILE = "reference.json"
SAMPLE_TEXTS = 1000
FORMAT = 1


@dataclass
class Reference:
    model: str
    threshold: float
    scores: np.ndarray       # validation scores
    labels: np.ndarray       # their 0/1 labels
    score_hist: np.ndarray
    length_hist: np.ndarray
    flagged_share: float
    texts: list[str]

    @property
    def positive_share(self) -> float:
        return float(self.labels.mean()) if len(self.labels) else float("nan")


def make_reference(model: str, threshold: float, scores: np.ndarray, labels: np.ndarray, texts: list[str],
                   seed: int = 0) -> dict:
    scores = np.asarray(scores, dtype=float)
    filled = [t for t in texts if t.strip()]
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.permutation(len(filled))[:SAMPLE_TEXTS])
    return {"format": FORMAT, "model": model, "threshold": float(threshold),
            "scores": [round(float(s), 6) for s in scores], "labels": [int(v) for v in labels],
            "score_hist": score_histogram(scores).tolist(), "length_hist": length_histogram(filled).tolist(),
            "flagged_share": float(np.mean(flagged(scores, threshold))) if len(scores) else 0.0,
            "texts": [filled[i] for i in pick]}


def write_reference(folder: Path, reference: dict) -> Path:
    path = Path(folder) / REFERENCE_FILE
    path.write_text(json.dumps(reference, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def load_reference(version) -> Reference | None:
    """The version's reference (a registry.ModelVersion, already verified), or None for a version without one."""
    path = Path(version.path) / REFERENCE_FILE
    if REFERENCE_FILE not in version.meta.get("files", {}) or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Reference(data["model"], float(data["threshold"]), np.asarray(data["scores"], dtype=float),
                         np.asarray(data["labels"], dtype=int), np.asarray(data["score_hist"], dtype=np.int64),
                         np.asarray(data["length_hist"], dtype=np.int64), float(data["flagged_share"]),
                         list(data["texts"]))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"the reference of model '{version.name}' does not load ({exc})", file=str(path)) from None


def compute_reference(name: str, data: str | Path, *, label_col: str | None = None, text_col: str | None = None,
                      root: str | Path | None = None, texts: bool = True) -> Path:
    """Writes the reference of an existing version (e.g. the shipped engage-default) from its training file:
    the same rows (checked by the data fingerprint in model.json), the same cross-validation, so the same scores
    its threshold and reported metrics came from. model.json's sha256 list is updated to include the file.
    texts=False leaves the text sample out (the shipped model's committed reference: its training data may not be
    copied into the project; `engage monitor reference` run locally adds it)."""
    from engage import registry
    from engage.cache import EmbeddingCache, cached_layer_means
    from engage.encoders import load_encoder
    from engage.head import HeadConfig, head_inputs, settle_choices, share_work
    from engage.reading import read_messages
    from engage.train import cross_validated_scores, data_fingerprint

    version = registry.read_model(name, root)
    meta = version.meta
    training = meta.get("training_data") or {}
    folds = int(training.get("cv_folds") or 0)
    if folds < 2:
        raise InputError(f"model '{name}' was not cross-validated: its reference is written when it is trained")
    messages = read_messages(data, text_col=text_col, label_col=label_col, require_labels=True)
    y = messages.labels.astype(np.int8)
    if data_fingerprint(messages.texts, y) != training.get("fingerprint"):
        raise InputError(f"this is not the file model '{name}' was trained on (its rows or labels differ from "
                         f"{training.get('source')})", file=str(data))
    enc = meta["encoder"]
    encoder = load_encoder(registry.resolve_handle(enc["handle"], root), max_tokens=enc["max_tokens"])
    config = HeadConfig.from_json(meta["head"]["config"], source=str(version.path / registry.META_FILE))
    vectors, _ = cached_layer_means(encoder, messages.texts, EmbeddingCache())
    inputs = share_work(config, head_inputs(config, vectors, messages.texts))
    scores = cross_validated_scores(settle_choices(config, inputs, y), inputs, y, folds)
    reference = make_reference(name, float(meta["threshold"]["value"]), scores, y, messages.texts)
    if not texts:
        reference["texts"] = []
    return save_reference(version, reference)


def save_reference(version, reference: dict) -> Path:
    """Writes reference.json into an existing version and adds it to model.json's sha256 list."""
    from engage import registry

    meta = version.meta
    path = write_reference(version.path, reference)
    meta["files"][REFERENCE_FILE] = registry.sha256_file(path)
    (version.path / registry.META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n",
                                                    encoding="utf-8")
    return path
