"""The service's Prometheus metrics, in a registry of the app's own (two apps in one process do not mix)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


class ServeMetrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter("engage_serve_requests", "HTTP requests answered, by route and status",
                                ["route", "status"], registry=r)
        self.latency = Histogram("engage_serve_request_seconds", "Time to answer a request, by route", ["route"],
                                 buckets=(.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30), registry=r)
        self.batch_messages = Histogram("engage_serve_batch_messages", "Messages scored per engine batch",
                                        buckets=_SIZE_BUCKETS, registry=r)
        self.batch_requests = Histogram("engage_serve_batch_requests", "Requests joined in one engine batch",
                                        buckets=_SIZE_BUCKETS, registry=r)
        self.scored = Counter("engage_serve_messages_scored", "Messages scored", registry=r)
        self.flagged = Counter("engage_serve_messages_flagged", "Messages scored engageable", registry=r)
        self.model = Gauge("engage_serve_model_info", "The model version being served (value 1)",
                           ["version", "fingerprint"], registry=r)
        self.reloads = Counter("engage_serve_reloads", "Switches to another model version", registry=r)
        self.history_lost = Counter("engage_serve_history_lost_messages",
                                    "Scored messages the scoring history did not record, by why", ["reason"],
                                    registry=r)

    def batch(self, messages: int, requests: int) -> None:
        self.batch_messages.observe(messages)
        self.batch_requests.observe(requests)

    def serving(self, version: str, fingerprint: str) -> None:
        self.model.clear()
        self.model.labels(version=version, fingerprint=fingerprint).set(1)

    def lost(self, messages: int, reason: str) -> None:
        self.history_lost.labels(reason=reason).inc(messages)

    def text(self) -> bytes:
        return generate_latest(self.registry)
