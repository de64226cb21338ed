"""What the head's settings do, seen from outside: how many folds its stacking uses, and what class weights change.

Only engage.head's public names are used; the fold count is read from sklearn's StratifiedKFold itself (wherever the
head imports it from), so these tests survive a reorganisation of the head's modules.
"""

import numpy as np
import pytest
from sklearn.model_selection import StratifiedKFold

from engage.head import HeadConfig, head_inputs, predict, train_head

rng = np.random.default_rng(7)
N, D = 240, 8
X = rng.standard_normal((N, 3, D)).astype(np.float32)
# About 15% engageable: imbalanced enough that balancing the classes must move the fit.
Y = (X[:, 2, :3].sum(axis=1) + 0.8 * rng.standard_normal(N) > 2.0).astype(np.int8)
TEXTS = [f"message {i} {'refund' if y else 'thanks'} {rng.choice(['a', 'b', 'c'])}" for i, y in enumerate(Y)]


@pytest.fixture
def fold_counts(monkeypatch) -> list[int]:
    """n_splits of every StratifiedKFold the code under test splits with."""
    seen: list[int] = []
    real_split = StratifiedKFold.split

    def split(self, *args, **kwargs):
        seen.append(self.n_splits)
        return real_split(self, *args, **kwargs)

    monkeypatch.setattr(StratifiedKFold, "split", split)
    return seen


@pytest.mark.parametrize("branch", ["mlp", "linear"])
def test_a_handful_of_labels_stacks_on_as_many_folds_as_the_smaller_class_has(fold_counts, branch):
    cfg = HeadConfig(epochs=1, elmo_branch=branch, lexical=True, lexical_features=2**10)
    few = np.array([1, 1, 1, 0, 0, 0, 0, 0], dtype=np.int8)  # 3 of one class: 3 folds, not lexical_folds=5
    inputs = head_inputs(cfg, X[:8], TEXTS[:8])
    model, _ = train_head(cfg, inputs, few)
    assert fold_counts and set(fold_counts) == {3}
    assert predict(model, inputs).shape == (8,)


@pytest.mark.parametrize("branch", ["mlp", "linear"])
def test_enough_labels_stack_on_lexical_folds(fold_counts, branch):
    cfg = HeadConfig(epochs=1, elmo_branch=branch, lexical=True, lexical_features=2**10, lexical_folds=4)
    train_head(cfg, head_inputs(cfg, X, TEXTS), Y)
    assert fold_counts and set(fold_counts) == {4}


def _standardized(vectors: np.ndarray) -> np.ndarray:
    std = vectors.std(axis=0)
    return ((vectors - vectors.mean(axis=0)) / np.where(std > 1e-6, std, 1.0)).reshape(len(vectors), -1)


def test_class_weights_make_the_linear_branch_the_balanced_regression():
    from sklearn.linear_model import LogisticRegression

    flat = _standardized(X)
    scores = {}
    for weighted in (False, True):
        model, _ = train_head(HeadConfig(elmo_branch="linear", elmo_c=0.3, class_weight=weighted), {"layers": X}, Y)
        scores[weighted] = predict(model, {"layers": X})
        exact = LogisticRegression(C=0.3, solver="newton-cholesky", class_weight="balanced" if weighted else None)
        np.testing.assert_allclose(scores[weighted], exact.fit(flat, Y).predict_proba(flat)[:, 1], atol=1e-4)
    # Balancing lifts the rare class's scores: more of it is flagged at 0.5.
    assert scores[True][Y == 1].mean() > scores[False][Y == 1].mean() + 0.05
    assert (scores[True] >= 0.5).sum() > (scores[False] >= 0.5).sum()


@pytest.mark.parametrize("branch", ["mlp", "linear"])
def test_class_weights_reach_the_lexical_regression(branch):
    from sklearn.linear_model import LogisticRegression

    from engage.lexical import lexical_features

    features = lexical_features(TEXTS, 2**10)
    kernels = {}
    for weighted in (False, True):
        cfg = HeadConfig(epochs=1, elmo_branch=branch, elmo_c=0.3, lexical=True, lexical_features=2**10,
                         class_weight=weighted)
        model, _ = train_head(cfg, head_inputs(cfg, X, TEXTS), Y)
        # The layer name is the weights file's (shipped models load by it), so it is stable.
        kernels[weighted] = model.get_layer("lexical_logit").get_weights()[0][:, 0]
        exact = LogisticRegression(C=cfg.lexical_c, max_iter=3000, class_weight="balanced" if weighted else None)
        np.testing.assert_allclose(kernels[weighted], exact.fit(features, Y).coef_[0], atol=1e-3)
    assert not np.allclose(kernels[True], kernels[False], atol=1e-2)


def test_class_weights_change_the_seeds_head_towards_the_rare_class():
    scores = {}
    for weighted in (False, True):
        model, _ = train_head(HeadConfig(epochs=15, learning_rate=0.01, class_weight=weighted, seed=1),
                              {"layers": X}, Y)
        scores[weighted] = predict(model, {"layers": X})
    assert scores[True][Y == 1].mean() > scores[False][Y == 1].mean() + 0.05
    assert scores[True].mean() > scores[False].mean()
