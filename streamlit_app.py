"""Routing only: every page lives in engage/ui/pages."""

import streamlit as st

st.set_page_config(page_title="engage", page_icon=":material/forum:", layout="wide")
st.navigation([
    st.Page("engage/ui/pages/score.py", title="Score", icon=":material/upload_file:", default=True),
    st.Page("engage/ui/pages/evaluate.py", title="Evaluate", icon=":material/analytics:"),
    st.Page("engage/ui/pages/models.py", title="Models", icon=":material/model_training:"),
    st.Page("engage/ui/pages/label.py", title="Label", icon=":material/label:"),
    st.Page("engage/ui/pages/train.py", title="Train", icon=":material/school:"),
]).run()
