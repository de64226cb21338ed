"""The `[monitor]` table of engage.toml: whether scoring is recorded, how long sampled texts are kept, and the
thresholds of the alerts. ENGAGE_MONITOR_RECORD=0 turns recording off whatever the file says."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from engage.config import config_file, file_settings
from engage.errors import InputError


@dataclass(frozen=True)
class MonitorSettings:
    record: bool = True              # write every scored batch into the scoring history
    keep_texts_days: int = 90        # sampled texts older than this many days (by message day) are deleted; 0: never
    sample_size: int = 200           # texts kept per source, day and model version (a uniform random sample)
    min_messages: int = 50           # a day with fewer messages gets no drift or performance alert
    psi_alert: float = 0.25          # population stability index of the scores against the reference
    text_auc_alert: float = 0.75     # ROC-AUC of a classifier telling the period's texts from the reference's
    flagged_band: float = 0.10       # flagged share further than this from the reference's (or 3 binomial sd)
    f1_drop_alert: float = 0.10      # estimated F1 this far below the reference's cross-validated F1
    volume_factor: float = 3.0       # a day with more than this times the median of the previous days
    volume_days: int = 28            # how many previous days that median looks at (needs 7 at least)
    webhook_url: str = ""            # each new alert is POSTed there as JSON


def _checked(table: dict, where: str) -> dict:
    known = {f.name: f for f in fields(MonitorSettings)}
    unknown = set(table) - set(known)
    if unknown:
        raise InputError(f"unknown [monitor] settings {', '.join(sorted(unknown))}; known: {', '.join(known)}",
                         file=where)
    out = {}
    for key, value in table.items():
        kind = type(getattr(MonitorSettings, key))
        ok = isinstance(value, kind) or (kind is float and isinstance(value, int) and not isinstance(value, bool))
        if not ok or (kind is int and isinstance(value, bool)):
            raise InputError(f"[monitor] {key} must be a {kind.__name__}, got {value!r}", file=where)
        if kind in (int, float) and value < 0:
            raise InputError(f"[monitor] {key} must not be negative, got {value!r}", file=where)
        out[key] = kind(value)
    if out.get("sample_size", 1) < 1:
        raise InputError("[monitor] sample_size must be at least 1", file=where)
    return out


def monitor_settings() -> MonitorSettings:
    table = file_settings().get("monitor", {})
    if not isinstance(table, dict):
        raise InputError("monitor must be a table: [monitor]", file=str(config_file()))
    settings = MonitorSettings(**_checked(table, str(config_file())))
    env = os.environ.get("ENGAGE_MONITOR_RECORD")
    if env is not None and env.strip() != "":
        settings = MonitorSettings(**{**settings.__dict__, "record": env.strip().lower() not in ("0", "false", "no",
                                                                                                  "off")})
    return settings
