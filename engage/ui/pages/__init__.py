"""One file per page; streamlit_app.py routes to them with st.navigation."""
