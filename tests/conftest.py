"""Shared test fixtures: every test runs with its own models and cache folders, never the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.labels_db import BACKENDS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
COMPLAINTS = SHARED / "data" / "complaints"


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path_factory, monkeypatch):
    base = tmp_path_factory.mktemp("engage-home")
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(base / "models"))
    monkeypatch.setenv("ENGAGE_CACHE_DIR", str(base / "cache"))
    monkeypatch.setenv("ENGAGE_DATA_DIR", str(base / "data"))
    yield


@pytest.fixture(scope="session")
def hub_fixture(tmp_path_factory) -> Path:
    """A small real TF2 SavedModel with google/elmo/3's signatures (engage/testing/hub_fixtures.py)."""
    from engage.testing.hub_fixtures import make_tf2_fixture

    return make_tf2_fixture(tmp_path_factory.mktemp("hub") / "elmo", dim=16, seed=0)


@pytest.fixture(scope="session")
def complaints() -> Path:
    if not COMPLAINTS.is_dir():
        pytest.skip(f"shared data not found at {COMPLAINTS} (a plain clone has no ../shared)")
    return COMPLAINTS


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """A fresh label database on each backend (PostgreSQL skips with a reason without ENGAGE_TEST_POSTGRES_URL)."""
    from tests.fixtures.labels_db import database_url

    with database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(db_url):
    from engage.labels import LabelStore

    with LabelStore(db_url) as opened:
        yield opened


@pytest.fixture(scope="session")
def world(tmp_path_factory):
    """The app tests' world: fixture ELMo, two trained versions, a labeled CSV (engage/testing/app_world.py)."""
    from engage.testing.app_world import build_app_world

    return build_app_world(tmp_path_factory.getbasetemp() / "engage-app-world")
