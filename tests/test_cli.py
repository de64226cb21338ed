"""The `engage` command end to end, on a real (small) TF Hub-format ELMo fixture."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from engage.cli import run
from engage.metrics import metric_table
from engage.reading import read_messages
from engage.scoring import load_classifier


def _json_out(capsys) -> dict:
    out = capsys.readouterr().out.strip().splitlines()
    return json.loads(out[-1])


def _train(capsys, data, encoder, *extra) -> dict:
    code = run(["train", str(data), "--label-col", "engage", "--encoder", str(encoder), "--json", *extra])
    assert code == 0
    return _json_out(capsys)


@pytest.mark.slow
def test_acceptance_train_twice_then_evaluate(capsys, complaints, hub_fixture):
    first = _train(capsys, complaints / "train.csv", hub_fixture, "--activate", "--name", "first")
    assert first["texts"] == 2760 and first["encoder_computed"] == 2760
    assert set(first["heldout_metrics"]) >= {"accuracy", "f1", "roc_auc", "confusion"}
    second = _train(capsys, complaints / "train.csv", hub_fixture, "--name", "second")
    assert second["encoder_computed"] == 0
    assert run(["evaluate", str(complaints / "test.csv"), "--label-col", "engage", "--json"]) == 0
    result = _json_out(capsys)
    assert set(result) >= {"accuracy", "precision", "recall", "f1", "roc_auc", "pr_auc", "threshold", "n",
                           "confusion"}
    assert result["n"] == 689 and result["model"] == "first"
    # The figures are the engine's own on the same scores.
    messages = read_messages(complaints / "test.csv", label_col="engage")
    clf = load_classifier()
    expected = metric_table(messages.labels, clf.score(messages.texts).values, clf.threshold)
    assert result["confusion"] == expected["confusion"] and result["f1"] == pytest.approx(expected["f1"])


@pytest.fixture
def small_labeled(tmp_path) -> Path:
    rows = [("Where is my refund?? order 123", 1), ("love the new phone", 0), ("=HYPERLINK(\"x\") broken", 1),
            ("thanks team, all good", 0), ("my package never came @shop", 1), ("great service today", 0),
            ("", 0), ("still waiting on support", 1)] * 6
    path = tmp_path / "small.csv"
    pd.DataFrame({"id": range(len(rows)), "message": [r[0] for r in rows], "label": [r[1] for r in rows]}
                 ).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_score_streams_chunks_and_neutralizes_formulas(capsys, tmp_path, small_labeled, hub_fixture):
    _train(capsys, small_labeled, hub_fixture, "--label-col", "label", "--activate", "--epochs", "2")
    out = tmp_path / "scored.csv"
    assert run(["score", str(small_labeled), "--out", str(out), "--chunk-size", "7", "--json"]) == 0
    summary = _json_out(capsys)
    scored = pd.read_csv(out, keep_default_na=False)
    assert len(scored) == summary["rows"] == 48 and summary["empty_messages"] == 6
    assert list(scored.columns) == ["id", "message", "label", "engage_score", "engageable"]
    assert scored["message"].str.startswith("'=HYPERLINK").sum() == 6
    assert not scored["message"].str.startswith("=").any()
    flagged = tmp_path / "flagged.csv"
    assert run(["score", str(small_labeled), "--out", str(flagged), "--flagged-only", "--json"]) == 0
    assert _json_out(capsys)["flagged"] == len(pd.read_csv(flagged)) == scored["engageable"].sum()
    # Whole-file scoring gives the same scores as chunked scoring.
    whole = tmp_path / "whole.parquet"
    assert run(["score", str(small_labeled), "--out", str(whole)]) == 0
    # (CSV stores scores to 6 decimals, so a score may round either way: compare within that precision.)
    assert pd.read_parquet(whole)["engage_score"].to_numpy() == pytest.approx(scored["engage_score"].to_numpy(),
                                                                            abs=1e-6)


@pytest.mark.slow
def test_models_list_show_activate(capsys, small_labeled, hub_fixture):
    _train(capsys, small_labeled, hub_fixture, "--label-col", "label", "--name", "a", "--epochs", "1")
    _train(capsys, small_labeled, hub_fixture, "--label-col", "label", "--name", "b", "--epochs", "1")
    assert run(["models", "activate", "b", "--json"]) == 0
    assert _json_out(capsys) == {"active": "b", "previous": None, "rescored_sets": {}}  # no label database yet
    assert run(["models", "list", "--json"]) == 0
    listed = _json_out(capsys)
    assert [m["name"] for m in listed["models"]] == ["a", "b"] and listed["active"] == "b"
    assert run(["models", "show", "a", "--json"]) == 0
    meta = _json_out(capsys)
    assert meta["encoder"]["kind"] == "hub" and meta["training_data"]["rows"] == 48
    assert meta["head"]["config"]["epochs"] == 1 and "tensorflow" in meta["library_versions"]


def test_bad_input_exits_1_with_a_one_line_message(capsys, tmp_path, hub_fixture):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,engage\nhello,maybe\nbye,1\n")
    assert run(["train", str(bad), "--label-col", "engage", "--encoder", str(hub_fixture)]) == 1
    err = capsys.readouterr().err.strip()
    assert "bad.csv" in err and "maybe" in err and "engage" in err and "row 2" in err
    assert run(["evaluate", str(bad), "--label-col", "engage"]) == 1
    assert "maybe" in capsys.readouterr().err
    assert run(["train", str(tmp_path / "missing.csv"), "--encoder", str(hub_fixture)]) == 1
    assert run(["score", str(bad), "--out", str(tmp_path / "x.docx")]) == 1
    assert run(["models", "show", "nope"]) == 1


def test_messages_show_control_characters_from_the_input_as_escapes(capsys, tmp_path, hub_fixture):
    """A file name and a cell can carry a terminal's escape sequences (retitle the window, clear the screen), a
    carriage return or a bidirectional override: the message names them, escaped, and the terminal runs none."""
    bad = tmp_path / "evil\x1b]0;owned\x07\r.csv"
    bad.write_text("text,engage\nhello,\x1b[2Jmaybe\u202e\nbye,1\n", encoding="utf-8")
    assert run(["train", str(bad), "--label-col", "engage", "--encoder", str(hub_fixture)]) == 1
    err = capsys.readouterr().err
    assert all(ch.isprintable() or ch == "\n" for ch in err), repr(err)
    assert "evil\\x1b]0;owned\\x07\\r.csv" in err and "\\x1b[2Jmaybe\\u202e" in err and "row 2" in err


@pytest.mark.slow
def test_console_script_help_and_exit_codes(capsys, tmp_path, small_labeled, hub_fixture):
    engage = Path(sys.executable).with_name("engage")
    for sub in ([], ["train"], ["evaluate"], ["score"], ["models"], ["pretrain"], ["export-hub"]):
        done = subprocess.run([str(engage), *sub, "--help"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "usage: engage" in done.stdout
    env = os.environ | {"ENGAGE_MODELS_DIR": str(tmp_path / "m")}
    done = subprocess.run([str(engage), "models", "list"], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0 and "no models yet" in done.stdout
    # Weights that pass their checksum but do not load are not the user's fault: exit 2, trace in the log.
    info = _train(capsys, small_labeled, hub_fixture, "--label-col", "label", "--name", "odd", "--activate")
    version = Path(info["path"])
    (version / "head.weights.h5").write_bytes(b"not hdf5")
    meta = json.loads((version / "model.json").read_text())
    meta["files"]["head.weights.h5"] = __import__("hashlib").sha256(b"not hdf5").hexdigest()
    (version / "model.json").write_text(json.dumps(meta))
    assert run(["evaluate", str(small_labeled), "--label-col", "label"]) == 2
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" not in err
    from engage.config import log_path

    assert str(log_path()) in err
    logged = log_path().read_text(encoding="utf-8")
    assert "internal error" in logged and "Traceback (most recent call last)" in logged and "cmd_evaluate" in logged


@pytest.mark.slow
def test_score_streams_excel_output_in_chunks(capsys, tmp_path, small_labeled, hub_fixture):
    _train(capsys, small_labeled, hub_fixture, "--label-col", "label", "--activate", "--epochs", "2")
    xlsx, parquet = tmp_path / "scored.xlsx", tmp_path / "scored.parquet"
    assert run(["score", str(small_labeled), "--out", str(xlsx), "--chunk-size", "7"]) == 0
    assert run(["score", str(small_labeled), "--out", str(parquet)]) == 0
    sheet, whole = pd.read_excel(xlsx, sheet_name="scored", keep_default_na=False), pd.read_parquet(parquet)
    assert list(sheet.columns) == list(whole.columns) and len(sheet) == len(whole) == 48
    assert sheet["engage_score"].to_numpy() == pytest.approx(whole["engage_score"].to_numpy(), abs=1e-6)
    assert sheet["message"].str.startswith("=HYPERLINK").sum() == 6  # text, never a formula


@pytest.mark.slow
def test_train_cross_validates_by_default_or_holds_out_a_split_when_asked(capsys, small_labeled, hub_fixture):
    args = ("--label-col", "label", "--epochs", "1")
    assert _train(capsys, small_labeled, hub_fixture, *args)["heldout_metrics"]["method"] == "5-fold cross-validation"
    split = _train(capsys, small_labeled, hub_fixture, *args, "--val-split", "0.25")
    assert split["heldout_metrics"]["method"] == "held-out split" and split["heldout_metrics"]["n"] == 12
    code = run(["train", str(small_labeled), *args, "--encoder", str(hub_fixture), "--cv-folds", "3",
                "--val-split", "0.25"])
    assert code == 1 and "not both" in capsys.readouterr().err


@pytest.mark.slow
def test_models_activate_rescores_the_labeling_sets_so_the_queue_follows(capsys, small_labeled, hub_fixture):
    from engage.label_loop import score_set
    from engage.labels import LabelStore

    _train(capsys, small_labeled, hub_fixture, "--label-col", "label", "--name", "a", "--epochs", "1",
           "--activate")
    _train(capsys, small_labeled, hub_fixture, "--label-col", "label", "--name", "b", "--epochs", "2",
           "--seed", "3")
    texts = pd.read_csv(small_labeled, keep_default_na=False)["message"].tolist()
    with LabelStore() as store:
        set_id = store.import_messages("small", texts)
        score_set(store, set_id, load_classifier("a"))
        assert store.next_message(set_id, "ana").model == "a"
    assert run(["models", "activate", "b", "--json"]) == 0
    done = _json_out(capsys)
    assert done["active"] == "b" and done["previous"] == "a" and done["rescored_sets"] == {str(set_id): 7}
    b = load_classifier("b")
    with LabelStore() as store:
        frame = store.messages(set_id)
        b_scores = b.score(frame["text"].tolist()).values
        item = store.next_message(set_id, "bo")
    # The queue now ranks by b's scores: its first message is the one b is least sure of.
    nearest = frame["message_id"].iloc[int(abs(b_scores - b.threshold).argmin())]
    assert item.model == "b" and item.message_id == nearest
    assert item.score == pytest.approx(b_scores[frame["message_id"].tolist().index(item.message_id)], abs=1e-6)
