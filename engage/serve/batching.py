"""Dynamic batching for the local engine: requests that arrive together are scored in one engine call.

One Batcher per loaded model version, with one thread: it takes the first waiting request, waits up to `max_wait_s`
for more to join it (up to `max_batch` messages), scores them in one call and hands each request its own slice. A
request whose caller stopped waiting (its timeout) is skipped. After a reload the old version's batcher finishes what
was queued on it, then its thread ends: requests in flight finish on the version they started with.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from engage.serve.engine import EngineScores, LoadedModel

log = logging.getLogger("engage.serve")
_IDLE_POLL_S = 0.5


class Batcher:
    def __init__(self, model: LoadedModel, max_batch: int, max_wait_s: float,
                 on_batch: Callable[[int, int], None] = lambda messages, requests: None) -> None:
        self.model = model
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.on_batch = on_batch
        self._queue: queue.Queue[tuple[list[str], Future]] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._carry: tuple[list[str], Future] | None = None

    def submit(self, texts: list[str]) -> Future:
        """A future of the texts' EngineScores."""
        future: Future = Future()
        with self._lock:
            self._queue.put((list(texts), future))
            if self._thread is None:  # first use, or a late request after the closed batcher's thread ended
                self._thread = threading.Thread(target=self._run, name=f"batcher-{self.model.name}", daemon=True)
                self._thread.start()
        return future

    def close(self) -> None:
        """Finish what is queued, then let the thread end."""
        with self._lock:
            self._closed = True

    def _run(self) -> None:
        while True:
            batch = self._collect()
            if batch is None:
                return
            self._score(batch)

    def _collect(self) -> list[tuple[list[str], Future]] | None:
        first = self._carry
        self._carry = None
        while first is None:
            try:
                first = self._queue.get(timeout=_IDLE_POLL_S)
            except queue.Empty:
                with self._lock:
                    if self._closed and self._queue.empty():
                        self._thread = None
                        return None
        batch, count = [first], len(first[0])
        deadline = time.monotonic() + self.max_wait_s
        while count < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if count + len(item[0]) > self.max_batch:
                self._carry = item  # starts the next batch
                break
            batch.append(item)
            count += len(item[0])
        return batch

    def _score(self, batch: list[tuple[list[str], Future]]) -> None:
        live = [(texts, fut) for texts, fut in batch if fut.set_running_or_notify_cancel()]
        if not live:
            return
        texts = [t for item, _ in live for t in item]
        try:
            scores = self.model.score(texts)
        except BaseException as exc:  # each caller gets the error; the thread goes on
            log.exception("scoring a batch of %d messages failed", len(texts))
            for _, fut in live:
                fut.set_exception(exc)
            return
        self.on_batch(len(texts), len(live))
        start = 0
        for item, fut in live:
            end = start + len(item)
            fut.set_result(EngineScores(scores.values[start:end], scores.truncated[start:end], scores.threshold,
                                        scores.computed))
            start = end
