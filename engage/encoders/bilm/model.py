"""The ELMo biLM in TensorFlow 2: char CNN, highway, projection, forward and backward LSTMs with projection.

Numerics follow the original bilm-tf graph (elmo-facts §3): convolution "valid" over the characters, max over
positions, then the activation; TF1 LSTMCell semantics (i, j, f, o; forget bias 1.0 added, not stored; cell
clip; projection; projection clip); residual on layers >= 2 when use_skip_connections; the backward LSTM reads
each sentence reversed within its own length, so padding never reaches a real token.

Speed: the input half of every LSTM matmul (x W_x, for all time steps and both directions) is one big matmul
before the loop; the compiled loop only does h W_h and the projection, for both directions at once (batched
matmul over a leading direction axis). Sequences inside the LSTMs are kept as [direction, time, batch, dim].
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from engage.encoders.bilm.chars import N_CHARACTERS
from engage.errors import InputError

FORGET_BIAS = 1.0


@dataclass(frozen=True)
class BiLMOptions:
    """The hyper-parameters of the official options.json that shape the model (unknown keys are ignored)."""

    filters: tuple[tuple[int, int], ...]
    char_dim: int
    n_highway: int
    activation: str
    max_chars: int
    dim: int
    projection_dim: int
    n_layers: int
    cell_clip: float | None
    proj_clip: float | None
    use_skip_connections: bool

    @property
    def n_filters(self) -> int:
        return sum(n for _, n in self.filters)

    @property
    def use_proj(self) -> bool:
        return self.n_filters != self.projection_dim

    @property
    def output_dim(self) -> int:
        return 2 * self.projection_dim

    def flops_per_token(self) -> dict[str, int]:
        """Multiply-adds times two per token, by part (char CNN, highway + projection, LSTM in, recurrent)."""
        c, e, p, d = self.max_chars, self.char_dim, self.projection_dim, self.dim
        cnn = sum((c - w + 1) * w * e * n for w, n in self.filters)
        dense = self.n_highway * 2 * self.n_filters ** 2 + (self.n_filters * p if self.use_proj else 0)
        lstm_input = 2 * self.n_layers * p * 4 * d
        recurrent = 2 * self.n_layers * (p * 4 * d + d * p)
        return {"char_cnn": 2 * cnn, "highway_proj": 2 * dense, "lstm_input": 2 * lstm_input,
                "recurrent": 2 * recurrent}


def parse_options(options: dict[str, Any], file: str | None = None) -> BiLMOptions:
    """Read the official options.json schema; a missing or malformed key is an InputError naming it."""

    def need(section: str, key: str) -> Any:
        try:
            return options[section][key]
        except (KeyError, TypeError):
            raise InputError(f"options: missing '{section}.{key}'", file=file) from None

    try:
        cnn = options["char_cnn"]
        filters = tuple((int(w), int(n)) for w, n in need("char_cnn", "filters"))
        char_dim = int(cnn["embedding"]["dim"]) if "embedding" in cnn else int(need("char_cnn", "embedding"))
        parsed = BiLMOptions(
            filters=filters,
            char_dim=char_dim,
            n_highway=int(cnn.get("n_highway") or 0),
            activation=str(cnn.get("activation", "relu")),
            max_chars=int(need("char_cnn", "max_characters_per_token")),
            dim=int(need("lstm", "dim")),
            projection_dim=int(need("lstm", "projection_dim")),
            n_layers=int(options["lstm"].get("n_layers", 1)),
            cell_clip=_optional_float(options["lstm"].get("cell_clip")),
            proj_clip=_optional_float(options["lstm"].get("proj_clip")),
            use_skip_connections=bool(options["lstm"].get("use_skip_connections", False)),
        )
    except InputError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"options: malformed value ({exc!r})", file=file) from None
    if parsed.activation not in ("relu", "tanh"):
        raise InputError(f"options: char_cnn.activation must be 'relu' or 'tanh', not {parsed.activation!r}",
                         file=file)
    if not filters or parsed.max_chars < max(w for w, _ in filters) or parsed.n_layers < 1:
        raise InputError("options: filters, max_characters_per_token or n_layers out of range", file=file)
    if parsed.projection_dim >= parsed.dim:
        # bilm-tf drops the LSTM projection then (no W_P_0): a layout no published ELMo uses, not supported
        raise InputError(f"options: lstm.projection_dim ({parsed.projection_dim}) must be smaller than lstm.dim "
                         f"({parsed.dim})", file=file)
    return parsed


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


class BiLM(tf.Module):
    """The biLM. A tf.Module of tf.Variables: works with tf.train.Checkpoint and tf.saved_model.save.

    `layers(char_ids)` is the inference entry point (stateless); `layers(char_ids, states)` is the original's
    stateful mode (states carried per batch row); `lm_outputs` is what pretraining needs.
    """

    def __init__(self, options: dict[str, Any] | BiLMOptions, seed: int | None = 0,
                 name: str = "bilm") -> None:
        super().__init__(name=name)
        self.opts = options if isinstance(options, BiLMOptions) else parse_options(options)
        # Kept as text: a dict attribute of a tf.Module is wrapped for tracking, nested dicts included.
        self._options_json = json.dumps(options) if isinstance(options, dict) else None
        o, rng = self.opts, _Init(seed)
        with self.name_scope:
            # Initializers as in the original training code, so that pretraining starts where it started.
            embed = rng.uniform(-1.0, 1.0, (N_CHARACTERS, o.char_dim))
            embed[0] = 0.0  # id 0: no character (padded token rows)
            self.char_embed = _var(embed, "char_embed")
            self.cnn_w, self.cnn_b = [], []
            for i, (width, num) in enumerate(o.filters):
                if o.activation == "relu":
                    w = rng.uniform(-0.05, 0.05, (width, o.char_dim, num))
                else:
                    w = rng.normal(0.0, np.sqrt(1.0 / (width * o.char_dim)), (width, o.char_dim, num))
                self.cnn_w.append(_var(w, f"W_cnn_{i}"))
                self.cnn_b.append(_var(np.zeros(num), f"b_cnn_{i}"))
            f = o.n_filters
            self.highway = []
            for k in range(o.n_highway):
                self.highway.append([
                    _var(rng.normal(0.0, np.sqrt(1.0 / f), (f, f)), f"W_carry_{k}"),
                    _var(np.full(f, -2.0), f"b_carry_{k}"),
                    _var(rng.normal(0.0, np.sqrt(1.0 / f), (f, f)), f"W_transform_{k}"),
                    _var(np.zeros(f), f"b_transform_{k}"),
                ])
            self.proj_w = self.proj_b = None
            if o.use_proj:
                self.proj_w = _var(rng.normal(0.0, np.sqrt(1.0 / f), (f, o.projection_dim)), "W_proj")
                self.proj_b = _var(np.zeros(o.projection_dim), "b_proj")
            # One variable per layer holding both directions on a leading axis: [2, in + P, 4D] etc.
            self.lstm_w, self.lstm_b, self.lstm_p = [], [], []
            p, d = o.projection_dim, o.dim
            for layer in range(o.n_layers):
                lim_w = np.sqrt(6.0 / (2 * p + 4 * d))
                lim_p = np.sqrt(6.0 / (d + p))
                self.lstm_w.append(_var(rng.uniform(-lim_w, lim_w, (2, 2 * p, 4 * d)), f"W_0_{layer}"))
                self.lstm_b.append(_var(np.zeros((2, 4 * d)), f"B_{layer}"))
                self.lstm_p.append(_var(rng.uniform(-lim_p, lim_p, (2, d, p)), f"W_P_0_{layer}"))
        spec = tf.TensorSpec([None, None, o.max_chars], tf.int32)
        state_spec = tuple((tf.TensorSpec([2, None, d], tf.float32), tf.TensorSpec([2, None, p], tf.float32))
                           for _ in range(o.n_layers))
        self._stateless = tf.function(self._layers_stateless, input_signature=[spec], autograph=False)
        self._stateful = tf.function(self._layers_stateful, input_signature=[spec, state_spec], autograph=False)

    # ---------------------------------------------------------------- public

    @property
    def options_dict(self) -> dict[str, Any] | None:
        """The options.json dict the model was built from (None when built from BiLMOptions)."""
        return None if self._options_json is None else json.loads(self._options_json)

    def layers(self, char_ids: tf.Tensor, states: Any = None) -> dict[str, Any]:
        """{"token", "layer1", "layer2": float32 [B, T, 2P], "mask": bool [B, T]}, sentence markers removed.

        char_ids: int32 [B, T + 2, max_chars] from chars.batch_to_ids / tf_batch_to_ids. With `states`
        (from zero_states or a previous call) the LSTMs start from them and the result also holds "states",
        the final state of every batch row, to pass to the next call (the original's stateful mode).
        """
        char_ids = tf.convert_to_tensor(char_ids, tf.int32)
        if states is None:
            return self._stateless(char_ids)
        return self._stateful(char_ids, tuple((tf.convert_to_tensor(c), tf.convert_to_tensor(h))
                                              for c, h in states))

    def zero_states(self, batch: int) -> tuple[tuple[tf.Tensor, tf.Tensor], ...]:
        """Per layer (c [2, B, dim], h [2, B, projection_dim]); axis 0 is the direction (fw, bw)."""
        o = self.opts
        return tuple((tf.zeros([2, batch, o.dim]), tf.zeros([2, batch, o.projection_dim]))
                     for _ in range(o.n_layers))

    def lm_outputs(self, char_ids: tf.Tensor, dropout: float = 0.0,
                   seed: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """For pretraining, WITH sentence markers: "forward" and "backward" top layers [B, T + 2, P] in
        natural order (forward at t predicts token t + 1, backward at t predicts token t - 1), "mask"
        [B, T + 2]. dropout > 0 needs `seed` (int32 [2]); it drops every LSTM layer's input, as bilm-tf."""
        run = self._run(char_ids, None, dropout, seed)
        return {"forward": run["forward"][-1], "backward": run["backward"][-1], "mask": run["mask"]}

    def training_layers(self, char_ids: tf.Tensor, dropout: float = 0.0,
                        seed: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """What `layers` gives (stateless, markers removed), with dropout on every LSTM layer's input as
        lm_outputs: for fine-tuning on labels, where gradients flow through every layer. Not compiled here: the
        caller's training step is."""
        return _strip_markers(self._run(char_ids, None, dropout, seed))

    def token_embedding(self, char_ids: tf.Tensor) -> tf.Tensor:
        """[N, max_chars] ids -> [N, P]: char CNN, max over positions, activation, highway, projection."""
        o = self.opts
        x = tf.gather(self.char_embed, char_ids)  # [N, C, E]
        act = tf.nn.relu if o.activation == "relu" else tf.nn.tanh
        convs = [act(tf.reduce_max(tf.nn.conv1d(x, w, 1, "VALID") + b, axis=1))
                 for w, b in zip(self.cnn_w, self.cnn_b, strict=True)]
        x = tf.concat(convs, axis=-1)
        for w_carry, b_carry, w_tr, b_tr in self.highway:
            carry = tf.sigmoid(tf.matmul(x, w_carry) + b_carry)
            x = carry * tf.nn.relu(tf.matmul(x, w_tr) + b_tr) + (1.0 - carry) * x
        if self.proj_w is not None:
            x = tf.matmul(x, self.proj_w) + self.proj_b
        return x

    # ---------------------------------------------------------------- internals

    def _layers_stateless(self, char_ids: tf.Tensor) -> dict[str, tf.Tensor]:
        return _strip_markers(self._run(char_ids, None, 0.0, None))

    def _layers_stateful(self, char_ids: tf.Tensor, states: Any) -> dict[str, Any]:
        run = self._run(char_ids, states, 0.0, None)
        out = _strip_markers(run)
        out["states"] = run["states"]
        return out

    def _run(self, char_ids: tf.Tensor, states: Any, dropout: float,
             seed: tf.Tensor | None) -> dict[str, Any]:
        o = self.opts
        char_ids = tf.convert_to_tensor(char_ids, tf.int32)
        mask = tf.reduce_any(char_ids > 0, axis=2)  # [B, T]
        lengths = tf.reduce_sum(tf.cast(mask, tf.int32), axis=1)
        batch, steps = tf.shape(char_ids)[0], tf.shape(char_ids)[1]
        # The char CNN runs once per distinct real token of the batch (words repeat a lot: "the", "!", ...);
        # padded positions get zeros (they never reach a real output).
        where = tf.where(mask)
        distinct, index = tf.raw_ops.UniqueV2(x=tf.gather_nd(char_ids, where), axis=tf.constant([0], tf.int64))
        emb = tf.gather(self.token_embedding(distinct), index)
        token = tf.scatter_nd(where, emb, tf.stack([tf.cast(batch, tf.int64), tf.cast(steps, tf.int64),
                                                    tf.constant(o.projection_dim, tf.int64)]))
        if states is None:
            states = self.zero_states(batch)
        # [direction, time, batch, P]; the backward direction reversed within each sentence's length.
        x = tf.stack([token, tf.reverse_sequence(token, lengths, seq_axis=1, batch_axis=0)])
        x = tf.transpose(x, [0, 2, 1, 3])
        mask_tm = tf.transpose(mask)[:, None, :, None]  # [T, 1, B, 1]
        forward, backward, finals = [], [], []
        for layer in range(o.n_layers):
            if dropout > 0.0:
                x = tf.nn.experimental.stateless_dropout(x, dropout, seed=seed + 7919 * (layer + 1))
            c0, h0 = states[layer]
            h, final = self._lstm(layer, x, mask_tm, c0, h0)
            if o.use_skip_connections and layer > 0:
                h = h + x
            finals.append(final)
            out = tf.transpose(h, [0, 2, 1, 3])  # [2, B, T, P]
            forward.append(out[0])
            backward.append(tf.reverse_sequence(out[1], lengths, seq_axis=1, batch_axis=0))
            x = h
        return {"token": token, "forward": forward, "backward": backward, "mask": mask, "lengths": lengths,
                "states": tuple(finals)}

    def _lstm(self, layer: int, x: tf.Tensor, mask_tm: tf.Tensor, c0: tf.Tensor,
              h0: tf.Tensor) -> tuple[tf.Tensor, tuple[tf.Tensor, tf.Tensor]]:
        """Both directions of one layer. x [2, T, B, P] -> outputs [2, T, B, P] and the final (c, h)."""
        o = self.opts
        p, d = o.projection_dim, o.dim
        w, bias, w_proj = self.lstm_w[layer], self.lstm_b[layer], self.lstm_p[layer]
        w_x, w_h = w[:, :p, :], w[:, p:, :]
        shape = tf.shape(x)
        steps, batch = shape[1], shape[2]
        xw = tf.matmul(tf.reshape(x, [2, -1, p]), w_x) + bias[:, None, :]
        xw = tf.reshape(xw, [2, steps, batch, 4 * d])
        # Per-step reads go through TensorArrays: their gradient is one slice per step, where slicing a
        # captured tensor would make every step's gradient as large as the whole sequence.
        inputs = [tf.TensorArray(tf.float32, size=steps).unstack(xw[k]) for k in range(2)]
        cell_clip, proj_clip = o.cell_clip, o.proj_clip

        def body(t, c, h, outputs):
            z = tf.stack([inputs[0].read(t), inputs[1].read(t)]) + tf.matmul(h, w_h)
            i, j, f, g = tf.split(z, 4, axis=-1)
            c_new = tf.sigmoid(f + FORGET_BIAS) * c + tf.sigmoid(i) * tf.tanh(j)
            if cell_clip:
                c_new = tf.clip_by_value(c_new, -cell_clip, cell_clip)
            h_new = tf.matmul(tf.sigmoid(g) * tf.tanh(c_new), w_proj)
            if proj_clip:
                h_new = tf.clip_by_value(h_new, -proj_clip, proj_clip)
            valid = mask_tm[t]  # past a sentence's end the state stays put
            return t + 1, tf.where(valid, c_new, c), tf.where(valid, h_new, h), outputs.write(t, h_new)

        outputs = tf.TensorArray(tf.float32, size=steps, element_shape=tf.TensorShape([2, None, p]))
        _, c, h, outputs = tf.while_loop(lambda t, *_: t < steps, body, (tf.constant(0), c0, h0, outputs))
        return tf.transpose(outputs.stack(), [1, 0, 2, 3]), (c, h)


def _strip_markers(run: dict[str, Any]) -> dict[str, tf.Tensor]:
    """Drop BOS (position 0) and each sentence's EOS; positions past a sentence's end are zeros."""
    lengths = run["lengths"] - 2
    steps = tf.shape(run["token"])[1] - 2
    mask = tf.sequence_mask(lengths, steps)
    keep = tf.cast(mask, tf.float32)[..., None]

    def strip(x: tf.Tensor) -> tf.Tensor:
        return x[:, 1:-1] * keep

    token = strip(run["token"])
    out = {"token": tf.concat([token, token], axis=-1), "mask": mask}
    for k, (fw, bw) in enumerate(zip(run["forward"], run["backward"], strict=True)):
        out[f"layer{k + 1}"] = tf.concat([strip(fw), strip(bw)], axis=-1)
    return out


class _Init:
    """Random draws from a seeded generator, or zeros when seed is None (weights about to be loaded)."""

    def __init__(self, seed: int | None) -> None:
        self.rng = None if seed is None else np.random.default_rng(seed)

    def uniform(self, low: float, high: float, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape) if self.rng is None else self.rng.uniform(low, high, shape)

    def normal(self, mean: float, std: float, shape: tuple[int, ...]) -> np.ndarray:
        return np.zeros(shape) if self.rng is None else self.rng.normal(mean, std, shape)


def _var(value: np.ndarray, name: str) -> tf.Variable:
    return tf.Variable(np.asarray(value, dtype=np.float32), name=name)
