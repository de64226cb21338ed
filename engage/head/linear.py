"""The linear ELMo branch (`elmo_branch="linear"`, the shipped default's head): an exact L2 logistic regression on
the three standardized layer means side by side, its C picked by inner cross-validation unless `elmo_c` is set.

It replaces the seed's scalar mix + Dense(256) because it held up best in cross-validation and on unseen domains
(bench/heads.py). With `lexical`, the two branches are fitted separately and blended by a two-weight logistic
regression over their out-of-fold logits (engage.head.stacking), so neither branch is trained to mop up what the
other overfits. No epochs, no randomness beyond the fold split: the same data give the same model. Keras only
serves it: every weight is set from a scikit-learn fit.
"""

from __future__ import annotations

from dataclasses import replace

import keras
import numpy as np
from joblib import parallel_config

from engage.head.config import AS_SHIPPED_ROWS, HeadConfig, Settled
from engage.head.layers import HeadParts, Standardize, layer_weights, set_logit, set_statistics, statistics
from engage.head.lexical_branch import (
    LEXICAL_LOGIT,
    ROW_SPACE,
    LinearFit,
    lexical_logit,
    lexical_regression,
    lexical_weights,
)
from engage.head.stacking import WORKERS, fit_blend, folds, out_of_fold_logits

ELMO_CS = (0.01, 0.03, 0.1, 0.3, 1.0)  # the grid the linear ELMo branch's C is picked from
ONE_FOLD_ROWS = AS_SHIPPED_ROWS  # beyond this many rows, C is picked on one fold, not all of them (search_folds)


def describe(config: HeadConfig) -> str:
    text = "standardize -> concat(3 layers) -> exact logistic regression"
    if config.lexical:
        text += (" + exact logistic regression over hashed word/char n-grams, blended by a logistic regression "
                 "over both branches' out-of-fold logits")
    return text


def model(config: HeadConfig, dim: int) -> keras.Model:
    """The serving model; nothing in it is trained by Keras."""
    layers_in = keras.Input((3, dim), name="layers")
    flat = keras.layers.Flatten(name="concat")(Standardize(name="standardize")(layers_in))
    elmo_logit = keras.layers.Dense(1, name="elmo_logit", trainable=False)(flat)
    if not config.lexical:
        return keras.Model({"layers": layers_in}, keras.layers.Activation("sigmoid")(elmo_logit), name="engage_head")
    lexical_in, lexical = lexical_logit(config)
    both = keras.layers.Concatenate(name="branch_logits")([elmo_logit, lexical])
    blend = keras.layers.Dense(1, activation="sigmoid", name="blend", trainable=False)(both)
    return keras.Model({"layers": layers_in, "lexical": lexical_in}, blend, name="engage_head")


def models(config: HeadConfig, dim: int) -> tuple[keras.Model, keras.Model]:
    """(serving model, training model): one and the same, as Keras trains nothing here."""
    served = model(config, dim)
    return served, served


def train(config: HeadConfig, inputs: dict, y: np.ndarray, val: tuple[dict, np.ndarray] | None = None,
          on_epoch=None, blend: tuple[float, float, float] | None = None) -> tuple[keras.Model, dict]:
    """Fit both branches and the blend exactly (the blend given, when this run settled it: settle). val and
    on_epoch are unused (no epochs, nothing to stop early). Returns (serving model, {"elmo_c": [the C used]})."""
    vectors = inputs["layers"]
    served = model(config, vectors.shape[-1])
    set_statistics(served.get_layer("standardize"), vectors)
    flat = _standardized(vectors)
    with parallel_config(backend="threading", n_jobs=WORKERS):  # C's inner folds, when C is chosen here
        elmo = elmo_estimator(config, config.elmo_c, y).fit(flat, y)
    chosen = float(config.elmo_c if config.elmo_c is not None else elmo.C_)
    set_logit(served.get_layer("elmo_logit"), elmo)
    if config.lexical:
        settled = blend is not None
        lexical_oof, lexical = lexical_regression(config, inputs["lexical"], y, inputs.get(ROW_SPACE),
                                                  out_of_fold=not settled)
        set_logit(served.get_layer(LEXICAL_LOGIT), lexical)
        set_logit(served.get_layer("blend"), _settled_blend(blend) if settled
                  else _blend(config, chosen, elmo, flat, lexical_oof[:, 0], y))
    return served, {"elmo_c": [chosen]}


def _blend(config: HeadConfig, c: float, elmo, flat: np.ndarray, lexical_oof: np.ndarray, y: np.ndarray):
    """The blend fitted on both branches' out-of-fold logits; elmo: the ELMo fit on all rows at C = c."""
    # C was picked on all rows; reusing it for the out-of-fold logits costs one choice of leakage, not 5x the time.
    elmo_oof = out_of_fold_logits(config, elmo_estimator(config, c, y), flat, y, start=elmo)
    return fit_blend(elmo_oof, lexical_oof, y)


def _settled_blend(blend: tuple[float, float, float]) -> LinearFit:
    return LinearFit(np.array([blend[:2]], dtype=np.float64), np.array([blend[2]], dtype=np.float64))


def settle(config: HeadConfig, inputs: dict, y: np.ndarray) -> Settled:
    """The choices train() would make on these rows made now: elmo_c, when it is None, picked by the same inner
    cross-validation, and with `lexical` the blend, fitted on these rows' out-of-fold logits as train() fits it.
    Training K cross-validation heads on K subsets with them settled skips K such choices and K rounds of
    out-of-fold fits (together 3/4 of a head's cost), at the price of one choice of leakage into their scores (C,
    and three blend weights fitted on logits that are themselves out-of-fold), the same trade train() makes for its
    out-of-fold logits. A head trained on all these rows with them settled is the head train() would fit."""
    if config.elmo_c is not None and not config.lexical:
        return Settled(config)
    flat = _standardized(inputs["layers"])
    with parallel_config(backend="threading", n_jobs=WORKERS):  # its folds side by side, as engage.head.stacking's
        elmo = elmo_estimator(config, config.elmo_c, y).fit(flat, y)
    config = replace(config, elmo_c=float(config.elmo_c if config.elmo_c is not None else elmo.C_))
    if not config.lexical:
        return Settled(config)
    lexical_oof, _ = lexical_regression(config, inputs["lexical"], y, inputs.get(ROW_SPACE))
    blend = _blend(config, config.elmo_c, elmo, flat, lexical_oof[:, 0], y)
    return Settled(config, (*(float(w) for w in blend.coef_[0]), float(blend.intercept_[0])))


def _standardized(vectors: np.ndarray) -> np.ndarray:
    """The three layers standardized and side by side, as the serving model computes them (float32)."""
    mean, std = statistics(vectors)
    return ((vectors - mean) / std).reshape(len(vectors), -1)


def elmo_estimator(config: HeadConfig, c: float | None, y: np.ndarray):
    """L2 logistic regression on the standardized layers; with c None, C is picked from ELMO_CS by inner
    cross-validation (log loss, on search_folds), then refitted on every row. newton-cholesky: a few exact Newton
    steps, fast for dense features this wide."""
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    weights = "balanced" if config.class_weight else None
    if c is not None:
        return LogisticRegression(C=c, solver="newton-cholesky", max_iter=100, class_weight=weights)
    return LogisticRegressionCV(Cs=list(ELMO_CS), cv=search_folds(config, y), scoring="neg_log_loss", l1_ratios=(0.0,),
                                solver="newton-cholesky", max_iter=100, class_weight=weights,
                                use_legacy_attributes=False)


def search_folds(config: HeadConfig, y: np.ndarray):
    """The one rule for the folds the ELMo branch's C is picked on: every one of the stratified folds (stacking's
    `folds`) up to ONE_FOLD_ROWS rows, as always (the shipped model's 2,760 rows), beyond only the first of them.

    Why: the search is 5 values of C x 5 folds of Newton fits, each costing its rows x 768^2: the largest part of a
    training run beyond a few thousand labels (half of one at 15,000: bench/train_speed.py). One fold costs a fifth.
    Why it is safe: each C is still fitted on 4/5 of the rows, as with every fold, so the C chosen does not drift
    with a smaller sample's optimum; what one fold gives up is averaging the held-out log loss over five, which
    matters less as rows grow: beyond 3,000 rows its held-out fifth alone holds over 600 labels, and beyond 13,800
    more than the shipped model's five folds together scored. The branch is still refitted on every row."""
    splitter = folds(config, y)
    if len(y) <= ONE_FOLD_ROWS:
        return splitter
    return [next(splitter.split(np.zeros(len(y)), y))]


def parts(head: keras.Model, config: HeadConfig) -> HeadParts:
    """The served head as numbers (engage.head.head_parts): the standardized layers' exact logistic regression,
    and with `lexical` the blend's two weights and intercept."""
    mean, std = layer_weights(head, "standardize")
    kernel, b = layer_weights(head, "elmo_logit")

    def elmo(v: np.ndarray) -> np.ndarray:
        flat = ((v.astype(np.float64) - mean) / std).reshape(len(v), -1)
        return flat @ kernel[:, 0] + b[0]

    if not config.lexical:
        return HeadParts(0.0, 1.0, 0.0, None, 0.0, elmo)
    lex_w, lex_b = lexical_weights(head)
    weights, bias = layer_weights(head, "blend")
    return HeadParts(float(bias[0]), float(weights[0, 0]), float(weights[1, 0]), lex_w, lex_b, elmo)
