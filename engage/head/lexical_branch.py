"""The head's lexical branch: an exact L2 logistic regression over hashed word and character n-grams
(the features are engage.lexical's), served as a frozen Dense layer over the sparse features.

It is fitted by scikit-learn, never by Keras: exact, and the same data give the same weights. Whatever sits on top
of it (the seed MLP's blend weight, the linear head's blend) is trained on its out-of-fold logits
(engage.head.stacking says why).

Why it is fitted in the rows' own coordinates (RowSpace): with 2 x 2^18 columns and a few thousand rows, the L2
optimum w lies in the span of the training rows (any part outside it changes no logit and only adds to ||w||^2).
An orthonormal basis of that span, taken from a pivoted Cholesky factor of the rows' Gram matrix X X^T = Z Z^T,
turns the problem into the same L2 logistic regression over Z's n columns: X w = Z z and ||w|| = ||z||, so the two
have the same optimum, and L-BFGS (which sees only dot products) takes the same steps, each on n numbers instead of
half a million. Every subset of the rows lies in that span too, so the factor of all the rows serves every fit on a
subset of them exactly (the out-of-fold fits, and the cross-validation heads of engage.train): the Gram matrix is
computed and factorized once per training run (engage.head.model.share_work puts it in the inputs as ROW_SPACE, and
slicing the inputs by rows slices it).

That pays while rows are few: the Gram matrix costs n^2 and its factor n^3, and each L-BFGS step n^2, so beyond a few
thousand rows it is most of a training run (7,151 labels took 211 s, 14,638 took 417 s: issue 23). So one rule,
`dual_pays` (the rows of the whole run against DUAL_MAX_ROWS), picks the coordinates: up to it the rows' own
(RowSpace, L-BFGS, exactly as before: the shipped model's 2,760 rows train as they always did), beyond it the n-gram
columns themselves (ColumnSpace): the sparse rows restricted to the columns some row uses (a column no row uses has
weight 0 at the optimum and changes no dot product), solved by Newton-CG, whose steps cost the matrix's non-zeros
(about 350 a message) plus its columns: 7 Newton steps at every size at its tolerance (1e-5), though their
conjugate-gradient steps grow slowly with the rows (at a fixed C the problem's conditioning worsens with n: 51, 70
and 94 Hessian products at 7,000, 15,000 and 30,000 rows; `bench/train_speed.py --solvers`). SAG, tried as well,
needs fewer epochs as rows grow but each epoch costs more: it was slower a fit at every size measured (2.7x at 7,000
rows, 1.2x at 30,000). Both coordinates reach the same L2 optimum; at these tolerances the primal gets at least as
close (tests/test_lexical_solver.py; bench/train_speed.py measures the whole recipe).

A training run fits the same rows more than once: settle_choices' out-of-fold folds are the cross-validation heads'
folds (same seed, same stratified split) and its fit on all rows is the final head's. Each coordinates object keeps
the fits made on its rows (SharedFits), so a repeat is looked up, not refitted: same rows, labels and settings give
the same fit (the solvers are deterministic, and within a run the fit on all rows, which the folds' fits start from,
is always made first). Starting there, a fold's Newton-CG fit takes 3 Newton steps instead of 7 and fewer
conjugate-gradient steps (0.50 s against 0.75 cold for a fold of 7,000 labels, 3.6 against 4.5 for one of 30,000), and
its logits are about as close to the fold's optimum (`bench/train_speed.py --solvers`).
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

from engage.head.config import AS_SHIPPED_ROWS, HeadConfig
from engage.head.layers import layer_weights
from engage.head.stacking import out_of_fold_logits, warm_started

ROW_SPACE = "lexical_rows"  # the inputs' key for the RowSpace of the lexical features' rows (never served)


LEXICAL_LOGIT = "lexical_logit"  # the layer lexical_logit builds


def lexical_logit(config: HeadConfig):
    """(the sparse `lexical` input, its logit): a Dense(1) that set_logit fills from lexical_regression's fit."""
    lexical_in = keras.Input((2 * config.lexical_features,), sparse=True, name="lexical")
    return lexical_in, keras.layers.Dense(1, name=LEXICAL_LOGIT, trainable=False)(lexical_in)


def lexical_weights(head: keras.Model) -> tuple[np.ndarray, float]:
    """(the lexical logit's weight per n-gram column, its intercept), float64, from a served head."""
    kernel, b = layer_weights(head, LEXICAL_LOGIT)
    return kernel[:, 0], float(b[0])


@dataclass
class LinearFit:
    """A fitted linear model in the original n-gram columns, shaped like scikit-learn's (coef_ [1, d])."""

    coef_: np.ndarray
    intercept_: np.ndarray

    def decision_function(self, features) -> np.ndarray:
        return np.asarray(features @ self.coef_[0]).reshape(-1) + self.intercept_[0]


DUAL_MAX_ROWS = AS_SHIPPED_ROWS  # the most rows a training run fits in the rows' own coordinates (dual_pays)


def dual_pays(rows: int) -> bool:
    """The one rule that picks the lexical regression's solver, from the rows of a whole training run (every fit
    of the run on a subset of them uses the same coordinates): the rows' own (RowSpace, L-BFGS) up to
    DUAL_MAX_ROWS, the n-gram columns (ColumnSpace, Newton-CG) beyond. The dual is the cheaper below about 2,000
    rows (0.09 s against 0.20 a regression with its folds at 500 rows, 0.93 against 0.71 at 2,000); the switch
    sits just above 2,760 rows so that the shipped recipe on its 2,760 labels trains exactly as it always did, and
    no higher: the dual's n^2 Gram matrix and n^3 factor soon cost several times the primal's linear work (1.4 s
    against 5.0 at 4,000 rows; at 7,000 the factor alone took minutes on a loaded machine)."""
    return rows <= DUAL_MAX_ROWS


def lexical_space(features) -> RowSpace | ColumnSpace:
    """The coordinates a training run's lexical regressions are fitted in, by the one rule (dual_pays)."""
    return RowSpace(features) if dual_pays(features.shape[0]) else ColumnSpace(features)


class SharedFits:
    """The fits a training run made on its rows, shared by every subset of them (module docstring): `fit` looks a
    fit up by the rows (their positions in the run), the labels and the estimator's settings, and fits only what
    is not there. A coordinates class calls _share on the run's rows and _slice for a subset."""

    z: np.ndarray | sp.csr_matrix

    def _share(self, n: int) -> None:
        self._rows, self._fits = np.arange(n), {}

    def _slice(self, part: SharedFits, idx) -> None:
        part._rows, part._fits = self._rows[idx], self._fits

    def fit(self, estimator, y: np.ndarray, start=None):
        """estimator fitted on these rows and labels y, or the same fit made before in this run. start: a fit of
        the same estimator on more rows to start from (a fold's fit from the fit on all rows); it is the same fit
        to the estimator's tolerance, so it is kept under the same key."""
        key = (self._rows.tobytes(), np.ascontiguousarray(y, dtype=np.int64).tobytes(),
               repr(sorted(estimator.get_params().items())))
        if key not in self._fits:  # the out-of-fold threads fit different folds: no two ask for one key at once
            self._fits[key] = warm_started(estimator, start).fit(self.z, y)
        return self._fits[key]

    @property
    def fold_tol(self) -> float:
        """The folds' tolerance: the space's own (RowSpace says otherwise), so that a fold's fit is the one a
        cross-validation head on those rows asks for."""
        return self.tol


class ColumnSpace(SharedFits):
    """The primal: the rows in the n-gram columns that any of them uses (`z`, sparse [n, used columns]), and
    `weights(u)`, u put back in X's columns (0 elsewhere). Sliced by rows, it keeps its columns: a column no row of
    the subset uses gets weight 0 at the subset's optimum."""

    # One tolerance for every fit (at 1e-5 its logits are within 0.02 of the optimum on the tweets of
    # bench/train_speed.py, at 1e-4 up to 0.19: `bench/train_speed.py --solvers`). The folds' fits start from the
    # fit on all rows (the module docstring says what that saves) at the same tolerance, so they are the fits the
    # cross-validation heads ask for on those rows (SharedFits).
    solver, tol = "newton-cg", 1e-5

    def __init__(self, features=None) -> None:
        if features is None:  # filled by __getitem__
            return
        rows = sp.csr_matrix(features)
        used = np.zeros(rows.shape[1], dtype=bool)
        used[rows.indices] = True
        used[0] |= not used.any()  # no n-gram at all: one empty column
        # Each non-zero renumbered to its column's place among the used ones: linear in the non-zeros (np.unique
        # and scipy's column slicing sort them: 1.4 s CPU of a 30,000-label run against 0.07), the same matrix.
        place = np.cumsum(used, dtype=rows.indices.dtype) - 1
        self._columns, self._width = np.flatnonzero(used), rows.shape[1]
        self.z = sp.csr_matrix((rows.data.astype(np.float64), place[rows.indices], rows.indptr.copy()),
                               shape=(rows.shape[0], len(self._columns)))
        self._share(rows.shape[0])

    def __len__(self) -> int:
        return self.z.shape[0]

    def __getitem__(self, idx) -> ColumnSpace:
        part = ColumnSpace()
        part.z, part._columns, part._width = self.z[idx], self._columns, self._width
        self._slice(part, idx)
        return part

    def weights(self, u: np.ndarray) -> np.ndarray:
        w = np.zeros(self._width)
        w[self._columns] = u
        return w


class RowSpace(SharedFits):
    """Coordinates of the rows of a sparse matrix X in an orthonormal basis of their span (see the module
    docstring): `z` [n, rank] with z z^T = X X^T, and `weights(u)`, the w in X's columns with X w = z u."""

    solver, tol, fold_tol = "lbfgs", 1e-4, 1e-5  # lexical_regression says why

    def __init__(self, features=None) -> None:
        if features is None:  # filled by __getitem__
            return
        rows = sp.csr_matrix(features, dtype=np.float64)
        self._share(rows.shape[0])
        gram = (rows @ rows.T).toarray()
        # Pivoted Cholesky stops at the numerical rank: repeated messages give repeated rows.
        factor, pivots, rank, _ = sla.lapack.dpstrf(gram, lower=1)
        pivots -= 1
        if rank == 0:  # no n-gram at all: only the intercept is left to fit
            self.z, self._basis_rows, self._triangle = np.zeros((len(gram), 1)), rows[:1] * 0.0, np.ones((1, 1))
            return
        lower = np.tril(factor)[:, :rank]
        self.z = np.empty((len(gram), rank))
        self.z[pivots] = lower  # row i of the factor belongs to message pivots[i]
        self._basis_rows, self._triangle = rows[pivots[:rank]], lower[:rank]

    def __len__(self) -> int:
        return len(self.z)

    def __getitem__(self, idx) -> RowSpace:
        """The coordinates of some of the rows, in the same basis (a subset's L2 optimum lies in it too)."""
        part = RowSpace()
        part.z, part._basis_rows, part._triangle = self.z[idx], self._basis_rows, self._triangle
        self._slice(part, idx)
        return part

    def weights(self, u: np.ndarray) -> np.ndarray:
        return np.asarray(self._basis_rows.T @ sla.solve_triangular(self._triangle, u, lower=True, trans="T"))


def lexical_regression(config: HeadConfig, features, y: np.ndarray, space: RowSpace | ColumnSpace | None = None,
                       out_of_fold: bool = True) -> tuple[np.ndarray | None, LinearFit]:
    """(out-of-fold logits float32 [N, 1], or None without out_of_fold; the regression fitted on all rows).
    space: the coordinates of these rows (lexical_space's, of a superset's sliced to them), else chosen here."""
    from sklearn.linear_model import LogisticRegression

    space = space if space is not None else lexical_space(features)

    def make(tol: float) -> LogisticRegression:
        return LogisticRegression(C=config.lexical_c, max_iter=3000, tol=tol, solver=space.solver,
                                  random_state=config.seed, class_weight="balanced" if config.class_weight else None)

    fit = space.fit(make(space.tol), y)
    coef = LinearFit(space.weights(fit.coef_[0])[None, :], fit.intercept_)
    if not out_of_fold:
        return None, coef
    # The folds' fits start from `fit`, at fold_tol. RowSpace: L-BFGS stopped at the default gradient tolerance from
    # there ends too close to where it started (logits up to 0.85 off the optimum on the complaints data, cold fits
    # 0.3); at 1e-5 they are within 0.03 of it, in fewer steps than cold fits at 1e-4.
    oof = out_of_fold_logits(config, None, space.z, y,
                             fit_rows=lambda idx: space[idx].fit(make(space.fold_tol), y[idx], start=fit))
    return oof.astype("float32")[:, None], coef
