"""The learning curve (issue 23 item 6): its points are the recipe on the stated shares of the labels, cross-validated
as training is; the sentence says rising or flat by the rule engage.learning_curve states; the CLI and the Train
page's panel show them."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from engage.errors import InputError
from engage.head import HeadConfig, head_inputs, share_work
from engage.learning_curve import (
    MIN_GAIN,
    SHARES,
    CurvePoint,
    curve_of_inputs,
    subsample,
    verdict,
)
from engage.metrics import metric_table
from engage.testing.app_world import labeled_frame
from engage.thresholds import choose_threshold
from engage.train import cross_validated_scores

CONFIG = HeadConfig(elmo_branch="linear", lexical=True, lexical_features=2**10, elmo_c=0.1)


def _labeled(rows: int, seed: int = 0) -> tuple[dict, np.ndarray]:
    """The head's inputs (ELMo-shaped vectors that carry the label, noisily) and the labels of labeled_frame."""
    frame = labeled_frame(rows, seed)
    y = frame["engage"].to_numpy().astype(np.int8)
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((rows, 3, 8)).astype(np.float32) + 0.25 * y[:, None, None]
    texts = frame["text"].fillna("").tolist()
    return share_work(CONFIG, head_inputs(CONFIG, vectors, texts)), y


def test_a_share_is_a_stratified_seeded_sample_and_all_rows_at_one():
    y = np.array([0] * 70 + [1] * 30)
    for share in SHARES:
        idx = subsample(y, share, seed=3)
        assert np.bincount(y[idx], minlength=2).tolist() == [round(share * 70), round(share * 30)]
        assert len(np.unique(idx)) == len(idx) and np.all(np.diff(idx) > 0)
    assert np.array_equal(subsample(y, 1.0, 3), np.arange(100))
    assert np.array_equal(subsample(y, 0.25, 3), subsample(y, 0.25, 3))
    assert not np.array_equal(subsample(y, 0.25, 3), subsample(y, 0.25, 4))  # each repeat draws again
    for bad in (0.0, 1.5):
        with pytest.raises(InputError, match="share"):
            subsample(y, bad, 0)


def test_the_curve_is_the_recipe_cross_validated_on_each_stated_share():
    inputs, y = _labeled(150)
    curve = curve_of_inputs(CONFIG, inputs, y, repeats=1)
    counts = np.bincount(y, minlength=2)
    assert [p.share for p in curve.points] == list(SHARES) and not curve.skipped
    assert [p.rows for p in curve.points] == [sum(round(s * c) for c in counts) for s in SHARES]
    assert curve.points[-1].rows == len(y)
    # Each figure is what training reports for those rows: the cross-validated scores, the recipe's threshold rule.
    point = curve.points[1]
    idx = subsample(y, point.share, CONFIG.seed)
    scores = cross_validated_scores(CONFIG, {k: v[idx] for k, v in inputs.items()}, y[idx], 5)
    table = metric_table(y[idx], scores, choose_threshold(y[idx], scores, "best_f1"))
    assert (point.roc_auc, point.f1) == ((table["roc_auc"],), (table["f1"],))
    payload = json.loads(json.dumps(curve.to_json()))
    assert payload["shares"] == list(SHARES) and payload["sentence"] == curve.verdict.sentence


def test_repeats_draw_and_split_again_and_a_share_too_small_for_the_folds_is_left_out():
    inputs, y = _labeled(40)
    curve = curve_of_inputs(CONFIG, inputs, y, shares=(0.1, 0.5, 1.0), repeats=2)
    assert curve.skipped == (0.1,) and [p.share for p in curve.points] == [0.5, 1.0]
    whole = curve.points[-1]
    assert len(whole.roc_auc) == 2 and whole.roc_auc[0] != whole.roc_auc[1]  # the second repeat's other folds
    assert whole.spread("roc_auc") == pytest.approx(np.std(whole.roc_auc, ddof=1))
    again = cross_validated_scores(replace(CONFIG, seed=CONFIG.seed + 1), inputs, y, 5)
    assert whole.roc_auc[1] == metric_table(y, again, 0.5)["roc_auc"]


def _point(share: float, auc: tuple[float, ...], f1: tuple[float, ...]) -> CurvePoint:
    return CurvePoint(share, int(1000 * share), auc, f1)


def test_the_sentence_says_rising_only_for_a_last_step_above_the_noise_and_half_a_point():
    steady = (0.80, 0.80, 0.80)
    cases = {  # (ROC-AUC at 75 %, at 100 %, F1 at 75 %, at 100 %) -> rising
        "both rise well above the noise": ((0.85, 0.851, 0.849), (0.87, 0.871, 0.869), steady, (0.82,) * 3, True),
        "a gain within the repeats' noise": ((0.85, 0.80, 0.90), (0.87, 0.82, 0.92), steady, steady, False),
        "a steady gain under half a point": ((0.850,) * 3, (0.854,) * 3, steady, (0.803,) * 3, False),
        "F1 alone rises": ((0.85,) * 3, (0.85,) * 3, steady, (0.83, 0.831, 0.829), True),
        "a fall": ((0.87,) * 3, (0.85,) * 3, steady, steady, False),
    }
    for what, (auc75, auc100, f75, f100, rising) in cases.items():
        said = verdict([_point(0.5, (0.8,) * 3, steady), _point(0.75, auc75, f75), _point(1.0, auc100, f100)])
        assert said.rising is rising, what
        assert said.sentence.startswith("Still rising" if rising else "Flat"), what
        assert "75% to 100%" in said.sentence and "ROC-AUC by" in said.sentence and "F1 by" in said.sentence
    assert MIN_GAIN == 0.005  # the half point the sentence names
    too_few = verdict([_point(1.0, (0.9,), (0.8,))])
    assert too_few.rising is None and "Too few labels" in too_few.sentence


def test_the_panel_shows_the_sentence_the_chart_and_one_row_per_share():
    from streamlit.testing.v1 import AppTest

    def script():
        from engage.learning_curve import CurvePoint, LearningCurve, verdict
        from engage.ui import learning_curve_panel

        points = tuple(CurvePoint(s, int(400 * s), (0.8 + s / 10, 0.81 + s / 10), (0.6 + s / 10, 0.62 + s / 10))
                       for s in (0.25, 0.5, 0.75, 1.0))
        learning_curve_panel.show(LearningCurve(points, (0.1,), 2, 5, verdict(points)))

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.markdown[0].value.startswith("**Still rising: going from 75% to 100% of the labels (300 to 400)")
    table = at.dataframe[0].value
    assert table["labels"].tolist() == [100, 200, 300, 400]
    assert list(table.columns) == ["share of labels", "labels", "ROC-AUC", "ROC-AUC spread", "F1", "F1 spread"]
    assert "Left out, too few labels of a class for 5 folds: 10%" in " ".join(c.value for c in at.caption)


@pytest.mark.slow
def test_engage_learning_curve_prints_each_share_and_the_sentence(env, capsys):
    """The command on the app world's labeled file, with the recipe of a linear version trained there."""
    from engage.cache import EmbeddingCache
    from engage.cli import run
    from engage.encoders import load_encoder
    from engage.reading import read_messages
    from engage.train import train_model
    from engage.validation import Validation

    world, _, models = env
    messages = read_messages(world.csv, label_col="engage")
    train_model(messages, load_encoder(str(world.encoder)), CONFIG, name="linear-recipe", root=models,
                cache=EmbeddingCache(world.cache / "embeddings"), validation=Validation.cross(5))
    code = run(["learning-curve", str(world.csv), "--label-col", "engage", "--like", "linear-recipe", "--repeats",
                "1", "--json"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    payload = json.loads(out[-1])
    assert payload["shares"] == [s for s in SHARES if s not in payload["skipped_shares"]]
    assert payload["shares"][-1] == 1.0 and payload["points"][-1]["rows"] == len(messages.texts)
    assert out[-2] == payload["sentence"] and out[-2].startswith(("Still rising", "Flat"))
    assert any(line.strip().startswith("100%") and "ROC-AUC" in line for line in out)
