"""Streamlit's script runner clears Keras's global session after every run when Keras is loaded (its
`_clean_problem_modules`): `keras.backend.clear_session()` forces a full `gc.collect()` over TensorFlow's hundreds of
thousands of objects (0.25 s in a bare app process, more with models and files loaded) after every rerun, so after
every key press on the Label page, and resets Keras's global state and TensorFlow's kernel cache while other sessions'
threads may be using them. engage builds no Keras model that needs a fresh session per run (classifiers are cached
resources; training names its layers), and .streamlit/config.toml already turns off Streamlit's own forced collection
after a run (`runner.postScriptGC`) for the same cost. So the clean-up keeps only its other part, closing matplotlib's
figures; Python's generational collection still runs. Streamlit is pinned (requirements.txt); tests/
test_pages_stubbed.py fails if a new version calls clear_session again."""

from __future__ import annotations

import sys

from streamlit.runtime.scriptrunner import script_runner


def _close_matplotlib_figures() -> None:
    if (plt := sys.modules.get("matplotlib.pyplot")) is not None:
        plt.close("all")


def keep_keras_session() -> None:
    """Replaces the runner's clean-up (idempotent; the runner looks the function up at the end of each run)."""
    script_runner._clean_problem_modules = _close_matplotlib_figures
