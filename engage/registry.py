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
_POINTER_BYTES = 256        # models/ACTIVE holds one name (at most 100 characters)
_META_BYTES = 1 << 20      # a model.json is a few KB
_REQUIRED = ("format_version", "name", "created", "encoder", "head", "threshold", "files")
TEXT_KEY_DIGITS = 12        # training_data.texts: each training text's key (engage.overlap)


@dataclass
class ModelVersion:
    name: str
    path: Path
    meta: dict

    def file(self, key: str) -> Path:
        """A file of this version: one its model.json checksums, inside its folder (else InputError)."""
        files = self.meta.get("files")
        if not isinstance(files, dict) or not isinstance(key, str) or key not in files:
            raise InputError(f"model '{self.name}': {META_FILE} names {excerpt(key, 200)} as a file of the version, "
                             "but its list of files with their sha256 does not hold it; retrain or restore the version",
                             file=str(self.path / META_FILE))
        return inside_version(self, key)


def excerpt(value: object, limit: int = 60) -> str:
    """Untrusted text quoted in an error: at most limit characters, every control and non-ASCII character escaped
    (so a file's contents can neither flood a message nor write to the terminal)."""
    text = value if isinstance(value, str) else repr(value)
    return ascii(text[:limit]) + (f" ... ({len(text):,} characters)" if len(text) > limit else "")


def inside_version(version: ModelVersion, rel: object) -> Path:
    """The path a model.json entry names, refused unless it lies inside the version's folder once every link is
    followed: a version may not make engage read (or skip the checksum of) a file elsewhere."""
    folder = version.path.resolve()
    path = (version.path / rel).resolve() if isinstance(rel, str) and rel else None
    if path is None or Path(rel).is_absolute() or path == folder or not path.is_relative_to(folder):
        raise InputError(f"model '{version.name}': {META_FILE} names {excerpt(rel, 200)}, which is not a file inside "
                         "the version's folder; refused", file=str(version.path / META_FILE))
    return path


def _root(root: str | Path | None) -> Path:
    return Path(root) if root is not None else models_dir()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError(f"model name {excerpt(name)} is not allowed: use letters, digits, '.', '_' or '-' "
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
    """The name models/ACTIVE holds, or None without one. The pointer is a small file engage writes itself: a link
    or anything that does not hold a version name is refused, quoting at most a short excerpt of it."""
    pointer = _root(root) / ACTIVE_FILE
    if pointer.is_symlink():
        raise InputError(f"{ACTIVE_FILE} is a link, not the file engage writes; remove it and run "
                         "`engage models activate NAME`", file=str(pointer))
    if not pointer.is_file():
        return None
    with pointer.open("rb") as handle:
        head = handle.read(_POINTER_BYTES + 1)
    text = head.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    if len(head) > _POINTER_BYTES or not _NAME.match(text):
        raise InputError(f"{ACTIVE_FILE} does not hold a model name (it starts {excerpt(text)}); run "
                         "`engage models activate NAME`", file=str(pointer))
    return text


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
    """Every file model.json lists is inside the version's folder and has its sha256; the head's weights are one
    of them (ModelVersion.file refuses any other)."""
    files = version.meta["files"]
    if not isinstance(files, dict):
        raise InputError(f"{META_FILE}: 'files' is not an object of file names and sha256",
                         file=str(version.path / META_FILE))
    head = version.meta.get("head")
    if isinstance(head, dict) and "weights" in head:
        version.file(head["weights"])
    for rel, expected in files.items():
        path = inside_version(version, rel)
        if not path.is_file():
            raise InputError(f"model '{version.name}' is missing its file {rel}", file=str(path))
        if sha256_file(path) != expected:
            raise InputError(f"model '{version.name}': {rel} does not match the sha256 in {META_FILE} "
                             "(the file is truncated or altered); retrain or restore it", file=str(path))


def _read_meta(path: Path) -> dict:
    try:
        if not path.resolve().is_relative_to(path.parent.resolve()):
            raise InputError(f"{META_FILE} is a link to a file outside its version's folder; refused", file=str(path))
        with path.open("rb") as handle:
            raw = handle.read(_META_BYTES + 1)
        if len(raw) > _META_BYTES:
            raise InputError(f"{META_FILE} is larger than {_META_BYTES:,} bytes: not a model.json engage wrote",
                             file=str(path))
        meta = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{META_FILE} is not valid JSON ({excerpt(str(exc), 200)})", file=str(path)) from None
    missing = [k for k in _REQUIRED if not isinstance(meta, dict) or k not in meta]
    if missing:
        raise InputError(f"{META_FILE} lacks {', '.join(missing)}", file=str(path))
    if meta["format_version"] != FORMAT_VERSION:
        raise InputError(f"{META_FILE} has format_version {excerpt(meta['format_version'])}, this engage reads "
                         f"{FORMAT_VERSION}", file=str(path))
    data = meta.get("training_data")
    if isinstance(data, dict) and "texts" in data and (problem := check_texts_record(data["texts"])) is not None:
        raise InputError(f"{META_FILE}: {problem}", file=str(path))
    return meta


def check_texts_record(entry: object) -> str | None:
    """What is wrong with training_data.texts (engage.overlap: the training texts' keys, optional: versions
    trained before it was recorded lack it), or None when it is well formed."""
    if not isinstance(entry, dict):
        return "training_data.texts is not an object"
    if not isinstance(entry.get("file"), str):
        return "training_data.texts.file is not a file name"
    for key in ("distinct", "kept"):
        if not isinstance(entry.get(key), int) or isinstance(entry.get(key), bool) or entry[key] < 0:
            return f"training_data.texts.{key} is not a count"
    up_to = entry.get("up_to")
    if up_to is not None and not (isinstance(up_to, str) and len(up_to) == TEXT_KEY_DIGITS):
        return "training_data.texts.up_to is not a text key"
    return None


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
