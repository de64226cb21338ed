"""`engage serve`, local engine: a real uvicorn server on 127.0.0.1 serving the app world's fixture model, started
once for the module (one model load) and driven over HTTP with httpx."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from engage import cli, registry
from engage.labels import LabelStore
from engage.serve.keys import key_hash
from engage.serve.service import build_app
from engage.serve.settings import load_settings
from engage.testing.app_world import ACTIVE_VERSION, OTHER_VERSION
from tests.serve_helpers import free_port, running

pytestmark = pytest.mark.slow

SPANISH = "hola, gracias por el pedido, muy bien"
LONG = " ".join(f"word{i}" for i in range(100))  # past the encoder's 64 tokens


class History:
    """The injected scoring history: records batches, raises for a message whose meta asks it to."""

    def __init__(self) -> None:
        self.batches = []
        self.lock = threading.Lock()

    def __call__(self, batch) -> None:
        if any((v or "") == "fail" for v in (batch.columns or {}).get("history", [])):
            raise RuntimeError("the scoring history is down")
        with self.lock:
            self.batches.append(batch)


@pytest.fixture(scope="module")
def served(world, tmp_path_factory):
    mp = pytest.MonkeyPatch()
    for key, value in world.env().items():
        mp.setenv(key, value)
    registry.activate(ACTIVE_VERSION, world.models)
    url = f"sqlite:///{tmp_path_factory.mktemp('serve-db') / 'labels.sqlite'}"
    mp.setenv("ENGAGE_DATABASE_URL", url)
    store = LabelStore(url)
    history = History()
    settings = load_settings(port=free_port(), reload_poll_s=0.3, key_cache_s=0, max_messages=200, max_chars=2000,
                             max_body_bytes=200_000, rate_per_key=5, burst_per_key=10, request_timeout_s=60)
    app = build_app(settings, store, on_scored=history)
    try:
        with running(app, settings.port) as base:
            yield {"base": base, "store": store, "history": history, "world": world, "url": url}
    finally:
        store.close()
        mp.undo()


@pytest.fixture
def world_env(served, monkeypatch):
    for key, value in served["world"].env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ENGAGE_DATABASE_URL", served["url"])
    return served


def _cli_json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert cli.run([*argv, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


def test_scores_equal_engage_score_with_notes(world_env, tmp_path, capsys):
    world = world_env["world"]
    frame = pd.read_csv(world.csv, keep_default_na=False)
    texts = list(frame["text"]) + [SPANISH, LONG]
    pd.DataFrame({"text": texts}).to_csv(tmp_path / "in.csv", index=False)
    _cli_json(capsys, "score", str(tmp_path / "in.csv"), "--out", str(tmp_path / "out.csv"))
    expected = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)

    messages = [{"id": i, "text": t, "meta": {"channel": "x"}} for i, t in enumerate(texts)]
    answer = httpx.post(f"{world_env['base']}/v1/score", json={"messages": messages}, timeout=120)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model"] == ACTIVE_VERSION and len(body["fingerprint"]) == 16
    version = registry.read_model(ACTIVE_VERSION, world.models)
    assert body["threshold"] == pytest.approx(version.meta["threshold"]["value"])
    got = np.array([r["score"] for r in body["results"]])
    np.testing.assert_allclose(got, expected["engage_score"].to_numpy(), atol=1e-6)
    assert [r["engageable"] for r in body["results"]] == list(expected["engageable"].astype(bool))
    assert [r["id"] for r in body["results"]] == list(range(len(texts)))
    notes = {texts[i]: r["notes"] for i, r in enumerate(body["results"])}
    assert notes[""] == ["empty text"]
    assert notes[SPANISH] == ["looks non-English"]
    assert notes[LONG] == ["truncated"]
    assert notes[texts[0]] == []


def test_explanation_equals_engage_explain(world_env, capsys):
    text = "my order never arrived, can you help?"
    expected = _cli_json(capsys, "explain", text)
    answer = httpx.post(f"{world_env['base']}/v1/explain", json={"text": text}, timeout=120)
    assert answer.status_code == 200, answer.text
    got = answer.json()
    assert got["model"] == expected["model"] == ACTIVE_VERSION
    assert [t["token"] for t in got["tokens"]] == [t["token"] for t in expected["tokens"]]
    np.testing.assert_allclose([t["contribution"] for t in got["tokens"]],
                               [t["contribution"] for t in expected["tokens"]], atol=1e-6)
    assert got["score"] == pytest.approx(expected["score"], abs=1e-6)
    assert [t["token"] for t in got["top"]] == [t["token"] for t in expected["top"]]


def test_health_ready_models_and_openapi(served):
    base = served["base"]
    assert httpx.get(f"{base}/healthz").json() == {"status": "alive"}
    assert httpx.get(f"{base}/readyz").json()["model"] == ACTIVE_VERSION
    models = httpx.get(f"{base}/v1/models").json()
    assert models["active"] == models["serving"] == ACTIVE_VERSION
    assert {v["name"] for v in models["versions"]} == {ACTIVE_VERSION, OTHER_VERSION}
    paths = httpx.get(f"{base}/openapi.json").json()["paths"]
    assert {"/v1/score", "/v1/explain", "/v1/models", "/v1/admin/reload"} <= set(paths)
    assert httpx.get(f"{base}/docs").status_code == 200


def test_each_bad_request_is_a_problem_naming_what_is_wrong(served):
    base = served["base"]
    bad_json = httpx.post(f"{base}/v1/score", content=b'{"messages": [', headers={"content-type": "application/json"})
    assert "not valid JSON" in _problem(bad_json, 422)["detail"]
    wrong_type = httpx.post(f"{base}/v1/score", json={"messages": [{"text": "fine"}, {"text": 5}]})
    assert "messages[1].text" in _problem(wrong_type, 422)["detail"]
    missing = httpx.post(f"{base}/v1/score", json={"messages": [{"id": 1}]})
    assert "messages[0].text" in _problem(missing, 422)["detail"]
    too_many = httpx.post(f"{base}/v1/score", json={"messages": [{"text": "hi"}] * 201})
    assert "at most 200 messages" in _problem(too_many, 422)["detail"]
    too_long = httpx.post(f"{base}/v1/score", json={"messages": [{"text": "hi"}, {"text": "x" * 2001}]})
    assert "messages[1].text: at most 2,000 characters" in _problem(too_long, 422)["detail"]
    big = json.dumps({"messages": [{"text": "y" * 1000}] * 250}).encode()
    assert "limit is 200,000" in _problem(httpx.post(f"{base}/v1/score", content=big), 413)["detail"]

    def chunks():
        for _ in range(250):
            yield b"z" * 1000

    chunked = httpx.post(f"{base}/v1/score", content=chunks(), headers={"content-type": "application/json"})
    assert "limit is 200,000" in _problem(chunked, 413)["detail"]
    assert httpx.get(f"{base}/healthz").status_code == 200  # and the service goes on


def test_sixteen_clients_batched_and_hot_reload_without_a_failed_request(world_env):
    """16 clients, one message a request, at least 20 requests each (at most 60, until the new version has answered);
    the active version changes after client 0's sixth. Every answer is 200, carries the score of the version it names,
    and once one answer named the new version, no request sent later is answered by the old one."""
    world, base = world_env["world"], world_env["base"]
    texts = [f"@brand my order {i} never arrived, can you help?" for i in range(16 * 60)]
    from engage.scoring import load_classifier

    expected = {name: load_classifier(name, root=world.models, use_cache=False).score(texts).values
                for name in (ACTIVE_VERSION, OTHER_VERSION)}
    answers: list[tuple[int, float, float, str, float]] = []
    lock = threading.Lock()
    new_seen = threading.Event()
    stop_at = time.monotonic() + 240

    def client(c: int) -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            for r in range(60):
                if (r >= 20 and new_seen.is_set()) or time.monotonic() > stop_at:
                    return
                i = c * 60 + r
                sent = time.monotonic()
                resp = http.post("/v1/score", json={"messages": [{"id": i, "text": texts[i]}]})
                assert resp.status_code == 200, resp.text
                body = resp.json()
                with lock:
                    answers.append((i, sent, body["results"][0]["score"], body["model"], time.monotonic()))
                if body["model"] == OTHER_VERSION:
                    new_seen.set()
                if c == 0 and r == 5:
                    registry.activate(OTHER_VERSION, world.models)

    try:
        with ThreadPoolExecutor(16) as pool:
            for done in [pool.submit(client, c) for c in range(16)]:
                done.result(timeout=300)
        _check_load(world_env, answers, expected)
    finally:
        registry.activate(ACTIVE_VERSION, world.models)  # back, for the tests that follow
        deadline = time.monotonic() + 60
        while httpx.get(f"{base}/readyz").json()["model"] != ACTIVE_VERSION and time.monotonic() < deadline:
            time.sleep(0.2)


def _check_load(world_env, answers, expected) -> None:
    base = world_env["base"]
    assert len(answers) >= 16 * 20
    for i, _sent, score, model, _got in answers:
        assert score == pytest.approx(expected[model][i], abs=1e-6), (i, model)
    assert {a[3] for a in answers} == {ACTIVE_VERSION, OTHER_VERSION}
    first_new = min(got for *_, model, got in answers if model == OTHER_VERSION)
    assert all(model == OTHER_VERSION for _, sent, _, model, _ in answers if sent > first_new)
    deadline = time.monotonic() + 60
    while httpx.get(f"{base}/readyz").json()["model"] != OTHER_VERSION and time.monotonic() < deadline:
        time.sleep(0.2)
    assert httpx.post(f"{base}/v1/score", json={"messages": [{"text": "hi"}]}).json()["model"] == OTHER_VERSION
    metrics = httpx.get(f"{base}/metrics").text
    single = _metric(metrics, 'engage_serve_batch_requests_bucket{le="1.0"}')
    assert _metric(metrics, "engage_serve_batch_requests_count") > single  # some batch joined several requests
    assert 'engage_serve_model_info{fingerprint="' in metrics and f'version="{OTHER_VERSION}"' in metrics
    audit = world_env["store"].audit()
    assert ((audit["action"] == "reload") & (audit["to_version"] == OTHER_VERSION)).any()


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in /metrics")


def test_history_gets_every_scored_request_and_its_failure_is_counted(served):
    base = served["base"]
    before = len(served["history"].batches)
    ok = httpx.post(f"{base}/v1/score", json={"messages": [{"id": "a1", "text": "refund please",
                                                            "meta": {"channel": "mail"}}]})
    failing = httpx.post(f"{base}/v1/score", json={"messages": [{"text": "x", "meta": {"history": "fail"}},
                                                                {"text": "y"}]})
    assert ok.status_code == failing.status_code == 200  # the history's failure never reaches the client
    deadline = time.monotonic() + 10
    lost = 0.0
    while time.monotonic() < deadline:
        text = httpx.get(f"{base}/metrics").text
        lost = _metric(text, 'engage_serve_history_lost_messages_total{reason="failed"}') \
            if 'reason="failed"' in text else 0.0
        if lost >= 2 and len(served["history"].batches) > before:
            break
        time.sleep(0.1)
    assert lost == 2
    batch = served["history"].batches[before]
    assert batch.source == "service" and batch.model == ACTIVE_VERSION and batch.texts == ["refund please"]
    assert batch.columns == {"id": ["a1"], "channel": ["mail"]}
    assert bool(batch.flagged[0]) == (batch.scores[0] >= ok.json()["threshold"])


def test_keys_roles_revocation_and_only_hashes_stored(world_env, capsys):
    base, url = world_env["base"], world_env["url"]
    scorer = _cli_json(capsys, "api-key", "create", "inbox", "--role", "scorer")["key"]
    admin = _cli_json(capsys, "api-key", "create", "ops", "--role", "admin")["key"]
    one = {"messages": [{"text": "where is my parcel?"}]}

    _problem(httpx.post(f"{base}/v1/score", json=one), 401)  # keys exist now: no key, no answer
    _problem(httpx.post(f"{base}/v1/score", json=one, headers={"Authorization": "Bearer engage_wrong"}), 401)
    assert httpx.post(f"{base}/v1/score", json=one, headers={"Authorization": f"Bearer {scorer}"}).status_code == 200
    assert "admin" in _problem(httpx.post(f"{base}/v1/admin/reload", headers={"Authorization": f"Bearer {scorer}"}),
                               403)["detail"]
    reloaded = httpx.post(f"{base}/v1/admin/reload", headers={"Authorization": f"Bearer {admin}"}, timeout=120)
    assert reloaded.json() == {"previous": ACTIVE_VERSION, "model": ACTIVE_VERSION}

    _cli_json(capsys, "api-key", "revoke", "inbox")
    _problem(httpx.post(f"{base}/v1/score", json=one, headers={"Authorization": f"Bearer {scorer}"}), 401)
    listed = {k["name"]: k for k in _cli_json(capsys, "api-key", "list")["keys"]}
    assert not listed["inbox"]["active"] and listed["ops"]["active"] and "key" not in listed["ops"]

    path = url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as con:
        stored = {name: h for name, h in con.execute("SELECT name, key_hash FROM api_keys")}
    assert stored == {"inbox": key_hash(scorer), "ops": key_hash(admin)}
    for file in (path, path + "-wal"):
        try:
            raw = open(file, "rb").read()
        except FileNotFoundError:
            continue
        assert scorer.encode() not in raw and admin.encode() not in raw
    audit = world_env["store"].audit()
    assert {"api_key_create", "api_key_revoke"} <= set(audit["action"])
    assert ((audit["action"] == "reload") & (audit["actor"] == "key:ops")).any()


def test_rate_limit_answers_429_with_retry_after(world_env, capsys):
    key = _cli_json(capsys, "api-key", "create", "burst", "--role", "scorer")["key"]
    with httpx.Client(base_url=world_env["base"], headers={"Authorization": f"Bearer {key}"}) as http:
        statuses = [http.get("/v1/models") for _ in range(30)]  # burst 10, 5 a second: bounded, well over
    limited = [r for r in statuses if r.status_code == 429]
    assert limited and all(r.status_code in (200, 429) for r in statuses)
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert "rate limit" in _problem(limited[0], 429)["detail"]


def test_a_request_waiting_past_the_timeout_gets_503_with_retry_after(world_env):
    """A second server whose batches wait 200 ms for company and whose requests time out after 1 ms: every score
    request times out, and the service still answers what needs no scoring."""
    settings = load_settings(port=free_port(), request_timeout_s=0.001, max_wait_ms=200, reload_poll_s=0)
    with running(build_app(settings, None), settings.port) as base:
        late = httpx.post(f"{base}/v1/score", json={"messages": [{"text": "hello?"}]}, timeout=30)
        assert "request timeout" in _problem(late, 503)["detail"]
        assert int(late.headers["Retry-After"]) >= 1
        assert httpx.get(f"{base}/readyz").status_code == 200


def test_engage_serve_command_starts_in_open_mode_and_scores_the_readme_request(world, tmp_path):
    """The README's first lines: `engage serve`, then its curl request (here with httpx), on a free port."""
    import os
    import subprocess
    import sys

    port = free_port()
    env = os.environ | world.env() | {"ENGAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'labels.sqlite'}",
                                      "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-m", "engage.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None and time.monotonic() < deadline, "engage serve did not become ready"
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        answer = httpx.post(f"http://127.0.0.1:{port}/v1/score", timeout=60, json={
            "messages": [{"id": "t1", "text": "my order never arrived, can you help?"}]})
        assert answer.status_code == 200 and answer.json()["results"][0]["id"] == "t1"
        # the command hands what it scored to the scoring history (engage.monitor), off the answer's path
        from engage.monitor import read_history

        deadline = time.monotonic() + 30
        while (days := read_history(env["ENGAGE_DATABASE_URL"], source="service").days).empty:
            assert time.monotonic() < deadline, "the service's scoring never reached the history"
            time.sleep(0.5)
        assert int(days["n"].sum()) == 1 and set(days["model"]) == {answer.json()["model"]}
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=60)
    assert "open mode" in err and f"http://127.0.0.1:{port}" in err
