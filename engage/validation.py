"""How a new version picks its threshold and measures itself: one value, with one default for every front end.

Either K-fold cross-validation (K extra heads, each scoring the fold it did not see, then the final head trains on
every row) or a held-out share (quicker; the final head never sees those rows), or, for a recipe with a fixed
threshold, neither. The CLI, the Train page, engage.label_loop and engage.train all take a `Validation`, and
DEFAULT_VALIDATION is the one default: 5-fold cross-validation, how the shipped model was validated (on a few
thousand labels a best-F1 threshold picked on a few hundred held out is noisy). Its messages say what is wrong in
words any front end can show, never a CLI flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from engage.errors import InputError

MAX_SHARE = 0.9
# The share a held-out validation starts from where one is chosen without a share (the Train page's slider).
HELD_OUT_SHARE = 0.2
MIN_TRAIN_PER_CLASS = 2  # the heads' inner folds need two of each class (engage.head.stacking.folds)


@dataclass(frozen=True)
class Validation:
    folds: int = 0       # K >= 2: K-fold cross-validation
    share: float = 0.0   # 0 < share < MAX_SHARE: that share of the rows held out

    def __post_init__(self) -> None:
        if self.folds and self.share:
            raise InputError("choose either cross-validation or a held-out share, not both")
        if self.folds and self.folds < 2:
            raise InputError(f"cross-validation needs at least 2 folds, got {self.folds}")
        if self.share and not 0 < self.share < MAX_SHARE:
            raise InputError(f"the held-out share must be between 0 and {MAX_SHARE}, got {self.share}")

    @classmethod
    def cross(cls, folds: int) -> Validation:
        return cls(folds=int(folds))

    @classmethod
    def held_out(cls, share: float) -> Validation:
        if not 0 < share < MAX_SHARE:
            raise InputError(f"the held-out share must be between 0 and {MAX_SHARE}, got {share}")
        return cls(share=float(share))

    @classmethod
    def of_record(cls, training_data: dict | None) -> Validation:
        """How a version was validated, from its model.json's training_data; DEFAULT_VALIDATION if it says
        neither way."""
        recorded = training_data or {}
        if int(recorded.get("cv_folds") or 0) >= 2:
            return cls.cross(int(recorded["cv_folds"]))
        if float(recorded.get("val_split") or 0.0) > 0:
            return cls.held_out(float(recorded["val_split"]))
        return DEFAULT_VALIDATION

    @property
    def validates(self) -> bool:
        return bool(self.folds or self.share)

    def describe(self) -> str:
        """In words, as model.json's heldout_metrics.method and the pages say it."""
        if self.folds:
            return f"{self.folds}-fold cross-validation"
        return "held-out split" if self.share else "no validation"

    def min_per_class(self) -> int:
        """Labels of each class this validation needs. A held-out share: at least one of each class held out and
        MIN_TRAIN_PER_CLASS of each left to train on, whatever the other class's count (checked against
        scikit-learn's stratified split for shares 0.1 to 0.5). K folds: one of each class in every fold, and
        MIN_TRAIN_PER_CLASS in what the other folds leave."""
        if self.folds:
            return max(self.folds, math.ceil(MIN_TRAIN_PER_CLASS * self.folds / (self.folds - 1)))
        if not self.share:
            return MIN_TRAIN_PER_CLASS
        return max(MIN_TRAIN_PER_CLASS + 1, math.ceil(1 / self.share),
                   math.ceil(MIN_TRAIN_PER_CLASS / (1 - self.share)))

    def check(self, y: np.ndarray) -> None:
        """Refuse, before any work, what these labels cannot be validated with."""
        smallest = int(np.bincount(np.asarray(y, dtype=int), minlength=2).min())
        if self.folds and smallest < self.folds:
            raise InputError(f"{self.folds}-fold cross-validation needs at least {self.folds} messages of each "
                             f"class; the smaller class has {smallest}: use fewer folds")
        if self.share and smallest < 2:
            raise InputError("too few messages of one class to hold some out: label more, or train without a "
                             "held-out share")


NONE = Validation()
DEFAULT_VALIDATION = Validation.cross(5)
