"""`engage serve --engine ray`: the same FastAPI app on Ray Serve replicas. Each replica loads the model once (the
same loader), follows the active version (hot reload, per replica), and forms batches with Ray Serve's `@serve.batch`
instead of the local engine's batcher thread. Ray Serve's HTTP proxy spreads requests over the replicas and routes
around one that died while Ray starts another.

On an existing cluster: `serve run engage.serve.ray_app:build replicas=2` (or a `serve deploy` config naming
`engage.serve.ray_app:build`); the replicas need the models folder, the embedding cache folder and the label
database reachable at the same paths/URL on every node (README, "Scoring service").

Ray Serve replicas also open an inter-deployment gRPC port on all interfaces (../shared/docs/ray-facts.md): a
production cluster must firewall the nodes' ports from everything but the cluster itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import asdict

from engage.serve.settings import ServeSettings

log = logging.getLogger("engage.serve")
_ENV_KEYS = ("ENGAGE_MODELS_DIR", "ENGAGE_CACHE_DIR", "ENGAGE_DATABASE_URL", "ENGAGE_CONFIG", "ENGAGE_ELMO_HANDLE")


class RayReplicaService:
    """The local engine's service with batching handed to the replica's @serve.batch method."""

    def __init__(self, settings: ServeSettings, metrics, store, batch) -> None:
        from engage.config import cache_dir, models_dir
        from engage.serve.engine import LoadedModel
        from engage.serve.reload import ModelHolder, Serving
        from engage.serve.service import reload_auditor

        self.settings = settings
        self.metrics = metrics
        self._batch = batch
        self.root, self.cache_root = models_dir(), cache_dir() / "embeddings"

        def load(name):
            model = LoadedModel.load(name, self.root, self.cache_root)
            metrics.serving(model.name, model.fingerprint)
            return Serving(model)

        self.holder = ModelHolder(load, settings.model, self.root, reload_auditor(store))

    def start(self) -> None:
        self.holder.watch(self.settings.reload_poll_s)

    def close(self) -> None:
        self.holder.close()

    def models_root(self):
        return self.root

    def model(self):
        return self.holder.current.model

    async def score(self, texts: list[str]):
        model = self.holder.current.model  # this request's version, whatever a reload does meanwhile
        return model, await self._batch((model, texts))

    async def explain(self, text: str):
        model = self.holder.current.model
        return model, await asyncio.to_thread(model.explain, text)

    async def reload(self, actor: str) -> tuple[str, str]:
        return await asyncio.to_thread(self.holder.reload, actor)


def _deployment():
    from ray import serve
    from starlette.responses import Response

    @serve.deployment(name="engage", ray_actor_options={"num_cpus": 1}, max_ongoing_requests=256)
    class EngageReplica:
        def __init__(self, settings: dict, env: dict, open_mode: bool) -> None:
            os.environ.update(env)  # the driver's models folder, cache and label database
            from engage import tf_startup

            tf_startup.configure(False)
            from engage.labels import LabelStore
            from engage.serve.app import create_app
            from engage.serve.keys import KeyChecker
            from engage.serve.metrics import ServeMetrics

            self.settings = ServeSettings(**settings)
            store = LabelStore()
            self.metrics = ServeMetrics()
            self.score_batch.set_max_batch_size(self.settings.max_batch_size)
            self.score_batch.set_batch_wait_timeout_s(self.settings.max_wait_ms / 1000)
            self.service = RayReplicaService(self.settings, self.metrics, store, self.score_batch)
            self.app = create_app(self.settings, self.service, keys=KeyChecker(store, self.settings.key_cache_s),
                                  metrics=self.metrics, open_mode=open_mode, on_scored=scoring_history())
            self.service.start()

        @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.005)
        async def score_batch(self, requests: list[tuple]) -> list:
            """Requests that arrived together, scored in one engine call per model version among them."""
            from engage.serve.engine import EngineScores

            out: list = [None] * len(requests)
            for model in {id(m): m for m, _ in requests}.values():
                picked = [i for i, (m, _) in enumerate(requests) if m is model]
                texts = [t for i in picked for t in requests[i][1]]
                scores = await asyncio.to_thread(model.score, texts)
                self.metrics.batch(len(texts), len(picked))
                start = 0
                for i in picked:
                    end = start + len(requests[i][1])
                    out[i] = EngineScores(scores.values[start:end], scores.truncated[start:end], scores.threshold,
                                          scores.computed)
                    start = end
            return out

        async def __call__(self, request) -> Response:
            """The HTTP request, handed to the FastAPI app as ASGI."""
            body = await request.body()
            delivered = False

            async def receive():
                nonlocal delivered
                if not delivered:
                    delivered = True
                    return {"type": "http.request", "body": body, "more_body": False}
                await asyncio.Event().wait()  # the app reads the body once; a disconnect never comes here

            start: dict = {}
            chunks: list[bytes] = []

            async def send(message):
                if message["type"] == "http.response.start":
                    start.update(message)
                elif message["type"] == "http.response.body":
                    chunks.append(message.get("body", b""))

            await self.app(dict(request.scope), receive, send)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in start.get("headers", [])
                       if k.lower() != b"content-length"}
            return Response(b"".join(chunks), status_code=start.get("status", 500), headers=headers)

    return EngageReplica


def scoring_history():
    """Where scored requests are recorded (the scoring history); None until engage.monitor provides it."""
    return None


def application(settings: ServeSettings, *, replicas: int = 1, gpus_per_replica: float = 0.0,
                open_mode: bool = False):
    """The Serve application: `replicas` replicas of the app, each with `gpus_per_replica` GPUs."""
    env = {k: os.environ[k] for k in _ENV_KEYS if os.environ.get(k)}
    from engage.config import cache_dir, models_dir
    from engage.labels import default_url

    env |= {"ENGAGE_MODELS_DIR": str(models_dir()), "ENGAGE_CACHE_DIR": str(cache_dir()),
            "ENGAGE_DATABASE_URL": default_url()}
    options = {"num_cpus": 1, "num_gpus": gpus_per_replica}
    return _deployment().options(num_replicas=replicas, ray_actor_options=options).bind(
        asdict(settings), env, open_mode)


def build(args: dict):
    """For `serve run engage.serve.ray_app:build replicas=2 gpus_per_replica=1` on an existing cluster. Keys are
    required there (no open mode: the proxy's address is the cluster's)."""
    from engage.serve.settings import load_settings

    settings = load_settings(model=args.get("model"))
    return application(settings, replicas=int(args.get("replicas", 1)),
                       gpus_per_replica=float(args.get("gpus_per_replica", 0)))


def run_on_ray(settings: ServeSettings, store, *, replicas: int, gpus_per_replica: float,
               address: str | None) -> None:
    """`engage serve --engine ray`: deploy on the cluster at `address` ($RAY_ADDRESS), else on a Ray started here
    (loopback only), and block until interrupted."""
    import ray
    from ray import serve

    from engage.serve.keys import KeyChecker
    from engage.serve.service import check_listen

    if replicas < 1:
        from engage.errors import InputError

        raise InputError(f"--replicas must be at least 1, got {replicas}")
    open_mode = check_listen(settings.host, KeyChecker(store, 0))
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, logging_level=logging.WARNING,
                 runtime_env={"py_modules": [str(__import__("pathlib").Path(__file__).resolve().parents[1])],
                              "excludes": ["__pycache__", "*.pyc"]})
    else:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        ray.init(include_dashboard=False, logging_level=logging.WARNING, _node_ip_address="127.0.0.1")
    serve.start(http_options={"host": settings.host, "port": settings.port})
    serve.run(application(settings, replicas=replicas, gpus_per_replica=gpus_per_replica, open_mode=open_mode),
              name="engage", route_prefix="/", blocking=True)
