"""Routing only: every page lives in engage/ui/pages; engage/ui/access_gate.py decides which of them this session
may open (open mode, sign-in, roles)."""

import sys

import streamlit as st

st.set_page_config(page_title="engage", page_icon=":material/forum:", layout="wide")
# The first visit after a start imports TensorFlow (seconds): say so at once instead of a blank page.
starting = st.empty()
if sys.modules.get("engage.ui.state") is None:
    starting.caption(":material/hourglass_top: Starting engage: loading TensorFlow and the model code, a few "
                     "seconds on the first visit after a start…")
from engage.ui import access_gate, keras_session, monitor_panel, state  # noqa: E402, F401  (TensorFlow)

keras_session.keep_keras_session()  # no forced full garbage collection after every run (engage/ui/keras_session.py)

starting.empty()
page = st.navigation(access_gate.allowed_pages([
    st.Page("engage/ui/pages/score.py", title="Score", icon=":material/upload_file:"),
    st.Page("engage/ui/pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
    st.Page("engage/ui/pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("engage/ui/pages/label.py", title="Label", icon=":material/label:"),
    st.Page("engage/ui/pages/train.py", title="Train", icon=":material/school:"),
    st.Page("engage/ui/pages/monitor.py", title="Monitor", icon=":material/monitoring:"),
]))
monitor_panel.alert_banner()  # open alerts, for analysts and admins, above every page
page.run()
