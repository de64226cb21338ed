"""Feeding the head: its named inputs from cached layer means and texts, and probabilities out, batch by batch."""

from __future__ import annotations

import keras
import numpy as np
import scipy.sparse as sp

from engage.head.config import HeadConfig
from engage.lexical import lexical_features
from engage.tokens import char_batches

SERVED = ("layers", "lexical")  # the inputs the serving model reads; anything else in an inputs dict is for training
# The characters of message text whose lexical features exist at once while scoring: about 4 non-zeros per
# character (a few hundred MB at most, with TensorFlow's copy), whatever the number and length of the messages.
BATCH_CHARS = 1_000_000


def head_inputs(config: HeadConfig, vectors: np.ndarray, texts: list[str]) -> dict:
    inputs: dict = {"layers": vectors}
    if config.lexical:
        inputs["lexical"] = lexical_features(texts, config.lexical_features, config.lexical_scale)
    return inputs


def predict_texts(model: keras.Model, config: HeadConfig, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
    """Probabilities for texts and their layer means, with the lexical features of at most BATCH_CHARS characters
    of text (each text bounded: engage.tokens.MAX_MESSAGE_CHARS) in memory at once."""
    out = np.empty(len(texts), dtype=np.float64)
    for start, stop in char_batches(texts, BATCH_CHARS):
        out[start:stop] = predict(model, head_inputs(config, vectors[start:stop], texts[start:stop]))
    return out


def predict(model: keras.Model, inputs: dict, batch_size: int = 2048) -> np.ndarray:
    """Probabilities, float64 [N]. Calls the model directly per batch: faster than predict() for small inputs."""
    inputs = {k: v for k, v in inputs.items() if k in SERVED}
    n = inputs["layers"].shape[0]
    out = np.empty(n, dtype=np.float64)
    for start in range(0, n, batch_size):
        part = {k: _rows(v, start, start + batch_size) for k, v in inputs.items()}
        out[start:start + batch_size] = np.asarray(model(part, training=False)).reshape(-1)
    return out


def _rows(x, start: int, stop: int):
    import tensorflow as tf

    if sp.issparse(x):
        coo = x[start:stop].tocoo()
        indices = np.stack([coo.row, coo.col], axis=1).astype("int64")
        return tf.sparse.reorder(tf.SparseTensor(indices, coo.data.astype("float32"), coo.shape))
    return tf.convert_to_tensor(x[start:stop])
