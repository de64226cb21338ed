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
