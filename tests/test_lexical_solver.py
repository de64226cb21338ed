"""The lexical regression's solver switch (issue 23 item 8): one rule (engage.head.lexical_branch.dual_pays) picks the
rows' own coordinates (the dual: RowSpace, L-BFGS) up to DUAL_MAX_ROWS and the n-gram columns (the primal:
ColumnSpace, Newton-CG) beyond, for a whole training run; both give the same predictions.

The tolerance: both stop at a gradient tolerance, so neither is the exact optimum. The dual at today's tolerance is
the yardstick (it is what the shipped recipe accepts): the primal's logits must be no farther from the exact optimum
(the dual solved to 1e-10) than the dual's are, give or take 1e-3, and the two within the sum of their distances.
The scaling itself is measured in bench/train_speed.py, not here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from engage.head import HeadConfig, head_inputs, share_work
from engage.head import lexical_branch as lb
from engage.head.lexical_branch import ROW_SPACE, ColumnSpace, RowSpace, lexical_regression, lexical_space
from engage.lexical import lexical_features
from engage.testing.app_world import labeled_frame

CONFIG = HeadConfig(elmo_branch="linear", lexical=True, lexical_features=2**12)
ROWS, HELD = 240, 80  # fitted on ROWS, predicted on HELD others
SWITCH = 200          # DUAL_MAX_ROWS for these tests: ROWS is above it, 160 below


@pytest.fixture(scope="module")
def data():
    frame = labeled_frame(ROWS + HELD, seed=4)
    texts = frame["text"].fillna("").tolist()
    return lexical_features(texts, CONFIG.lexical_features), frame["engage"].to_numpy()


@pytest.fixture
def switch(monkeypatch):
    monkeypatch.setattr(lb, "DUAL_MAX_ROWS", SWITCH)


def _exact(features, y) -> np.ndarray:
    """The weights of the exact optimum: the dual to a gradient tolerance of 1e-10."""
    space = RowSpace(features)
    fit = LogisticRegression(C=CONFIG.lexical_c, tol=1e-10, max_iter=20000).fit(space.z, y)
    return np.append(space.weights(fit.coef_[0]), fit.intercept_[0])


def _logits(fit, features) -> np.ndarray:
    return fit.decision_function(features)


def test_the_rule_picks_the_dual_up_to_the_switch_and_the_primal_beyond_for_a_whole_run(data, switch):
    features, y = data
    assert lb.dual_pays(SWITCH) and not lb.dual_pays(SWITCH + 1)
    assert isinstance(lexical_space(features[:SWITCH]), RowSpace)
    assert isinstance(lexical_space(features[:SWITCH + 1]), ColumnSpace)
    inputs = share_work(CONFIG, head_inputs(CONFIG, np.zeros((ROWS, 3, 4), np.float32), [""] * ROWS)
                        | {"lexical": features[:ROWS]})
    part = inputs[ROW_SPACE][np.arange(0, ROWS, 2)]  # a cross-validation head's rows: below the switch, same run
    assert isinstance(inputs[ROW_SPACE], ColumnSpace) and isinstance(part, ColumnSpace)


def test_below_the_switch_nothing_changed_it_is_the_dual_bit_for_bit(data, switch):
    features, y = data
    below = slice(0, 160)
    oof, fit = lexical_regression(CONFIG, features[below], y[below])
    oof_dual, fit_dual = lexical_regression(CONFIG, features[below], y[below], RowSpace(features[below]))
    assert np.array_equal(oof, oof_dual) and np.array_equal(fit.coef_, fit_dual.coef_)


def test_above_the_switch_the_primal_predicts_as_the_dual_does(data, switch):
    features, y = data
    train, held = features[:ROWS], features[ROWS:]
    oof, primal = lexical_regression(CONFIG, train, y[:ROWS])  # above the switch: the primal
    oof_dual, dual = lexical_regression(CONFIG, train, y[:ROWS], RowSpace(train))
    exact = _exact(train, y[:ROWS])
    every = features  # the training rows and the held-out ones
    best = every @ exact[:-1] + exact[-1]
    off_primal = np.abs(_logits(primal, every) - best).max()
    off_dual = np.abs(_logits(dual, every) - best).max()
    assert off_primal <= off_dual + 1e-3, (off_primal, off_dual)
    assert np.abs(_logits(primal, held) - _logits(dual, held)).max() <= off_primal + off_dual
    # The out-of-fold logits (folds started from the fit on all rows, tolerance 1e-5) agree as closely.
    assert np.abs(oof - oof_dual).max() <= 0.05, np.abs(oof - oof_dual).max()
    # The weights live in the n-gram columns: a column no training row uses has none.
    unused = np.setdiff1d(np.arange(train.shape[1]), np.unique(train.indices))
    assert np.all(primal.coef_[0][unused] == 0) and np.abs(primal.coef_[0]).sum() > 0
