"""The service's parts without a model: the listen rule, keys in the label database (migrated from the previous
schema), the scoring-history feed, settings."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select

from engage.contract import ScoredBatch
from engage.errors import InputError
from engage.labels import LabelStore
from engage.labels.db import open_engine, writing
from engage.labels.migrations import migrate
from engage.labels.schema import audit
from engage.serve import keys
from engage.serve.history import HistoryFeed
from engage.serve.keys import KeyChecker
from engage.serve.service import check_listen
from engage.serve.settings import load_settings


def test_listening_beyond_loopback_needs_a_key(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'l.sqlite'}") as store:
        checker = KeyChecker(store, 0)
        assert check_listen("127.0.0.1", checker) is True and check_listen("localhost", None) is True
        with pytest.raises(InputError, match="refusing to listen on 0.0.0.0: no API key"):
            check_listen("0.0.0.0", checker)
        keys.create_key(store, "edge", "scorer", "cli:test")
        assert check_listen("0.0.0.0", checker) is False  # allowed, keys required (no open mode)
        keys.revoke_key(store, "edge", "cli:test")
        with pytest.raises(InputError, match="refusing"):
            check_listen("192.0.2.7", checker)


def test_cli_serve_refuses_another_host_without_keys_in_one_line(tmp_path, capsys, monkeypatch):
    from engage import cli

    monkeypatch.setenv("ENGAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'l.sqlite'}")
    assert cli.run(["serve", "--host", "0.0.0.0", "--port", "9"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: refusing to listen on 0.0.0.0")


def test_keys_table_added_to_an_existing_database_keeping_its_audit_rows(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = open_engine(url)
    migrate(engine, target=4)
    with writing(engine) as conn:
        conn.execute(audit.insert().values(at=__import__("datetime").datetime(2026, 1, 1), actor="cli:ana",
                                           action="activate", subject="v1", to_version="v1"))
    engine.dispose()
    with LabelStore(url) as store:
        rows = store.audit()
        assert list(rows["subject"]) == ["v1"] and list(rows["actor"]) == ["cli:ana"]
        key = keys.create_key(store, "ci", "admin", "cli:ana")
        assert KeyChecker(store, 0).lookup(key).role == "admin"
        assert KeyChecker(store, 0).lookup(key + "x") is None
        with pytest.raises(InputError, match="already a key named"):
            keys.create_key(store, "ci", "scorer", "cli:ana")
        with pytest.raises(InputError, match="unknown role"):
            keys.create_key(store, "other", "root", "cli:ana")
        with store.engine.connect() as conn:
            actions = conn.execute(select(audit.c.action).order_by(audit.c.id)).scalars().all()
        assert actions == ["activate", "api_key_create"]


def test_a_revoked_key_stops_within_the_cache_time(tmp_path):
    with LabelStore(f"sqlite:///{tmp_path / 'l.sqlite'}") as store:
        key = keys.create_key(store, "k", "scorer", "cli:t")
        cached = KeyChecker(store, 0.5)
        assert cached.lookup(key) is not None
        keys.revoke_key(store, "k", "cli:t")
        time.sleep(0.6)
        assert cached.lookup(key) is None and not cached.any_active()


def _batch(n: int = 1) -> ScoredBatch:
    return ScoredBatch(source="service", model="m", texts=["t"] * n, scores=[0.5] * n, flagged=[True] * n)


def test_history_feed_counts_what_it_loses_and_never_blocks():
    lost: list[tuple[int, str]] = []
    release = threading.Event()
    seen = []

    def slow_then_failing(batch):
        release.wait(10)
        if len(batch.texts) == 3:
            raise RuntimeError("down")
        seen.append(batch)

    feed = HistoryFeed(slow_then_failing, 1, lambda n, why: lost.append((n, why)))
    start = time.monotonic()
    feed.put(_batch(1))   # taken by the thread, which waits
    time.sleep(0.2)
    feed.put(_batch(3))   # queued
    feed.put(_batch(2))   # queue full: lost
    assert time.monotonic() - start < 2
    assert lost == [(2, "full")]
    release.set()
    feed.close()
    assert lost == [(2, "full"), (3, "failed")] and [len(b.texts) for b in seen] == [1]


def test_settings_from_engage_toml(tmp_path, monkeypatch):
    config = tmp_path / "engage.toml"
    monkeypatch.setenv("ENGAGE_CONFIG", str(config))
    config.write_text("[serve]\nmax_messages = 10\nmax_wait_ms = 2\n", encoding="utf-8")
    settings = load_settings(port=9000)
    assert (settings.max_messages, settings.max_wait_ms, settings.port, settings.host) == (10, 2, 9000, "127.0.0.1")
    config.write_text("[serve]\nmax_mesages = 10\n", encoding="utf-8")
    with pytest.raises(InputError, match="unknown setting 'max_mesages'"):
        load_settings()
    config.write_text("[serve]\nmax_messages = \"ten\"\n", encoding="utf-8")
    with pytest.raises(InputError, match="max_messages must be an integer"):
        load_settings()
