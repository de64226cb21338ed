"""The linear ELMo branch's C on many labels (issue 23 item 8): one rule (engage.head.linear.search_folds) picks C
on every one of the stratified folds up to ONE_FOLD_ROWS rows, as it always did, and beyond on the first of them
only; the branch itself is always the search's refit on every row. The limit is set low here, so 300 rows stand for
15,000; the time it saves is measured in bench/train_speed.py, not here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

from engage.head import ELMO_CS, HeadConfig, linear, settle_choices, train_head

rng = np.random.default_rng(5)
N, D = 300, 16
X = rng.standard_normal((N, 3, D)).astype(np.float32)
Y = (X[:, 2, :4].sum(axis=1) + rng.standard_normal(N) > 0.8).astype(np.int8)  # about a third engageable
CONFIG = HeadConfig(elmo_branch="linear")


@pytest.fixture
def searches(monkeypatch) -> list[tuple[LogisticRegressionCV, list, int]]:
    """(the search, the (fit, held-out) row splits it scored C on, the rows it was given) for every C search the
    code under test runs: the real fit, only watched."""
    seen = []
    real_fit = LogisticRegressionCV.fit

    def fit(self, features, y, **kwargs):
        splits = list(self.cv.split(np.zeros(len(y)), y)) if hasattr(self.cv, "split") else list(self.cv)
        seen.append((self, splits, len(y)))
        return real_fit(self, features, y, **kwargs)

    monkeypatch.setattr(LogisticRegressionCV, "fit", fit)
    return seen


def _elmo_weights(model) -> np.ndarray:
    kernel, bias = model.get_layer("elmo_logit").get_weights()
    return np.append(kernel[:, 0], bias)


def _refit(search: LogisticRegressionCV) -> np.ndarray:
    return np.append(search.coef_[0], search.intercept_).astype(np.float32)


@pytest.mark.parametrize("how", ["train_head", "settle_choices"])
def test_beyond_the_limit_c_is_picked_on_one_stratified_fold_and_the_branch_fits_every_row(searches, monkeypatch,
                                                                                           how):
    monkeypatch.setattr(linear, "ONE_FOLD_ROWS", N - 1)
    if how == "train_head":
        model, history = train_head(CONFIG, {"layers": X}, Y)
        c = history["elmo_c"][0]
    else:  # a training run's path: the choices settled once, then every head trained with them
        c = settle_choices(CONFIG, {"layers": X}, Y).config.elmo_c
    [(search, splits, rows)] = searches
    assert rows == N  # every row reaches the search (and its refit), only one fold scores C
    [(fit_rows, held)] = splits
    assert len(held) == N // CONFIG.lexical_folds and len(fit_rows) == N - len(held)
    assert np.array_equal(np.sort(np.concatenate([fit_rows, held])), np.arange(N))
    assert abs(int(Y[held].sum()) - len(held) * Y.mean()) <= 1  # stratified: the classes' shares kept
    assert c == float(search.C_) and c in ELMO_CS
    if how == "train_head":  # the branch is the search's refit, on every row, not the fold's fit
        served, flat = _elmo_weights(model), linear._standardized(X)
        assert np.array_equal(served, _refit(search))
        every = LogisticRegression(C=c, solver="newton-cholesky").fit(flat, Y)
        fold = LogisticRegression(C=c, solver="newton-cholesky").fit(flat[fit_rows], Y[fit_rows])
        np.testing.assert_allclose(served, np.append(every.coef_[0], every.intercept_), atol=1e-4)
        assert np.abs(served - np.append(fold.coef_[0], fold.intercept_)).max() > 1e-2


def test_up_to_the_limit_c_is_picked_on_every_fold_and_the_branch_is_as_before(searches, monkeypatch):
    monkeypatch.setattr(linear, "ONE_FOLD_ROWS", N)
    model, history = train_head(CONFIG, {"layers": X}, Y)
    [(search, splits, rows)] = searches
    assert rows == N and len(splits) == CONFIG.lexical_folds
    assert np.array_equal(np.sort(np.concatenate([held for _, held in splits])), np.arange(N))  # every row scored
    # bit for bit what the branch was before the rule: the search's own refit on every row
    assert history["elmo_c"] == [float(search.C_)] and np.array_equal(_elmo_weights(model), _refit(search))
