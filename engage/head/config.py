"""The head's settings, as model.json records them (`head.config`), and how they are read back.

Reading back is strict: a key this engage does not know is refused with an InputError naming the key and the file
(a model from a newer engage, or a hand-edited file, would otherwise load as a different head without a word). The
one exception is RETIRED: keys older versions wrote that no longer mean anything, dropped by name, each with why.
A key older versions lacked simply takes its default, which is what those versions did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

from engage.errors import InputError
from engage.lexical import N_FEATURES

# The ELMo branches, each the module engage.head.<name> (engage.head.model.BRANCHES), and whether it trains in
# epochs (Keras, seeded) rather than being fitted exactly (scikit-learn). The one list of their names.
ELMO_BRANCHES: dict[str, bool] = {"mlp": True, "linear": False}

# Up to this many labels a training run is fitted as the shipped model (2,760 labels) always was; beyond, by the
# rules for large sets (the lexical primal: lexical_branch.DUAL_MAX_ROWS; C picked on one fold: linear.ONE_FOLD_ROWS).
# Just above 2,760, and no higher: between 3,000 and 4,000 labels the small-set rules cost about 2.7x the large-set ones
# (bench/train_speed.py --sizes 2760,3500,4000).
AS_SHIPPED_ROWS = 3000

# Keys older model.json files hold that no longer mean anything; dropped explicitly, never silently.
RETIRED: dict[str, str] = {
    "lexical_l2": "the L2 penalty of the lexical layer when Keras trained it jointly; the lexical branch has been an "
                  "exact logistic regression (lexical_c) since",
}



@dataclass
class HeadConfig:
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    hidden: int = 256
    l2: float = 0.01
    dropout: float = 0.0
    early_stopping: bool = False
    patience: int = 2
    class_weight: bool = False
    seed: int = 0
    lexical: bool = False
    lexical_features: int = N_FEATURES  # per block (words, characters)
    lexical_scale: float = 1.0
    lexical_c: float = 10.0  # C of the lexical logistic regression
    lexical_folds: int = 5   # folds for the out-of-fold logits the stacking is fitted on
    normalize: bool = False
    elmo_branch: str = "mlp"    # "mlp": the seed's mix + Dense(256) (engage.head.mlp); "linear": engage.head.linear
    elmo_c: float | None = None  # C of the linear ELMo branch; None: chosen by inner cross-validation
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.elmo_branch not in ELMO_BRANCHES:
            raise ValueError(f"unknown elmo_branch {self.elmo_branch!r}: expected "
                             f"{' or '.join(repr(b) for b in ELMO_BRANCHES)}")

    @property
    def trains_in_epochs(self) -> bool:
        """The one answer to "does this head train in epochs?" (else its regressions are fitted exactly)."""
        return ELMO_BRANCHES[self.elmo_branch]

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict, source: str | None = None) -> HeadConfig:
        """The config model.json recorded. An unknown key is refused (InputError naming it and source, that file);
        a RETIRED key is dropped by name; a missing key takes its default."""
        if not isinstance(data, dict):
            raise InputError(f"the head's config is a {type(data).__name__}, not an object", file=source)
        known = [f.name for f in fields(cls)]
        unknown = sorted(k for k in data if k not in known and k not in RETIRED)
        if unknown:
            raise InputError(f"the head's config has {'an unknown key' if len(unknown) == 1 else 'unknown keys'} "
                             f"{', '.join(repr(k) for k in unknown)} (from a newer engage, or edited?); this engage "
                             f"knows {', '.join(known)}", file=source)
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Settled:
    """The choices one training run makes once on all its rows (engage.head.settle_choices) and shares with every
    head it trains (the cross-validation heads and the final one): the config with its open choices made (the
    linear branch's C), and the linear head's blend (ELMo weight, lexical weight, intercept) when it has the lexical
    branch. It lives with the run (engage.train), never in model.json: retraining chooses again."""

    config: HeadConfig
    blend: tuple[float, float, float] | None = None
