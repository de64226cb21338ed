"""Keras pieces both ELMo branches share: per-layer standardization, and Dense layers set from exact fits."""

from __future__ import annotations

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
