"""The monitor's figures for a period, source and model version: what `engage monitor report`, `engage monitor
check` and the Monitor page show. Everything is computed from the stored history (no model is loaded)."""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from engage import registry, thresholds
from engage.errors import InputError
from engage.monitor import alerts as alert_rules
from engage.monitor.drift import PSI_EPSILON, TEXT_SAMPLE, ks, psi, text_drift, text_drift_by_group
from engage.monitor.history import History, read_history
from engage.monitor.performance import Calibration, calibration, estimate
from engage.monitor.reference import Reference, load_reference
from engage.monitor.settings import MonitorSettings, monitor_settings
from engage.monitor.summary import SCORE_EDGES

PSI_BINS = 10            # the 20 stored bins, paired: the usual 10 bins of the index, fewer empty bins on small days
TEXT_ALERT_DAYS = 3      # text drift alerts: the period's last days only (every source's sampled texts)
DEFAULT_DAYS = 30


def _pairs(hist) -> np.ndarray:
    h = np.asarray(hist, dtype=float)
    return h.reshape(PSI_BINS, -1).sum(axis=1)


def period_psi(reference_hist, current_hist) -> float:
    return psi(_pairs(reference_hist), _pairs(current_hist))


def parse_day(value: str | None, what: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{what} must be a date like 2026-03-14, got {value!r}") from None


def _number(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def reference_of(model: str, root=None) -> tuple[Reference | None, str | None]:
    try:
        version = registry.read_model(model, root)
    except InputError as exc:
        return None, f"no reference: {exc}"
    ref = load_reference(version)
    return ref, None if ref is not None else (f"model '{model}' has no reference (trained before references were "
                                               f"saved): compute it with `engage monitor reference {model} DATA`")


def _reference_f1(ref: Reference) -> float:
    flagged = thresholds.flagged(ref.scores, ref.threshold)
    tp = int((flagged & (ref.labels == 1)).sum())
    fp, fn = int((flagged & (ref.labels == 0)).sum()), int((~flagged & (ref.labels == 1)).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def monitor_report(*, url: str | None = None, since: date | None = None, until: date | None = None,
                   source: str | None = None, model: str | None = None, settings: MonitorSettings | None = None,
                   root=None, split_by: str | None = None, today: date | None = None) -> dict:
    """Every figure of the period [since, until] (default: the last 30 days up to the last recorded day)."""
    settings = settings or monitor_settings()
    every = read_history(url, since=None if since is None else since - timedelta(days=settings.volume_days),
                         until=until, source=source, model=model, samples=False)
    frame = every.days
    if frame.empty:
        return {"empty": True, "message": "nothing recorded yet for this choice: score some messages first",
                "since": since and since.isoformat(), "until": until and until.isoformat(), "alerts": []}
    if model is None:  # the version that scored most in the period
        model = str(frame.groupby("model")["n"].sum().idxmax())
        frame = frame[frame["model"] == model]
    until = until or frame["day"].max().date()
    since = since or max(frame["day"].min().date(), until - timedelta(days=DEFAULT_DAYS - 1))
    in_period = frame[(frame["day"] >= pd.Timestamp(since)) & (frame["day"] <= pd.Timestamp(until))]
    ref, ref_note = reference_of(model, root)
    cal = calibration(ref.scores, ref.labels) if ref is not None else None
    daily = _daily(in_period, ref, cal)
    total_hist = np.sum([np.asarray(h) for h in in_period["score_hist"]], axis=0) if len(in_period) else None
    period_n = int(in_period["n"].sum())
    filled = int(in_period["n"].sum() - in_period["empty"].sum())
    q = min(1.0, 1.5 * TEXT_SAMPLE / max(filled, 1))  # about 1,500 sampled texts of the period, uniform
    sampled = read_history(url, since=since, until=until, source=source, model=model, max_priority=q).samples
    report = {
        "empty": False, "since": since.isoformat(), "until": until.isoformat(), "source": source or "(all)",
        "model": model, "sources": sorted(in_period["source"].unique().tolist()),
        "totals": {"messages": period_n, "flagged": int(in_period["flagged"].sum()),
                   "empty": int(in_period["empty"].sum()), "non_english": int(in_period["non_english"].sum()),
                   "flagged_share": _number(in_period["flagged"].sum() / period_n) if period_n else None},
        "daily": daily, "reference_note": ref_note,
        "score_hist": None if total_hist is None else total_hist.tolist(),
        "length_hist": np.sum([np.asarray(h) for h in in_period["length_hist"]], axis=0).tolist()
        if len(in_period) else None,
        "split_columns": sorted({c for s in in_period["splits"] for c in (s or {})}),
    }
    if split_by:
        report["split"] = volume_by(in_period, split_by)
    if ref is not None:
        report["reference"] = {"flagged_share": ref.flagged_share, "f1": _reference_f1(ref),
                               "score_hist": ref.score_hist.tolist(), "length_hist": ref.length_hist.tolist(),
                               "threshold": ref.threshold, "n": len(ref.scores), "texts": len(ref.texts)}
        cur = sampled["score"].to_numpy(dtype=float)
        k = ks(ref.scores, cur)
        drift = text_drift(ref.texts, sampled["text"].tolist())
        report["score_drift"] = {"psi": _number(period_psi(ref.score_hist, total_hist)), "ks_statistic":
                                 _number(k.statistic), "ks_pvalue": _number(k.pvalue), "ks_n": len(cur)}
        report["text_drift"] = None if drift is None else {
            "auc": drift.auc, "n_reference": drift.n_reference, "n_current": drift.n_current,
            "reference_words": drift.reference_words, "current_words": drift.current_words}
        est = estimate(total_hist, int(in_period["flagged"].sum()), ref.threshold, cal)
        report["calibration"] = {"ece_raw": cal.ece_raw, "ece_used": cal.ece_used, "recalibrated": cal.recalibrated,
                                 "curve": cal.curve}
        report["estimated"] = {k: _number(v) for k, v in asdict(est).items()}
    report["alerts"] = [asdict(a) for a in period_alerts(url, frame, since, until, model, ref, cal, settings)]
    return report


def _hists(frame: pd.DataFrame) -> np.ndarray:
    return np.array(frame["score_hist"].tolist(), dtype=float).reshape(len(frame), len(SCORE_EDGES) - 1)


def psi_rows(reference_hist, hists: np.ndarray) -> np.ndarray:
    """period_psi of each row of `hists` (N x 20), at once (the same arithmetic as engage.monitor.drift.psi)."""
    ref = _pairs(reference_hist)
    p = np.clip(ref / ref.sum(), PSI_EPSILON, None)
    p = p / p.sum()
    cur = hists.reshape(len(hists), PSI_BINS, -1).sum(axis=2)
    total = cur.sum(axis=1, keepdims=True)
    q = np.clip(cur / np.where(total > 0, total, 1), PSI_EPSILON, None)
    q = q / q.sum(axis=1, keepdims=True)
    out = ((q - p) * np.log(q / p)).sum(axis=1)
    out[total[:, 0] == 0] = np.nan
    return out


def estimate_rows(hists: np.ndarray, flagged: np.ndarray, threshold: float, cal: Calibration) -> np.ndarray:
    """Estimated precision, recall, F1 of each row (N x 3), at once (engage.monitor.performance.estimate's rule)."""
    lo, hi = SCORE_EDGES[:-1], SCORE_EDGES[1:]
    above = lo >= threshold
    straddle = np.flatnonzero((lo < threshold) & (hi > threshold))
    inside = np.where(above, hists, 0.0)
    if len(straddle):
        b = int(straddle[0])
        inside[:, b] = np.clip(flagged - hists[:, above].sum(axis=1), 0, hists[:, b])
    tp = inside @ cal.bin_probability
    fn = (hists - inside) @ cal.bin_probability
    fp = inside.sum(axis=1) - tp
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.stack([tp / (tp + fp), tp / (tp + fn), 2 * tp / (2 * tp + fp + fn)], axis=1)


def _daily(frame: pd.DataFrame, ref: Reference | None, cal: Calibration | None) -> list[dict]:
    if frame.empty:
        return []
    codes, days = pd.factorize(frame["day"], sort=True)
    sums = {c: np.bincount(codes, weights=frame[c].to_numpy(dtype=float), minlength=len(days)).astype(int)
            for c in ("n", "flagged", "empty", "non_english")}
    hists = np.zeros((len(days), len(SCORE_EDGES) - 1))
    np.add.at(hists, codes, _hists(frame))
    psis = psi_rows(ref.score_hist, hists) if ref is not None else None
    est = estimate_rows(hists, sums["flagged"], ref.threshold, cal) if ref is not None else None
    out = []
    for i, day in enumerate(days):
        n, flagged = int(sums["n"][i]), int(sums["flagged"][i])
        row = {"day": day.date().isoformat(), "messages": n, "flagged": flagged,
               "flagged_share": flagged / n if n else None, "empty": int(sums["empty"][i]),
               "non_english": int(sums["non_english"][i])}
        if ref is not None and hists[i].sum():
            row |= {"psi": _number(psis[i]), "estimated_precision": _number(est[i, 0]),
                    "estimated_recall": _number(est[i, 1]), "estimated_f1": _number(est[i, 2])}
        out.append(row)
    return out


def volume_by(frame: pd.DataFrame, column: str) -> list[dict]:
    """Messages and flagged per day and value of a split column."""
    rows = [{"day": day.date().isoformat(), "value": value, "messages": n, "flagged": flagged}
            for day, splits in zip(frame["day"], frame["splits"], strict=True)
            for value, (n, flagged) in (splits or {}).get(column, {}).items()]
    if not rows:
        return []
    grouped = pd.DataFrame(rows).groupby(["day", "value"], as_index=False)[["messages", "flagged"]].sum()
    return grouped.to_dict("records")


def period_alerts(url, frame: pd.DataFrame, since: date, until: date, model: str, ref: Reference | None,
                  cal: Calibration | None, settings: MonitorSettings) -> list[alert_rules.Alert]:
    """Every rule on every source's days in the period (volume also looks at the days before it)."""
    out: list[alert_rules.Alert] = []
    ref_f1 = _reference_f1(ref) if ref is not None else float("nan")
    lo, hi = pd.Timestamp(since), pd.Timestamp(until)
    text_from = hi - pd.Timedelta(days=TEXT_ALERT_DAYS - 1)
    day_auc = _recent_text_drift(url, frame, max(since, text_from.date()), until, model, ref, settings)
    for source, series in frame.groupby("source", sort=True):
        series = series.sort_values("day")
        days = [d.date().isoformat() for d in series["day"]]
        volume = alert_rules.volume_alerts(days, series["n"].astype(int).tolist(), source, model,
                                           settings.volume_factor, settings.volume_days)
        out += [a for a in volume if since.isoformat() <= a.day <= until.isoformat()]
        if ref is None:
            continue
        current = series[(series["day"] >= lo) & (series["day"] <= hi) & (series["n"] >= settings.min_messages)]
        hists = _hists(current)
        psis = psi_rows(ref.score_hist, hists)
        f1s = estimate_rows(hists, current["flagged"].to_numpy(dtype=float), ref.threshold, cal)[:, 2]
        for i, row in enumerate(current.itertuples()):
            out += _day_alerts(row, source, model, ref, ref_f1, settings, day_auc, psis[i], f1s[i])
    return sorted(out, key=lambda a: (a.day, a.source, a.rule))


def _recent_text_drift(url, frame: pd.DataFrame, since: date, until: date, model: str, ref: Reference | None,
                       settings: MonitorSettings) -> dict:
    """(source, day) -> (AUC, words typical of that day) for the period's last days with enough messages: one
    classifier for all of them (engage.monitor.drift.text_drift_by_group)."""
    if ref is None or since > until:
        return {}
    big = frame[(frame["day"] >= pd.Timestamp(since)) & (frame["day"] <= pd.Timestamp(until))
                & (frame["n"] >= settings.min_messages)]
    if big.empty:
        return {}
    sampled = read_history(url, since=since, until=until, model=model).samples
    wanted = {(r.source, r.day) for r in big.itertuples()}
    groups = {(s, d.date().isoformat()): g["text"].tolist() for (s, d), g in sampled.groupby(["source", "day"])
              if (s, d) in wanted}
    drift = text_drift_by_group(ref.texts, groups)
    return {} if drift is None else drift.auc


def _day_alerts(row, source: str, model: str, ref: Reference, ref_f1: float, settings: MonitorSettings,
                day_auc: dict, value: float, f1: float) -> list[alert_rules.Alert]:
    """The rules on one source's day (value: its PSI, f1: its estimated F1, computed for all days at once)."""
    n, flagged, day = int(row.n), int(row.flagged), row.day.date().isoformat()
    if n < settings.min_messages:
        return []
    out = []
    if value > settings.psi_alert:
        out.append(alert_rules.Alert("score_drift", day, source, model, float(value), settings.psi_alert,
                                     f"the scores moved away from the reference (PSI {value:.2f})"))
    share, p = flagged / n, ref.flagged_share
    band = max(settings.flagged_band, 3 * math.sqrt(max(p * (1 - p), 1e-9) / n))
    if abs(share - p) > band:
        out.append(alert_rules.Alert("flagged_share", day, source, model, share, band,
                                     f"{share:.0%} flagged, outside the reference's {p:.0%} ± {band:.0%}"))
    if not math.isnan(f1) and ref_f1 - f1 > settings.f1_drop_alert:
        out.append(alert_rules.Alert("f1_drop", day, source, model, float(f1), ref_f1 - settings.f1_drop_alert,
                                     f"estimated F1 {f1:.2f}, below the reference's {ref_f1:.2f}"))
    auc = day_auc.get((source, day))
    if auc is not None and auc > settings.text_auc_alert:
        out.append(alert_rules.Alert("text_drift", day, source, model, auc, settings.text_auc_alert,
                                     f"the messages differ from the training texts (AUC {auc:.2f}; the Monitor "
                                     "page shows the words that changed)"))
    return out


def check(*, url: str | None = None, since: date | None = None, until: date | None = None,
          source: str | None = None, settings: MonitorSettings | None = None, root=None) -> tuple[list, list[str]]:
    """The open alerts (on the last 3 recorded days unless a period is given) and problems sending new ones to the
    webhook. Every model version recorded in the period is checked."""
    settings = settings or monitor_settings()
    found = read_history(url, since=since, until=until, source=source, samples=False).days
    if found.empty:
        return [], []
    last = found["day"].max().date()
    until = until or last
    since = since or until - timedelta(days=2)
    open_alerts: list[dict] = []
    for model in sorted(found["model"].unique()):
        report = monitor_report(url=url, since=since, until=until, source=source, model=model, settings=settings,
                                root=root)
        open_alerts += report["alerts"]
    return open_alerts, publish(open_alerts, url=url, settings=settings)


def publish(alerts: list[dict], *, url: str | None = None, settings: MonitorSettings | None = None) -> list[str]:
    """Stores the alerts (the banner of every page shows them) and sends the new ones to the webhook; returns the
    webhook's problems."""
    settings = settings or monitor_settings()
    fresh = alert_rules.new_alerts([alert_rules.Alert(**a) for a in alerts], url)
    return alert_rules.send_webhook(settings.webhook_url, fresh) if fresh and settings.webhook_url else []


def now_day() -> date:
    return datetime.now(UTC).date()


__all__ = ["History", "check", "monitor_report", "parse_day", "volume_by"]
