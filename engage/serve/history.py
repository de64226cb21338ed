"""Hands every scored request to the scoring history (an injected `on_scored(ScoredBatch)`) off the request path: a
bounded queue and one thread. When the history cannot keep up (the queue is full) or fails (on_scored raises),
scoring goes on: the loss is counted (the service's /metrics) and logged."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

from engage.contract import ScoredBatch

log = logging.getLogger("engage.serve")
_STOP = object()


class HistoryFeed:
    def __init__(self, on_scored: Callable[[ScoredBatch], None] | None, maxsize: int,
                 on_lost: Callable[[int, str], None]) -> None:
        self.on_scored = on_scored
        self.on_lost = on_lost  # (messages lost, why: "full" or "failed")
        self._queue: queue.Queue = queue.Queue(maxsize=maxsize)
        self._thread: threading.Thread | None = None
        if on_scored is not None:
            self._thread = threading.Thread(target=self._run, name="scoring-history", daemon=True)
            self._thread.start()

    def put(self, batch: ScoredBatch) -> None:
        """Never blocks: a full queue drops the batch (counted and logged)."""
        if self.on_scored is None:
            return
        try:
            self._queue.put_nowait(batch)
        except queue.Full:
            log.warning("scoring history: queue full, %d scored messages not recorded", len(batch.texts))
            self.on_lost(len(batch.texts), "full")

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is _STOP:
                return
            try:
                self.on_scored(batch)
            except Exception:  # the history's failure must not end the feed, nor reach a client
                log.exception("scoring history: recording %d scored messages failed", len(batch.texts))
                self.on_lost(len(batch.texts), "failed")

    def close(self, timeout_s: float = 5.0) -> None:
        """Records what is queued (for at most timeout_s), then stops."""
        if self._thread is None:
            return
        try:
            self._queue.put(_STOP, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout_s)


def scoring_history():
    """Where scored requests are recorded: the scoring history's writer (engage.monitor), or None when `[monitor]
    record` is off. The service hands it each answered request from its own thread (engage/serve/history.py)."""
    from engage.monitor import HistoryWriter

    writer = HistoryWriter()
    return writer.record if writer.enabled else None
