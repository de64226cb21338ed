import io

import openpyxl
import pandas as pd

from engage.outputs import neutralize_formulas, to_csv_bytes, to_excel_bytes

FRAME = pd.DataFrame({"text": ["=1+1", "+cmd", "-x", "@SUM(A1)", "\tx", "\rx", "fine", None],
                      "score": [-0.5, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]})


def test_cells_a_spreadsheet_would_run_are_neutralized_and_numbers_kept():
    safe = neutralize_formulas(FRAME)
    assert safe["text"].tolist()[:7] == ["'=1+1", "'+cmd", "'-x", "'@SUM(A1)", "'\tx", "'\rx", "fine"]
    assert safe["score"].tolist() == FRAME["score"].tolist()
    back = pd.read_csv(io.BytesIO(to_csv_bytes(FRAME)))
    assert back["score"].iloc[0] == -0.5 and back["text"].iloc[0] == "'=1+1"


def test_excel_stores_formula_like_text_as_text():
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(FRAME)))
    cell = book.active["A2"]
    assert cell.value == "=1+1" and cell.data_type == "s"


def test_excel_stream_writes_chunks_like_pandas_and_keeps_formulas_as_text(tmp_path):
    from engage.outputs import ExcelStream

    frame = FRAME.assign(flag=[True, False] * 4, n=pd.array([1, None, 3, 4, 5, 6, 7, 8], dtype="Int64"))
    stream = ExcelStream(tmp_path / "out.xlsx")
    stream.append(frame.iloc[:3])
    stream.append(frame.iloc[3:3])  # an empty chunk (nothing flagged in it) changes nothing
    stream.append(frame.iloc[3:])
    stream.close()
    back = pd.read_excel(tmp_path / "out.xlsx", sheet_name="scored")
    expected = pd.read_excel(io.BytesIO(to_excel_bytes(frame)), sheet_name="scored")
    pd.testing.assert_frame_equal(back, expected)
    assert openpyxl.load_workbook(tmp_path / "out.xlsx").active["A2"].data_type == "s"


def test_excel_stream_writes_list_and_date_cells_as_text(tmp_path):
    from engage.outputs import ExcelStream

    stream = ExcelStream(tmp_path / "odd.xlsx")
    stream.append(pd.DataFrame({"tags": [["a", "b"], None], "when": [pd.Timestamp("2024-05-01"), pd.NaT],
                                "score": [0.25, 0.75]}))
    stream.close()
    back = pd.read_excel(tmp_path / "odd.xlsx", sheet_name="scored")
    assert back["tags"].tolist()[0] == "['a', 'b']" and pd.isna(back["tags"].tolist()[1])
    assert back["when"].tolist()[0].startswith("2024-05-01") and pd.isna(back["when"].tolist()[1])
    assert back["score"].tolist() == [0.25, 0.75]


def test_excel_stream_refuses_more_rows_than_a_sheet_holds(tmp_path, monkeypatch):
    import pytest

    from engage import outputs
    from engage.errors import InputError

    monkeypatch.setattr(outputs, "EXCEL_MAX_ROWS", 5)
    stream = outputs.ExcelStream(tmp_path / "big.xlsx")
    stream.append(FRAME.iloc[:4])
    with pytest.raises(InputError, match="at most 5 rows.*csv or .parquet"):
        stream.append(FRAME.iloc[4:])


# Tweets start with "@"; some texts already start with a quote before a trigger character (another tool's guard).
TRICKY = ["@brand my order is late", "=HYPERLINK(\"http://x\",\"x\")", "+44 20 7946 0000 called", "-- sent from phone",
          "\tindented", "\rcarriage", "'@already quoted", "''=two quotes", "'just a quote", "'", "plain", "",
          "a, with \"quotes\"", "@"]


def test_no_written_cell_starts_like_a_formula_and_engage_reads_back_the_exact_texts():
    from engage.formula_guard import FORMULA_START
    from engage.reading import read_table

    frame = pd.DataFrame({"text": TRICKY, "n": range(len(TRICKY))})
    data = to_csv_bytes(frame)
    raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)  # what a spreadsheet gets
    assert not raw["text"].str.startswith(FORMULA_START).any()
    assert raw["text"].tolist()[:2] == ["'@brand my order is late", "'=HYPERLINK(\"http://x\",\"x\")"]
    assert raw["text"].tolist()[9:12] == ["'", "plain", ""]  # nothing else changes
    back = read_table(data, name="scored.csv")
    assert back["text"].tolist() == TRICKY


def test_tsv_output_round_trips_through_the_reader_too(tmp_path):
    from engage.outputs import TableWriter
    from engage.reading import read_messages

    with TableWriter(tmp_path / "out.tsv") as writer:
        writer.write(pd.DataFrame({"text": TRICKY[:7]}))
        writer.write(pd.DataFrame({"text": TRICKY[7:]}))
    assert read_messages(tmp_path / "out.tsv").texts == [t if t.strip() else "" for t in TRICKY]
