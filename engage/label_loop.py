"""The loop between the label store and the models: model scores for the labeling queue, training data from stored
labels (plus an optional labeled file), and a new version trained like the active one.

The queue's "most uncertain first" order ranks by |score - threshold| of the stored scores, so a set is re-scored
whenever a new model becomes active (rescore_sets).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engage.encoders.base import Encoder, Progress
from engage.errors import InputError
from engage.labels import LabelSet, LabelStore, text_hash
from engage.reading import Messages
from engage.scoring import Classifier
from engage.thresholds import DEFAULT_METHOD
from engage.train import TrainResult, train_model
from engage.validation import Validation


def score_set(store: LabelStore, set_id: int, clf: Classifier, progress: Progress | None = None) -> int:
    """Scores every message of the set with the classifier and stores the scores (replacing older ones)."""
    frame = store.messages(set_id)
    scores = clf.score(frame["text"].tolist(), progress).values
    return store.store_scores(set_id, clf.name, dict(zip(frame["message_id"], scores, strict=True)), clf.threshold)


def rescore_sets(store: LabelStore, clf: Classifier, progress: Progress | None = None) -> dict[int, int]:
    """score_set for every labeling set: set id -> messages scored."""
    return {s.id: score_set(store, s.id, clf, progress) for s in store.sets()}


def import_scored(store: LabelStore, name: str, texts: Sequence[str], scores: Sequence[float], model: str,
                  threshold: float, source: str = "score page", *, actor: str | None = None,
                  row_ids: Sequence[str] | None = None, context: pd.DataFrame | None = None,
                  text_col: str | None = None) -> int:
    """A labeling set from rows already scored (the Score page's result): the scores go with it, so the queue can
    put the most uncertain first without scoring again. Returns the set id; the import is audited under `actor`.
    `context`: the rows' file columns (LabelStore.import_messages)."""
    if len(texts) != len(scores):
        raise InputError(f"{len(texts)} texts but {len(scores)} scores")
    set_id = store.import_messages(name, texts, source=source, extra={"model": model}, actor=actor, scored_by=model,
                                   row_ids=row_ids, context=context, text_col=text_col)
    frame = store.messages(set_id)  # position = index in texts of the first row with that message
    by_id = {int(m): float(scores[int(p)]) for m, p in zip(frame["message_id"], frame["position"], strict=True)}
    store.store_scores(set_id, model, by_id, threshold)
    return set_id


class NoLabels(InputError):
    """Nothing to train from yet: no stored labels and no labeled file. Normal on a fresh install."""


@dataclass(frozen=True)
class TrainingData:
    """The rows training gets, and where they came from: the store's labels, the added file's rows whose text the
    store has not labeled, and the overlap (the file's rows whose text the store has labeled: the app's label wins)."""
    messages: Messages
    stored: int
    from_file: int
    overlapping: int


def training_data(store: LabelStore, set_id: int | None = None, extra: Messages | None = None,
                  bulk: bool = True) -> TrainingData:
    """The store's labels (one per message, see LabelStore.labeled_messages; bulk=False leaves bulk labels out),
    plus the labeled rows of `extra` whose text the store has not labeled: a label given in the app is the fresher
    judgement. Either side alone is enough; neither raises NoLabels."""
    stored = store.labeled_messages(set_id, bulk=bulk)
    if extra is None:
        if not stored.texts:
            where = "the label store" if set_id is None else f"labeling set {set_id}"
            raise NoLabels(f"no labels yet in {where}: label some messages first, or add a labeled file")
        return TrainingData(stored, len(stored.texts), 0, 0)
    if extra.labels is None:
        raise InputError("the added file needs a label column", file=extra.source)
    known = {text_hash(t) for t in stored.texts}
    rows = [i for i, t in enumerate(extra.texts) if t.strip()]
    keep = [i for i in rows if text_hash(extra.texts[i]) not in known]
    overlap = len({text_hash(extra.texts[i]) for i in rows} & known)
    texts = stored.texts + [extra.texts[i] for i in keep]
    labels = np.concatenate([stored.labels, extra.labels[keep]]).astype(np.int8)
    source = f"{stored.source} + {extra.source}" if stored.texts else extra.source
    weights = (None if stored.threshold_weights is None  # the file's rows were not picked: each counts once
               else np.concatenate([stored.threshold_weights, np.ones(len(keep))]))
    merged = Messages(frame=pd.DataFrame({"text": texts, "label": labels}), text_col="text", label_col="label",
                      texts=texts, labels=labels, empty_rows=[], source=source, first_row=1,
                      threshold_weights=weights)
    return TrainingData(merged, len(stored.texts), len(keep), overlap)


def training_messages(store: LabelStore, set_id: int | None = None, extra: Messages | None = None) -> Messages:
    """training_data's rows alone."""
    return training_data(store, set_id, extra).messages


def labels_needed(labels: np.ndarray, validation: Validation) -> dict[int, int]:
    """How many more labels of each class (1 engageable, 0 not) training with this validation needs; empty when
    there are enough."""
    counts = np.bincount(np.asarray(labels, dtype=int), minlength=2)
    need = validation.min_per_class()
    return {c: need - int(counts[c]) for c in (1, 0) if counts[c] < need}


def same_set(store: LabelStore, name: str, texts: Sequence[str]) -> LabelSet | None:
    """An existing labeling set with this name, or with exactly these messages (texts equal after the store's
    normalization): importing again would make a twin."""
    sets = store.sets()
    named = [s for s in sets if s.name == name.strip()]
    if named:
        return named[-1]
    wanted = {text_hash(t) for t in texts if str(t).strip()}
    for found in reversed([s for s in sets if s.size == len(wanted)]):
        if {text_hash(t) for t in store.messages(found.id)["text"]} == wanted:
            return found
    return None


def distinct_name(store: LabelStore, name: str) -> str:
    """`name`, or `name (2)`, `name (3)`, ...: the first no labeling set has."""
    taken = {s.name for s in store.sets()}
    name = name.strip()
    found, n = name, 1
    while found in taken:
        n += 1
        found = f"{name} ({n})"
    return found


def adapt_encoder(messages: Messages, clf: Classifier, out: Path, *, time_limit_s: float,
                  progress: Callable[[int, int, float], None] | None = None,
                  log: Callable[[str], None] = lambda _: None) -> Encoder:
    """The classifier's ELMo adapted to these messages' texts (engage adapt), loaded as an encoder: for retrain."""
    from engage.encoders import is_bilm_folder, load_encoder
    from engage.encoders.bilm.adapt import adapt_texts, texts_source

    base = clf.encoder.handle
    if clf.encoder.kind != "bilm" or not is_bilm_folder(base):
        raise InputError(f"adapting needs an ELMo folder with options.json + weights.hdf5; model '{clf.name}' "
                         f"runs on {base}")
    adapt_texts(messages.texts, [texts_source(messages.source, messages.texts)], base, out,
                time_limit_s=time_limit_s, progress=progress, log=log, keep_checkpoints=False)
    return load_encoder(str(out), max_tokens=clf.encoder.max_tokens)


def validation_of(clf: Classifier) -> Validation:
    """How the version chose its threshold and measured itself, from its model.json (engage.validation's default
    for a version that recorded neither way)."""
    return Validation.of_record(clf.version.meta.get("training_data"))


def retrain(messages: Messages, clf: Classifier, *, name: str | None = None, validation: Validation | None = None,
            root=None, progress: Progress | None = None, on_epoch=None,
            encoder: Encoder | None = None, on_fit=None, finetune_s: float | None = None,
            on_finetune_step: Callable[[int, int, float], None] | None = None) -> TrainResult:
    """A new version (not activated) on the classifier's encoder (or `encoder`, e.g. adapt_encoder's), head config
    and threshold rule; validated as given, else as the version was (validation_of: the shipped model's 5-fold
    cross-validation lets every label train the final head, where a held-out share never trains on its rows).
    With finetune_s, that ELMo is first fine-tuned on the labels for at most so many seconds (finetune_model, its
    default schedule); a fine-tuned version's own ELMo is not tuned again: its base is (as `engage train --like`)."""
    rule = clf.version.meta["threshold"]
    fit, extra = train_model, {"on_epoch": on_epoch, "on_fit": on_fit}
    if finetune_s is not None:  # progress is reported per fine-tuning step (not per head epoch)
        from engage.encoders.bilm.finetune import FinetuneSettings, finetune_model

        fit, extra = finetune_model, {"settings": FinetuneSettings(time_limit_s=finetune_s),
                                      "on_step": on_finetune_step, "log": lambda _: None,
                                      "on_fit": on_fit}
        encoder = encoder or finetune_base(clf)
    return fit(messages, encoder or clf.encoder, clf.config, name=name or None,
               validation=validation or validation_of(clf),
               threshold_method=rule.get("method") or DEFAULT_METHOD, threshold_value=rule.get("target"),
               cache=clf.cache, root=root, progress=progress, **extra)


def finetune_base(clf: Classifier) -> Encoder:
    """The ELMo fine-tuning starts from: a fine-tuned version's base (engage.recipe.recipe_of), else its own."""
    from engage.encoders import load_encoder
    from engage.recipe import recipe_of

    if not clf.version.meta["encoder"].get("finetuned"):
        return clf.encoder
    recipe = recipe_of(clf.name, clf.version.path.parent)
    return load_encoder(recipe.encoder, max_tokens=recipe.max_tokens)


def record_suspects(store: LabelStore, messages: Messages, oof_scores: np.ndarray, model: str) -> int:
    """Ranks the stored labels among `messages` (training rows, in order, e.g. training_data's) by how likely each is
    wrong, from the training's out-of-fold scores (engage.suspects), and stores the ranking for the review queue,
    replacing the last one. Rows of an added file that the store does not hold are left out. Returns rows stored."""
    from engage.suspects import rank_suspects

    stored = store.labeled_messages()
    ids = dict(zip(map(text_hash, stored.texts), stored.frame["message_id"].astype(int), strict=True))
    rows = [i for i, t in enumerate(messages.texts) if text_hash(t) in ids]
    if not rows:
        return 0
    given = messages.labels[rows]
    ranked = rank_suspects(given, np.asarray(oof_scores)[rows])
    return store.save_suspects([ids[text_hash(messages.texts[i])] for i in rows], ranked, given, model)


def find_suspects(store: LabelStore, clf: Classifier, set_id: int | None = None, *, folds: int | None = None,
                  progress: Progress | None = None) -> int:
    """The stored labels (of one set, or all) ranked by how likely each is wrong: the classifier's recipe
    cross-validated on them (engage.train.out_of_fold_scores; as many folds as the version was validated with, else
    5), stored for the review queue. Returns the labels ranked."""
    from engage.train import out_of_fold_scores

    messages = training_data(store, set_id).messages
    folds = folds or validation_of(clf).folds or 5
    scores = out_of_fold_scores(messages, clf.encoder, clf.config, folds, cache=clf.cache, progress=progress)
    return record_suspects(store, messages, scores, clf.name)
