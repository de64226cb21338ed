"""The head as a whole, whichever ELMo branch it has: build it, train it, describe it.

Its scikit-learn fits run with one BLAS thread: they are many small dense problems (Newton steps over 768
standardized ELMo dimensions, L-BFGS over a few thousand row coordinates), where a second BLAS thread saves little
when the cores are free and, when they are shared, spins waiting for them (10x slower Newton fits measured on 2
busy cores). Keras keeps its own thread pool."""

from __future__ import annotations

import keras
import numpy as np
from threadpoolctl import threadpool_limits

from engage.head import linear, mlp
from engage.head.config import HeadConfig
from engage.head.lexical_branch import ROW_SPACE, RowSpace

# elmo_branch (the names in engage.head.config.ELMO_BRANCHES) -> its module, which has
# models(config, dim), train(config, inputs, y, val, on_epoch), settle(config, inputs, y) and describe(config).
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
    with threadpool_limits(1, user_api="blas"):
        return BRANCHES[config.elmo_branch].train(config, inputs, y, val, on_epoch)


def settle_choices(config: HeadConfig, inputs: dict, y: np.ndarray) -> HeadConfig:
    """config with every choice the head would make on these rows (the linear branch's C) made once, so that
    heads trained on subsets of them (cross-validation) do not each make it again. Idempotent."""
    with threadpool_limits(1, user_api="blas"):
        return BRANCHES[config.elmo_branch].settle(config, inputs, y)


def share_work(config: HeadConfig, inputs: dict) -> dict:
    """inputs with what every head trained on a subset of their rows would compute from them again added once: the
    lexical RowSpace (the Gram matrix of the n-gram rows and its factor, exact for any subset: see
    engage.head.lexical_branch). Slicing the result by rows slices it too; predict ignores it."""
    if not config.lexical or ROW_SPACE in inputs:
        return inputs
    with threadpool_limits(1, user_api="blas"):
        return inputs | {ROW_SPACE: RowSpace(inputs["lexical"])}
