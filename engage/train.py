"""Training: labeled messages -> layer means (cached) -> head -> threshold -> a saved model version.

The threshold and the reported metrics come from one of two places (engage.validation.Validation):
- a held-out share: quick, but the final head never sees those rows and on a few thousand messages a
  best-F1 threshold picked on a few hundred of them is noisy;
- K-fold cross-validation (the default): K extra heads, each scoring the fold it did not see, so that every row gets
  an honest score; the threshold is chosen on all of them and the final head is then trained on every row.
  Choices a head makes on its own rows (the linear branch's C and its blend) are made once on every row and shared
  by the K heads and the final one (engage.head.settle_choices): one choice of leakage into the scores, K choices
  less; and the lexical Gram matrix is factorized once for all of them (engage.head.share_work), exactly.
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold, train_test_split

from engage import registry
from engage.cache import EmbeddingCache, cached_layer_means
from engage.encoders.base import Encoder, Progress
from engage.encoders.bilm.adapt import adaptation_record
from engage.errors import InputError
from engage.head import (
    HeadConfig,
    Settled,
    describe,
    head_inputs,
    predict,
    save_head,
    settle_choices,
    share_work,
    train_head,
)
from engage.metrics import metric_table
from engage.monitor.reference import make_reference, write_reference
from engage.overlap import training_record
from engage.reading import Messages
from engage.thresholds import DEFAULT_METHOD, choose_threshold
from engage.tokens import truncated
from engage.validation import DEFAULT_VALIDATION, Validation

HEAD_FILE = "head.weights.h5"
_LIBRARIES = ("tensorflow", "keras", "tensorflow-hub", "scikit-learn", "numpy", "pandas")


@dataclass
class TrainResult:
    version: registry.ModelVersion
    n_texts: int
    n_computed: int
    n_empty: int
    n_truncated: int
    heldout: dict | None
    history: dict
    seconds: dict = field(default_factory=dict)
    heldout_index: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))  # rows of the held-out split
    # The rows the metrics were measured on (the held-out split, or every row under cross-validation) and the new
    # version's honest score for each (its held-out or cross-validated score): what engage.promotion compares on.
    validation_index: np.ndarray = field(default_factory=lambda: np.array([], dtype=int))
    validation_scores: np.ndarray = field(default_factory=lambda: np.array([], dtype=np.float64))
    oof_scores: np.ndarray | None = None  # cross-validation: every row's out-of-fold score (engage.suspects)


@dataclass(frozen=True)
class FitStep:
    """Where fitting the head stands, for a progress line: `done` of `total` fits finished (choosing the settings
    on every row, each cross-validation fold, then the final head), what runs now (`doing`, "" once all are done),
    seconds since fitting began, and an estimate of the seconds left (None until a fit has finished: the mean
    duration of the finished fits times the fits left)."""
    done: int
    total: int
    doing: str
    elapsed_s: float
    left_s: float | None


OnFit = Callable[[FitStep], None]


def fit_step_text(step: FitStep) -> str:
    """A FitStep as the Train page and `engage train` show it."""
    if not step.doing:
        return f"done: {step.total} fit{'s' if step.total > 1 else ''} in {step.elapsed_s:.1f} s"
    left = "estimating the time left" if step.left_s is None else f"about {_duration(step.left_s)} left"
    return f"{step.doing} ({step.done} of {step.total} fits done, {left})"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


class _FitClock:
    """Reports a FitStep as each fit starts and once all are done."""

    def __init__(self, total: int, report: OnFit | None) -> None:
        self.total, self.report, self.done, self.t0 = total, report, -1, time.perf_counter()

    def start(self, doing: str = "") -> None:
        self.done += 1
        if self.report is None:
            return
        elapsed = time.perf_counter() - self.t0
        left = elapsed / self.done * (self.total - self.done) if self.done else None
        self.report(FitStep(self.done, self.total, doing, elapsed, left))


@dataclass(frozen=True)
class BundledEncoder:
    """An encoder kept inside the version's own folder (a fine-tuned ELMo: engage.encoders.bilm.finetune): the
    folder it is in now, copied to `subdir` of the version (so model.json checksums it), and what the encoder
    entry of model.json gets in addition (its handle inside the version, what it was fine-tuned from)."""

    folder: Path
    subdir: str
    record: dict


def data_fingerprint(texts: list[str], labels: np.ndarray) -> str:
    h = hashlib.sha256()
    for text, label in zip(texts, labels, strict=True):
        h.update(text.encode("utf-8") + b"\t" + str(int(label)).encode() + b"\n")
    return h.hexdigest()


def library_versions() -> dict[str, str]:
    found = {}
    for lib in _LIBRARIES:
        try:
            found[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            continue
    return found


def _check_labels(messages: Messages) -> np.ndarray:
    if messages.labels is None:
        raise InputError("training needs labels: name the column that says engageable or not",
                         file=messages.source)
    counts = np.bincount(messages.labels.astype(int), minlength=2)
    if counts.min() == 0:
        raise InputError(f"training needs both classes; the labels hold {counts[1]} engageable and {counts[0]} "
                         "not engageable", file=messages.source, column=messages.label_col)
    return messages.labels.astype(np.int8)


def _split(n: int, y: np.ndarray, validation: Validation, seed: int) -> tuple[np.ndarray, np.ndarray]:
    idx = np.arange(n)
    if not validation.share:
        return idx, np.array([], dtype=int)
    train_idx, val_idx = train_test_split(idx, test_size=validation.share, stratify=y, random_state=seed)
    return np.sort(train_idx), np.sort(val_idx)


def _check_validation(validation: Validation, y: np.ndarray, config: HeadConfig) -> None:
    if config.early_stopping and not validation.share:
        raise InputError("early stopping watches held-out messages: validate on a held-out share, not "
                         f"{validation.describe()}")
    validation.check(y)


def cross_validated_scores(config: HeadConfig | Settled, inputs: dict, y: np.ndarray, folds: int,
                           clock: _FitClock | None = None) -> np.ndarray:
    """Every row's score from a head trained on the other folds (same seed, so the same call gives the same
    scores), all with the choices settled once on every row (settled here unless given)."""
    settled = config if isinstance(config, Settled) else settle_choices(config, inputs, y)
    inputs = share_work(settled.config, inputs)
    scores = np.empty(len(y), dtype=np.float64)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=settled.config.seed)
    for fold, (fit_idx, held_idx) in enumerate(splitter.split(np.zeros(len(y)), y), 1):
        if clock is not None:
            clock.start(f"cross-validation fold {fold} of {folds}")
        model, _ = train_head(settled, _rows(inputs, fit_idx), y[fit_idx])
        scores[held_idx] = predict(model, _rows(inputs, held_idx))
    return scores


def out_of_fold_scores(messages: Messages, encoder: Encoder, config: HeadConfig, folds: int, *,
                       cache: EmbeddingCache | None = None, progress: Progress | None = None) -> np.ndarray:
    """Every labeled row's score from the recipe's heads trained on the other folds, as train_model's
    cross-validation computes them, without the final head (engage suspects)."""
    y = _check_labels(messages)
    _check_validation(Validation.cross(folds), y, config)
    vectors, _ = cached_layer_means(encoder, messages.texts, cache, progress)
    inputs = share_work(config, head_inputs(config, vectors, messages.texts))
    return cross_validated_scores(config, inputs, y, folds)


def _rows(inputs: dict, idx: np.ndarray) -> dict:
    return {k: v[idx] for k, v in inputs.items()}


def train_model(messages: Messages, encoder: Encoder, config: HeadConfig | None = None, *,
                name: str | None = None, validation: Validation = DEFAULT_VALIDATION,
                threshold_method: str = DEFAULT_METHOD,
                threshold_value: float | None = None, activate: bool = False,
                cache: EmbeddingCache | None = None, root: str | Path | None = None,
                progress: Progress | None = None, on_epoch=None, bundled: BundledEncoder | None = None,
                on_fit: OnFit | None = None) -> TrainResult:
    """A new version from labeled messages (the module's docstring). on_fit hears each fit of the head start (FitStep:
    the fold, fits done and an estimate of the time left) and once more when all are done."""
    config = config or HeadConfig()
    name = registry.check_name(name or registry.new_name())
    y = _check_labels(messages)
    _check_validation(validation, y, config)
    texts = messages.texts
    t0 = time.perf_counter()
    vectors, n_computed = cached_layer_means(encoder, texts, cache, progress)
    t_encode = time.perf_counter() - t0
    train_idx, val_idx = _split(len(texts), y, validation, config.seed)
    inputs = share_work(config, head_inputs(config, vectors, texts))
    val = (_rows(inputs, val_idx), y[val_idx]) if len(val_idx) else None
    scores, fitting = None, Settled(config)
    clock = _FitClock(validation.folds + 2 if validation.folds else 1, on_fit)
    if validation.folds:
        clock.start("choosing the settings on every row")
        fitting = settle_choices(config, inputs, y)  # this run's choices; model.json keeps config: retraining
        # chooses again
        scores = cross_validated_scores(fitting, inputs, y, validation.folds, clock)
    clock.start("the final head on every training row")
    model, history = train_head(fitting, _rows(inputs, train_idx), y[train_idx], val, on_epoch)
    labels = y
    if val is not None:
        labels, scores = val[1], predict(model, val[0])
    clock.start()
    t_fit = time.perf_counter() - t0 - t_encode
    heldout, threshold = None, choose_threshold(None, np.array([]), "fixed", threshold_value)
    if scores is not None:
        if threshold_method != "fixed":
            weights = messages.threshold_weights  # labels picked uncertain-first: engage/labels/picks.py
            if weights is not None and val is not None:
                weights = weights[val_idx]
            threshold = choose_threshold(labels, scores, threshold_method, threshold_value, weights)
        heldout = metric_table(labels, scores, threshold) | {"at_0.5": metric_table(labels, scores, 0.5)}
        heldout["method"] = validation.describe()
    texts_entry, texts_keys = training_record([texts[i] for i in train_idx])
    encoder_meta = {"kind": encoder.kind, "handle": registry.stored_handle(encoder.handle, root),
                    "fingerprint": encoder.fingerprint, "dim": encoder.dim, "max_tokens": encoder.max_tokens}
    if (adapted := adaptation_record(encoder.handle)) is not None:
        encoder_meta["adapted"] = adapted  # the encoder is an `engage adapt` output: its base and its data
    if bundled is not None:
        encoder_meta |= bundled.record
    meta = {
        "encoder": encoder_meta,
        "head": {"architecture": describe(config),
                 "config": config.to_json(), "weights": HEAD_FILE},
        "threshold": {"value": threshold, "method": threshold_method, "target": threshold_value},
        "training_data": {"source": Path(messages.source).name, "fingerprint": data_fingerprint(texts, y),
                          "rows": len(texts), "engageable": int(y.sum()), "not_engageable": int(len(y) - y.sum()),
                          "empty_messages": len(messages.empty_rows), "val_split": validation.share,
                          "cv_folds": validation.folds,
                          "train_rows": len(train_idx),
                          "heldout_rows": len(y) if validation.folds else len(val_idx),
                          "texts": texts_entry},  # engage.overlap: which texts the final head learned from
        "heldout_metrics": heldout,
        "history": history,
        "library_versions": library_versions(),
    }
    if messages.threshold_weights is not None and threshold_method != "fixed":
        meta["threshold"]["weighted_by_picks"] = True  # engage/labels/picks.py
    def write_files(folder: Path) -> None:
        _write_files(folder, model, bundled)
        (folder / texts_entry["file"]).write_text(texts_keys, encoding="ascii")
        if scores is not None:  # the monitor's yardstick: validation scores, lengths, a sample of training texts
            write_reference(folder, make_reference(name, threshold, scores, labels, texts, seed=config.seed))

    version = registry.save_version(name, meta, write_files, root, activate)
    n_truncated = int(truncated(texts, encoder.max_tokens).sum())
    measured = (np.arange(len(y)) if validation.folds else val_idx) if scores is not None else np.array([], int)
    return TrainResult(version, len(texts), n_computed, len(messages.empty_rows), n_truncated, heldout,
                       history, {"encode": t_encode, "fit": t_fit, "total": time.perf_counter() - t0}, val_idx,
                       measured, np.asarray(scores if scores is not None else [], dtype=np.float64),
                       scores if validation.folds else None)


def _write_files(folder: Path, model, bundled: BundledEncoder | None) -> None:
    save_head(model, folder / HEAD_FILE)
    if bundled is not None:
        shutil.copytree(bundled.folder, folder / bundled.subdir)
