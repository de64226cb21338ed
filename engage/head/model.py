"""The head as a whole, whichever ELMo branch it has: build it, train it, describe it."""

from __future__ import annotations

import keras
import numpy as np

from engage.head import linear, mlp
from engage.head.config import HeadConfig

# elmo_branch (the names in engage.head.config.ELMO_BRANCHES) -> its module, which has
# models(config, dim), train(config, inputs, y, val, on_epoch) and describe(config).
BRANCHES = {"mlp": mlp, "linear": linear}


def describe(config: HeadConfig) -> str:
    """The head's architecture in one line, for model.json."""
    return BRANCHES[config.elmo_branch].describe(config)


def build_head(config: HeadConfig, dim: int) -> keras.Model:
    """The serving model, untrained (load_head fills it)."""
    return BRANCHES[config.elmo_branch].models(config, dim)[0]


def train_head(config: HeadConfig, inputs: dict, y: np.ndarray, val: tuple[dict, np.ndarray] | None = None,
               on_epoch=None) -> tuple[keras.Model, dict]:
    """Fit a fresh head. The same seed and data give the same weights. Returns (serving model, history).
    val and on_epoch matter only to a head that trains in epochs (config.trains_in_epochs)."""
    keras.utils.set_random_seed(config.seed)
    return BRANCHES[config.elmo_branch].train(config, inputs, y, val, on_epoch)
