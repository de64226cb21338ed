"""Errors as problem details (RFC 9457: status, title, detail) and the limits that raise them: request body size and
the per-key rate limit."""

from __future__ import annotations

import json
import math
import threading
import time

from starlette.exceptions import HTTPException

PROBLEM_TYPE = "application/problem+json"
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          413: "Request body too large", 422: "Invalid request", 429: "Too many requests",
          500: "Internal error", 503: "Service unavailable"}


class Problem(HTTPException):
    """An HTTPException, so that FastAPI passes it through as it is wherever it is raised (even while the body is
    read), with the problem-details fields."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None,
                 errors: list[dict] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.errors = errors


def problem_body(status: int, detail: str, errors: list[dict] | None = None) -> dict:
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status, "detail": detail}
    if errors:
        body["errors"] = errors
    return body


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes is refused with 413, by its Content-Length before any of it is
    read, or (chunked) as soon as what has arrived passes the limit."""

    def __init__(self, app, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            return await self._refuse(send, int(length))
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise Problem(413, self._detail(seen, more=True))
            return message

        await self.app(scope, counted, send)

    def _detail(self, size: int, more: bool = False) -> str:
        return f"the request body is {'over ' if more else ''}{size:,} bytes; the limit is {self.limit:,}"

    async def _refuse(self, send, size: int) -> None:
        body = json.dumps(problem_body(413, self._detail(size))).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", PROBLEM_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per key: `rate` requests a second, `burst` at once. take() -> 0 when allowed, else the
    seconds until a request would be (for Retry-After)."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.rate


def retry_after(seconds: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(seconds)))}
