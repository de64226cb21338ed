"""The service's settings: built-in defaults, overridden by engage.toml's [serve] table, overridden by CLI flags."""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, fields

from engage.config import config_file, file_settings
from engage.errors import InputError


@dataclass(frozen=True)
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    model: str | None = None            # a version name pins it; None follows the active version (hot reload)
    max_batch_size: int = 64            # messages scored in one encoder batch at most
    max_wait_ms: float = 5.0            # how long the first request of a batch waits for others to join it
    max_body_bytes: int = 1_000_000     # 413 above this
    max_messages: int = 256             # 422 above this many messages in one request
    max_chars: int = 5_000              # 422 for a message longer than this
    rate_per_key: float = 50.0          # requests per second per key (token bucket) ...
    burst_per_key: int = 100            # ... with this many at once; 429 beyond
    request_timeout_s: float = 10.0     # 503 for a request not answered within this
    retry_after_s: int = 1              # what a 503 tells the client to wait
    reload_poll_s: float = 2.0          # how often the active version is checked (0: never; POST reload still works)
    key_cache_s: float = 5.0            # a key's lookup is reused this long (a revocation takes effect within it)
    history_queue: int = 1_000          # scored requests waiting for the scoring history; beyond, counted as lost

    def with_values(self, **values) -> ServeSettings:
        given = {k: v for k, v in values.items() if v is not None}
        return dataclasses.replace(self, **given)


def load_settings(**overrides) -> ServeSettings:
    """Defaults, then engage.toml [serve], then `overrides` (None values ignored). Unknown keys or wrong types in the
    file are an InputError naming the key."""
    table = file_settings().get("serve", {})
    if not isinstance(table, dict):
        raise InputError("[serve] must be a table", file=str(config_file()))
    known = {f.name: f for f in fields(ServeSettings)}
    values = {}
    for key, value in table.items():
        if key not in known:
            raise InputError(f"[serve] has an unknown setting {key!r}; known: {', '.join(sorted(known))}",
                             file=str(config_file()))
        values[key] = _checked(key, value, ServeSettings.__dataclass_fields__[key].default)
    settings = ServeSettings().with_values(**values).with_values(**overrides)
    for key in ("max_batch_size", "max_body_bytes", "max_messages", "max_chars", "burst_per_key", "history_queue"):
        if getattr(settings, key) < 1:
            raise InputError(f"serve setting {key} must be at least 1, got {getattr(settings, key)}")
    for key in ("max_wait_ms", "rate_per_key", "request_timeout_s", "reload_poll_s", "key_cache_s"):
        if getattr(settings, key) < 0:
            raise InputError(f"serve setting {key} must not be negative, got {getattr(settings, key)}")
    return settings


def _checked(key: str, value, default):
    wanted = (int, float) if isinstance(default, float) else type(default) if default is not None else str
    if isinstance(value, bool) or not isinstance(value, wanted):
        kind = {int: "an integer", str: "a string"}.get(wanted, "a number")
        raise InputError(f"[serve] {key} must be {kind}, got {value!r}",
                         file=str(config_file()))
    return value


def is_loopback(host: str) -> bool:
    """Whether listening on `host` reaches this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
