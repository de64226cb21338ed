"""Promotion: making a version the active model, and what has to follow it.

The labeling queue's "most uncertain first" order ranks by the stored scores of the model that scored each set, so
activating a version without re-scoring the labeling sets would leave the queue following the old model. Every way
of activating a version (`engage models activate`, the Train and Models pages) goes through `promote`, which
scores the sets with the new version first and moves the active pointer last: a version that does not load (a
checksum or encoder mismatch) never becomes active. Each promotion is audited in the label database (who, from
which version to which) once the pointer has moved; the pages pass the signed-in person, the command line records
cli:<os user>.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engage import registry
from engage.access import local_actor
from engage.encoders.base import Progress
from engage.label_loop import rescore_sets
from engage.labels import LabelStore
from engage.scoring import Classifier, load_classifier


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
