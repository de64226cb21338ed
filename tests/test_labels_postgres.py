"""PostgreSQL specifics: SKIP LOCKED claims, URLs, errors, and the throwaway server script (scripts/postgres).

The shared store and queue tests also run on PostgreSQL (tests/test_labels_store.py, tests/test_labels_queue.py).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from engage.errors import InputError
from engage.labels import LabelStore
from tests.fixtures.labels_db import postgres_schema_url

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def pg_url():
    with postgres_schema_url() as url:
        yield url


def test_a_locked_candidate_is_stepped_over_not_waited_for(pg_url):
    with LabelStore(pg_url) as store, LabelStore(pg_url) as other:
        set_id = store.import_messages("s.csv", ["one", "two", "three"])
        ids = store.messages(set_id)["message_id"].tolist()
        with other.engine.connect() as conn:  # another session in the middle of claiming the first message
            conn.execute(text("SELECT 1 FROM set_messages WHERE message_id = :m FOR UPDATE"), {"m": ids[0]})
            started = time.monotonic()
            item = store.next_message(set_id, "ana", order="file", session="a")
            assert time.monotonic() - started < 2
            assert item.message_id == ids[1]
            conn.rollback()
        assert store.next_message(set_id, "bob", order="file", session="b").message_id == ids[0]


def test_plain_postgresql_urls_use_psycopg(pg_url):
    plain = pg_url.replace("postgresql+psycopg://", "postgresql://")
    with LabelStore(plain) as store:
        assert store.engine.dialect.driver == "psycopg"
        assert store.import_messages("s.csv", ["hello"]) == 1


def test_an_unreachable_server_is_a_clear_error_without_the_password():
    with pytest.raises(InputError, match="cannot open the label database") as caught:
        LabelStore("postgresql+psycopg://engage:s3cret@127.0.0.1:1/labels?connect_timeout=3")
    assert "s3cret" not in str(caught.value) and "***" in str(caught.value)


def _postgres_installed() -> bool:
    return bool(shutil.which("pg_config") or glob.glob("/usr/lib/postgresql/*/bin/initdb"))


@pytest.mark.skipif(not _postgres_installed(), reason="PostgreSQL is not installed (scripts/postgres would install "
                    "it; tests do not install packages)")
def test_scripts_postgres_runs_a_throwaway_server():
    probe = ("import os, sys; from engage.labels import LabelStore; "
             "store = LabelStore(os.environ['ENGAGE_TEST_POSTGRES_URL']); "
             "print(store.import_messages('s.csv', ['x']), os.environ['ENGAGE_TEST_POSTGRES_DIR']); sys.exit(3)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENGAGE_TEST_POSTGRES")}
    done = subprocess.run([str(ROOT / "scripts" / "postgres"), "run", str(ROOT / ".venv" / "bin" / "python"), "-c",
                           probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stderr  # the command's own status comes back
    set_id, folder = done.stdout.split()
    assert set_id == "1"
    assert not Path(folder).exists()  # stopped and removed
