"""The linear ELMo branch's C on many labels (issue 23 item 8): one rule (engage.head.linear.c_search_rows) picks C
on every row up to C_SEARCH_ROWS, as it always did, and beyond on a stratified sample of that many rows; the branch
itself is always fitted on every row at the C chosen. The limit is set low here, so 300 rows stand for 15,000; the
time it saves is measured in bench/train_speed.py, not here."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

from engage.head import ELMO_CS, HeadConfig, linear, settle_choices, train_head

rng = np.random.default_rng(5)
N, D, LIMIT = 300, 16, 120
X = rng.standard_normal((N, 3, D)).astype(np.float32)
Y = (X[:, 2, :4].sum(axis=1) + rng.standard_normal(N) > 0.8).astype(np.int8)  # about a third engageable
CONFIG = HeadConfig(elmo_branch="linear")


@pytest.fixture
def searches(monkeypatch) -> list[tuple[LogisticRegressionCV, np.ndarray, np.ndarray]]:
    """(the search, its X, its y) for every C search the code under test runs: the real fit, only watched."""
    seen = []
    real_fit = LogisticRegressionCV.fit

    def fit(self, features, y, **kwargs):
        seen.append((self, np.array(features), np.array(y)))
        return real_fit(self, features, y, **kwargs)

    monkeypatch.setattr(LogisticRegressionCV, "fit", fit)
    return seen


def _elmo_weights(model) -> np.ndarray:
    kernel, bias = model.get_layer("elmo_logit").get_weights()
    return np.append(kernel[:, 0], bias)


def _row_indices(rows: np.ndarray, flat: np.ndarray) -> np.ndarray:
    """Which row of flat each of rows is (exactly equal)."""
    return np.array([int(np.flatnonzero((flat == row).all(axis=1))[0]) for row in rows])


@pytest.mark.parametrize("how", ["train_head", "settle_choices"])
def test_beyond_the_limit_c_is_picked_on_a_stratified_sample_and_the_branch_fits_every_row(searches, monkeypatch,
                                                                                            how):
    monkeypatch.setattr(linear, "C_SEARCH_ROWS", LIMIT)
    if how == "train_head":
        model, history = train_head(CONFIG, {"layers": X}, Y)
        c = history["elmo_c"][0]
    else:  # a training run's path: the choices settled once, then every head trained with them
        c = settle_choices(CONFIG, {"layers": X}, Y).config.elmo_c
    [(search, searched, searched_y)] = searches
    flat = linear._standardized(X)
    rows = _row_indices(searched, flat)
    assert len(rows) == LIMIT and len(set(rows)) == LIMIT and np.array_equal(searched_y, Y[rows])
    assert abs(int(searched_y.sum()) - LIMIT * Y.mean()) <= 1  # stratified: the classes' shares kept
    assert c == float(search.C_) and c in ELMO_CS  # the C is the sample's choice
    assert np.array_equal(rows, linear.c_search_rows(CONFIG, Y))  # seeded: the same rows every time
    if how == "train_head":
        every = LogisticRegression(C=c, solver="newton-cholesky", max_iter=100).fit(flat, Y)
        sample = LogisticRegression(C=c, solver="newton-cholesky", max_iter=100).fit(flat[rows], Y[rows])
        served = _elmo_weights(model)
        np.testing.assert_allclose(served, np.append(every.coef_[0], every.intercept_), rtol=1e-5, atol=1e-6)
        assert np.abs(served - np.append(sample.coef_[0], sample.intercept_)).max() > 1e-2


def test_up_to_the_limit_c_is_picked_on_every_row_and_the_search_s_refit_is_the_branch(searches, monkeypatch):
    monkeypatch.setattr(linear, "C_SEARCH_ROWS", N)
    assert linear.c_search_rows(CONFIG, Y) is None
    model, history = train_head(CONFIG, {"layers": X}, Y)
    [(search, searched, _)] = searches
    assert len(searched) == N and history["elmo_c"] == [float(search.C_)]
    # bit for bit what the branch was before the rule: the search's own refit on every row
    assert np.array_equal(_elmo_weights(model), np.append(search.coef_[0], search.intercept_).astype(np.float32))
