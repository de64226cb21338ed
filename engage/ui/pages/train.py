"""Train: a new model version from the stored labels (and an optional labeled file) on the active model's encoder
and head config; its held-out metrics beside the active model's; promote it in one click; export the labels."""

from __future__ import annotations

import streamlit as st

from engage.ui import controls, finetune_option, learning_curve_panel, state, train_panel
from engage.ui.errors import run_page, shown_errors


def page() -> None:
    st.header("Train a new model version")
    if (flash := st.session_state.pop(train_panel.KEY_FLASH, None)) is not None:
        st.success(flash, icon=":material/check:")
    loaded = controls.require_model()
    if loaded is None:
        return
    controls.model_caption(loaded)
    store = state.label_store()
    set_id = train_panel.pick_source(store)
    with shown_errors():
        data = train_panel.training_data(store, set_id, train_panel.extra_file(),
                                          train_panel.bulk_choice(store, set_id))
        if data is not None:
            train_panel.data_summary(data)
            left, right = st.columns(2)
            name = train_panel.version_name(left)
            validation = train_panel.validation_choice(right, loaded)
            adapt_s = train_panel.adapt_option()
            finetune_s = finetune_option.option(loaded.classifier)
            ready = train_panel.enough_labels(data.messages.labels, validation)
            if train_panel.train_button(ready):
                train_panel.train(data.messages, loaded, name, validation, adapt_s, finetune_s)
            learning_curve_panel.section(data.messages, loaded)
    if (trained := st.session_state.get(train_panel.KEY_TRAINED)) is not None:
        with shown_errors():
            train_panel.compare(trained)
    train_panel.export(store, set_id)


run_page(page)
