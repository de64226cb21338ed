"""Any biLM (options.json + weights.hdf5, official or ours) as a TF2 SavedModel that reads like google/elmo/3.

Signatures, inputs and outputs are TensorFlow Hub ELMo's, so HubEncoder (and any code written for the Hub
module) loads the folder unchanged:
  default(default: string [B] whole sentences, split on spaces inside the graph)
  tokens(tokens: string [B, T] padded with "", sequence_len: int32 [B])
  -> word_emb [B, T, P] (the token layer, not duplicated), lstm_outputs1 / lstm_outputs2 [B, T, 2P],
     elmo [B, T, 2P] (gamma * softmax(w) mix of [word_emb, word_emb] and the two LSTM layers; 4 trainable
     scalars, starting equal with gamma 1), default [B, 2P] (elmo averaged over real tokens), sequence_len [B].
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import tensorflow as tf

from engage.encoders.bilm.chars import tf_batch_to_ids
from engage.encoders.bilm.model import BiLM
from engage.encoders.bilm.weights import OPTIONS_FILE, WEIGHTS_FILE, load_bilm
from engage.errors import InputError


def split_sentences(sentences: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """What the Hub module's `default` signature does: split on spaces, drop empty pieces, pad with ""."""
    pieces = tf.strings.split(sentences, sep=" ")
    pieces = tf.ragged.boolean_mask(pieces, tf.strings.length(pieces) > 0)
    return pieces.to_tensor(default_value=""), tf.cast(pieces.row_lengths(), tf.int32)


class HubElmo(tf.Module):
    """A biLM wrapped with TensorFlow Hub ELMo's signatures and its 4 scalar-mix weights."""

    def __init__(self, bilm: BiLM) -> None:
        super().__init__(name="elmo")
        self.bilm = bilm
        with tf.name_scope("aggregation"):
            self.mix_weights = tf.Variable(tf.zeros([3]), name="weights")
            self.mix_scale = tf.Variable(1.0, name="scaling")

    def outputs(self, tokens: tf.Tensor, sequence_len: tf.Tensor) -> dict[str, tf.Tensor]:
        sequence_len = tf.cast(sequence_len, tf.int32)
        char_ids = tf_batch_to_ids(tokens, sequence_len, max_chars=self.bilm.opts.max_chars)
        layers = self.bilm.layers(char_ids)
        mask = tf.cast(layers["mask"], tf.float32)[..., None]
        mix = tf.nn.softmax(self.mix_weights)
        elmo = self.mix_scale * (mix[0] * layers["token"] + mix[1] * layers["layer1"] + mix[2] * layers["layer2"])
        count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
        return {
            "word_emb": layers["token"][..., : self.bilm.opts.projection_dim],
            "lstm_outputs1": layers["layer1"],
            "lstm_outputs2": layers["layer2"],
            "elmo": elmo,
            "default": tf.reduce_sum(elmo * mask, axis=1) / count,
            "sequence_len": sequence_len,
        }

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="default")])
    def default(self, default: tf.Tensor) -> dict[str, tf.Tensor]:
        return self.outputs(*split_sentences(default))

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string, name="tokens"),
                                  tf.TensorSpec([None], tf.int32, name="sequence_len")])
    def tokens(self, tokens: tf.Tensor, sequence_len: tf.Tensor) -> dict[str, tf.Tensor]:
        return self.outputs(tokens, sequence_len)


def export_hub(src: str | Path, out: str | Path) -> Path:
    """Save the biLM in folder `src` as a Hub-ELMo-compatible SavedModel in `out` (new or empty); returns out."""
    src, out = Path(src), Path(out)
    if not (src / OPTIONS_FILE).is_file() or not (src / WEIGHTS_FILE).is_file():
        raise InputError(f"export-hub: {src} is not a biLM folder; it needs {OPTIONS_FILE} and {WEIGHTS_FILE}",
                         file=str(src))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("export-hub: the output folder exists and is not empty; choose a new folder",
                         file=str(out))
    module = HubElmo(load_bilm(src))
    # The root carries what hub.load documents for a module: `.variables` and `.trainable_variables` (only
    # the 4 mix scalars, as in google/elmo/3), besides the two signatures.
    root = tf.train.Checkpoint(elmo=module)
    root.variables = list(module.variables)
    root.trainable_variables = [module.mix_weights, module.mix_scale]
    # Written next to OUT and renamed at the end, so a failed export never leaves a half module under OUT.
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tf.saved_model.save(root, str(tmp), signatures={"default": module.default, "tokens": module.tokens})
        if out.exists():
            out.rmdir()
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out
