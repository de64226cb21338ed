"""The seed's classifier head, trained on cached ELMo layer means.

Why this equals the seed's `hub.Module(..., trainable=True)`: the only weights that module trains are ELMo's scalar
mix (softmax over the three layer weights, times gamma), and its `default` output is the mean over real tokens of
that mix. The mean over tokens is linear, so mean_t(gamma * sum_k s_k h_k,t) = gamma * sum_k s_k mean_t(h_k,t): the
mix of the per-layer means is exactly the mean of the mix. Learning softmax(w) and gamma over the three cached
layer means therefore trains the same function as the seed, without running ELMo on every step.

Two optional additions, both recorded in model.json through HeadConfig:
- `normalize`: each layer's dimensions are standardized with training-set statistics before the mix. An affine
  map per layer also commutes with the mean over tokens, so the argument above still holds; it matters for an
  ELMo whose outputs are small (ours), where Dense(256) with L2 0.01 otherwise learns nothing in 5 epochs.
- `lexical`: hashed word and character n-grams (engage.lexical) give a second logit, from an L2 logistic
  regression fitted exactly (scikit-learn) and stored as a frozen Dense layer. The ELMo branch and the blend weight
  are trained on that regression's out-of-fold logits (stacking): trained on its in-sample logits, which fit the
  training set almost perfectly, the ELMo branch would have nothing left to learn.

`elmo_branch="linear"` (the shipped default's head) swaps the seed's scalar mix + Dense(256) for the model that held
up best in cross-validation and on unseen domains: an exact L2 logistic regression on the three standardized layer
means side by side (its C picked by inner cross-validation unless `elmo_c` is set). With `lexical`, the two
branches are fitted separately and blended by a two-weight logistic regression over their out-of-fold logits
(stacking), so neither branch is trained to mop up what the other overfits. No epochs, no randomness beyond the
fold split: the same data give the same model.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import scipy.sparse as sp

from engage.errors import InputError
from engage.lexical import N_FEATURES, lexical_features


@dataclass
class HeadConfig:
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 1e-3
    hidden: int = 256
    l2: float = 0.01
    dropout: float = 0.0
    early_stopping: bool = False
    patience: int = 2
    class_weight: bool = False
    seed: int = 0
    lexical: bool = False
    lexical_features: int = N_FEATURES  # per block (words, characters)
    lexical_scale: float = 1.0
    lexical_c: float = 10.0  # C of the lexical logistic regression
    lexical_folds: int = 5   # folds for its out-of-fold logits
    normalize: bool = False
    elmo_branch: str = "mlp"    # "mlp": the seed's mix + Dense(256); "linear": see the module docstring
    elmo_c: float | None = None  # C of the linear ELMo branch; None: chosen by inner cross-validation
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.elmo_branch not in ("mlp", "linear"):
            raise ValueError(f"unknown elmo_branch {self.elmo_branch!r}: expected 'mlp' or 'linear'")

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> HeadConfig:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class ScalarMix(keras.layers.Layer):
    """ELMo's learned layer mix: gamma * sum_k softmax(w)_k * x[:, k, :]."""

    def build(self, input_shape: tuple) -> None:
        self.w = self.add_weight(name="w", shape=(input_shape[1],), initializer="zeros")
        self.gamma = self.add_weight(name="gamma", shape=(), initializer="ones")

    def call(self, x):
        s = keras.ops.softmax(self.w)
        return self.gamma * keras.ops.einsum("k,nkd->nd", s, x)


class Standardize(keras.layers.Layer):
    """(x - mean) / std with statistics set from the training vectors (stored with the weights)."""

    def build(self, input_shape: tuple) -> None:
        self.mean = self.add_weight(name="mean", shape=input_shape[1:], initializer="zeros", trainable=False)
        self.std = self.add_weight(name="std", shape=input_shape[1:], initializer="ones", trainable=False)

    def call(self, x):
        return (x - self.mean) / self.std


class Scale(keras.layers.Layer):
    """A learned scalar times its input: the weight of the lexical logit in the blend."""

    def build(self, input_shape: tuple) -> None:
        self.a = self.add_weight(name="a", shape=(), initializer="ones")

    def call(self, x):
        return self.a * x


ELMO_CS = (0.01, 0.03, 0.1, 0.3, 1.0)  # the grid the linear ELMo branch's C is picked from


def describe(config: HeadConfig) -> str:
    """The head's architecture in one line, for model.json."""
    if config.elmo_branch == "linear":
        text = "standardize -> concat(3 layers) -> exact logistic regression"
        if config.lexical:
            text += (" + exact logistic regression over hashed word/char n-grams, blended by a logistic regression "
                     "over both branches' out-of-fold logits")
        return text
    return (("standardize -> " if config.normalize else "") + "scalar_mix -> dense(256, relu, l2) -> dense(1, sigmoid)"
            + (" + stacked logistic regression over hashed word/char n-grams" if config.lexical else ""))


def _linear_heads(config: HeadConfig, dim: int) -> keras.Model:
    """Serving model of the linear head; every weight is set from scikit-learn fits, none trained by Keras."""
    layers_in = keras.Input((3, dim), name="layers")
    flat = keras.layers.Flatten(name="concat")(Standardize(name="standardize")(layers_in))
    elmo_logit = keras.layers.Dense(1, name="elmo_logit", trainable=False)(flat)
    if not config.lexical:
        return keras.Model({"layers": layers_in}, keras.layers.Activation("sigmoid")(elmo_logit), name="engage_head")
    lexical_in = keras.Input((2 * config.lexical_features,), sparse=True, name="lexical")
    lexical_logit = keras.layers.Dense(1, name="lexical_logit", trainable=False)(lexical_in)
    both = keras.layers.Concatenate(name="branch_logits")([elmo_logit, lexical_logit])
    blend = keras.layers.Dense(1, activation="sigmoid", name="blend", trainable=False)(both)
    return keras.Model({"layers": layers_in, "lexical": lexical_in}, blend, name="engage_head")


def _heads(config: HeadConfig, dim: int) -> tuple[keras.Model, keras.Model]:
    """(serving model, training model). They share every layer; they differ only in where the lexical logit comes
    from: the frozen regression over sparse n-grams when serving, out-of-fold logits when training."""
    if config.elmo_branch == "linear":
        model = _linear_heads(config, dim)
        return model, model
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
    lexical_in = keras.Input((2 * config.lexical_features,), sparse=True, name="lexical")
    lexical_logit = keras.layers.Dense(1, name="lexical_logit", trainable=False)(lexical_in)
    serving = keras.Model({"layers": layers_in, "lexical": lexical_in},
                          sigmoid(add([logit, scale(lexical_logit)])), name="engage_head")
    oof_in = keras.Input((1,), name="lexical_oof")
    training = keras.Model({"layers": layers_in, "lexical_oof": oof_in},
                           sigmoid(add([logit, scale(oof_in)])), name="engage_head_train")
    return serving, training


def build_head(config: HeadConfig, dim: int) -> keras.Model:
    return _heads(config, dim)[0]


def head_inputs(config: HeadConfig, vectors: np.ndarray, texts: list[str]) -> dict:
    inputs: dict = {"layers": vectors}
    if config.lexical:
        inputs["lexical"] = lexical_features(texts, config.lexical_features, config.lexical_scale)
    return inputs


def _class_weights(y: np.ndarray) -> dict[int, float] | None:
    counts = np.bincount(y.astype(int), minlength=2)
    if counts.min() == 0:
        return None
    return {c: len(y) / (2.0 * counts[c]) for c in (0, 1)}


def train_head(config: HeadConfig, inputs: dict, y: np.ndarray, val: tuple[dict, np.ndarray] | None = None,
               on_epoch=None) -> tuple[keras.Model, dict]:
    """Fit a fresh head. The same seed and data give the same weights. Returns (serving model, history)."""
    keras.utils.set_random_seed(config.seed)
    if config.elmo_branch == "linear":
        return _train_linear(config, inputs, y)
    serving, training = _heads(config, inputs["layers"].shape[-1])
    if config.normalize:
        _set_statistics(serving.get_layer("standardize"), inputs["layers"])
    fit_x, val_data = {"layers": inputs["layers"]}, None
    if config.lexical:
        oof, regression = _lexical_regression(config, inputs["lexical"], y)
        fit_x["lexical_oof"] = oof
        serving.get_layer("lexical_logit").set_weights([regression.coef_.T.astype("float32"),
                                                        regression.intercept_.astype("float32")])
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


def _set_statistics(layer: Standardize, vectors: np.ndarray) -> None:
    layer.mean.assign(vectors.mean(axis=0))
    # A dimension that never varies stays as it is rather than being blown up.
    layer.std.assign(np.where(vectors.std(axis=0) > 1e-6, vectors.std(axis=0), 1.0).astype("float32"))


def _train_linear(config: HeadConfig, inputs: dict, y: np.ndarray) -> tuple[keras.Model, dict]:
    vectors = inputs["layers"]
    model = _linear_heads(config, vectors.shape[-1])
    standardize = model.get_layer("standardize")
    _set_statistics(standardize, vectors)
    flat = ((vectors - standardize.mean.numpy()) / standardize.std.numpy()).reshape(len(vectors), -1)
    elmo = _elmo_estimator(config, config.elmo_c, y).fit(flat, y)
    chosen = float(config.elmo_c if config.elmo_c is not None else elmo.C_)
    _set_logit(model.get_layer("elmo_logit"), elmo)
    if config.lexical:
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import cross_val_predict

        lexical_oof, lexical = _lexical_regression(config, inputs["lexical"], y)
        _set_logit(model.get_layer("lexical_logit"), lexical)
        # C was picked on all rows; reusing it for the out-of-fold logits costs one choice of leakage, not 5x the time.
        elmo_oof = cross_val_predict(_elmo_estimator(config, chosen, y), flat, y, cv=_folds(config, y),
                                     method="decision_function")
        blend = LogisticRegression(C=1.0).fit(np.column_stack([elmo_oof, lexical_oof[:, 0]]), y)
        _set_logit(model.get_layer("blend"), blend)
    return model, {"elmo_c": [chosen]}


def _set_logit(layer: keras.layers.Dense, regression) -> None:
    layer.set_weights([regression.coef_.T.astype("float32"), regression.intercept_.astype("float32")])


def _folds(config: HeadConfig, y: np.ndarray):
    """lexical_folds stratified folds, fewer when a class has fewer messages (a handful of fresh labels)."""
    from sklearn.model_selection import StratifiedKFold

    smallest = int(np.bincount(np.asarray(y, dtype=int), minlength=2).min())
    if smallest < 2:
        raise InputError(f"this head needs at least 2 messages of each class to train; the smaller class has "
                         f"{smallest}")
    return StratifiedKFold(min(config.lexical_folds, smallest), shuffle=True, random_state=config.seed)


def _elmo_estimator(config: HeadConfig, c: float | None, y: np.ndarray):
    """L2 logistic regression on the standardized layers; with c None, C is picked from ELMO_CS by inner
    cross-validation (log loss). newton-cholesky: a few exact Newton steps, fast for dense features this wide."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    weights = "balanced" if config.class_weight else None
    if c is not None:
        return LogisticRegression(C=c, solver="newton-cholesky", max_iter=100, class_weight=weights)
    return LogisticRegressionCV(Cs=list(ELMO_CS), cv=_folds(config, y), scoring="neg_log_loss", l1_ratios=(0.0,),
                                solver="newton-cholesky", max_iter=100, class_weight=weights,
                                use_legacy_attributes=False)


def _lexical_regression(config: HeadConfig, features, y: np.ndarray):
    """An exact L2 logistic regression on all rows, and its out-of-fold logits for every row."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict

    def make() -> LogisticRegression:
        return LogisticRegression(C=config.lexical_c, max_iter=3000,
                                  class_weight="balanced" if config.class_weight else None)

    oof = cross_val_predict(make(), features, y, cv=_folds(config, y), method="decision_function")
    return oof.astype("float32")[:, None], make().fit(features, y)


def predict(model: keras.Model, inputs: dict, batch_size: int = 2048) -> np.ndarray:
    """Probabilities, float64 [N]. Calls the model directly per batch: faster than predict() for small inputs."""
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


def save_head(model: keras.Model, path: str | Path) -> None:
    model.save_weights(str(path))


def load_head(config: HeadConfig, dim: int, path: str | Path) -> keras.Model:
    model = build_head(config, dim)
    model.load_weights(str(path))
    return model
