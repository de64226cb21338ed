import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from engage.metrics import metric_table, metrics_by_threshold, mistakes, pr_curve, roc_curve, slice_table

Y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
S = np.array([0.1, 0.6, 0.8, 0.35, 0.9, 0.2, 0.55, 0.7])


def test_metric_table_matches_sklearn():
    m = metric_table(Y, S, 0.5)
    pred = S >= 0.5
    assert m["accuracy"] == skm.accuracy_score(Y, pred)
    assert m["precision"] == skm.precision_score(Y, pred)
    assert m["recall"] == skm.recall_score(Y, pred)
    assert m["f1"] == skm.f1_score(Y, pred)
    assert m["roc_auc"] == skm.roc_auc_score(Y, S)
    assert m["pr_auc"] == skm.average_precision_score(Y, S)
    assert m["confusion"] == [[2, 2], [1, 3]]
    assert m["n"] == 8 and m["support"] == {"engageable": 4, "not_engageable": 4}


def test_one_class_gives_no_auc_instead_of_crashing():
    m = metric_table(np.ones(3), np.array([0.2, 0.6, 0.9]), 0.5)
    assert m["roc_auc"] is None and m["pr_auc"] is None and m["recall"] == 2 / 3


def test_curves_and_threshold_sweep():
    assert {"precision", "recall", "threshold"} <= set(pr_curve(Y, S).columns)
    roc = roc_curve(Y, S)
    assert roc["fpr"].iloc[-1] == 1.0 and roc["threshold"].max() <= 1.0
    sweep = metrics_by_threshold(Y, S, steps=11)
    assert len(sweep) == 11 and sweep["flagged"].iloc[0] == 8 and sweep["flagged"].iloc[-1] == 0


def test_slices_and_mistakes():
    frame = pd.DataFrame({"text": list("abcdefgh"), "domain": ["x", "x", "y", "y", "y", "x", None, "x"]})
    table = slice_table(Y, S, 0.5, frame["domain"])
    assert list(table["slice"]) == ["(missing)", "x", "y"] and table["n"].sum() == 8
    wrong = mistakes(frame, Y, S, 0.5)
    assert list(wrong["text"]) == ["h", "d", "b"]  # most confident mistakes first
    assert list(wrong["mistake"]) == ["false positive", "false negative", "false positive"]


def test_threshold_sweep_equals_the_metric_table_at_every_step():
    rng = np.random.default_rng(2)
    y, s = rng.integers(0, 2, 500), np.round(rng.random(500), 2)  # rounded: ties and exact hits on the grid
    sweep = metrics_by_threshold(y, s, steps=21)
    for row in sweep.itertuples():
        m = metric_table(y, s, row.threshold)
        assert (row.accuracy, row.precision, row.recall, row.f1) == pytest.approx(
            (m["accuracy"], m["precision"], m["recall"], m["f1"]))
        assert row.flagged == int((s >= row.threshold).sum())
