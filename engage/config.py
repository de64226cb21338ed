"""Where things live. Every path can be moved with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HUB_HANDLE = "https://tfhub.dev/google/elmo/3"


def models_dir() -> Path:
    return Path(os.environ.get("ENGAGE_MODELS_DIR", PROJECT_ROOT / "models"))


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "engage"
    return Path(os.environ.get("ENGAGE_CACHE_DIR", default))


def default_encoder_handle() -> str:
    return os.environ.get("ENGAGE_ELMO_HANDLE", DEFAULT_HUB_HANDLE)
