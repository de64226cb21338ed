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


def _edit_meta(version, **changes):
    path = version.path / "model.json"
    meta = json.loads(path.read_text())
    for key, value in changes.items():
        if key == "weights":
            meta["head"]["weights"] = value
        else:
            meta[key] = value
    path.write_text(json.dumps(meta))


@pytest.fixture
def outside(tmp_path):
    """A file beside the models dir that a tampered model.json points at."""
    path = tmp_path / "elsewhere" / "evil.weights.h5"
    path.parent.mkdir()
    path.write_bytes(b"not the version's weights")
    return path


@pytest.mark.parametrize("how", ["relative", "absolute"])
def test_head_weights_outside_the_version_are_refused(tmp_path, outside, how):
    root = tmp_path / "models"
    v = _save(root, "m")
    _edit_meta(v, weights="../../elsewhere/evil.weights.h5" if how == "relative" else str(outside))
    with pytest.raises(InputError, match="evil.weights.h5"):
        registry.read_model("m", root)  # before: verified, then the head loaded from outside without a checksum
    with pytest.raises(InputError):
        registry.ModelVersion("m", v.path, json.loads((v.path / "model.json").read_text())).file(
            "../../elsewhere/evil.weights.h5")


def test_a_file_entry_outside_the_version_is_refused_even_with_its_sha256(tmp_path, outside):
    root = tmp_path / "models"
    v = _save(root, "m")
    files = {"head.weights.h5": registry.sha256_file(v.path / "head.weights.h5"),
             "../../elsewhere/evil.weights.h5": registry.sha256_file(outside)}
    _edit_meta(v, files=files, weights="../../elsewhere/evil.weights.h5")
    with pytest.raises(InputError, match="not a file inside the version's folder"):
        registry.read_model("m", root)


def test_a_link_inside_the_version_to_a_file_outside_is_refused(tmp_path, outside):
    root = tmp_path / "models"
    v = _save(root, "m")
    (v.path / "head.weights.h5").unlink()
    (v.path / "head.weights.h5").symlink_to(outside)
    _edit_meta(v, files={"head.weights.h5": registry.sha256_file(outside)})
    with pytest.raises(InputError, match="not a file inside the version's folder"):
        registry.read_model("m", root)


SECRET = "root:x:0:0:root:/root:/bin/bash\n" + "".join(f"user{i}:x:{1000 + i}:secret-line-{i}\n" for i in range(300))


@pytest.mark.parametrize("how", ["link", "copy"])
def test_an_active_pointer_that_is_not_a_name_is_quoted_short_and_escaped(tmp_path, how):
    root = tmp_path / "models"
    _save(root, "m", active=True)
    passwd = tmp_path / "passwd"
    passwd.write_text(SECRET)
    (root / "ACTIVE").unlink()
    if how == "link":  # the models/ACTIVE -> /etc/passwd
        (root / "ACTIVE").symlink_to(passwd)
    else:
        (root / "ACTIVE").write_text(SECRET)
    with pytest.raises(InputError) as caught:
        registry.read_model(None, root)
    message = str(caught.value)
    assert "ACTIVE" in message and len(message) < 400, message
    assert "secret-line-1" not in message and "\n" not in message  # an excerpt of the first line at most


def test_errors_quote_untrusted_names_short_and_escaped(tmp_path):
    with pytest.raises(InputError) as caught:
        registry.check_name("x" * 5000 + "\x1b[31m")
    message = str(caught.value)
    assert len(message) < 300 and "\x1b" not in message and "5,005 characters" in message
    assert registry.excerpt("ok\n\x1b[2J") == "'ok\\n\\x1b[2J'"
