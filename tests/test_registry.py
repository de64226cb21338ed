import json

import pytest

from engage import registry
from engage.errors import InputError


def _save(root, name, payload=b"weights", active=False):
    meta = {"encoder": {"kind": "hub", "handle": "x", "fingerprint": "f", "dim": 4, "max_tokens": 8},
            "head": {"config": {}, "weights": "head.weights.h5"}, "threshold": {"value": 0.5}}
    return registry.save_version(name, meta, lambda d: (d / "head.weights.h5").write_bytes(payload), root, active)


def test_save_list_activate_and_read(tmp_path):
    v1 = _save(tmp_path, "m1", active=True)
    _save(tmp_path, "m2")
    assert [v.name for v in registry.list_models(tmp_path)] == ["m1", "m2"]
    assert registry.active_name(tmp_path) == "m1"
    assert registry.read_model(None, tmp_path).name == "m1"
    registry.activate("m2", tmp_path)
    assert registry.read_model(None, tmp_path).name == "m2"
    meta = json.loads((v1.path / "model.json").read_text())
    assert set(meta["files"]) == {"head.weights.h5"} and meta["format_version"] == 1 and meta["created"]
    assert not list(tmp_path.glob(".tmp-*"))  # nothing half-written left behind


@pytest.mark.parametrize("damage", ["truncate", "alter", "delete"])
def test_damaged_weights_are_refused_with_a_clear_error(tmp_path, damage):
    v = _save(tmp_path, "m", payload=b"x" * 100)
    path = v.path / "head.weights.h5"
    if damage == "truncate":
        path.write_bytes(b"x" * 50)
    elif damage == "alter":
        path.write_bytes(b"y" * 100)
    else:
        path.unlink()
    with pytest.raises(InputError, match="head.weights.h5"):
        registry.read_model("m", tmp_path)


def test_broken_model_json_and_unknown_names(tmp_path):
    v = _save(tmp_path, "m")
    (v.path / "model.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        registry.read_model("m", tmp_path)
    with pytest.raises(InputError, match="not found"):
        registry.read_model("other", tmp_path)
    with pytest.raises(InputError, match="not allowed"):
        registry.read_model("../escape", tmp_path)
    with pytest.raises(InputError, match="no active model"):
        registry.read_model(None, tmp_path / "empty")


def test_existing_version_is_never_overwritten_and_failed_writes_leave_nothing(tmp_path):
    _save(tmp_path, "m")
    with pytest.raises(InputError, match="already exists"):
        _save(tmp_path, "m")

    def boom(folder):
        (folder / "partial").write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        registry.save_version("n", {"encoder": {}, "head": {}, "threshold": {}}, boom, tmp_path)
    assert not (tmp_path / "n").exists() and not list(tmp_path.glob(".tmp-*"))


def test_handles_inside_the_models_dir_are_stored_relative(tmp_path):
    (tmp_path / "elmo").mkdir()
    assert registry.stored_handle(str(tmp_path / "elmo"), tmp_path) == "elmo"
    assert registry.loadable_handle("elmo", tmp_path) == str(tmp_path / "elmo")
    assert registry.stored_handle("https://tfhub.dev/google/elmo/3", tmp_path) == "https://tfhub.dev/google/elmo/3"
