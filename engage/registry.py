"""Model versions on disk: one folder per version with the head's weights and model.json.

model.json records the sha256 of every file, checked at load, so a truncated or altered file is refused. New
versions are written to a temporary folder and renamed into place; the active pointer is replaced atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from engage.config import models_dir
from engage.errors import InputError

FORMAT_VERSION = 1
ACTIVE_FILE = "ACTIVE"
META_FILE = "model.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_REQUIRED = ("format_version", "name", "created", "encoder", "head", "threshold", "files")


@dataclass
class ModelVersion:
    name: str
    path: Path
    meta: dict

    def file(self, key: str) -> Path:
        return self.path / key


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else models_dir()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InputError(f"model name '{name}' is not allowed: use letters, digits, '.', '_' or '-' "
                         "(at most 100, starting with a letter or digit)")
    return name


def new_name(prefix: str = "engage") -> str:
    return f"{prefix}-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}"


def list_models(root: str | Path | None = None) -> list[ModelVersion]:
    """Every version with a readable model.json, oldest first. Unreadable ones are skipped (show reports them)."""
    base = _root(root)
    versions = []
    for meta_path in sorted(base.glob(f"*/{META_FILE}")):
        try:
            versions.append(ModelVersion(meta_path.parent.name, meta_path.parent, _read_meta(meta_path)))
        except InputError:
            continue
    return sorted(versions, key=lambda v: (v.meta.get("created", ""), v.name))


def active_name(root: str | Path | None = None) -> str | None:
    pointer = _root(root) / ACTIVE_FILE
    if not pointer.is_file():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    return name or None


def activate(name: str, root: str | Path | None = None) -> ModelVersion:
    version = read_model(name, root)
    _atomic_write(_root(root) / ACTIVE_FILE, name + "\n")
    return version


def read_model(name: str | None = None, root: str | Path | None = None) -> ModelVersion:
    """A verified version: the named one, else the active one."""
    base = _root(root)
    if name is None:
        name = active_name(base)
        if name is None:
            raise InputError(f"no active model in {base}: train one with `engage train ... --activate` "
                             "or pick one with `engage models activate NAME`")
    path = base / check_name(name)
    if not (path / META_FILE).is_file():
        known = ", ".join(v.name for v in list_models(base)) or "none"
        raise InputError(f"model '{name}' not found in {base} (known: {known})")
    version = ModelVersion(name, path, _read_meta(path / META_FILE))
    verify(version)
    return version


def verify(version: ModelVersion) -> None:
    for rel, expected in version.meta["files"].items():
        path = version.path / rel
        if not path.is_file():
            raise InputError(f"model '{version.name}' is missing its file {rel}", file=str(path))
        if sha256_file(path) != expected:
            raise InputError(f"model '{version.name}': {rel} does not match the sha256 in {META_FILE} "
                             "(the file is truncated or altered); retrain or restore it", file=str(path))


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{META_FILE} is not valid JSON ({exc})", file=str(path)) from None
    missing = [k for k in _REQUIRED if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise InputError(f"{META_FILE} lacks {', '.join(missing)}", file=str(path))
    if meta["format_version"] != FORMAT_VERSION:
        raise InputError(f"{META_FILE} has format_version {meta['format_version']}, this engage reads "
                         f"{FORMAT_VERSION}", file=str(path))
    return meta


def save_version(name: str, meta: dict, write_files: Callable[[Path], None],
                 root: str | Path | None = None, make_active: bool = False) -> ModelVersion:
    """Write a new version: write_files(folder) puts the files there; model.json gets their sha256."""
    base = _root(root)
    check_name(name)
    final = base / name
    if final.exists():
        raise InputError(f"model '{name}' already exists in {base}; choose another name")
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=base))
    try:
        write_files(tmp)
        files = {p.relative_to(tmp).as_posix(): sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        meta = {"format_version": FORMAT_VERSION, "name": name,
                "created": datetime.now(UTC).isoformat(timespec="seconds")} | meta | {"files": files}
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n", encoding="utf-8")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if make_active:
        _atomic_write(base / ACTIVE_FILE, name + "\n")
    return ModelVersion(name, final, meta)


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def stored_handle(handle: str, root: str | Path | None = None) -> str:
    """How model.json records an encoder handle: URLs as they are, folders inside the models dir relative to
    it (so a cloned project finds its shipped ELMo), other folders absolute."""
    if "://" in handle:
        return handle
    path = Path(handle).resolve()
    base = _root(root).resolve()
    return path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path)


def loadable_handle(handle: str, root: str | Path | None = None) -> str:
    """The encoder handle model.json stored (stored_handle's), as load_encoder takes it: a URL or an absolute
    folder as it is, a relative folder under the models folder. (engage.encoders.hub.module_folder then finds the
    TF Hub module such a handle names.)"""
    if "://" in handle or Path(handle).is_absolute():
        return handle
    return str(_root(root) / handle)
