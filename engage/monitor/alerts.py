"""Alert rules over one source's daily series (thresholds from `[monitor]`), and the webhook that receives each
new alert once.

Rules, per source and day with at least min_messages messages (volume: any day):
- volume: more than volume_factor x the median of the previous volume_days days that have messages (7 at least);
- score_drift: PSI of the day's scores against the reference above psi_alert;
- text_drift: the day's sampled texts told from the reference's with ROC-AUC above text_auc_alert;
- flagged_share: the share flagged further from the reference's than flagged_band (or 3 binomial sd, if wider);
- f1_drop: the estimated F1 more than f1_drop_alert below the reference's validation F1.
"""

from __future__ import annotations

import json
import logging
import urllib.request
from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
from sqlalchemy import func, select

from engage.labels.db import snapshot, upsert_insert, utcnow, writing
from engage.labels.schema import history_alerts, history_days
from engage.monitor.history import history_engine

RULES = ("volume", "score_drift", "text_drift", "flagged_share", "f1_drop")
MIN_VOLUME_DAYS = 7
WEBHOOK_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Alert:
    rule: str
    day: str          # YYYY-MM-DD
    source: str
    model: str
    value: float
    threshold: float
    message: str

    @property
    def key(self) -> str:
        return f"{self.rule}|{self.day}|{self.source}|{self.model}"[:300]


def volume_alerts(days: list[str], counts: list[int], source: str, model: str, factor: float,
                  window: int) -> list[Alert]:
    out = []
    for i, (day, n) in enumerate(zip(days, counts, strict=True)):
        previous = counts[max(0, i - window):i]
        if len(previous) < MIN_VOLUME_DAYS:
            continue
        median = float(np.median(previous))
        if median > 0 and n > factor * median:
            out.append(Alert("volume", day, source, model, n / median, factor,
                             f"{n:,} messages, {n / median:.1f}x the median of the previous {len(previous)} days "
                             f"({median:,.0f})"))
    return out


def new_alerts(alerts: list[Alert], url: str | None = None) -> list[Alert]:
    """Stores the alerts; returns those never seen before (each is new exactly once, across processes)."""
    if not alerts:
        return []
    engine = history_engine(url)
    fresh = []
    with writing(engine) as conn:
        known = set(conn.execute(select(history_alerts.c.key).where(
            history_alerts.c.key.in_([a.key for a in alerts]))).scalars())
        for alert in alerts:
            if alert.key in known:
                continue
            insert = upsert_insert(conn)(history_alerts).values(key=alert.key, first_seen=utcnow(),
                                                                alert=asdict(alert))
            if conn.execute(insert.on_conflict_do_nothing().returning(history_alerts.c.key)).first() is not None:
                fresh.append(alert)
                known.add(alert.key)
    return fresh


def send_webhook(webhook_url: str, alerts: list[Alert]) -> list[str]:
    """POSTs each alert as JSON ({"alert": {...}}); returns the problems (never raises: an alert is still shown)."""
    problems = []
    if not webhook_url.lower().startswith(("http://", "https://")):
        return [f"[monitor] webhook_url must be an http(s) URL, got {webhook_url!r}"]
    for alert in alerts:
        body = json.dumps({"alert": asdict(alert), "text": f"engage: {alert.rule} on {alert.day} ({alert.source}, "
                                                           f"{alert.model}): {alert.message}"}).encode("utf-8")
        request = urllib.request.Request(webhook_url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
                response.read()
        except (OSError, ValueError) as exc:
            logging.getLogger("engage.monitor").warning("webhook %s failed: %s", webhook_url, exc)
            problems.append(f"the webhook did not take alert {alert.key}: {exc}")
    return problems


def open_alerts(url: str | None = None, days: int = 3) -> list[dict]:
    """Alerts already raised (by a report, a check or the Monitor page) on the last `days` recorded days."""
    engine = history_engine(url)
    with snapshot(engine) as conn:
        last = conn.execute(select(func.max(history_days.c.day))).scalar()
        if last is None:
            return []
        rows = conn.execute(select(history_alerts.c.alert)).scalars().all()
    first = last.toordinal() - days + 1
    return sorted((a for a in rows if _ordinal(a["day"]) >= first), key=lambda a: (a["day"], a["rule"]))


def _ordinal(day: str) -> int:
    return date.fromisoformat(day).toordinal()
