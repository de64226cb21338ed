"""The head as a whole, whichever ELMo branch it has: build it, train it, describe it.

Its scikit-learn fits run with one BLAS thread: they are many small dense problems (Newton steps over 768
standardized ELMo dimensions, L-BFGS over a few thousand row coordinates), where a second BLAS thread saves little
when the cores are free and, when they are shared, spins waiting for them (10x slower Newton fits measured on 2
busy cores). Keras keeps its own thread pool."""

from __future__ import annotations

from importlib import import_module

import keras
import numpy as np
from threadpoolctl import threadpool_limits

from engage.head.config import ELMO_BRANCHES, HeadConfig, Settled
from engage.head.layers import HeadParts
from engage.head.lexical_branch import ROW_SPACE, lexical_space

# elmo_branch -> its module engage.head.<elmo_branch> (the names are engage.head.config.ELMO_BRANCHES'), which has
# models(config, dim), train(config, inputs, y, val, on_epoch, blend), settle(config, inputs, y) -> Settled,
# parts(head, config) -> HeadParts and describe(config).
BRANCHES = {name: import_module(f"engage.head.{name}") for name in ELMO_BRANCHES}


def describe(config: HeadConfig) -> str:
    """The head's architecture in one line, for model.json."""
    return BRANCHES[config.elmo_branch].describe(config)


def build_head(config: HeadConfig, dim: int) -> keras.Model:
    """The serving model, untrained (load_head fills it)."""
    return BRANCHES[config.elmo_branch].models(config, dim)[0]


def train_head(config: HeadConfig | Settled, inputs: dict, y: np.ndarray,
               val: tuple[dict, np.ndarray] | None = None, on_epoch=None) -> tuple[keras.Model, dict]:
    """Fit a fresh head, from a config or from the choices a run settled (settle_choices). The same seed and data
    give the same weights. Returns (serving model, history). val and on_epoch matter only to a head that trains
    in epochs (config.trains_in_epochs)."""
    settled = config if isinstance(config, Settled) else Settled(config)
    keras.utils.set_random_seed(settled.config.seed)
    with threadpool_limits(1, user_api="blas"):
        return BRANCHES[settled.config.elmo_branch].train(settled.config, inputs, y, val, on_epoch, settled.blend)


def settle_choices(config: HeadConfig, inputs: dict, y: np.ndarray) -> Settled:
    """Every choice the head would make on these rows (the linear branch's C, its blend) made once, so that heads
    trained on subsets of them (cross-validation) do not each make it again. The run that asks keeps it."""
    with threadpool_limits(1, user_api="blas"):
        return BRANCHES[config.elmo_branch].settle(config, inputs, y)


def head_parts(head: keras.Model, config: HeadConfig) -> HeadParts:
    """A served head as numbers: the blend (bias, the ELMo and lexical weights) and each branch (the ELMo
    branch's logit as a function, the lexical weights), read by the branch that built it (engage.explain)."""
    return BRANCHES[config.elmo_branch].parts(head, config)


def share_work(config: HeadConfig, inputs: dict) -> dict:
    """inputs with what every head trained on a subset of their rows would compute from them again added once: the
    lexical regressions' coordinates, chosen for all these rows by engage.head.lexical_branch.dual_pays (up to a
    few thousand rows the Gram matrix of the n-gram rows and its factor, exact for any subset; beyond, the n-gram
    columns the rows use). Slicing the result by rows slices it too; predict ignores it."""
    if not config.lexical or ROW_SPACE in inputs:
        return inputs
    with threadpool_limits(1, user_api="blas"):
        return inputs | {ROW_SPACE: lexical_space(inputs["lexical"])}
