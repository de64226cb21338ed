"""Character ids for the biLM, exactly as the original ELMo makes them (elmo-facts §3).

A token is its raw UTF-8 bytes (not code points) between begin-of-word and end-of-word markers, padded; every
sentence is wrapped in begin/end-of-sentence tokens; every id is shifted by one so that an all-zero row means
"no token here". The numpy and TensorFlow versions give identical ids (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import tensorflow as tf

MAX_CHARS = 50
BOS_CHAR, EOS_CHAR, BOW_CHAR, EOW_CHAR, PAD_CHAR = 256, 257, 258, 259, 260
N_CHARACTERS = 262  # 261 ids + the padding row 0


def _marker_row(char: int, max_chars: int) -> np.ndarray:
    row = np.full(max_chars, PAD_CHAR, dtype=np.int32)
    row[0], row[1], row[2] = BOW_CHAR, char, EOW_CHAR
    return row + 1


def token_to_ids(token: str, max_chars: int = MAX_CHARS) -> np.ndarray:
    """One token as max_chars ids (already shifted by one)."""
    raw = token.encode("utf-8", "ignore")[: max_chars - 2]
    row = np.full(max_chars, PAD_CHAR, dtype=np.int32)
    row[0] = BOW_CHAR
    row[1 : len(raw) + 1] = np.frombuffer(raw, dtype=np.uint8)
    row[len(raw) + 1] = EOW_CHAR
    return row + 1


def batch_to_ids(sentences: Sequence[Sequence[str]], max_chars: int = MAX_CHARS) -> np.ndarray:
    """int32 [B, Tmax + 2, max_chars]: every sentence wrapped in BOS/EOS, all-zero rows after its end."""
    longest = max((len(s) for s in sentences), default=0)
    out = np.zeros((len(sentences), longest + 2, max_chars), dtype=np.int32)
    bos, eos = _marker_row(BOS_CHAR, max_chars), _marker_row(EOS_CHAR, max_chars)
    for b, sentence in enumerate(sentences):
        out[b, 0] = bos
        for t, token in enumerate(sentence):
            out[b, t + 1] = token_to_ids(token, max_chars)
        out[b, len(sentence) + 1] = eos
    return out


def tf_batch_to_ids(tokens: tf.Tensor, lengths: tf.Tensor, max_chars: int = MAX_CHARS) -> tf.Tensor:
    """The graph twin of batch_to_ids: tokens string [B, T] padded with "", lengths int32 [B].

    Works on bytes (substr and decode_raw), never on code points, so a multi-byte character is cut exactly
    where the original cuts it.
    """
    tokens = tf.convert_to_tensor(tokens, tf.string)
    lengths = tf.cast(lengths, tf.int32)
    width = max_chars - 2
    cut = tf.strings.substr(tokens, 0, width, unit="BYTE")
    n_bytes = tf.strings.length(cut, unit="BYTE")  # [B, T]
    raw = tf.cast(tf.io.decode_raw(cut, tf.uint8, fixed_length=width), tf.int32)  # [B, T, width], zero-padded
    pos = tf.range(max_chars, dtype=tf.int32)  # position within the token row
    n = n_bytes[..., None]
    body = tf.pad(raw, [[0, 0], [0, 0], [1, 1]])  # byte k sits at position k + 1
    ids = tf.where(pos == 0, BOW_CHAR, tf.where(pos <= n, body, tf.where(pos == n + 1, EOW_CHAR, PAD_CHAR)))

    batch = tf.shape(tokens)[0]
    bos = tf.constant(_marker_row(BOS_CHAR, max_chars))
    eos = tf.constant(_marker_row(EOS_CHAR, max_chars))
    zeros = tf.zeros([batch, 1, max_chars], tf.int32)
    rows = tf.concat([zeros, ids + 1, zeros], axis=1)  # [B, T + 2, C]
    step = tf.range(tf.shape(rows)[1], dtype=tf.int32)[None, :, None]  # [1, T + 2, 1]
    length = lengths[:, None, None]
    rows = tf.where(step == 0, bos, tf.where(step == length + 1, eos, tf.where(step <= length, rows, 0)))
    return rows
