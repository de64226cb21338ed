"""The Encoder interface: texts in, ELMo's three per-layer mean vectors out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

Progress = Callable[[int], None]  # called with the number of texts just finished
DEFAULT_MAX_TOKENS = 64  # tokens an encoder reads per message unless told otherwise; the rest is cut


@runtime_checkable
class Encoder(Protocol):
    """Any ELMo.

    layer_means(texts) returns float32 [N, 3, D]: the token layer duplicated to D as [x, x], LSTM layer 1 and
    LSTM layer 2, each averaged over the message's real tokens (a message with no token gives zeros).
    `fingerprint` changes whenever the weights or any setting that changes the outputs change.
    """

    kind: str          # "hub" or "bilm"
    handle: str        # what the user passed: URL, folder
    fingerprint: str
    dim: int           # D
    device: str        # "GPU: <name>" or "CPU"
    max_tokens: int    # tokens read per message; the rest is cut (engage.tokens.truncated says which)

    def layer_means(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray: ...


def length_batches(lengths: Sequence[int], max_tokens_per_batch: int, max_batch: int) -> list[list[int]]:
    """Indices grouped by similar length so that padding is small and no batch exceeds the token budget."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        longest = max(lengths[i], 1)
        if current and (len(current) + 1 > max_batch or (len(current) + 1) * longest > max_tokens_per_batch):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


def tf_device() -> str:
    """The device TensorFlow will run on, in words."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return "CPU"
    try:
        name = tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name)
    except Exception:  # details are best effort; the GPU is still used
        name = gpus[0].name
    return f"GPU: {name}"
