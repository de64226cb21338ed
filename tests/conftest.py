"""Shared test fixtures: every test runs with its own models and cache folders, never the user's."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from engage.testing.app_world import AppWorld
from tests.fixtures.labels_db import BACKENDS

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# The longest test files by measured time (clean-clone CI, two workers), heaviest first. pytest-xdist hands whole
# files to its workers in collection order (scripts/test: --dist loadfile --no-loadscope-reorder); starting the long
# ones first keeps one long file from being the last to start and holding the run after every other worker is done
# (longest-processing-time-first).
# Files not named keep their usual order after these. Times drift as tests change: an outdated list only costs time.
HEAVY_FIRST = (
    "test_distributed.py", "test_cli.py", "test_serve_ray.py", "test_finetune.py", "e2e/test_label_browser.py",
    "e2e/test_auth_browser.py", "test_shipped_model.py", "test_bilm_adapt.py", "e2e/test_app_browser.py",
    "test_train.py", "test_head.py", "test_bilm_pretrain.py", "e2e/test_explain_browser.py", "test_message_bound.py",
    "e2e/test_monitor_browser.py", "test_serve.py", "test_explain.py", "test_cli_startup.py",
    "test_app_labeling_ux.py", "test_app_access.py",
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
COMPLAINTS = SHARED / "data" / "complaints"


def pytest_collection_modifyitems(config, items) -> None:
    tests = Path(__file__).resolve().parent
    rank = {tests / name: i for i, name in enumerate(HEAVY_FIRST)}
    items.sort(key=lambda item: rank.get(Path(item.fspath), len(rank)))  # stable: the rest keep their order


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
def world(tmp_path_factory) -> AppWorld:
    """The app tests' world: fixture ELMo, two trained versions, a labeled CSV (engage/testing/app_world.py).

    Built once per run: pytest-xdist workers share one build (the folder above their own temporary folders, under
    a lock), and each worker gets its own copy of the embedding cache and data folder, so that no two workers write
    one database."""
    from engage.testing.app_world import build_app_world

    own = tmp_path_factory.getbasetemp()
    shared = own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own
    built = build_app_world(shared / "engage-app-world")
    if shared == own:
        return built
    cache = own / "engage-app-cache" / "cache"
    shutil.copytree(built.cache, cache)
    return AppWorld(built.root, built.models, cache, built.encoder, built.csv)


@pytest.fixture
def app_env(world, monkeypatch) -> AppWorld:
    """The app world's folders in the environment, shared by the test (for tests that change no model)."""
    for key, value in world.env().items():
        monkeypatch.setenv(key, value)
    return world


@pytest.fixture
def env(app_env, tmp_path, monkeypatch) -> tuple[AppWorld, str, Path]:
    """The world's models copied (promotion changes them), and a fresh label database: (world, db url, models)."""
    models = tmp_path / "models"
    shutil.copytree(app_env.models, models)
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(models))
    url = f"sqlite:///{tmp_path / 'labels.sqlite'}"
    monkeypatch.setenv("ENGAGE_DATABASE_URL", url)
    return app_env, url, models
