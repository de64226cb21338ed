"""Web sign-ins kept in the label database (issue 26, item 11), on SQLite and PostgreSQL: a sign-in acts from first
sight until sign-out or its lifetime; its cookie, replayed after either, acts no more; a new sign-in does; the
migration adds the table to an older database and keeps its data."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import inspect, text

from engage.labels import SCHEMA_VERSION, LabelStore
from engage.labels.db import open_engine
from engage.labels.migrations import migrate

DAY = timedelta(hours=12)
NOW = datetime(2026, 12, 3, 9, 0, 0)


def _claims(nonce: str, iat: datetime | None = None, email: str = "ana@acme.example") -> dict:
    claims = {"iss": "https://idp.example", "sub": "ana", "nonce": nonce, "email": email}
    if iat is not None:  # seconds since the epoch, as in an ID token (NOW is naive UTC)
        claims["iat"] = int((iat - datetime(1970, 1, 1)).total_seconds())
    return claims


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_a_sign_in_acts_until_sign_out_and_its_cookie_never_again(db_url):
    clock = Clock()
    with LabelStore(db_url, clock=clock) as store:
        first = _claims("n1", NOW)
        assert store.sign_in_active(first, "ana@acme.example", DAY)
        assert store.sign_in_active(dict(first), "ana@acme.example", DAY)  # another tab: same cookie
        other = _claims("n2", NOW)  # the same person signed in on another computer
        assert store.sign_in_active(other, "ana@acme.example", DAY)
        store.end_sign_in(first)
        assert not store.sign_in_active(first, "ana@acme.example", DAY)  # any tab, any copy of the cookie
        assert store.sign_in_active(other, "ana@acme.example", DAY)  # the other computer's sign-in goes on
        store.end_sign_in(first)  # signing out twice is harmless
        assert store.sign_in_active(_claims("n3", NOW), "ana@acme.example", DAY)  # signing in again works
        assert not store.sign_in_active(other, "mallory@elsewhere.example", DAY)  # claims of another address


def test_a_sign_in_lapses_after_its_lifetime_counted_from_the_token(db_url):
    clock = Clock()
    with LabelStore(db_url, clock=clock) as store:
        fresh = _claims("n1", NOW)
        assert store.sign_in_active(fresh, "ana@acme.example", DAY)
        clock.now = NOW + DAY - timedelta(seconds=1)
        assert store.sign_in_active(fresh, "ana@acme.example", DAY)
        clock.now = NOW + DAY
        assert not store.sign_in_active(fresh, "ana@acme.example", DAY)
        # a cookie first seen now but issued long ago does not start a fresh lifetime
        assert not store.sign_in_active(_claims("old", NOW - 2 * DAY), "ana@acme.example", DAY)
        # without an issue time, the lifetime counts from first sight
        undated = _claims("undated")
        assert store.sign_in_active(undated, "ana@acme.example", DAY)
        clock.now += DAY
        assert not store.sign_in_active(undated, "ana@acme.example", DAY)


def test_a_v4_database_gains_the_sign_ins_table_and_keeps_its_audit(db_url):
    engine = open_engine(db_url)
    assert migrate(engine, target=4) == 4
    assert "sign_ins" not in inspect(engine).get_table_names()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit (at, actor, action, subject) "
                          "VALUES ('2024-05-01', 'boss@acme.example', 'activate', 'v1')"))
    engine.dispose()
    with LabelStore(db_url) as store:
        assert store.schema_version == SCHEMA_VERSION >= 5
        assert store.audit()["actor"].tolist() == ["boss@acme.example"]
        assert store.sign_in_active(_claims("n1", NOW), "ana@acme.example", DAY * 10_000)
