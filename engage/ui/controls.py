"""Widgets more than one page uses: the scoring progress bar, flag counts, downloads, the model caption. (The
threshold panel is engage.ui.threshold.)"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import streamlit as st

from engage import promotion
from engage.access import Action
from engage.config import models_dir
from engage.errors import InputError
from engage.metrics import METRICS
from engage.outputs import EXCEL_MAX_ROWS, to_csv_bytes, to_excel_bytes
from engage.scoring import FLAG_COL
from engage.summary import flag_summary
from engage.ui import access_gate, plain_csv, state

KEY_PREFIX = "controls_"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a page calls an engine column, with the engine's key in the tooltip (the keys stay, in tables and downloads).
METRIC_NAMES = {"roc_auc": ("ROC AUC", "roc_auc: area under the ROC curve, 0.5 is chance, 1 is a perfect ranking"),
                "pr_auc": ("PR AUC", "pr_auc: average precision, the area under the precision-recall curve"),
                "f1": ("F1", "f1: the harmonic mean of precision and recall")}
ENCODER_NAMES = {"bilm": ("ELMo (ours, biLM)", "encoder kind bilm: options.json + weights.hdf5 run by engage's "
                                                "own TensorFlow 2 biLM"),
                 "hub": ("ELMo (TensorFlow Hub)", "encoder kind hub: a TensorFlow Hub ELMo module")}


def metric_columns(*keys: str) -> dict:
    """st.dataframe column_config for metric columns: 4 decimals, human names for the jargon ones."""
    config = {}
    for key in keys:
        label, help_ = METRIC_NAMES.get(key, (None, None))
        config[key] = st.column_config.NumberColumn(label, help=help_, format="%.4f")
    return config


METRIC_COLUMNS = (*METRICS, "threshold")  # the columns metric_columns formats on every page


def encoder_name(kind: str) -> tuple[str, str]:
    """(what the page says, the technical name for its tooltip) of an encoder kind."""
    return ENCODER_NAMES.get(kind, (kind, f"encoder kind {kind}"))


def scoring_progress(total: int) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A progress bar with a messages/s figure: (update(n_done), close())."""
    bar = st.progress(0.0, text=f"Scoring {total:,} messages…")
    start = time.perf_counter()
    seen = {"done": 0, "shown": 0.0}

    def update(n: int) -> None:
        seen["done"] += n
        now = time.perf_counter()
        if now - seen["shown"] >= 0.2 or seen["done"] >= total:  # each update is a message to the browser
            rate = seen["done"] / max(now - start, 1e-9)
            bar.progress(min(seen["done"] / max(total, 1), 1.0),
                         text=f"{seen['done']:,} of {total:,} messages · {rate:,.0f} messages/s")
            seen["shown"] = now

    return update, bar.empty


def flag_counts(res: state.ScoredFile, threshold: float) -> dict:
    counts = flag_summary(res.scores, threshold)
    a, b, c, d = st.columns(4)
    a.metric("Messages", f"{counts['rows']:,}")
    b.metric("Flagged engageable", f"{counts['flagged']:,}")
    c.metric("Share flagged", f"{counts['share']:.1%}")
    d.metric("Threshold", f"{threshold:.3f}")
    return counts


def downloads(scored: pd.DataFrame, source_name: str, these: pd.DataFrame | None = None) -> None:
    """Flagged rows and all rows (and `these`, the rows a search or filter kept, when given), as formula-safe CSV
    and as Excel, in the file's column order; files are built only when clicked."""
    stem = Path(source_name).stem or "messages"
    flagged = scored[scored[FLAG_COL]]
    files = [("Flagged rows (CSV)", flagged, "flagged.csv"), ("Flagged rows (Excel)", flagged, "flagged.xlsx"),
             ("All rows with scores (CSV)", scored, "scored.csv"), ("All rows with scores (Excel)", scored,
                                                                   "scored.xlsx")]
    if these is not None:  # a row of their own above the others, so that no label is cut short
        files[:0] = [(f"These {len(these):,} rows (CSV)", these, "these.csv"),
                     (f"These {len(these):,} rows (Excel)", these, "these.xlsx"), None, None]
    columns = [column for _ in range(len(files) // 4) for column in st.columns(4)]
    for column, file in zip(columns, files, strict=True):
        if file is None:
            continue
        label, frame, suffix = file
        excel = suffix.endswith(".xlsx")
        too_big = excel and len(frame) > EXCEL_MAX_ROWS
        column.download_button(
            label, data=_builder(frame, excel), file_name=f"{stem}-{suffix}",
            mime=XLSX_MIME if excel else "text/csv", on_click="ignore", key=f"{KEY_PREFIX}download_{suffix}",
            disabled=too_big or frame.empty,
            help="more rows than an Excel sheet holds: use CSV" if too_big else None)
    plain_csv.downloads([
        plain_csv.PlainFile("Flagged rows", f"{stem}-flagged-plain.csv", _plain(flagged), "flagged"),
        plain_csv.PlainFile("All rows with scores", f"{stem}-scored-plain.csv", _plain(scored), "scored")])


def _plain(frame: pd.DataFrame) -> Callable[[], bytes]:
    return lambda: to_csv_bytes(frame, spreadsheet_safe=False)


def _builder(frame: pd.DataFrame, excel: bool) -> Callable[[], bytes]:
    return (lambda: to_excel_bytes(frame)) if excel else (lambda: to_csv_bytes(frame))


def model_caption(loaded: state.LoadedModel) -> None:
    clf = loaded.classifier
    name, technical = encoder_name(clf.encoder.kind)
    st.caption(f"Model **{clf.name}** · encoder {name} `{clf.encoder.handle}` · "
               f"device {clf.encoder.device} · its threshold {clf.threshold:.3f}", help=technical)


def require_model() -> state.LoadedModel | None:
    """The active model, or None after a clear message saying how to get one (a fresh registry is normal)."""
    try:
        return state.active_model()
    except InputError as exc:
        st.error(f"{exc}. Trained versions can be activated on the Models page.", icon=":material/error:")
        return None


def promote(name: str, action: str = "activate") -> str:
    """Make `name` the active model through the engine's promotion (which re-scores every labeling set, so the
    queue follows the new model, and audits it under the signed-in person); returns the message to show. Only an
    admin may: anyone else gets access.AccessDenied, whatever their browser sent."""
    who = access_gate.require(Action.PROMOTE)
    loaded = state.model(name)
    with st.spinner(f"Scoring the labeling sets with {name}…"):
        done = promotion.promote(name, state.label_store(), root=models_dir(), classifier=loaded.classifier,
                                 actor=who.actor, action=action)
    sets = len(done.rescored)
    if not sets:
        return f"{done.name} is now the active model."
    return (f"{done.name} is now the active model; new scores stored for {sets} labeling "
            f"set{'s' if sets != 1 else ''}, so the labeling queue follows it.")
