"""Downloads of the plain CSV (engage.formula_guard.PLAIN_CSV: every text exactly as in the file, for other
programs), drawn beside the spreadsheet-safe ones with the risk stated next to them. The rule (what is guarded, and
the words for what the file is and risks) lives in the engine; this module only draws it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import streamlit as st

from engage.formula_guard import PLAIN_CSV, PLAIN_CSV_RISK

KEY_PREFIX = "plaincsv_"  # the download buttons' keys: plaincsv_<name>


@dataclass(frozen=True)
class PlainFile:
    label: str                    # what the rows are ("All rows with scores")
    file_name: str
    build: Callable[[], bytes]    # built only when clicked
    key: str                      # unique on the page, after KEY_PREFIX


def downloads(files: Sequence[PlainFile]) -> None:
    """One button per file, named for what the file is for, and the risk in a caption beside them."""
    columns = st.columns(len(files) + 1)
    for column, file in zip(columns, files, strict=False):
        column.download_button(f"{file.label}: {PLAIN_CSV}", data=file.build, file_name=file.file_name,
                               mime="text/csv", on_click="ignore", key=f"{KEY_PREFIX}{file.key}",
                               help=PLAIN_CSV_RISK)
    columns[-1].caption(f":material/warning: {PLAIN_CSV_RISK}")
