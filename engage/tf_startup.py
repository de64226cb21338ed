"""TensorFlow's start-up, quiet unless asked: the `engage` command calls `configure` before anything imports
TensorFlow.

TensorFlow's C++ side logs through absl. Once absl is initialised it honours TF_CPP_MIN_LOG_LEVEL (3: fatal only),
which silences the later lines (a cuInit error on a machine without a GPU, oneDNN notes). The lines logged while
the shared libraries load come before that ("WARNING: All log messages before absl::InitializeLog() is called are
written to STDERR", then "I0000 ... Could not find cuda drivers ...") and ignore every setting, so the first
`import tensorflow` runs with file descriptor 2 pointed at a temporary file; afterwards the absl-formatted info and
warning lines are dropped and anything else (an error, a Python traceback) is written to stderr as it came.
TensorFlow stays imported lazily: commands that never need it (`engage models list`) do not pay for it.
"""

from __future__ import annotations

import importlib.abc
import os
import re
import sys
import tempfile
from contextlib import contextmanager

QUIET_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "GRPC_VERBOSITY": "ERROR", "GLOG_minloglevel": "3"}
VERBOSE_ENV = {"TF_CPP_MIN_LOG_LEVEL": "0"}
_PREINIT = "All log messages before absl::InitializeLog() is called are written to STDERR"
_ABSL_INFO = re.compile(r"^[IW]\d{4} \d+:\d+:\d+\.\d+ +\d+ [\w./-]+:\d+\] ")  # I0000 00:00:17.5 4007 x.cc:31]
_ANY_LOG = re.compile(r"^[IWEF]\d{4} ")


def configure(verbose: bool = False) -> None:
    """Quiet (default): TensorFlow's C++ logging at fatal only, unless the environment says otherwise, and its
    first import with the pre-init lines filtered. Verbose: every C++ log line, nothing filtered."""
    if verbose:
        os.environ.update(VERBOSE_ENV)
        return
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    if "tensorflow" not in sys.modules and not any(isinstance(f, _QuietFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _QuietFinder())


def without_noise(text: str) -> str:
    """text less TensorFlow's native start-up lines at info or warning level, with their continuation lines
    (cpu_feature_guard's message takes two); an error line, a traceback or any other text stays."""
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        if _PREINIT in line or _ABSL_INFO.match(line):
            dropping = True
        elif dropping and not (_ANY_LOG.match(line) or line.startswith("Traceback") or not line.strip()):
            pass  # the rest of a dropped message
        else:
            dropping = False
            kept.append(line)
    return "".join(kept)


@contextmanager
def filtered_native_stderr():
    """Points file descriptor 2 (what C++ writes to) at a temporary file for the block, then writes back to stderr
    every captured line that is not start-up noise."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = without_noise(captured.read().decode("utf-8", "replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader) -> None:
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        module.__loader__ = module.__spec__.loader = self.loader  # the real loader from now on
        with filtered_native_stderr():
            self.loader.exec_module(module)


class _QuietFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` through the other finders, once, and loads it under filtered_native_stderr."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = None
        for finder in list(sys.meta_path):
            spec = finder.find_spec(name, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                break
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec
