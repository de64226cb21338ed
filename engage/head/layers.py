"""Keras pieces both ELMo branches share: per-layer standardization, Dense layers set from exact fits, and the
served head read back as numbers (HeadParts)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np


class Standardize(keras.layers.Layer):
    """(x - mean) / std with statistics set from the training vectors (stored with the weights).

    An affine map per layer commutes with the mean over tokens, so standardizing the cached layer means is the same
    as standardizing every token's layers first (see engage.head.mlp for why that matters)."""

    def build(self, input_shape: tuple) -> None:
        self.mean = self.add_weight(name="mean", shape=input_shape[1:], initializer="zeros", trainable=False)
        self.std = self.add_weight(name="std", shape=input_shape[1:], initializer="ones", trainable=False)

    def call(self, x):
        return (x - self.mean) / self.std


def statistics(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) per dimension, float32, as Standardize stores them."""
    std = vectors.std(axis=0)
    # A dimension that never varies stays as it is rather than being blown up.
    return vectors.mean(axis=0).astype("float32"), np.where(std > 1e-6, std, 1.0).astype("float32")


def set_statistics(layer: Standardize, vectors: np.ndarray) -> None:
    mean, std = statistics(vectors)
    layer.mean.assign(mean)
    layer.std.assign(std)


def set_logit(layer: keras.layers.Dense, regression) -> None:
    """A frozen Dense(1) that computes a fitted scikit-learn linear model's decision function."""
    layer.set_weights([regression.coef_.T.astype("float32"), regression.intercept_.astype("float32")])


@dataclass(frozen=True)
class HeadParts:
    """A served head as numbers, for engage.explain: logit = bias + a_elmo * elmo + a_lex * lexical, with the ELMo
    branch's logit as a function of the layer means and the lexical branch's weights. Each branch module
    (engage.head.mlp, engage.head.linear) reads its own layers into one (its `parts`), so no one else needs its
    layer names; tests check sigmoid(bias + a_elmo * elmo + a_lex * lexical) == engage.head.predict."""

    bias: float
    a_elmo: float
    a_lex: float
    lex_w: np.ndarray | None            # float64 [2 * lexical_features]; None without the lexical branch
    lex_b: float
    elmo_logits: Callable[[np.ndarray], np.ndarray]  # vectors [N, 3, D] -> float64 [N]


def layer_weights(head: keras.Model, name: str) -> list[np.ndarray]:
    """A layer's weights as float64 arrays (for the branch modules' `parts`)."""
    return [np.asarray(w, dtype=np.float64) for w in head.get_layer(name).get_weights()]
