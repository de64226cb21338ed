"""The seed's head: ELMo's learned scalar mix, then Dense(256, relu, L2) and a sigmoid, trained by Keras in epochs.

Why this equals the seed's `hub.Module(..., trainable=True)`: the only weights that module trains are ELMo's scalar
mix (softmax over the three layer weights, times gamma), and its `default` output is the mean over real tokens of
that mix. The mean over tokens is linear, so mean_t(gamma * sum_k s_k h_k,t) = gamma * sum_k s_k mean_t(h_k,t): the
mix of the per-layer means is exactly the mean of the mix. Learning softmax(w) and gamma over the three cached
layer means therefore trains the same function as the seed, without running ELMo on every step.

Two optional additions, both recorded in model.json through HeadConfig:
- `normalize`: each layer's dimensions are standardized with training-set statistics before the mix. An affine
  map per layer also commutes with the mean over tokens, so the argument above still holds; it matters for an
  ELMo whose outputs are small (ours), where Dense(256) with L2 0.01 otherwise learns nothing in 5 epochs.
- `lexical`: the lexical branch (engage.head.lexical_branch) gives a second logit, added with a learned weight. The
  MLP and that weight are trained on the regression's out-of-fold logits (engage.head.stacking): trained on its
  in-sample logits, which fit the training set almost perfectly, the MLP would have nothing left to learn.
"""

from __future__ import annotations

import keras
import numpy as np

from engage.head.config import HeadConfig, Settled
from engage.head.layers import HeadParts, Standardize, layer_weights, set_logit, set_statistics
from engage.head.lexical_branch import LEXICAL_LOGIT, ROW_SPACE, lexical_logit, lexical_regression, lexical_weights


class ScalarMix(keras.layers.Layer):
    """ELMo's learned layer mix: gamma * sum_k softmax(w)_k * x[:, k, :]."""

    def build(self, input_shape: tuple) -> None:
        self.w = self.add_weight(name="w", shape=(input_shape[1],), initializer="zeros")
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="ones")

    def call(self, x):
        s = keras.ops.softmax(self.w)
        return self.gamma * keras.ops.einsum("k,nkd->nd", s, x)


class Scale(keras.layers.Layer):
    """A learned scalar times its input: the weight of the lexical logit in the blend."""

    def build(self, input_shape: tuple) -> None:
        self.a = self.add_weight(name="a", shape=(), initializer="ones")

    def call(self, x):
        return self.a * x


def describe(config: HeadConfig) -> str:
    return (("standardize -> " if config.normalize else "") + "scalar_mix -> dense(256, relu, l2) -> dense(1, sigmoid)"
            + (" + stacked logistic regression over hashed word/char n-grams" if config.lexical else ""))


def models(config: HeadConfig, dim: int) -> tuple[keras.Model, keras.Model]:
    """(serving model, training model). They share every layer; they differ only in where the lexical logit comes
    from: the frozen regression over sparse n-grams when serving, out-of-fold logits when training."""
    layers_in = keras.Input((3, dim), name="layers")
    x = Standardize(name="standardize")(layers_in) if config.normalize else layers_in
    mixed = ScalarMix(name="scalar_mix")(x)
    hidden = keras.layers.Dense(config.hidden, activation="relu", name="dense_hidden",
                                kernel_regularizer=keras.regularizers.l2(config.l2))(mixed)
    if config.dropout:
        hidden = keras.layers.Dropout(config.dropout, seed=config.seed)(hidden)
    if not config.lexical:
        model = keras.Model({"layers": layers_in},
                            keras.layers.Dense(1, activation="sigmoid", name="output")(hidden),
                            name="engage_head")
        return model, model
    logit = keras.layers.Dense(1, name="output_logit")(hidden)
    scale, add, sigmoid = Scale(name="lexical_weight"), keras.layers.Add(), keras.layers.Activation("sigmoid")
    lexical_in, lexical = lexical_logit(config)
    serving = keras.Model({"layers": layers_in, "lexical": lexical_in},
                          sigmoid(add([logit, scale(lexical)])), name="engage_head")
    oof_in = keras.Input((1,), name="lexical_oof")
    training = keras.Model({"layers": layers_in, "lexical_oof": oof_in},
                           sigmoid(add([logit, scale(oof_in)])), name="engage_head_train")
    return serving, training


def settle(config: HeadConfig, inputs: dict, y: np.ndarray) -> Settled:
    """Nothing to choose ahead: the MLP's settings are all given."""
    return Settled(config)


def _class_weights(y: np.ndarray) -> dict[int, float] | None:
    counts = np.bincount(y.astype(int), minlength=2)
    if counts.min() == 0:
        return None
    return {c: len(y) / (2.0 * counts[c]) for c in (0, 1)}


def train(config: HeadConfig, inputs: dict, y: np.ndarray, val: tuple[dict, np.ndarray] | None = None,
          on_epoch=None, blend: tuple[float, float, float] | None = None) -> tuple[keras.Model, dict]:
    """Fit with Adam for config.epochs (seeded by the caller). Returns (serving model, Keras history). blend is
    unused: the lexical weight is learned with the MLP."""
    serving, training = models(config, inputs["layers"].shape[-1])
    if config.normalize:
        set_statistics(serving.get_layer("standardize"), inputs["layers"])
    fit_x, val_data = {"layers": inputs["layers"]}, None
    if config.lexical:
        oof, regression = lexical_regression(config, inputs["lexical"], y, inputs.get(ROW_SPACE))
        fit_x["lexical_oof"] = oof
        set_logit(serving.get_layer(LEXICAL_LOGIT), regression)
    if val is not None:
        val_x = {"layers": val[0]["layers"]}
        if config.lexical:
            val_x["lexical_oof"] = regression.decision_function(val[0]["lexical"]).astype("float32")[:, None]
        val_data = (val_x, val[1].astype("float32"))
    training.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss="binary_crossentropy")
    callbacks: list = []
    if config.early_stopping and val is not None:
        callbacks.append(keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True))
    if on_epoch is not None:
        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: on_epoch(epoch, logs)))
    history = training.fit(fit_x, y.astype("float32"), epochs=config.epochs, batch_size=config.batch_size,
                           validation_data=val_data, class_weight=_class_weights(y) if config.class_weight else None,
                           callbacks=callbacks, verbose=0, shuffle=True)
    return serving, {k: [float(v) for v in vals] for k, vals in history.history.items()}


def parts(head: keras.Model, config: HeadConfig) -> HeadParts:
    """The served head as numbers (engage.head.head_parts): the mix, Dense(256, relu) and the output logit in numpy,
    and with `lexical` the learned lexical weight (no bias beyond the MLP's own)."""
    stats = layer_weights(head, "standardize") if config.normalize else None
    w, gamma = layer_weights(head, "scalar_mix")
    hidden_k, hidden_b = layer_weights(head, "dense_hidden")
    out_k, out_b = layer_weights(head, "output_logit" if config.lexical else "output")
    mix = np.exp(w - w.max()) / np.exp(w - w.max()).sum()

    def elmo(v: np.ndarray) -> np.ndarray:
        x = v.astype(np.float64)
        if stats is not None:
            x = (x - stats[0]) / stats[1]
        hidden = np.maximum(gamma * np.einsum("k,nkd->nd", mix, x) @ hidden_k + hidden_b, 0.0)
        return hidden @ out_k[:, 0] + out_b[0]

    if not config.lexical:
        return HeadParts(0.0, 1.0, 0.0, None, 0.0, elmo)
    lex_w, lex_b = lexical_weights(head)
    return HeadParts(0.0, 1.0, float(layer_weights(head, "lexical_weight")[0]), lex_w, lex_b, elmo)
