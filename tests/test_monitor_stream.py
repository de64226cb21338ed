"""The issue's simulated stream: 14 days of 200 messages from the complaints test split, then 3 days of tweets.
Scores are the shipped model's, stored (tests/fixtures/monitor_scores.json): no TensorFlow here."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engage import registry
from engage.cli import run
from engage.contract import ScoredBatch
from engage.monitor.history import HistoryWriter
from engage.monitor.performance import measured
from engage.monitor.reference import load_reference
from engage.monitor.report import monitor_report
from engage.monitor.settings import MonitorSettings
from engage.testing import monitor_stream

SHIPPED = Path(__file__).resolve().parents[1] / "models" / "engage-default"
START = (datetime.now(UTC) - timedelta(days=30)).replace(hour=0, minute=0, second=0, microsecond=0)
SETTINGS = MonitorSettings(keep_texts_days=0)


@pytest.fixture(scope="module")
def models(tmp_path_factory, complaints) -> Path:
    return monitor_stream.shipped_with_texts(tmp_path_factory.mktemp("models"))


def _record(url: str, days, source: str = "stream") -> None:
    writer = HistoryWriter(url, SETTINGS)
    threshold = monitor_stream.threshold()
    for d, part in days:
        at = START + timedelta(days=d, hours=9)
        times = [at + timedelta(seconds=30 * i) for i in range(len(part))]
        scores = part["score"].to_numpy(dtype=float)
        writer.record(ScoredBatch(source, "engage-default", part["text"].tolist(), scores, scores >= threshold,
                                  times, f"day-{source}-{d}", {"domain": part["domain"].tolist()}))


def _day(d: int) -> str:
    return (START + timedelta(days=d)).date().isoformat()


@pytest.fixture(scope="module")
def stream(tmp_path_factory, models):
    url = f"sqlite:///{tmp_path_factory.mktemp('stream') / 'history.sqlite'}"
    days = monitor_stream.stream_days()
    _record(url, days)
    return url, days


def test_no_alert_on_normal_days_and_drift_on_the_first_changed_day(stream, models):
    url, _ = stream
    report = monitor_report(url=url, since=(START - timedelta(days=1)).date(),
                            until=(START + timedelta(days=16)).date(), settings=SETTINGS, root=models)
    alerts = report["alerts"]
    assert not [a for a in alerts if a["day"] < _day(14)], alerts
    first = {a["rule"] for a in alerts if a["day"] == _day(14)}
    assert first & {"score_drift", "text_drift"}, alerts
    text = [a for a in alerts if a["rule"] == "text_drift"]
    assert text and text[0]["day"] == _day(14) and text[0]["value"] > 0.75
    assert len(report["daily"]) == 17 and report["totals"]["messages"] == 17 * 200
    assert {r["value"] for r in monitor_report(url=url, settings=SETTINGS, root=models,
                                               split_by="domain")["split"]} >= {"apparel", "tweets"}


def test_estimated_f1_within_5_points_of_the_true_f1(stream, models):
    url, days = stream
    report = monitor_report(url=url, since=START.date(), until=(START + timedelta(days=13)).date(),
                            settings=SETTINGS, root=models)
    normal = pd.concat([part for d, part in days if d < 14])
    truth = measured(normal["engage"].astype(int), normal["score"] >= monitor_stream.threshold())
    assert abs(report["estimated"]["f1"] - truth.f1) < 0.05, (report["estimated"], truth)
    assert report["score_drift"]["psi"] < 0.1 and report["text_drift"]["auc"] < 0.75
    drifted = monitor_report(url=url, since=(START + timedelta(days=14)).date(), settings=SETTINGS, root=models)
    assert drifted["score_drift"]["psi"] > report["score_drift"]["psi"]
    assert drifted["text_drift"]["auc"] > 0.75 and drifted["text_drift"]["current_words"]


def test_a_day_with_5x_the_volume_raises_the_volume_alert(tmp_path, models):
    url = f"sqlite:///{tmp_path / 'spike.sqlite'}"
    _record(url, monitor_stream.stream_days(normal_days=12, changed_days=0, spike_day=10))
    report = monitor_report(url=url, settings=SETTINGS, root=models)
    volume = [a for a in report["alerts"] if a["rule"] == "volume"]
    assert [a["day"] for a in volume] == [_day(10)] and volume[0]["value"] == pytest.approx(5.0)


class _Receiver(BaseHTTPRequestHandler):
    got: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Receiver.got.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_check_exits_1_and_the_webhook_gets_each_new_alert_once(stream, models, tmp_path, monkeypatch, capsys):
    url, _ = stream
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        (tmp_path / "engage.toml").write_text(
            f'[monitor]\nkeep_texts_days = 0\nwebhook_url = "http://127.0.0.1:{server.server_port}/hook"\n')
        monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "engage.toml"))
        monkeypatch.setenv("ENGAGE_DATABASE_URL", url)
        monkeypatch.setenv("ENGAGE_MODELS_DIR", str(models))
        _Receiver.got = []
        assert run(["monitor", "check", "--json"]) == 1
        out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out["alerts"] and all(a["day"] >= _day(14) for a in out["alerts"])
        assert len(_Receiver.got) == len(out["alerts"]) and _Receiver.got[0]["alert"]["model"] == "engage-default"
        assert run(["monitor", "check"]) == 1 and len(_Receiver.got) == len(out["alerts"])  # sent once
        assert run(["monitor", "check", "--until", _day(13)]) == 0
        assert "no open alert" in capsys.readouterr().out
        assert run(["monitor", "report", "--since", _day(0), "--until", _day(16), "--json"]) == 0
        report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert report["totals"]["messages"] == 3400 and report["alerts"]
        assert run(["monitor", "report", "--since", "yesterday"]) == 1
        assert "--since must be a date" in capsys.readouterr().err
    finally:
        server.shutdown()
        server.server_close()


def test_the_shipped_reference_is_verified_and_loads(models):
    ref = load_reference(registry.read_model("engage-default", SHIPPED.parent))
    assert ref is not None and len(ref.scores) == 2760 and ref.texts == []  # no training text in the repository
    assert ref.flagged_share == pytest.approx(np.mean(ref.scores >= ref.threshold))
