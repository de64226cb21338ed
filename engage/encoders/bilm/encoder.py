"""Our biLM behind the Encoder interface: texts in, per-layer mean vectors [N, 3, D] out."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf

from engage.encoders.base import DEFAULT_MAX_TOKENS, Progress, length_batches, tf_device
from engage.encoders.bilm.chars import batch_to_ids
from engage.encoders.bilm.weights import OPTIONS_FILE, WEIGHTS_FILE, load_bilm
from engage.errors import InputError
from engage.tokens import message_tokens

LAYERS = ("token", "layer1", "layer2")  # the order of the three mean vectors


class BilmEncoder:
    """A folder with options.json + weights.hdf5 (official layout), run stateless on batches of similar length."""

    kind = "bilm"

    def __init__(self, folder: str, max_tokens: int = DEFAULT_MAX_TOKENS, batch_tokens: int = 4096,
                 max_batch: int = 256) -> None:
        if max_tokens < 1 or batch_tokens < 1 or max_batch < 1:
            raise InputError("max_tokens, batch_tokens and max_batch must be at least 1")
        path = Path(folder)
        self.handle = str(folder)
        self.max_tokens = int(max_tokens)
        self.batch_tokens = int(batch_tokens)
        self.max_batch = int(max_batch)
        self._lock = threading.Lock()
        self.bilm = load_bilm(path)
        if self.bilm.opts.n_layers != 2:
            raise InputError(f"options: the encoder needs a biLM with 2 LSTM layers, this one has "
                             f"{self.bilm.opts.n_layers}", file=str(path / OPTIONS_FILE))
        self.dim = self.bilm.opts.output_dim
        self.device = tf_device()
        self.fingerprint = _fingerprint(path, self.max_tokens)
        spec = tf.TensorSpec([None, None, self.bilm.opts.max_chars], tf.int32)
        self._means = tf.function(self._batch_means, input_signature=[spec])

    def layer_means(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        # One call at a time, whoever calls (every session's scoring, training, explaining share one encoder): a
        # second caller waits instead of doubling the memory of a large batch on the device.
        with self._lock:
            return self._layer_means(texts, progress)

    def _layer_means(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        tokens = [message_tokens(text, self.max_tokens)[0] for text in texts]
        out = np.zeros((len(tokens), 3, self.dim), dtype=np.float32)
        for batch in length_batches([len(t) for t in tokens], self.batch_tokens, self.max_batch):
            # Token-free messages stay zeros; they still count as done.
            busy = [i for i in batch if tokens[i]]
            if busy:
                means = self._means(tf.constant(batch_to_ids([tokens[i] for i in busy], self.bilm.opts.max_chars)))
                out[busy] = means.numpy()
            if progress is not None:
                progress(len(batch))
        return out

    def _batch_means(self, char_ids: tf.Tensor) -> tf.Tensor:
        return pooled_layer_means(self.bilm.layers(char_ids))


def pooled_layer_means(layers: dict[str, tf.Tensor]) -> tf.Tensor:
    """[B, 3, D]: each layer of BiLM.layers averaged over the real tokens (computed on the device, not in numpy).
    What the encoder hands the head, and what fine-tuning trains through (engage.encoders.bilm.finetune)."""
    mask = tf.cast(layers["mask"], tf.float32)[..., None]
    count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
    return tf.stack([tf.reduce_sum(layers[name] * mask, axis=1) / count for name in LAYERS], axis=1)


def _fingerprint(folder: Path, max_tokens: int) -> str:
    digest = hashlib.sha256(b"bilm\0")
    for name in (OPTIONS_FILE, WEIGHTS_FILE):
        with open(folder / name, "rb") as fin:
            for chunk in iter(lambda: fin.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")
    digest.update(f"max_tokens={max_tokens}".encode())
    return digest.hexdigest()
