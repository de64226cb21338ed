"""Monitor: what was scored over time, drift against the model version's reference, estimated and measured
performance, spot checks, alerts. Every figure comes from engage.monitor.report (the CLI prints the same)."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from engage.access import Action
from engage.monitor.history import read_history, sources_and_models
from engage.monitor.report import monitor_report, publish
from engage.monitor.settings import monitor_settings
from engage.monitor.spotcheck import draw_spot_check, spot_check_results
from engage.ui import access_gate, monitor_charts, state
from engage.ui.errors import run_page, shown_errors
from engage.ui.text import plain

ALL = "(all sources)"
SAMPLE_ROWS = 50


def _choices() -> tuple | None:
    sources, models = sources_and_models()
    if not models:
        st.info("Nothing recorded yet: score a file on the Score page or with `engage score`, and it appears here.")
        return None
    days = read_history(samples=False).days["day"]
    first, last = days.min().date(), days.max().date()
    left, middle, right = st.columns([2, 1, 1])
    period = left.date_input("Period", (max(first, last - timedelta(days=29)), last), min_value=first,
                             max_value=last, key="monitor_period")
    source = middle.selectbox("Source", [ALL, *sources], key="monitor_source")
    model = right.selectbox("Model version", models, index=len(models) - 1, key="monitor_model")
    if not isinstance(period, tuple) or len(period) != 2:
        st.info("Choose the last day of the period too.")
        return None
    return period[0], period[1], None if source == ALL else source, model


def _headline(report: dict) -> None:
    totals = report["totals"]
    cols = st.columns(5)
    cols[0].metric("Messages", f"{totals['messages']:,}")
    cols[1].metric("Flagged", f"{totals['flagged_share']:.1%}" if totals["flagged_share"] is not None else "–",
                   help="share of messages the model flagged as needing an answer")
    if "reference" in report:
        est, sd, td = report["estimated"], report["score_drift"], report["text_drift"]
        cols[2].metric("Estimated F1", f"{est['f1']:.2f}" if est["f1"] is not None else "–",
                       delta=f"{est['f1'] - report['reference']['f1']:+.2f} vs reference" if est["f1"] else None,
                       help="estimated from the scores, without labels (confidence-based performance estimation)")
        cols[3].metric("Score drift (PSI)", f"{sd['psi']:.3f}" if sd["psi"] is not None else "–",
                       help="population stability index: under 0.1 stable, above 0.25 a large shift")
        cols[4].metric("Text drift (AUC)", f"{td['auc']:.2f}" if td else "–",
                       help="0.5: this period's messages look like the training texts; near 1: they differ")
    if report.get("reference_note"):
        st.info(report["reference_note"])


def _alerts(report: dict) -> None:
    problems = publish(report["alerts"])
    for alert in report["alerts"]:
        st.warning(f"**{alert['rule'].replace('_', ' ')}** on {alert['day']} ({plain(alert['source'])}): "
                   f"{plain(alert['message'])}", icon=":material/warning:")
    for problem in problems:
        st.caption(plain(problem))


def _volume(report: dict) -> None:
    st.subheader("Volume and share flagged per day")
    daily = pd.DataFrame(report["daily"])
    daily["day"] = pd.to_datetime(daily["day"])
    columns = ["(none)", *report["split_columns"]]
    split_by = st.selectbox("Split by", columns, key="monitor_split")
    split = None
    if split_by != "(none)":
        split = pd.DataFrame(report.get("split") or [])
        if len(split):
            split["day"] = pd.to_datetime(split["day"])
    left, right = st.columns(2)
    left.altair_chart(monitor_charts.volume_chart(daily, split, split_by), width="stretch")
    ref_share = report.get("reference", {}).get("flagged_share")
    right.altair_chart(monitor_charts.share_chart(daily, ref_share), width="stretch")
    st.caption(f"Empty messages: {report['totals']['empty']:,}; looking non-English: "
               f"{report['totals']['non_english']:,} (their scores are less reliable). The dashed line is the "
               "reference's share flagged.")


def _drift(report: dict) -> None:
    if "reference" not in report:
        return
    st.subheader("Scores against the reference")
    sd = report["score_drift"]
    st.altair_chart(monitor_charts.score_distribution_chart(report["score_hist"], report["reference"]["score_hist"]),
                    width="stretch")
    if sd["ks_statistic"] is not None:
        st.caption(f"PSI {sd['psi']:.3f}; Kolmogorov-Smirnov {sd['ks_statistic']:.3f} (p = {sd['ks_pvalue']:.3g}, "
                   f"{sd['ks_n']:,} sampled scores against {report['reference']['n']:,} validation scores).")
    st.subheader("Text drift")
    td = report["text_drift"]
    if td is None:
        st.info("Too few sampled texts (in the period or the reference) to measure text drift.")
        return
    st.write(f"A classifier tells this period's messages from the training texts with ROC-AUC **{td['auc']:.2f}** "
             f"({td['n_current']:,} against {td['n_reference']:,} texts).")
    left, right = st.columns(2)
    left.dataframe(pd.DataFrame({"typical of this period": td["current_words"]}), hide_index=True)
    right.dataframe(pd.DataFrame({"typical of the training texts": td["reference_words"]}), hide_index=True)


def _performance(report: dict, measured: pd.DataFrame) -> None:
    if "reference" not in report:
        return
    st.subheader("Performance: estimated and measured")
    daily = pd.DataFrame(report["daily"])
    daily["day"] = pd.to_datetime(daily["day"])
    left, right = st.columns([2, 1])
    left.altair_chart(monitor_charts.performance_chart(daily, measured), width="stretch")
    cal = report["calibration"]
    right.altair_chart(monitor_charts.calibration_chart(cal["curve"]), width="stretch")
    right.caption(f"Calibration of the reference's validation scores: expected calibration error "
                  f"{cal['ece_raw']:.3f}" + (f", recalibrated (isotonic) to {cal['ece_used']:.3f}."
                                             if cal["recalibrated"] else " (close enough: used as they are)."))
    est = report["estimated"]
    st.caption(f"Estimated for the period: precision {est['precision']:.2f}, recall {est['recall']:.2f}, F1 "
               f"{est['f1']:.2f} (reference F1 {report['reference']['f1']:.2f}). Diamonds: F1 measured on spot "
               "checks, with 95 % intervals.")


def _spot_checks(report: dict, since, until, source, model) -> pd.DataFrame:
    st.subheader("Spot checks")
    store = state.label_store()
    may_import = access_gate.may(Action.IMPORT)
    size = st.number_input("Messages to draw", 10, 500, 100, step=10, key="monitor_spot_size")
    if st.button("Draw a spot-check set from this period", disabled=not may_import, key="monitor_spot",
                 icon=":material/casino:"):
        with shown_errors():
            who = access_gate.require(Action.IMPORT)
            threshold = report.get("reference", {}).get("threshold")
            if threshold is None:
                threshold = state.model(model).classifier.threshold
            set_id = draw_spot_check(store, since=since, until=until, source=source, model=model,
                                     threshold=threshold, size=int(size), actor=who.actor)
            st.success(f"Labeling set {set_id} is ready: label it on the Label page, then its measured figures "
                       "appear here.")
    rows = pd.DataFrame(spot_check_results(store))
    if len(rows):
        st.dataframe(rows, hide_index=True, column_config={
            c: st.column_config.NumberColumn(format="%.2f") for c in rows.columns if c.startswith(("precision",
                                                                                                 "recall", "f1"))})
        if "f1" in rows:
            measured = rows.dropna(subset=["f1"]).copy()
            measured["until"] = pd.to_datetime(measured["until"])
            return measured
    return pd.DataFrame()


def _sample(since, until, source, model) -> None:
    with st.expander("Sampled messages of the period"):
        samples = read_history(since=since, until=until, source=source, model=model).samples
        samples = samples.sample(min(SAMPLE_ROWS, len(samples)), random_state=0).sort_values("day")  # any day
        st.dataframe(samples[["day", "source", "score", "text"]], hide_index=True)


def body() -> None:
    st.header("Monitor")
    access_gate.require(Action.MONITOR)
    chosen = _choices()
    if chosen is None:
        return
    since, until, source, model = chosen
    split_by = st.session_state.get("monitor_split")
    report = monitor_report(since=since, until=until, source=source, model=model, settings=monitor_settings(),
                            split_by=None if split_by in (None, "(none)") else split_by)
    if report["empty"]:
        st.info(report["message"])
        return
    _alerts(report)
    _headline(report)
    _volume(report)
    _drift(report)
    measured = _spot_checks(report, since, until, source, model)
    _performance(report, measured)
    _sample(since, until, source, model)


run_page(body)
