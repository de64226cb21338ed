"""The FastAPI application: the same app runs on uvicorn (the local engine) and on Ray Serve replicas.

`create_app(settings, service, keys, ...)` takes a service (service.py: the local engine; ray_app.py: Ray Serve's)
that scores, explains and reloads; this module only speaks HTTP: JSON in and out, keys and roles, limits, metrics,
problem details for every error (never a traceback).
"""

# No `from __future__ import annotations` here: FastAPI reads the routes' annotations (Who, a local alias) at runtime.

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from engage import registry
from engage.contract import ScoredBatch
from engage.errors import InputError
from engage.serve.engine import notes
from engage.serve.history import HistoryFeed
from engage.serve.keys import KeyChecker
from engage.serve.limits import PROBLEM_TYPE, BodyLimit, Problem, RateLimiter, problem_body, retry_after
from engage.serve.metrics import ServeMetrics
from engage.serve.settings import ServeSettings
from engage.thresholds import flagged

log = logging.getLogger("engage.serve")
OPEN_MODE = "open mode"


class Message(BaseModel):
    id: str | int | None = Field(None, description="yours, returned as given")
    text: str
    meta: dict[str, Any] | None = Field(None, description="yours, passed to the scoring history")


class ScoreRequest(BaseModel):
    messages: list[Message]


class ExplainRequest(BaseModel):
    text: str
    top: int = Field(10, ge=1, le=1000, description="the tokens listed in `top`, largest contribution first")


@dataclass(frozen=True)
class Caller:
    name: str   # the key's name, or "open mode"
    role: str   # scorer or admin


def create_app(settings: ServeSettings, service, *, keys: KeyChecker | None, metrics: ServeMetrics,
               open_mode: bool, on_scored: Callable[[ScoredBatch], None] | None = None) -> FastAPI:
    """open_mode: with no active key, answer without one (only ever true when listening on loopback)."""
    history = HistoryFeed(on_scored, settings.history_queue, metrics.lost)
    limiter = RateLimiter(settings.rate_per_key, settings.burst_per_key)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        service.start()
        yield
        service.close()
        history.close()

    app = FastAPI(title="engage", version="1", lifespan=lifespan,
                  description="Scores messages: which ones a brand must answer. Errors are problem details "
                              "(application/problem+json).")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    _error_handlers(app)
    _metrics_middleware(app, metrics)

    def caller(request: Request) -> Caller:
        header = request.headers.get("authorization", "")
        scheme, _, key = header.partition(" ")
        if keys is None or not keys.any_active():
            if not header and open_mode:
                return Caller(OPEN_MODE, "admin")
            if keys is None or not open_mode:
                raise Problem(401, "no API key is defined on this service: create one with `engage api-key "
                                   "create NAME --role scorer`", headers={"WWW-Authenticate": "Bearer"})
        if scheme.lower() != "bearer" or not key.strip():
            raise Problem(401, "send an API key: `Authorization: Bearer KEY`", headers={"WWW-Authenticate": "Bearer"})
        found = keys.lookup(key.strip())
        if found is None:
            raise Problem(401, "unknown or revoked API key", headers={"WWW-Authenticate": "Bearer"})
        wait = limiter.take(found.name)
        if wait > 0:
            raise Problem(429, f"key {found.name!r} is over its rate limit of {settings.rate_per_key:g} requests "
                               f"a second (bursts of {settings.burst_per_key}); retry after the Retry-After seconds",
                          headers=retry_after(wait))
        return Caller(found.name, found.role)

    Who = Annotated[Caller, Depends(caller)]

    def admin(who: Who) -> Caller:
        if who.role != "admin":
            raise Problem(403, f"key {who.name!r} has the role {who.role!r}; reloading needs 'admin'")
        return who

    Admin = Annotated[Caller, Depends(admin)]

    @app.get("/healthz", tags=["service"], summary="The process is alive")
    async def healthz() -> dict:
        return {"status": "alive"}

    @app.get("/readyz", tags=["service"], summary="A model is loaded and scoring")
    async def readyz() -> dict:
        model = await service.model()
        if model is None:
            raise Problem(503, "no model loaded yet", headers=retry_after(settings.retry_after_s))
        return {"status": "ready", "model": model.name, "fingerprint": model.fingerprint}

    @app.get("/metrics", tags=["service"], summary="Prometheus metrics (text format)")
    async def metrics_text() -> Response:
        model = await service.model()
        if model is not None:
            metrics.serving(model.name, model.fingerprint)
        return Response(metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/v1/models", tags=["models"], summary="The model versions, the active one and the one serving")
    async def models(_who: Who) -> dict:
        root = service.models_root()
        active = registry.active_name(root)
        serving = await service.model()
        rows = [{"name": v.name, "created": v.meta.get("created"), "active": v.name == active,
                 "serving": serving is not None and v.name == serving.name} for v in registry.list_models(root)]
        return {"active": active, "serving": serving and serving.name, "versions": rows}

    @app.post("/v1/score", tags=["scoring"], summary="Score one or many messages")
    async def score(body: ScoreRequest, who: Who) -> dict:
        texts = _checked_texts(body.messages, settings)
        model, engine = await _timed(service.score(texts), settings)
        values = np.asarray(engine.values, dtype=float)
        flags = flagged(values, engine.threshold)
        metrics.scored.inc(len(texts))
        metrics.flagged.inc(int(flags.sum()))
        results = [{"id": m.id, "score": float(s), "engageable": bool(f), "notes": n}
                   for m, s, f, n in zip(body.messages, values, flags, notes(texts, engine.truncated), strict=True)]
        history.put(_scored_batch(body.messages, texts, values, flags, model.name))
        return {"model": model.name, "fingerprint": model.fingerprint, "threshold": engine.threshold,
                "results": results}

    @app.post("/v1/explain", tags=["scoring"], summary="One message's words and their contributions "
                                                       "(as `engage explain --json`)")
    async def explain(body: ExplainRequest, who: Who) -> dict:
        _checked_texts([Message(text=body.text)], settings, field="text")
        model, ex = await _timed(service.explain(body.text), settings)
        return ex.to_json() | {"model": model.name, "fingerprint": model.fingerprint,
                               "top": [{"token": t, "contribution": c} for t, c in ex.top(body.top)]}

    @app.post("/v1/admin/reload", tags=["admin"], summary="Switch to the active version now (admin keys)")
    async def reload(who: Admin) -> dict:
        try:
            previous, now = await service.reload(f"key:{who.name}" if who.name != OPEN_MODE else OPEN_MODE)
        except InputError as exc:
            raise Problem(422, f"the version does not load, still serving the previous one: {exc}") from None
        metrics.reloads.inc()
        return {"previous": previous, "model": now}

    return app


def _checked_texts(messages: list[Message], settings: ServeSettings, field: str = "messages") -> list[str]:
    if not messages:
        raise Problem(422, "messages: send at least one message", errors=[{"field": "messages",
                                                                           "message": "empty list"}])
    if len(messages) > settings.max_messages:
        detail = f"messages: at most {settings.max_messages} messages a request, got {len(messages)}"
        raise Problem(422, detail, errors=[{"field": "messages", "message": detail}])
    for i, message in enumerate(messages):
        if len(message.text) > settings.max_chars:
            where = f"messages[{i}].text" if field == "messages" else field
            detail = f"{where}: at most {settings.max_chars:,} characters, got {len(message.text):,}"
            raise Problem(422, detail, errors=[{"field": where, "message": detail}])
    return [m.text for m in messages]


async def _timed(work, settings: ServeSettings):
    """The work's result, or 503 with Retry-After when it takes longer than the request timeout (the work is
    cancelled: a batcher skips a request no one waits for)."""
    try:
        return await asyncio.wait_for(work, settings.request_timeout_s)
    except TimeoutError:
        raise Problem(503, f"not answered within the request timeout ({settings.request_timeout_s:g} s): the "
                           "service is busy; retry after the Retry-After seconds",
                      headers=retry_after(settings.retry_after_s)) from None


def _scored_batch(messages: list[Message], texts: list[str], values, flags, model: str) -> ScoredBatch:
    columns: dict[str, list] = {"id": [m.id for m in messages]}
    meta_keys = sorted({k for m in messages if m.meta for k in m.meta})
    for key in meta_keys:
        columns[key] = [(m.meta or {}).get(key) for m in messages]
    return ScoredBatch(source="service", model=model, texts=texts, scores=values, flagged=flags, columns=columns)


def _field(loc: tuple) -> str:
    """('body', 'messages', 3, 'text') -> messages[3].text"""
    out = ""
    for part in loc[1:] if loc and loc[0] == "body" else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def _error_handlers(app: FastAPI) -> None:
    def problem(status: int, detail: str, headers=None, errors=None) -> JSONResponse:
        return JSONResponse(problem_body(status, detail, errors), status_code=status, headers=headers,
                            media_type=PROBLEM_TYPE)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                where = err["loc"][-1] if len(err.get("loc", ())) > 1 else "?"
                errors.append({"field": "body", "message": f"not valid JSON (at character {where}: "
                                                           f"{(err.get('ctx') or {}).get('error', 'invalid')})"})
            else:
                errors.append({"field": _field(tuple(err.get("loc", ()))), "message": err.get("msg", "invalid")})
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem(422, detail + (f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""), errors=errors)

    @app.exception_handler(HTTPException)
    async def http_problem(_request: Request, exc: HTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return problem(exc.status_code, detail, exc.headers, getattr(exc, "errors", None))

    @app.exception_handler(Exception)
    async def internal(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("internal error answering a request")
        return problem(500, f"internal error ({type(exc).__name__}); the trace is in the service's log")


def _metrics_middleware(app: FastAPI, metrics: ServeMetrics) -> None:
    @app.middleware("http")
    async def count(request: Request, call_next):
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            path = getattr(route, "path", "other")
            metrics.requests.labels(route=path, status=str(status)).inc()
            metrics.latency.labels(route=path).observe(time.perf_counter() - start)
