"""Models: every version in the registry, their held-out metrics side by side, the active one and its device."""

from __future__ import annotations

import streamlit as st

from engage import registry
from engage.access import Action
from engage.config import models_dir
from engage.promotion import promotion_warnings
from engage.summary import models_frame, models_metrics_long
from engage.ui import access_gate, audit_panel, charts, controls, state
from engage.ui.errors import run_page, shown_errors

KEY_PREFIX = "models_"
FLASH = "models_flash"
_FORMAT = controls.metric_columns(*controls.METRIC_COLUMNS)


def _active(active: str | None) -> None:
    if active is None:
        st.warning("No active model yet: activate a version below.")
        return
    with shown_errors():
        encoder = state.active_model().classifier.encoder
        left, middle, right = st.columns([2, 1, 2])
        # Not st.metric: it cuts a long version name to "engage-defa..."; markdown wraps it whole.
        left.markdown(f"Active model  \n**`{active}`**")
        middle.metric("Device", encoder.device)
        kind, technical = controls.encoder_name(encoder.kind)
        right.metric("Encoder", f"{kind} (dim {encoder.dim})", help=f"{technical}; {encoder.handle}")
        st.caption(f"Encoder: `{encoder.handle}`")


def _activate(versions: list[registry.ModelVersion], active: str | None) -> None:
    names = [v.name for v in versions]
    pick = st.selectbox("Version", names, index=names.index(active) if active in names else len(names) - 1,
                        key="models_pick")
    if pick != active:  # the few-labels rule (no messages here to compare the two on)
        for said in promotion_warnings(versions[names.index(pick)], None):
            st.warning(f"Before activating: {said}", icon=":material/warning:")
    admin = access_gate.may(Action.PROMOTE)
    if st.button("Activate", disabled=pick == active or not admin, key="models_activate",
                 help=None if admin else "only an admin activates a version"):
        with shown_errors():
            st.session_state[FLASH] = controls.promote(pick)
            st.rerun()
    with st.expander(f"model.json of {pick}"):
        st.json(versions[names.index(pick)].meta, expanded=1)


def _chart(long, active: str | None) -> None:
    """The recorded metrics side by side: by default only the versions measured on the same data as the active
    one (figures on other data are not comparable); the others on request, named as measured on other data."""
    if long.empty:
        st.caption("No version recorded held-out metrics (trained with --val-split 0).")
        return
    other = sorted(set(long.loc[~long["same_data"], "version"]))
    title = "Versions measured on the same data as the active one" if active else None
    if other:
        shown = st.toggle(f"Also show {len(other)} version{'s' if len(other) > 1 else ''} measured on other data",
                          key=f"{KEY_PREFIX}other_data",
                          help="Each version's figures come from its own training data: beside the active "
                               "version's, figures on other data compare the data as much as the models.")
        if shown:
            long = long.assign(version=[v if same else f"{v} (other data: not comparable)"
                                        for v, same in zip(long["version"], long["same_data"], strict=True)])
            title = "Each version on its own data (the table's measured_on column): not comparable across data"
        else:
            long = long[long["same_data"]]
            st.caption(f"Left out of the chart, measured on other data than {active}: {', '.join(other)} "
                       "(the table's measured_on column says on what).")
    st.altair_chart(charts.models_chart(long, title), key=f"{KEY_PREFIX}chart")


def page() -> None:
    st.header("Models")
    if FLASH in st.session_state:
        st.success(st.session_state.pop(FLASH))
    root = models_dir()
    versions = registry.list_models(root)
    if not versions:
        st.warning(f"No model versions in {root} yet. Train one with "
                   "`engage train FILE --label-col COLUMN --activate`.")
        return
    active = registry.active_name(root)
    _active(active)
    st.dataframe(models_frame(versions, active), hide_index=True, key="models_table", column_config=_FORMAT,
                 placeholder="")
    _chart(models_metrics_long(versions, active), active)
    st.subheader("Activate a version")
    _activate(versions, active)
    audit_panel.audit_table(state.label_store())


run_page(page)
