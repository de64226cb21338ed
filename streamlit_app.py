"""Routing only: every page lives in engage/ui/pages."""

import streamlit as st

st.set_page_config(page_title="engage", layout="wide")
st.title("engage")
st.write("The web app arrives with the web-app issue.")
