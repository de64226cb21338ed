"""The head's lexical branch: an exact L2 logistic regression over hashed word and character n-grams
(the features are engage.lexical's), served as a frozen Dense layer over the sparse features.

It is fitted by scikit-learn, never by Keras: exact, and the same data give the same weights. Whatever sits on top
of it (the seed MLP's blend weight, the linear head's blend) is trained on its out-of-fold logits
(engage.head.stacking says why).
"""

from __future__ import annotations

import keras
import numpy as np

from engage.head.config import HeadConfig
from engage.head.stacking import out_of_fold_logits


def lexical_logit(config: HeadConfig):
    """(the sparse `lexical` input, its logit): a Dense(1) that set_logit fills from lexical_regression's fit."""
    lexical_in = keras.Input((2 * config.lexical_features,), sparse=True, name="lexical")
    return lexical_in, keras.layers.Dense(1, name="lexical_logit", trainable=False)(lexical_in)


def lexical_regression(config: HeadConfig, features, y: np.ndarray):
    """(out-of-fold logits float32 [N, 1], the regression fitted on all rows)."""
    from sklearn.linear_model import LogisticRegression

    def make() -> LogisticRegression:
        return LogisticRegression(C=config.lexical_c, max_iter=3000,
                                  class_weight="balanced" if config.class_weight else None)

    oof = out_of_fold_logits(config, make(), features, y)
    return oof.astype("float32")[:, None], make().fit(features, y)
