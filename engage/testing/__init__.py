"""What the tests and the benchmarks share, as streamlit.testing is Streamlit's: a small ELMo-shaped TensorFlow
model (hub_fixtures), a trained app world (app_world), the app served on a free local port and headless Chromium
(browser), and labeling in that browser (label_world).

Nothing in the product imports this package (tests/test_structure.py checks it); bench/ imports it instead of
tests/, so a benchmark runs as `.venv/bin/python bench/NAME.py` without touching sys.path. The browser helpers
serve streamlit_app.py from the project folder, so they need a checkout (an editable install), not a wheel."""
