"""TensorFlow Hub ELMo (google/elmo/3 in the TF1 Hub format, or a TF2 SavedModel with the same signatures).

Handles: an http(s) URL resolves through tensorflow_hub's cache ($TFHUB_CACHE_DIR/<sha1 of handle>, used with
no network when present); anything else is a local folder. A missing module fails fast with an InputError that
says how to provide it, instead of letting tensorflow_hub wait on a network that is not there.
"""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from engage.config import DEFAULT_HUB_HANDLE, PROJECT_ROOT, default_encoder_handle
from engage.encoders.base import DEFAULT_MAX_TOKENS, Progress, length_batches, tf_device
from engage.errors import InputError
from engage.tokens import message_tokens

NETWORK_TIMEOUT_S = 5.0        # to decide the network is unreachable
DOWNLOAD_SOCKET_TIMEOUT_S = 60.0  # per blocking read while downloading, so a stalled download ends
LAYER_KEYS = ("word_emb", "lstm_outputs1", "lstm_outputs2")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
SHIPPED_ELMO = PROJECT_ROOT / "models" / "elmo-tweets"  # the offline ELMo the project ships (its model card there)


def _sha1(handle: str) -> str:
    return hashlib.sha1(handle.encode("utf8")).hexdigest()


def hub_cache_dir() -> Path:
    """tensorflow_hub's module cache: $TFHUB_CACHE_DIR, else <tempdir>/tfhub_modules."""
    return Path(os.environ.get("TFHUB_CACHE_DIR") or Path(tempfile.gettempdir()) / "tfhub_modules")


def how_to_provide(handle: str) -> str:
    """The sentences that tell a user how to give engage the module without network access here."""
    url = handle if handle.startswith(("http://", "https://")) else DEFAULT_HUB_HANDLE
    sep = "&" if "?" in url else "?"
    return (f"To provide the module, download {url}{sep}tf-hub-format=compressed on a machine with internet "
            f"access, unpack it into a folder (mkdir elmo && tar xzf the_downloaded_file -C elmo), copy that "
            f"folder here and pass it with --encoder elmo or ENGAGE_ELMO_HANDLE=elmo (or put its contents in "
            f"$TFHUB_CACHE_DIR/{_sha1(url)}).{shipped_elmo_hint()}")


def shipped_elmo_hint() -> str:
    """The sentence naming the ELMo engage ships, which needs no download (empty if this install lacks it)."""
    if not (SHIPPED_ELMO / "options.json").is_file():
        return ""
    return (f" Or use the ELMo engage ships, which needs no network: --encoder models/elmo-tweets (in "
            f"{PROJECT_ROOT}; the folder is {SHIPPED_ELMO}), or engage train --like engage-default for the "
            f"shipped model's whole recipe.")


def _is_http(handle: str) -> bool:
    return handle.startswith(("http://", "https://"))


def _reachable(url: str, timeout: float = NETWORK_TIMEOUT_S) -> bool:
    """Whether a TCP connection to the URL's host (or the configured proxy) opens within timeout seconds.

    Name resolution has no timeout of its own, so the whole check runs in a daemon thread we stop waiting
    for."""
    parsed = urllib.parse.urlparse(url)
    proxy = urllib.request.getproxies().get(parsed.scheme)
    target = urllib.parse.urlparse(proxy if proxy else url)
    host = target.hostname or ""
    port = target.port or (443 if target.scheme == "https" else 80)
    ok: list[bool] = []

    def attempt() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                ok.append(True)
        except OSError:
            pass

    thread = threading.Thread(target=attempt, daemon=True)
    thread.start()
    thread.join(timeout + 0.5)
    return bool(ok)


def _find_module(folder: Path) -> Path | None:
    """The folder holding saved_model.pb: the folder itself, or its only subfolder (a tarball unpacked with
    its own top folder)."""
    def has_model(p: Path) -> bool:
        return (p / "saved_model.pb").is_file() or (p / "saved_model.pbtxt").is_file()

    if has_model(folder):
        return folder
    subfolders = [p for p in folder.iterdir() if p.is_dir()]
    if len(subfolders) == 1 and has_model(subfolders[0]):
        return subfolders[0]
    return None


def module_folder(handle: str) -> Path:
    """The local folder of the module a handle names; InputError when it is missing and cannot be fetched."""
    if _is_http(handle):
        return _resolve_url(handle)
    folder = Path(handle).expanduser()
    if handle.lower().endswith(ARCHIVE_SUFFIXES) and not folder.is_dir():
        raise InputError(f"The ELMo module {handle} is a compressed archive; TensorFlow Hub needs it "
                         f"unpacked: mkdir elmo && tar xzf {handle} -C elmo, then pass the folder elmo with "
                         f"--encoder or ENGAGE_ELMO_HANDLE.")
    if not folder.exists():
        raise InputError(f"The ELMo module folder {handle} does not exist. "
                         f"{how_to_provide(DEFAULT_HUB_HANDLE)}")
    if not folder.is_dir():
        raise InputError(f"The ELMo module {handle} is a file, not a folder. "
                         f"{how_to_provide(DEFAULT_HUB_HANDLE)}")
    module = _find_module(folder)
    if module is None:
        raise InputError(f"The folder {handle} holds no TensorFlow Hub module (no saved_model.pb in it). "
                         f"{how_to_provide(DEFAULT_HUB_HANDLE)}")
    return module


def _resolve_url(handle: str) -> Path:
    cached = hub_cache_dir() / _sha1(handle)
    if cached.is_dir() and any(cached.iterdir()):
        return _find_module(cached) or cached
    if not _reachable(handle):
        raise InputError(f"The ELMo module {handle} is not in the TensorFlow Hub cache ({cached}) and "
                         f"{urllib.parse.urlparse(handle).hostname} cannot be reached from this machine. "
                         f"{how_to_provide(handle)}")
    import tensorflow_hub as hub

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_SOCKET_TIMEOUT_S)
    try:
        return Path(hub.resolve(handle))
    except Exception as exc:  # any download failure is the same problem for the user: no module here
        raise InputError(f"The ELMo module {handle} could not be downloaded ({type(exc).__name__}: "
                         f"{str(exc).splitlines()[0] if str(exc) else 'no detail'}). "
                         f"{how_to_provide(handle)}") from exc
    finally:
        socket.setdefaulttimeout(previous)


def module_files(folder: Path) -> list[Path]:
    """The files that define a module's outputs: graph, Hub descriptor, variables, assets."""
    names = ["saved_model.pb", "saved_model.pbtxt", "tfhub_module.pb"]
    files = [folder / n for n in names if (folder / n).is_file()]
    for sub in ("variables", "assets"):
        files += sorted(p for p in (folder / sub).rglob("*") if p.is_file())
    return files


def module_fingerprint(folder: Path, kind: str, max_tokens: int) -> str:
    digest = hashlib.sha256(f"{kind}\n{max_tokens}\n".encode())
    for path in module_files(folder):
        digest.update(f"{path.relative_to(folder).as_posix()}\n".encode())
        with path.open("rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()


class HubEncoder:
    """ELMo from TensorFlow Hub; layer_means gives float32 [N, 3, D] (token layer as [x, x], LSTM 1, 2)."""

    kind = "hub"

    def __init__(self, handle: str | None = None, max_tokens: int = DEFAULT_MAX_TOKENS, batch_tokens: int = 4096,
                 max_batch: int = 256) -> None:
        if max_tokens < 1:
            raise InputError(f"max_tokens must be at least 1, got {max_tokens}")
        self.handle = str(handle) if handle else default_encoder_handle()
        self.max_tokens = max_tokens
        self.batch_tokens = batch_tokens
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self.folder = module_folder(self.handle)
        self._module = self._load()  # keep: the signatures' variables live as long as the module does
        signatures = self._module.signatures
        self.signature = "tokens" if "tokens" in signatures else "default"
        self._fn = signatures[self.signature]
        self._sentences = None if self.signature == "tokens" else self._single_input()
        self.device = tf_device()
        self.fingerprint = module_fingerprint(self.folder, self.kind, max_tokens)
        self.dim = self._dim()

    def _load(self):
        import tensorflow as tf
        import tensorflow_hub as hub

        try:
            module = hub.load(str(self.folder))
        except (ValueError, OSError, tf.errors.OpError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise InputError(f"The ELMo module in {self.folder} could not be loaded ({first}). "
                             f"{how_to_provide(self.handle)}") from exc
        if not {"tokens", "default"} & set(module.signatures):
            raise InputError(f"The module in {self.folder} has neither a 'tokens' nor a 'default' signature, "
                             f"so it is not a TensorFlow Hub ELMo module. {how_to_provide(self.handle)}")
        return module

    def _single_input(self) -> str:
        """The name of the `default` signature's one input: google/elmo/3 calls it `default`, but a TF2
        SavedModel names it after its function's argument (`text`, `sentences`, ...); a signature is called by
        keyword, so the name must be its own."""
        _, inputs = self._fn.structured_input_signature
        if len(inputs) != 1:
            raise InputError(f"The 'default' signature of the module in {self.folder} takes {len(inputs)} inputs "
                             f"({', '.join(inputs) or 'none'}); an ELMo's takes one, the sentences. "
                             f"{how_to_provide(self.handle)}")
        return next(iter(inputs))

    def _dim(self) -> int:
        outputs = self._fn.structured_outputs
        missing = [k for k in LAYER_KEYS if k not in outputs]
        if missing:
            raise InputError(f"The module in {self.folder} has no output {', '.join(missing)}, so it is "
                             f"not a TensorFlow Hub ELMo module. {how_to_provide(self.handle)}")
        dim = outputs["lstm_outputs1"].shape[-1]
        if dim is None:  # shape unknown until it runs: run it once on one token
            dim = int(self._run([["a"]])["lstm_outputs1"].shape[-1])
        return int(dim)

    def _run(self, token_lists: list[list[str]]) -> dict:
        import tensorflow as tf

        longest = max(len(t) for t in token_lists)
        if self.signature == "tokens":
            padded = [t + [""] * (longest - len(t)) for t in token_lists]
            return self._fn(tokens=tf.constant(padded, dtype=tf.string, shape=(len(padded), longest)),
                            sequence_len=tf.constant([len(t) for t in token_lists], dtype=tf.int32))
        return self._fn(**{self._sentences: tf.constant([" ".join(t) for t in token_lists], dtype=tf.string)})

    def _batch_means(self, token_lists: list[list[str]]) -> np.ndarray:
        import tensorflow as tf

        out = self._run(token_lists)
        lstm1 = out["lstm_outputs1"]
        lengths = out["sequence_len"] if "sequence_len" in out else [len(t) for t in token_lists]
        mask = tf.sequence_mask(lengths, tf.shape(lstm1)[1], dtype=tf.float32)[..., None]
        count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)
        word = out["word_emb"]
        if word.shape[-1] * 2 == self.dim:
            word = tf.concat([word, word], axis=-1)
        elif word.shape[-1] != self.dim:
            raise InputError(f"The module in {self.folder} gives word_emb with {word.shape[-1]} channels and "
                             f"LSTM outputs with {self.dim}; ELMo's token layer has D or D/2 channels.")
        means = [tf.reduce_sum(tf.cast(x, tf.float32) * mask, axis=1) / count
                 for x in (word, lstm1, out["lstm_outputs2"])]
        return tf.stack(means, axis=1).numpy().astype(np.float32)

    def layer_means(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        # One call at a time, whoever calls (every session's scoring, training, explaining share one encoder): a
        # second caller waits instead of doubling the memory of a large batch on the device.
        with self._lock:
            return self._layer_means(texts, progress)

    def _layer_means(self, texts: Sequence[str], progress: Progress | None = None) -> np.ndarray:
        result = np.zeros((len(texts), 3, self.dim), dtype=np.float32)
        token_lists = [message_tokens(t, self.max_tokens)[0] for t in texts]
        real = [i for i, t in enumerate(token_lists) if t]  # a message with no token stays zeros
        if progress and len(real) < len(texts):
            progress(len(texts) - len(real))
        batches = length_batches([len(token_lists[i]) for i in real], self.batch_tokens, self.max_batch)
        for batch in batches:
            rows = [real[j] for j in batch]
            result[rows] = self._batch_means([token_lists[i] for i in rows])
            if progress:
                progress(len(rows))
        return result
