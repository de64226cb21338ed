"""Label values: every accepted spelling to 0/1, unknown and empty labels named with their rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engage.reading import (
    normalize_labels,
    read_messages,
)
from tests.reading.helpers import input_error, write_file

POSITIVE = ["1", "1.0", "true", "TRUE", "Yes", "yes", "engage", "Engage", "engageable", "ENGAGEABLE", " 1 ",
            True, 1, 1.0]


NEGATIVE = ["0", "0.0", "false", "False", "no", "NO", "not engage", "Not Engage", "non-engageable",
            "Non-Engageable", "not engageable", "non engageable", "non-engage", "not_engage", False, 0, 0.0]


def test_every_accepted_label_spelling():
    values = pd.Series(POSITIVE + NEGATIVE, dtype=object)
    labels = normalize_labels(values, source="f.csv", column="engage")
    assert labels.dtype == np.int8
    assert labels.tolist() == [1] * len(POSITIVE) + [0] * len(NEGATIVE)


def test_unknown_labels_listed_with_first_row(tmp_path):
    path = write_file(tmp_path, "bad.csv", "text,engage\na,1\nb,maybe\nc,0\nd,2\ne,maybe\n")
    error = input_error(read_messages, path)
    assert error.row == 3 and error.column == "engage" and error.file == str(path)
    assert "'maybe', '2'" in str(error) and "first in row 3" in str(error)


def test_empty_label_names_row(tmp_path):
    path = write_file(tmp_path, "bad.csv", "text,engage\na,1\nb,\nc,0\n")
    error = input_error(read_messages, path)
    assert error.row == 3 and error.column == "engage" and "empty label" in str(error)
    error = input_error(read_messages, write_file(tmp_path, "both.csv", "text,engage\na,1\nb,maybe\nc,\n"))
    assert error.row == 3 and "'maybe'" in str(error)  # the first problem in the file is reported
