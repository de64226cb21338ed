"""`engage serve --engine ray`: the same FastAPI app on Ray Serve, as two deployments.

- `scorer` (`--replicas N`, `--gpus-per-replica G` each): each replica loads the model once (the same loader),
  follows the active version (hot reload, per replica) and forms batches with Ray Serve's `@serve.batch`.
- `ingress` (one light replica, no TensorFlow): the FastAPI app (keys, limits, metrics, problem details), calling
  the scorers through a deployment handle. A scorer lost mid-request (its process killed, its node gone) is retried
  once on another replica, else answered 503 with Retry-After; Ray Serve starts a new replica meanwhile.

On an existing cluster: `serve run engage.serve.ray_app:build replicas=2` (or a `serve deploy` config naming
`engage.serve.ray_app:build`); every replica needs the models folder, the embedding cache folder and the label
database at the same paths/URL (README, "Scoring service").

Ray Serve replicas also open an inter-deployment gRPC port on all interfaces (../shared/docs/ray-facts.md): a
production cluster must firewall the nodes' ports from everything but the cluster itself.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from engage.serve.engine import EngineScores
from engage.serve.history import scoring_history
from engage.serve.settings import ServeSettings

log = logging.getLogger("engage.serve")
_ENV_KEYS = ("ENGAGE_MODELS_DIR", "ENGAGE_CACHE_DIR", "ENGAGE_DATABASE_URL", "ENGAGE_CONFIG", "ENGAGE_ELMO_HANDLE")


@dataclass(frozen=True)
class ModelInfo:
    """What the ingress knows of the version that scored a request (the model itself stays in the scorer)."""

    name: str
    fingerprint: str


def _in_replica(env: dict) -> None:
    os.environ.update(env)  # the driver's models folder, cache and label database
    from engage import tf_startup

    tf_startup.configure(False)


def _scorer_class():
    from ray import serve

    @serve.deployment(name="scorer", max_ongoing_requests=256)
    class Scorer:
        def __init__(self, settings: dict, env: dict) -> None:
            _in_replica(env)
            from engage.config import cache_dir, models_dir
            from engage.labels import LabelStore
            from engage.serve.engine import LoadedModel
            from engage.serve.reload import ModelHolder, Serving
            from engage.serve.service import reload_auditor

            self.settings = ServeSettings(**settings)
            root, cache_root = models_dir(), cache_dir() / "embeddings"
            self.score_batch.set_max_batch_size(self.settings.max_batch_size)
            self.score_batch.set_batch_wait_timeout_s(self.settings.max_wait_ms / 1000)
            self.holder = ModelHolder(lambda name: Serving(LoadedModel.load(name, root, cache_root)),
                                      self.settings.model, root, reload_auditor(LabelStore()))
            self.holder.watch(self.settings.reload_poll_s)

        @serve.batch(max_batch_size=64, batch_wait_timeout_s=0.005)
        async def score_batch(self, requests: list[list[str]]) -> list[dict]:
            """Requests that arrived together, scored in one engine call by the version current now."""
            model = self.holder.current.model
            texts = [t for item in requests for t in item]
            scores = await asyncio.to_thread(model.score, texts)
            out, start = [], 0
            for k, item in enumerate(requests):
                end = start + len(item)
                out.append({"model": model.name, "fingerprint": model.fingerprint, "threshold": scores.threshold,
                            "values": scores.values[start:end], "truncated": scores.truncated[start:end],
                            "computed": scores.computed, "batch": (len(texts), len(requests)) if k == 0 else None})
                start = end
            return out

        async def score(self, texts: list[str]) -> dict:
            return await self.score_batch(texts)

        async def explain(self, text: str):
            model = self.holder.current.model
            return ModelInfo(model.name, model.fingerprint), await asyncio.to_thread(model.explain, text)

        async def info(self) -> ModelInfo:
            model = self.holder.current.model
            return ModelInfo(model.name, model.fingerprint)

        async def reload(self, actor: str) -> tuple[str, str]:
            return await asyncio.to_thread(self.holder.reload, actor)

    return Scorer


class RayIngressService:
    """The app's service on the ingress: every call goes to a scorer replica through the handle."""

    def __init__(self, scorer, settings: ServeSettings, metrics) -> None:
        from engage.config import models_dir

        self.scorer = scorer
        self.settings = settings
        self.metrics = metrics
        self.root = models_dir()
        self.last: ModelInfo | None = None

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

    def models_root(self) -> Path:
        return self.root

    async def model(self) -> ModelInfo | None:
        try:
            self.last = await self._call("info")
        except Exception:  # a scorer being replaced: the last version seen
            log.warning("no scorer answered for the model version", exc_info=True)
        return self.last

    async def _call(self, method: str, *args):
        """A scorer's answer; a replica lost mid-call is retried once on another, then answered 503."""
        from ray.exceptions import RayError, RayTaskError

        from engage.serve.limits import Problem, retry_after

        for attempt in (1, 2):
            try:
                return await getattr(self.scorer, method).remote(*args)
            except RayTaskError:
                raise
            except RayError as exc:  # the replica died or is unreachable: not the request's fault
                log.warning("scorer replica lost during %s (attempt %d): %s", method, attempt, type(exc).__name__)
        raise Problem(503, "a scoring replica was lost while answering; retry after the Retry-After seconds",
                      headers=retry_after(self.settings.retry_after_s))

    async def score(self, texts: list[str]):
        answer = await self._call("score", texts)
        if answer["batch"] is not None:  # the batch's first request reports its size, so each batch counts once
            self.metrics.batch(*answer["batch"])
        self.last = ModelInfo(answer["model"], answer["fingerprint"])
        return self.last, EngineScores(answer["values"], answer["truncated"], answer["threshold"],
                                       answer["computed"])

    async def explain(self, text: str):
        return await self._call("explain", text)

    async def reload(self, actor: str) -> tuple[str, str]:
        return await self._call("reload", actor)


def _ingress_class():
    from ray import serve
    from starlette.responses import Response

    @serve.deployment(name="ingress", ray_actor_options={"num_cpus": 0}, max_ongoing_requests=1024)
    class Ingress:
        def __init__(self, settings: dict, env: dict, open_mode: bool, scorer) -> None:
            os.environ.update(env)
            from engage.labels import LabelStore
            from engage.serve.app import create_app
            from engage.serve.keys import KeyChecker
            from engage.serve.metrics import ServeMetrics

            settings = ServeSettings(**settings)
            store = LabelStore()
            metrics = ServeMetrics()
            service = RayIngressService(scorer, settings, metrics)
            self.app = create_app(settings, service, keys=KeyChecker(store, settings.key_cache_s), metrics=metrics,
                                  open_mode=open_mode, on_scored=scoring_history())

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

    return Ingress


def application(settings: ServeSettings, *, replicas: int = 1, gpus_per_replica: float = 0.0,
                open_mode: bool = False):
    """The Serve application: the ingress and `replicas` scorers with `gpus_per_replica` GPUs each."""
    from engage.config import cache_dir, models_dir
    from engage.labels import default_url

    env = {k: os.environ[k] for k in _ENV_KEYS if os.environ.get(k)}
    env |= {"ENGAGE_MODELS_DIR": str(models_dir()), "ENGAGE_CACHE_DIR": str(cache_dir()),
            "ENGAGE_DATABASE_URL": default_url()}
    scorer = _scorer_class().options(num_replicas=replicas,
                                     ray_actor_options={"num_cpus": 1, "num_gpus": gpus_per_replica})
    return _ingress_class().bind(asdict(settings), env, open_mode, scorer.bind(asdict(settings), env))


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

    from engage.errors import InputError
    from engage.serve.keys import KeyChecker
    from engage.serve.service import check_listen

    if replicas < 1:
        raise InputError(f"--replicas must be at least 1, got {replicas}")
    open_mode = check_listen(settings.host, KeyChecker(store, 0))
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        ray.init(address=address, logging_level=logging.WARNING,
                 runtime_env={"py_modules": [str(Path(__file__).resolve().parents[1])],
                              "excludes": ["__pycache__", "*.pyc"]})
    else:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        ray.init(include_dashboard=False, logging_level=logging.WARNING, _node_ip_address="127.0.0.1")
    serve.start(http_options={"host": settings.host, "port": settings.port})
    serve.run(application(settings, replicas=replicas, gpus_per_replica=gpus_per_replica, open_mode=open_mode),
              name="engage", route_prefix="/", blocking=True)
