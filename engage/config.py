"""Where things live and which ELMo to use. Each setting comes from, in order: its environment variable, the
config file (ENGAGE_CONFIG, else engage.toml at the project root), the built-in default.

engage.toml keys: elmo_handle, models_dir, cache_dir, the [access] table of the app's roles (engage/access.py), the
[serve] table of the HTTP service's limits (engage/serve/settings.py) and the [monitor] table of the scoring history
and its alerts (engage/monitor/settings.py).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from engage.errors import InputError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HUB_HANDLE = "https://tfhub.dev/google/elmo/3"
_KEYS = {"elmo_handle", "models_dir", "cache_dir", "access", "serve", "monitor"}


def config_file() -> Path:
    return Path(os.environ.get("ENGAGE_CONFIG", PROJECT_ROOT / "engage.toml"))


def file_settings() -> dict:
    path = config_file()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"not a valid TOML file ({exc})", file=str(path)) from None
    unknown = set(data) - _KEYS
    if unknown:
        raise InputError(f"unknown settings {', '.join(sorted(unknown))}; known: {', '.join(sorted(_KEYS))}",
                         file=str(path))
    return data


def _setting(env: str, key: str, default: str | Path) -> str:
    return os.environ.get(env) or str(file_settings().get(key, default))


def models_dir() -> Path:
    return Path(_setting("ENGAGE_MODELS_DIR", "models_dir", PROJECT_ROOT / "models"))


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "engage"
    return Path(_setting("ENGAGE_CACHE_DIR", "cache_dir", default))


def log_path() -> Path:
    """The one log of internal errors, written by the command line and the app alike (never shown to a user)."""
    return cache_dir() / "engage.log"


def default_encoder_handle() -> str:
    return _setting("ENGAGE_ELMO_HANDLE", "elmo_handle", DEFAULT_HUB_HANDLE)
