"""A model version packed for workers that do not share the driver's disk.

The driver packs the version's folder and its encoder's folder into one tar (the encoder under `_encoder`, the
shipped model.json pointing there; model.json's checksums cover every other file, and the encoder is checked by
its content fingerprint at load, so nothing is trusted on the way). The bytes travel through Ray's object store;
each node unpacks them once into a folder named by their sha256, shared by the actors on that node.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from engage import registry

ENCODER_DIR = "_encoder"
_DONE = ".unpacked"


@dataclass(frozen=True)
class ModelBundle:
    name: str
    data: bytes
    sha256: str
    fingerprint: str  # of the model: its files' checksums and its encoder's fingerprint
    threshold: float
    encoder_handle: str


def model_fingerprint(meta: dict) -> str:
    digest = hashlib.sha256(json.dumps(meta["files"], sort_keys=True).encode())
    digest.update(str(meta["encoder"]["fingerprint"]).encode())
    return digest.hexdigest()


def _encoder_folder(handle: str) -> Path:
    if "://" in handle:  # a TF Hub URL: the driver's cached (or downloaded) copy is what the workers get
        from engage.encoders.hub import module_folder

        return module_folder(handle)
    return Path(handle)


def pack_model(name: str | None = None, root: str | Path | None = None) -> ModelBundle:
    """The verified version (checksums checked here, and again on every worker) and its encoder, as tar bytes."""
    version = registry.read_model(name, root)
    handle = version.meta["encoder"]["handle"]
    encoder = _encoder_folder(registry.loadable_handle(handle, root))
    meta = json.loads(json.dumps(version.meta))
    meta["encoder"]["handle"] = ENCODER_DIR
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(version.path.rglob("*")):
            if path.is_file() and path.name != registry.META_FILE:
                tar.add(path, arcname=f"{version.name}/{path.relative_to(version.path).as_posix()}")
        _add_bytes(tar, f"{version.name}/{registry.META_FILE}", json.dumps(meta, indent=2).encode())
        tar.add(encoder, arcname=ENCODER_DIR)
    data = buffer.getvalue()
    return ModelBundle(version.name, data, hashlib.sha256(data).hexdigest(), model_fingerprint(version.meta),
                       float(version.meta["threshold"]["value"]), handle)


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def unpack_model(data: bytes, sha256: str, base: str | Path | None = None) -> Path:
    """The models root holding the bundle on this node, unpacked once (atomically) and reused after."""
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError("the model bundle arrived damaged (sha256 mismatch)")
    base = Path(base or Path(tempfile.gettempdir()) / "engage-ray-models")
    final = base / sha256
    if (final / _DONE).is_file():
        return final
    base.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=base))
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            tar.extractall(tmp, filter="data")
        (tmp / _DONE).write_text("ok\n", encoding="utf-8")
        os.rename(tmp, final)
    except OSError:
        if not (final / _DONE).is_file():  # not another actor of this node winning the race
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
