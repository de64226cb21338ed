"""The head's weights on disk (Keras .weights.h5, never a pickle); its architecture is rebuilt from HeadConfig."""

from __future__ import annotations

from pathlib import Path

import keras

from engage.head.config import HeadConfig
from engage.head.model import build_head


def save_head(model: keras.Model, path: str | Path) -> None:
    model.save_weights(str(path))


def load_head(config: HeadConfig, dim: int, path: str | Path) -> keras.Model:
    model = build_head(config, dim)
    model.load_weights(str(path))
    return model
