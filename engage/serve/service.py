"""The local engine: the model loaded in this process, dynamic batching on a thread, hot reload; and `build_app`,
which puts the HTTP app around it (what `engage serve --engine local` runs on uvicorn)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from engage.config import cache_dir, models_dir
from engage.contract import ScoredBatch
from engage.labels import LabelStore
from engage.serve.app import create_app
from engage.serve.batching import Batcher
from engage.serve.engine import LoadedModel
from engage.serve.keys import KeyChecker
from engage.serve.metrics import ServeMetrics
from engage.serve.reload import ModelHolder, Serving
from engage.serve.settings import ServeSettings


def reload_auditor(store: LabelStore | None) -> Callable[[str, str | None, str], None] | None:
    if store is None:
        return None
    return lambda actor, previous, now: store.record_audit("reload", actor, now, from_version=previous,
                                                           to_version=now)


class LocalService:
    def __init__(self, settings: ServeSettings, metrics: ServeMetrics, store: LabelStore | None) -> None:
        self.settings = settings
        self.metrics = metrics
        # Where models and the embedding cache are, fixed at start (the environment may change later in-process).
        self.root, self.cache_root = models_dir(), cache_dir() / "embeddings"
        self.holder = ModelHolder(self._load, settings.model, self.root, reload_auditor(store), retire=self._retire)

    def _load(self, name: str | None) -> Serving:
        model = LoadedModel.load(name, self.root, self.cache_root)
        batcher = Batcher(model, self.settings.max_batch_size, self.settings.max_wait_ms / 1000,
                          on_batch=self.metrics.batch)
        self.metrics.serving(model.name, model.fingerprint)
        return Serving(model, batcher)

    @staticmethod
    def _retire(serving: Serving) -> None:
        serving.runner.close()

    def start(self) -> None:
        self.holder.watch(self.settings.reload_poll_s)

    def close(self) -> None:
        self.holder.close()

    def models_root(self):
        return self.root

    async def model(self) -> LoadedModel:
        return self.holder.current.model

    async def score(self, texts: list[str]):
        serving = self.holder.current  # this request's version, whatever a reload does meanwhile
        return serving.model, await asyncio.wrap_future(serving.runner.submit(texts))

    async def explain(self, text: str):
        model = self.holder.current.model
        return model, await asyncio.to_thread(model.explain, text)

    async def reload(self, actor: str) -> tuple[str, str]:
        previous, now = await asyncio.to_thread(self.holder.reload, actor)
        return previous, now


def build_app(settings: ServeSettings, store: LabelStore | None,
              on_scored: Callable[[ScoredBatch], None] | None = None):
    """The local engine's app. Listening beyond loopback needs an active key (refused here otherwise); on loopback
    with no key the app answers without one (open mode)."""
    keys = KeyChecker(store, settings.key_cache_s) if store is not None else None
    loopback = check_listen(settings.host, keys)
    metrics = ServeMetrics()
    service = LocalService(settings, metrics, store)
    return create_app(settings, service, keys=keys, metrics=metrics, open_mode=loopback, on_scored=on_scored)


def check_listen(host: str, keys: KeyChecker | None) -> bool:
    """Whether `host` is loopback (then the open mode is allowed). Another address with no active key is refused:
    anyone who reached it could use the service."""
    from engage.errors import InputError
    from engage.serve.settings import is_loopback

    loopback = is_loopback(host)
    if not loopback and (keys is None or not keys.any_active()):
        raise InputError(f"refusing to listen on {host}: no API key is defined, so anyone who reaches it could use "
                         "it; create one (`engage api-key create NAME --role scorer`) or listen on 127.0.0.1")
    return loopback
