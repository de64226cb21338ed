"""Hot reload: the model version being served, switched without refusing or failing a request.

A new version is loaded beside the old one (which goes on answering), then one assignment makes it current. Requests
took the LoadedModel current when they started and keep it, so they finish on that version; the old version's batcher
drains and stops. Unless a version is pinned (`--model`), a watcher follows the registry's active version (`engage
models activate`, the Models page); POST /v1/admin/reload reloads at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engage import registry
from engage.serve.engine import LoadedModel

log = logging.getLogger("engage.serve")


@dataclass
class Serving:
    """A loaded version and whatever runs it (the local engine's batcher)."""

    model: LoadedModel
    runner: object = None


class ModelHolder:
    def __init__(self, load: Callable[[str | None], Serving], pinned: str | None, root: Path,
                 audit: Callable[[str, str | None, str], None] | None = None,
                 retire: Callable[[Serving], None] = lambda serving: None) -> None:
        """load(name or None for the active version) -> Serving; audit(actor, from_version, to_version) records a
        reload; retire(old) runs after a switch (the batcher drains)."""
        self._load = load
        self.root = root  # the models folder whose active version is followed
        self.pinned = pinned
        self._audit = audit
        self._retire = retire
        self._reloading = threading.Lock()
        self.current: Serving = load(pinned)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    def reload(self, actor: str, name: str | None = None) -> tuple[str, str]:
        """Loads `name` (default: the pinned version, else the active one) and switches to it; returns (previous,
        now). A version that fails to load raises and leaves the current one serving."""
        with self._reloading:
            old = self.current
            new = self._load(name or self.pinned)
            self.current = new  # one assignment: a request sees the old version or the new one, never neither
            self._retire(old)
            if self._audit is not None:
                try:
                    self._audit(actor, old.model.name, new.model.name)
                except Exception:  # the switch happened; a lost audit row is logged, not a failed reload
                    log.exception("could not write the audit row of a reload to %s", new.model.name)
            log.info("reloaded: %s -> %s (%s)", old.model.name, new.model.name, actor)
            return old.model.name, new.model.name

    def watch(self, every_s: float, actor: str = "engage serve (followed the active version)") -> None:
        """Follows the registry's active version, checked every `every_s` seconds (not when a version is pinned)."""
        if self.pinned is not None or every_s <= 0:
            return

        def loop() -> None:
            while not self._stop.wait(every_s):
                try:
                    active = registry.active_name(self.root)
                    if active is not None and active != self.current.model.name:
                        self.reload(actor, active)
                except Exception:  # a broken new version: keep serving the one that works, say why in the log
                    log.exception("could not switch to the active version; still serving %s",
                                  self.current.model.name)

        self._watcher = threading.Thread(target=loop, name="active-version-watcher", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)
        self._retire(self.current)
