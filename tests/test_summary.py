"""The tables the pages draw: thinned curves, slice refusal, confusion shares (engage.summary)."""

import numpy as np
import pandas as pd
import pytest

from engage.errors import InputError
from engage.summary import confusion_frame, slice_metrics, thin_curve


def test_a_long_curve_is_thinned_to_evenly_spaced_points_keeping_both_ends():
    curve = pd.DataFrame({"x": np.arange(100_000) / 99_999, "y": np.arange(100_000) ** 0.5})
    thin = thin_curve(curve, max_points=500)
    assert 450 <= len(thin) <= 500
    assert thin.index[0] == 0 and thin.index[-1] == 99_999
    steps = np.diff(thin.index.to_numpy())
    assert steps.min() > 0 and steps.max() - steps.min() <= 1  # evenly spaced, in order
    pd.testing.assert_frame_equal(thin, curve.loc[thin.index])  # rows of the curve, not made-up points


def test_a_short_curve_is_left_whole():
    curve = pd.DataFrame({"x": [0.0, 0.5, 1.0], "y": [1.0, 0.5, 0.0]})
    pd.testing.assert_frame_equal(thin_curve(curve, max_points=3), curve)


def test_confusion_shares_are_of_the_actual_class():
    frame = confusion_frame([[8, 2], [1, 9]]).set_index(["actual", "predicted"])
    shares = frame["row_share"]
    assert shares[("not engageable", "not engageable")] == pytest.approx(0.8)
    assert shares[("not engageable", "engageable")] == pytest.approx(0.2)
    assert shares[("engageable", "not engageable")] == pytest.approx(0.1)
    assert shares[("engageable", "engageable")] == pytest.approx(0.9)
    assert frame.loc[("engageable", "engageable"), "label"] == "9 (90.0%)"
    assert frame["count"].tolist() == [8, 2, 1, 9]
    empty = confusion_frame([[0, 0], [3, 1]])  # a class with no rows: shares 0, not a division by zero
    assert empty["row_share"].tolist() == [0.0, 0.0, 0.75, 0.25]


def _sliced(values: list) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    n = len(values)
    y = np.arange(n) % 2
    return pd.DataFrame({"channel": values}), y, np.linspace(0, 1, n)


def test_slices_up_to_the_limit_are_computed_and_one_more_is_refused():
    frame, y, scores = _sliced([f"c{i % 10}" for i in range(40)])
    table = slice_metrics(frame, "channel", y, scores, 0.5, max_slices=10)
    assert len(table) == 10 and table["n"].sum() == 40
    frame, y, scores = _sliced([f"c{i % 11}" for i in range(44)])
    with pytest.raises(InputError, match="11 distinct values.*at most 10") as err:
        slice_metrics(frame, "channel", y, scores, 0.5, max_slices=10)
    assert err.value.column == "channel"


def test_missing_values_count_as_a_value_and_an_unknown_column_is_refused():
    frame, y, scores = _sliced(["a", None] * 5 + ["b"] * 2)
    with pytest.raises(InputError, match="3 distinct values"):
        slice_metrics(frame, "channel", y, scores, 0.5, max_slices=2)
    with pytest.raises(InputError, match="no column named 'domain'"):
        slice_metrics(frame, "domain", y, scores, 0.5)
