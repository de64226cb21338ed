"""Promotion: making a version the active model, and what has to follow it.

The labeling queue's "most uncertain first" order ranks by the stored scores of the model that scored each set, so
activating a version without re-scoring the labeling sets would leave the queue following the old model. Every way
of activating a version (`engage models activate`, the Train and Models pages) goes through `promote`, which
scores the sets with the new version first and moves the active pointer last: a version that does not load (a
checksum or encoder mismatch) never becomes active. Each promotion is audited in the label database (who, from
which version to which) once the pointer has moved; the pages pass the signed-in person, the command line records
cli:<os user>.

Before the Promote button, the candidate is compared with the active version on the same messages
(compare_on_same_messages: the candidate's held-out rows, or under cross-validation every training row, the
candidate's honest score for each beside the active version's), and promotion_warnings says when promoting looks
unwise (the rule is in its docstring).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engage import registry
from engage.access import local_actor
from engage.encoders.base import Progress
from engage.label_loop import rescore_sets
from engage.labels import LabelStore
from engage.metrics import METRICS, metric_table
from engage.overlap import Overlap, training_overlap
from engage.reading import Messages
from engage.scoring import Classifier, load_classifier
from engage.train import TrainResult

MIN_LABELS = 200           # fewer training labels than this: warned before promotion
MIN_PER_CLASS = 50         # ... or fewer of either class
WORSE_ROC_AUC = 0.01       # on the same messages, a ROC-AUC this much under the active version's is worse
WORSE_F1 = 0.02            # ... or an F1 (each at its own threshold) this much under


@dataclass(frozen=True)
class Promotion:
    name: str                 # the version now active
    previous: str | None      # the version active before (None: there was none)
    rescored: dict[int, int] = field(default_factory=dict)  # labeling set id -> messages scored


def promote(name: str, store: LabelStore | None, *, root: str | Path | None = None,
            classifier: Classifier | None = None, progress: Progress | None = None, actor: str | None = None,
            action: str = "activate") -> Promotion:
    """Score every labeling set of `store` with version `name` (loaded unless `classifier` is that version), then
    make it the active model and record `action` ("activate", or "promote" for a version just trained) by `actor`
    (default cli:<os user>) in the store's audit trail. With no store, only the pointer moves (nothing to audit
    into); a store without sets is only audited."""
    if action not in ("activate", "promote"):
        raise ValueError(f"action is 'activate' or 'promote', not {action!r}")
    version = registry.read_model(name, root)  # checks the name and the files before anything changes
    if classifier is not None and classifier.name != version.name:
        raise ValueError(f"classifier {classifier.name!r} is not version {version.name!r}")
    previous = registry.active_name(root)
    rescored: dict[int, int] = {}
    if store is not None and store.sets():
        clf = classifier or load_classifier(version.name, root=root)
        rescored = rescore_sets(store, clf, progress)
    registry.activate(version.name, root)
    if store is not None:
        store.record_audit(action, actor or local_actor(), version.name, from_version=previous,
                           to_version=version.name,
                           detail={"rescored_sets": len(rescored), "rescored_messages": sum(rescored.values())})
    return Promotion(version.name, previous, rescored)


@dataclass(frozen=True)
class SameMessages:
    """The candidate and the active version measured on the same labeled messages: one row per version (name, role,
    rows, threshold, the metrics), and how many of those messages the active version trained on (None: unknown)."""
    candidate: str
    active: str
    how: str                      # "held-out share" or "cross-validation": where the messages come from
    table: pd.DataFrame
    active_overlap: Overlap | None

    def figure(self, role: str, metric: str) -> float | None:
        value = self.table.loc[self.table["role"] == role, metric].iloc[0]
        return None if pd.isna(value) else float(value)


def compare_on_same_messages(result: TrainResult, messages: Messages, active: Classifier) -> SameMessages | None:
    """The new version's validation rows (its held-out share, or under cross-validation every row with its
    cross-validated score) scored by the active version too, each at its own threshold; None when the version
    was trained without validation (no honest scores of its own)."""
    idx = result.validation_index
    if not len(idx):
        return None
    texts = [messages.texts[i] for i in idx]
    labels = np.asarray(messages.labels)[idx]
    candidate_threshold = float(result.version.meta["threshold"]["value"])
    rows = []
    for role, name, scores, threshold in (
            ("active", active.name, active.score(texts).values, active.threshold),
            ("candidate", result.version.name, result.validation_scores, candidate_threshold)):
        table = metric_table(labels, scores, threshold)
        rows.append({"name": name, "role": role, "rows": len(texts), "threshold": threshold,
                     **{k: table[k] for k in METRICS}})
    how = "cross-validation" if result.version.meta["training_data"].get("cv_folds") else "held-out share"
    frame = pd.DataFrame(rows).astype(dict.fromkeys(METRICS, float))
    return SameMessages(result.version.name, active.name, how, frame, training_overlap(active.version, texts))


def promotion_warnings(candidate: registry.ModelVersion, same: SameMessages | None) -> list[str]:
    """Why promoting `candidate` over the active version may be unwise; empty when nothing says so. The rule:
    - it trained on fewer than MIN_LABELS labels, or fewer than MIN_PER_CLASS of either class (its figures are
      then noisy, whatever they are);
    - on the same messages (`same`), its ROC-AUC is more than WORSE_ROC_AUC under the active version's, or its F1
      (each at its own threshold) more than WORSE_F1 under.
    """
    said = []
    data = candidate.meta.get("training_data") or {}
    rows = data.get("train_rows", data.get("rows"))
    classes = (data.get("engageable"), data.get("not_engageable"))
    if rows is not None and rows < MIN_LABELS:
        said.append(f"{candidate.name} trained on only {rows:,} labels (under {MIN_LABELS}): its figures are "
                    "noisy.")
    elif all(c is not None for c in classes) and min(classes) < MIN_PER_CLASS:
        said.append(f"{candidate.name} trained on only {min(classes):,} "
                    f"{'engageable' if classes[0] < classes[1] else 'not engageable'} labels (under "
                    f"{MIN_PER_CLASS}).")
    if same is not None and same.candidate == candidate.name:
        for metric, margin, title in (("roc_auc", WORSE_ROC_AUC, "ROC-AUC"), ("f1", WORSE_F1, "F1")):
            new, old = same.figure("candidate", metric), same.figure("active", metric)
            if new is not None and old is not None and new < old - margin:
                rows_n = int(same.table["rows"].iloc[0])
                said.append(f"On the same {rows_n:,} messages its {title} is {new:.3f}, the active version "
                            f"{same.active}'s {old:.3f}.")
    return said
