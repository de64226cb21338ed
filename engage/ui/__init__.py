"""The Streamlit web app: the only part of engage that imports Streamlit. Pages lay out; the engine computes."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is imported anywhere
