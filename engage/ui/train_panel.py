"""Widgets of the Train page: where the labels come from, training with progress, the new version beside the
active one, promotion (which stores the new model's scores for every labeling set), and label export."""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from engage import label_loop, promotion, registry
from engage.access import Action
from engage.config import models_dir
from engage.encoders.base import Encoder
from engage.head import HeadConfig
from engage.labels import LabelStore
from engage.reading import SUPPORTED_SUFFIXES, Messages, detect_label_column, detect_text_column, messages_from_table
from engage.summary import models_frame
from engage.ui import (
    access_gate,
    compare_panel,
    controls,
    finetune_option,
    fit_panel,
    label_column,
    plain_csv,
    review_panel,
    state,
)
from engage.ui.errors import shown_errors
from engage.validation import DEFAULT_VALIDATION, HELD_OUT_SHARE, Validation

ALL_SETS = "every labeling set"
KEY_PREFIX = "train_"            # every session key of the Train page (its widgets' too) starts so
KEY_TRAINED = "train_trained"    # str: name of the version this session trained last
KEY_FLASH = "train_flash"        # str: a success message that survives a rerun
KEY_SAME_ROWS = "train_same_rows"  # engage.promotion.SameMessages
KEY_CLICKED = "train_clicked"    # float: time.perf_counter() when Train was clicked: the wait is reported from there


_FORMAT = controls.metric_columns(*controls.METRIC_COLUMNS)
_COMPARED = ["name", "active", "measured_on", "training_rows", "heldout_rows", "threshold", "accuracy",
             "precision", "recall", "f1", "roc_auc", "pr_auc"]


def pick_source(store: LabelStore) -> int | None:
    """The labeling set to train from (None: all of them)."""
    sets = store.sets()
    ids = [None] + [s.id for s in sets]
    names = {s.id: f"{s.name} · #{s.id}" for s in sets} | {None: ALL_SETS}
    return st.selectbox("Labels from", ids, format_func=names.get, key="train_set")


def extra_file() -> Messages | None:
    """An optional labeled file added to the stored labels."""
    uploaded = st.file_uploader(f"Add a labeled file (optional; {', '.join(SUPPORTED_SUFFIXES)})",
                                key="train_file")
    if uploaded is None:
        return None
    up = state.upload(uploaded)
    frame = state.table(up)
    names = list(frame.columns)
    text_default = detect_text_column(frame, source=up.name)
    left, right = st.columns(2)
    text_col = left.selectbox("Text column", names, index=names.index(text_default), key="train_text_col")
    labels = [c for c in names if c != text_col]
    label_default = label_column.recalled(up.sha256, labels) or detect_label_column(frame, text_col)
    label_col = right.selectbox("Label column", labels, key="train_label_col",
                                index=labels.index(label_default) if label_default in labels else None)
    if label_col is None:
        return None
    return messages_from_table(frame, name=up.name, text_col=text_col, label_col=label_col, require_labels=True)


def bulk_choice(store: LabelStore, set_id: int | None) -> bool:
    """Whether training uses the bulk labels (default: yes; README, "Label"); asked only when there are some."""
    n = store.bulk_labels(set_id)
    if not n:
        return True
    return st.toggle("Use bulk labels", value=True, key=f"{KEY_PREFIX}bulk",
                     help=f"{n:,} labels were given to many messages at once from a search on the Label page; leave "
                          "them out to train only on labels given one message at a time")


def training_data(store: LabelStore, set_id: int | None, extra: Messages | None,
                  bulk: bool = True) -> label_loop.TrainingData | None:
    """The rows to train from, or None after saying (as information, not an error) that there are none yet."""
    try:
        data = label_loop.training_data(store, set_id, extra, bulk=bulk)
        review_panel.open_disputes_note(store, set_id)  # conflicts are decided in review, never silently
        return data
    except label_loop.NoLabels:
        where = "the label store" if set_id is None else "this labeling set"
        st.info(f"No labels yet in {where}. Label messages on the Label page, or add a labeled file above to train "
                "from it alone.", icon=":material/info:")
        return None


def data_summary(data: label_loop.TrainingData) -> None:
    labels = data.messages.labels
    a, b, c = st.columns(3)
    a.metric("Labeled messages", f"{len(labels):,}")
    b.metric("Engageable", f"{int(labels.sum()):,}")
    c.metric("Not engageable", f"{int(len(labels) - labels.sum()):,}")
    if data.from_file or data.overlapping:
        st.caption(f"{data.stored:,} labeled in the app · {data.from_file:,} from the added file · "
                   f"{data.overlapping:,} of the file's messages also labeled in the app: merged, the app's label "
                   "kept (it is the fresher judgement)")


_CV, _HELD_OUT = "Cross-validation", "A held-out share"


def validation_choice(column, loaded: state.LoadedModel) -> Validation:
    """How the new version picks its threshold and measures itself. The default is the active version's own way
    (the shipped model: cross-validation)."""
    own_folds = label_loop.validation_of(loaded.classifier).folds
    folds = own_folds or DEFAULT_VALIDATION.folds
    ways = (_HELD_OUT,) if loaded.classifier.config.early_stopping else (_CV, _HELD_OUT)  # it watches a split
    how = column.radio("Threshold and metrics from", ways, index=0 if own_folds or len(ways) == 1 else 1,
                       key="train_validation", horizontal=True,
                       help=f"{_CV}: {folds} extra fits, each scoring the labels it did not see, then the final "
                            "model trains on every label. A held-out share: quicker, but the model never trains on "
                            "the labels held out.")
    if how == _CV:
        return Validation.cross(folds)
    return Validation.held_out(column.slider("Held out for metrics", 0.1, 0.5, HELD_OUT_SHARE, 0.05,
                                             key="train_val_split"))


def enough_labels(labels, validation: Validation) -> bool:
    """Whether training with this validation can run; if not, says how many more labels of which class."""
    short = label_loop.labels_needed(labels, validation)
    if not short:
        return True
    need = validation.min_per_class()
    cv_folds, val_split = validation.folds, validation.share
    names = {1: "engageable", 0: "not engageable"}
    more = " and ".join(f"{n:,} more {names[c]}" for c, n in short.items())
    how = (f"with {cv_folds}-fold cross-validation, training needs at least {need} messages of each class (one or "
           f"more in every fold)" if cv_folds else
           f"with {val_split:.0%} held out for metrics, training needs at least {need} messages of each class (some "
           f"to hold out, some to train on)")
    st.warning(f"Not enough labels yet: {how}. Label {more} message{'s' if sum(short.values()) > 1 else ''}, or add "
               f"a labeled file.", icon=":material/info:")
    return False


def clicked() -> None:
    st.session_state[KEY_CLICKED] = time.perf_counter()


def version_name(column) -> str:
    return column.text_input("Version name", placeholder="automatic: engage-DATE-TIME", key=f"{KEY_PREFIX}name")


def train_button(ready: bool) -> bool:
    return st.button("Train", type="primary", key=f"{KEY_PREFIX}go", disabled=not ready, on_click=clicked)


def _progress(total: int, config: HeadConfig) -> tuple[Callable[[int], None], Callable[[int, dict], None], tuple]:
    epochs = config.epochs
    encode_bar = st.progress(0.0, text=f"Encoding {total:,} messages…")
    epoch_bar = st.progress(0.0, text=f"Training the head: {epochs} epochs" if config.trains_in_epochs
                            else "Fitting the head's regressions (no epochs)…")
    seen = {"done": 0, "shown": 0.0}

    def encoded(n: int) -> None:
        seen["done"] += n
        now = time.perf_counter()
        if now - seen["shown"] >= 0.2 or seen["done"] >= total:
            encode_bar.progress(min(seen["done"] / max(total, 1), 1.0),
                                text=f"Encoded {seen['done']:,} of {total:,} messages")
            seen["shown"] = now

    def epoch(index: int, logs: dict) -> None:
        val = f" · val_loss {logs['val_loss']:.4f}" if "val_loss" in (logs or {}) else ""
        epoch_bar.progress((index + 1) / max(epochs, 1),
                           text=f"Epoch {index + 1} of {epochs} · loss {(logs or {}).get('loss', float('nan')):.4f}"
                                f"{val}")

    return encoded, epoch, (encode_bar, epoch_bar)


def adapt_option() -> float | None:
    """The "adapt ELMo first" expander: its time budget in seconds, or None when off."""
    with st.expander("Adapt ELMo to these messages first"):
        on = st.checkbox("Adapt before training", key="train_adapt")
        minutes = st.slider("Time budget (minutes)", 1, 60, 10, key="train_adapt_minutes")
        st.caption(f"Continues ELMo's language-model training on these messages' texts (not their labels), keeps "
                   f"the weights with the lowest held-out perplexity, then trains on the adapted ELMo: at most "
                   f"{minutes} min before training starts. It is not the default: see the README for what it "
                   f"bought on our benchmarks.")
    return 60.0 * minutes if on else None


def _adapted(data: Messages, loaded: state.LoadedModel, name: str, budget_s: float) -> Encoder:
    bar = st.progress(0.0, text=f"Adapting ELMo to {len(data.texts):,} messages (at most {budget_s / 60:.0f} min)…")
    shown = {"at": 0.0}

    def progress(step: int, total: int, elapsed: float) -> None:
        if elapsed - shown["at"] < 0.5 and step < total:
            return
        shown["at"] = elapsed
        left = max(0.0, min(budget_s - elapsed, elapsed / max(step, 1) * (total - step)))
        bar.progress(min(max(step / total, elapsed / budget_s), 1.0),
                     text=f"Adapting ELMo: step {step:,} of at most {total:,} · about {left / 60:.1f} min left")

    return label_loop.adapt_encoder(data, loaded.classifier, models_dir() / f"{name}-elmo", time_limit_s=budget_s,
                                    progress=progress)


def train(data: Messages, loaded: state.LoadedModel, name: str, validation: Validation,
          adapt_s: float | None = None, finetune_s: float | None = None) -> None:
    access_gate.require(Action.TRAIN)
    started = st.session_state.pop(KEY_CLICKED, time.perf_counter())
    name = registry.check_name(name.strip() or registry.new_name())  # before it names the adapted ELMo's folder
    encoder = _adapted(data, loaded, name, adapt_s) if adapt_s else None  # its own biLM
    on_step, tune_bar = finetune_option.progress(finetune_s) if finetune_s else (None, None)
    encoded, epoch, bars = _progress(len(data.texts), loaded.classifier.config)
    bars = bars if tune_bar is None else (tune_bar, *bars)
    try:
        result = label_loop.retrain(data, loaded.classifier, name=name, validation=validation, progress=encoded,
                                    on_epoch=epoch, encoder=encoder, on_fit=fit_panel.on_fit(bars[1]),
                                    finetune_s=finetune_s, on_finetune_step=on_step)
        # both versions on the same messages, once
        st.session_state[KEY_SAME_ROWS] = promotion.compare_on_same_messages(result, data, loaded.classifier)
        if result.oof_scores is not None:  # the Label page's "Review" queue of suspected label errors
            label_loop.record_suspects(state.label_store(), data, result.oof_scores, result.version.name)
    except Exception:
        for bar in bars:  # the error is shown in their place, not under bars frozen part way
            bar.empty()
        raise
    encoded(0)  # all texts may have come from the cache
    st.session_state[KEY_TRAINED] = result.version.name
    adapted = result.version.meta["encoder"].get("adapted")
    on = "" if adapted is None else (f" on ELMo adapted to these messages (held-out perplexity "
                                     f"{adapted['heldout_perplexity_before']:.1f} → "
                                     f"{adapted['heldout_perplexity_after']:.1f})")
    on += finetune_option.outcome(result.version.meta["encoder"].get("finetuned"))
    # The wait from the click (adapting, encoding, fitting, both versions on the held-out rows).
    waited = time.perf_counter() - started
    st.session_state[KEY_FLASH] = (f"Trained {result.version.name}{on} on {result.n_texts:,} messages in "
                                   f"{waited:.1f} s from the click ({result.seconds['total']:.1f} s of it encoding "
                                   f"and fitting; {result.n_computed:,} newly encoded).")
    st.rerun()


def compare(trained: str) -> None:
    """The new version's held-out metrics beside the active model's, and the button that promotes it."""
    root = models_dir()
    active = registry.active_name(root)
    versions = [v for v in registry.list_models(root) if v.name in (trained, active)]
    st.subheader("New version beside the active one")
    same = st.session_state.get(KEY_SAME_ROWS)
    if same is None or (same.candidate, same.active) == (trained, active):
        compare_panel.same_messages(same)
    else:
        same = None  # measured beside a version that is no longer the active one
    st.markdown("**As each recorded at training**")
    frame = models_frame(versions, active)[_COMPARED]
    st.dataframe(frame, hide_index=True, key="train_compare", column_config=_FORMAT, placeholder="")
    compare_panel.recorded_caption(frame)
    if trained != active:
        compare_panel.warnings(next(v for v in versions if v.name == trained), same)
    admin = access_gate.may(Action.PROMOTE)
    if st.button(f"Promote {trained} to active model", type="primary", disabled=trained == active or not admin,
                 key="train_promote", help=None if admin else "only an admin promotes a version"):
        with shown_errors():
            promote(trained)


def promote(name: str) -> None:
    st.session_state[KEY_FLASH] = controls.promote(name, "promote")
    st.rerun()


def export(store: LabelStore, set_id: int | None) -> None:
    st.subheader("Export labels")
    if not access_gate.may(Action.EXPORT):
        st.caption("Only an analyst or an admin exports labels.")
        return
    stem = "labels" if set_id is None else f"labels-set-{set_id}"
    left, middle, right = st.columns(3)
    for column, fmt, mime in ((left, "csv", "text/csv"), (middle, "jsonl", "application/jsonl")):
        column.download_button(f"Labels ({fmt.upper()})", data=_exporter(store, set_id, fmt),
                               file_name=f"{stem}.{fmt}", mime=mime, on_click="ignore", key=f"train_export_{fmt}")
    right.download_button("Audit trail (CSV)", data=_audit_exporter(store), file_name="audit.csv", mime="text/csv",
                          on_click="ignore", key="train_export_audit",
                          help="who promoted or activated which version, who imported or deleted which set")
    plain_csv.downloads([plain_csv.PlainFile("Labels", f"{stem}-plain.csv", _plain_exporter(store, set_id),
                                             "labels")])


def _plain_exporter(store: LabelStore, set_id: int | None) -> Callable[[], bytes]:
    return lambda: store.export(set_id, "csv", spreadsheet_safe=False)


def _exporter(store: LabelStore, set_id: int | None, fmt: str) -> Callable[[], bytes]:
    return lambda: store.export(set_id, fmt)


def _audit_exporter(store: LabelStore) -> Callable[[], bytes]:
    return lambda: store.export_audit("csv")
