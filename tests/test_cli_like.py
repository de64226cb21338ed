"""A newcomer's `engage train`: offline, the error names the shipped ELMo; `--like NAME` trains with the recipe of
an existing version, explicit flags winning."""

import json
from pathlib import Path

import pandas as pd
import pytest

from engage import registry
from engage.cli import run
from engage.config import PROJECT_ROOT
from engage.encoders import hub as hub_module
from engage.head import HeadConfig
from engage.recipe import recipe_of


@pytest.fixture
def labeled(tmp_path) -> Path:
    rows = [("where is my refund?? order 123", 1), ("love the new phone", 0), ("my package never came", 1),
            ("thanks team, all good", 0), ("still waiting on support", 1), ("great service today", 0)] * 5
    path = tmp_path / "small.csv"
    pd.DataFrame({"message": [r[0] for r in rows], "label": [r[1] for r in rows]}).to_csv(path, index=False)
    return path


def _train(capsys, *args: str) -> dict:
    assert run(["train", *args, "--json"]) == 0, capsys.readouterr().err
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _meta(name: str) -> dict:
    return registry.read_model(name).meta


def test_offline_without_encoder_names_the_shipped_elmo(capsys, tmp_path, monkeypatch, labeled):
    monkeypatch.delenv("ENGAGE_ELMO_HANDLE", raising=False)
    monkeypatch.setenv("ENGAGE_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "empty_cache"))
    monkeypatch.setattr(hub_module, "_reachable", lambda url, timeout=0: False)
    assert run(["train", str(labeled), "--label-col", "label"]) == 1
    err = capsys.readouterr().err.strip()
    assert "google/elmo/3" in err and "cannot be reached" in err
    assert "--encoder models/elmo-tweets" in err and "--like engage-default" in err
    assert len(err.splitlines()) == 1


def test_like_takes_the_versions_encoder_head_and_threshold_rule(capsys, labeled, hub_fixture):
    _train(capsys, str(labeled), "--label-col", "label", "--encoder", str(hub_fixture), "--elmo-branch", "linear",
           "--lexical", "--max-tokens", "32", "--threshold-method", "target_recall", "--threshold-value", "0.8",
           "--val-split", "0.3", "--name", "base")
    out = _train(capsys, str(labeled), "--label-col", "label", "--like", "base", "--val-split", "0.3",
                 "--name", "copy")
    assert out["like"] == "base"
    base, copy = _meta("base"), _meta("copy")
    assert copy["head"]["config"] == base["head"]["config"]
    assert copy["head"]["config"]["elmo_branch"] == "linear" and copy["head"]["config"]["lexical"] is True
    assert copy["encoder"] == base["encoder"] and copy["encoder"]["max_tokens"] == 32
    assert copy["threshold"]["method"] == "target_recall" and copy["threshold"]["target"] == 0.8


def test_explicit_flags_win_over_like(capsys, labeled, hub_fixture):
    _train(capsys, str(labeled), "--label-col", "label", "--encoder", str(hub_fixture), "--elmo-branch", "linear",
           "--lexical", "--max-tokens", "32", "--threshold-method", "target_recall", "--threshold-value", "0.8",
           "--val-split", "0.3", "--name", "base")
    _train(capsys, str(labeled), "--label-col", "label", "--like", "base", "--elmo-branch", "mlp", "--epochs", "1",
           "--seed", "3", "--max-tokens", "16", "--threshold-method", "best_f1", "--val-split", "0.3",
           "--name", "mine")
    config = _meta("mine")["head"]["config"]
    assert (config["elmo_branch"], config["epochs"], config["seed"]) == ("mlp", 1, 3)
    assert config["lexical"] is True  # not overridden: still the version's
    assert _meta("mine")["encoder"]["max_tokens"] == 16
    assert _meta("mine")["threshold"]["method"] == "best_f1" and _meta("mine")["threshold"]["target"] is None


def test_like_an_unknown_version_is_a_one_line_input_error(capsys, labeled):
    assert run(["train", str(labeled), "--label-col", "label", "--like", "nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert "nope" in err and len(err.splitlines()) == 1


def test_the_shipped_models_recipe_is_the_offline_elmo_and_its_head():
    root = PROJECT_ROOT / "models"
    if not (root / "engage-default").is_dir():
        pytest.skip("no shipped engage-default in this checkout")
    recipe = recipe_of("engage-default", root=root)
    assert Path(recipe.encoder) == root / "elmo-tweets"
    assert recipe.head == HeadConfig.from_json(_meta_at(root, "engage-default")["head"]["config"])
    assert recipe.head.elmo_branch == "linear" and recipe.head.lexical
    assert (recipe.threshold_method, recipe.like) == ("best_f1", "engage-default")


def _meta_at(root: Path, name: str) -> dict:
    return json.loads((root / name / "model.json").read_text())
