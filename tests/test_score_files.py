"""`engage score` on awkward files: the output's columns are fixed for the whole file (late keys, columns empty at
first), labels pass through unless asked for, and an output appears whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow.parquet as pq
import pytest

from engage.cli import run
from engage.scoring import Classifier, load_classifier

pytestmark = pytest.mark.slow  # the app world trains two versions first

FORMATS = (".csv", ".tsv", ".jsonl", ".parquet", ".xlsx")


def _read(path: Path) -> pd.DataFrame:
    suffix = path.suffix
    if suffix == ".csv":
        return pd.read_csv(path, keep_default_na=False, na_values=[""])
    if suffix == ".tsv":
        return pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""])
    if suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    if suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_excel(path, sheet_name="scored")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


@pytest.fixture
def late_keys(tmp_path) -> Path:
    """JSON Lines whose third row brings a key ("channel") the first chunk of two rows does not have."""
    rows = [{"id": 1, "text": "where is my refund"}, {"id": 2, "text": "love it"},
            {"id": 3, "text": "my order is late", "channel": "twitter"}, {"id": 4, "text": "thanks"},
            {"id": 5, "text": "app keeps crashing", "channel": "email"}]
    path = tmp_path / "late.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_key_that_appears_late_gets_its_column_for_the_whole_file(app_env, tmp_path, late_keys, suffix):
    out = tmp_path / f"scored{suffix}"
    assert run(["score", str(late_keys), "--out", str(out), "--chunk-size", "2"]) == 0
    back = _read(out)
    assert list(back.columns) == ["id", "text", "channel", "engage_score", "engageable"]
    assert back["id"].tolist() == [1, 2, 3, 4, 5]
    channel = back["channel"].tolist()
    assert [c if isinstance(c, str) else None for c in channel] == [None, None, "twitter", None, "email"]
    assert _leftovers(tmp_path) == []


@pytest.fixture
def empty_at_first(tmp_path) -> Path:
    """JSON Lines whose "note" is null in the first chunk of two rows and text later; "n" is numbers throughout."""
    rows = [{"id": 1, "text": "where is my refund", "note": None, "n": 1.5},
            {"id": 2, "text": "love it", "note": None, "n": 2.0},
            {"id": 3, "text": "my order is late", "note": "call back", "n": 3.0},
            {"id": 4, "text": "thanks", "note": None, "n": 4.0}]
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize("suffix", FORMATS)
def test_a_column_empty_in_the_first_chunk_keeps_its_place_and_type(app_env, tmp_path, empty_at_first, suffix):
    out = tmp_path / f"scored{suffix}"
    assert run(["score", str(empty_at_first), "--out", str(out), "--chunk-size", "2"]) == 0
    back = _read(out)
    assert list(back.columns) == ["id", "text", "note", "n", "engage_score", "engageable"]
    assert [v if isinstance(v, str) else None for v in back["note"]] == [None, None, "call back", None]
    assert back["n"].tolist() == [1.5, 2.0, 3.0, 4.0]
    if suffix == ".parquet":
        schema = pq.read_schema(out)
        assert str(schema.field("note").type) in ("string", "large_string")
        assert str(schema.field("n").type) == "double"


def test_chunks_and_whole_file_give_the_same_output(app_env, tmp_path, empty_at_first):
    chunked, whole = tmp_path / "chunked.parquet", tmp_path / "whole.parquet"
    assert run(["score", str(empty_at_first), "--out", str(chunked), "--chunk-size", "1"]) == 0
    assert run(["score", str(empty_at_first), "--out", str(whole)]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(chunked), pd.read_parquet(whole))


def test_chunk_size_zero_is_a_clear_error_and_writes_nothing(app_env, tmp_path, empty_at_first, capsys):
    out = tmp_path / "scored.csv"
    assert run(["score", str(empty_at_first), "--out", str(out), "--chunk-size", "0"]) == 1
    assert "the chunk size (rows read at a time) must be at least 1" in capsys.readouterr().err
    assert not out.exists() and _leftovers(tmp_path) == []


@pytest.fixture
def bad_label(tmp_path) -> Path:
    path = tmp_path / "labeled.csv"
    path.write_text("text,label\nwhere is my refund,1\nlove it,0\nmy order is late,1\nthanks,n/a\nok,0\n",
                    encoding="utf-8")
    return path


def test_score_passes_a_label_column_through_without_reading_it(app_env, tmp_path, bad_label, capsys):
    out = tmp_path / "scored.csv"
    assert run(["score", str(bad_label), "--out", str(out), "--chunk-size", "2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["rows"] == 5 and "labels" not in summary
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert back["label"].tolist() == ["1", "0", "1", "n/a", "0"]


def test_label_col_checks_labels_and_a_bad_value_writes_nothing(app_env, tmp_path, bad_label, capsys):
    out = tmp_path / "scored.csv"
    out.write_text("the previous result\n", encoding="utf-8")
    assert run(["score", str(bad_label), "--out", str(out), "--chunk-size", "2", "--label-col", "label"]) == 1
    err = capsys.readouterr().err
    assert "labeled.csv" in err and "n/a" in err and "label" in err and "row 5" in err
    assert out.read_text(encoding="utf-8") == "the previous result\n"
    assert _leftovers(tmp_path) == []


def test_label_col_counts_the_labels(app_env, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_text("text,label\nwhere is my refund,yes\nlove it,no\nmy order is late,yes\n", encoding="utf-8")
    assert run(["score", str(good), "--out", str(tmp_path / "s.csv"), "--label-col", "label", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["labels"] == {"engageable": 2, "not_engageable": 1}


@pytest.mark.parametrize("suffix", FORMATS)
@pytest.mark.parametrize("failure", [RuntimeError("disk on fire"), KeyboardInterrupt()])
def test_a_failure_mid_file_leaves_the_previous_output_and_no_half_file(app_env, tmp_path, empty_at_first, monkeypatch,
                                                                        suffix, failure):
    out = tmp_path / f"scored{suffix}"
    assert run(["score", str(empty_at_first), "--out", str(out)]) == 0
    before = out.read_bytes()
    real = Classifier.score
    calls = {"n": 0}

    def fails_on_the_second_chunk(self, texts, progress=None):
        calls["n"] += 1
        if calls["n"] == 2:
            raise failure
        return real(self, texts, progress)

    monkeypatch.setattr(Classifier, "score", fails_on_the_second_chunk)
    code = run(["score", str(empty_at_first), "--out", str(out), "--chunk-size", "2"])
    assert code == 2 and calls["n"] == 2
    assert out.read_bytes() == before
    assert _leftovers(tmp_path) == []
    fresh = tmp_path / f"fresh{suffix}"
    calls["n"] = 0
    assert run(["score", str(empty_at_first), "--out", str(fresh), "--chunk-size", "2"]) == 2
    assert not fresh.exists() and _leftovers(tmp_path) == []


def test_excel_output_keeps_formula_like_text_as_text(app_env, tmp_path):
    src = tmp_path / "f.csv"
    src.write_text('text\n"=HYPERLINK(""x"")"\nfine\n', encoding="utf-8")
    out = tmp_path / "scored.xlsx"
    assert run(["score", str(src), "--out", str(out)]) == 0
    cell = openpyxl.load_workbook(out).active["A2"]
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s"


def test_the_scores_are_the_classifiers(app_env, tmp_path, empty_at_first):
    out = tmp_path / "scored.parquet"
    assert run(["score", str(empty_at_first), "--out", str(out), "--chunk-size", "3"]) == 0
    clf = load_classifier(use_cache=False)
    texts = pd.read_json(empty_at_first, lines=True)["text"].tolist()
    assert pd.read_parquet(out)["engage_score"].to_numpy() == pytest.approx(clf.score(texts).values, abs=1e-6)


def test_scoring_an_engage_csv_export_gives_the_scores_of_the_original(app_env, tmp_path):
    """Tweets begin with '@': the formula guard's quote must not reach the model when the export is scored again."""
    from engage.reading import read_messages

    original = tmp_path / "tweets.csv"
    texts = ["@brand my order never arrived", "@brand love the new lineup", "-- where is my refund?",
             "=HYPERLINK(\"http://x.example\") broken", "+1 for the support team", "plain message"] * 3
    pd.DataFrame({"text": texts}).to_csv(original, index=False)
    first, second = tmp_path / "scored.csv", tmp_path / "scored-again.csv"
    assert run(["score", str(original), "--out", str(first)]) == 0
    assert run(["score", str(first), "--out", str(second)]) == 0
    assert read_messages(first).texts == texts
    again = read_messages(second)
    assert again.texts == texts
    # The second run scored the texts, not quoted ones: its fresh scores equal the first run's written ones.
    assert again.frame["engage_score"].astype(float).to_numpy() == pytest.approx(
        read_messages(first).frame["engage_score"].astype(float).to_numpy(), abs=1e-6)
