import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as skm

from engage.metrics import (
    metric_table,
    metrics_by_threshold,
    mistakes,
    pr_curve,
    roc_curve,
    slice_table,
    undefined_metrics,
)

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
        expected = [np.nan if m[k] is None else m[k] for k in ("accuracy", "precision", "recall", "f1")]
        assert (row.accuracy, row.precision, row.recall, row.f1) == pytest.approx(expected, nan_ok=True)
        assert row.flagged == int((s >= row.threshold).sum())


def test_undefined_metrics_are_none_never_zero():
    nothing_flagged = metric_table(Y, S, 0.95)
    assert nothing_flagged["precision"] is None and nothing_flagged["f1"] is None
    assert nothing_flagged["recall"] == 0.0 and nothing_flagged["accuracy"] == 0.5
    assert undefined_metrics(nothing_flagged) == ["precision is undefined: no message is flagged at this threshold",
                                                 "F1 is undefined because precision or recall is"]
    no_positive = metric_table(np.zeros(4), np.array([0.2, 0.6, 0.9, 0.1]), 0.5)
    assert no_positive["recall"] is None and no_positive["f1"] is None and no_positive["precision"] == 0.0
    assert "recall is undefined: no message is labeled engageable" in undefined_metrics(no_positive)
    defined = metric_table(Y, S, 0.5)
    assert undefined_metrics(defined) == [] and defined["f1"] == skm.f1_score(Y, S >= 0.5)
    worst = metric_table(np.array([1, 0]), np.array([0.1, 0.9]), 0.5)  # defined, and truly 0
    assert (worst["precision"], worst["recall"], worst["f1"]) == (0.0, 0.0, 0.0)


def test_the_sweep_and_the_slices_say_nan_where_undefined():
    sweep = metrics_by_threshold(Y, S, steps=11).set_index("threshold")
    assert np.isnan(sweep.loc[1.0, "precision"]) and np.isnan(sweep.loc[1.0, "f1"])
    assert sweep.loc[1.0, "recall"] == 0.0
    assert np.isnan(metrics_by_threshold(np.zeros(8), S, steps=3)["recall"]).all()
    groups = pd.Series(["x", "x", "y", "y", "y", "x", "z", "x"])  # z: one engageable message, scored 0.55
    table = slice_table(Y, S, 0.6, groups).set_index("slice")
    assert np.isnan(table.loc["x", "recall"]) and np.isnan(table.loc["x", "f1"])  # x holds no engageable message
    assert table.loc["x", "precision"] == 0.0 and table.loc["x", "flagged"] == 2
    assert np.isnan(table.loc["z", "precision"]) and table.loc["z", "recall"] == 0.0  # z: nothing flagged
    assert table.loc["y", "f1"] == pytest.approx(0.8)
