"""The stateful actor of a Ray job: loads the model version once, then scores batch after batch.

Each batch goes through the same functions as `engage score --engine local` (engage.reading.messages_from_table,
engage.scoring.score_messages), so texts, empty messages, labels and scores are decided by one piece of code.
"""

from __future__ import annotations

import os
import socket

import pandas as pd

from engage.errors import InputError


class RowProblem(Exception):
    """Bad input found on a worker: which file, and the engine's message (the driver then finds the row)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(path, message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def to_frame(table, kind: str) -> pd.DataFrame:
    """A batch as engage.reading would have read it: JSON integers stay integers even where some are missing."""
    import pyarrow as pa

    frame = table.to_pandas()
    if kind == "json":
        for name, column in zip(table.column_names, table.columns, strict=True):
            if pa.types.is_integer(column.type) and column.null_count:
                frame[name] = pd.array(column.to_pylist(), dtype="Int64")
    return frame


class Scorer:
    """map_batches' callable class: constructed once per actor, called once per batch."""

    def __init__(self, bundle_ref: list, bundle_sha256: str, model: str, plan: dict, threshold: float | None,
                 use_cache: bool, progress=None) -> None:
        import ray

        from engage.distributed.bundle import unpack_model
        from engage.scoring import load_classifier

        root = unpack_model(ray.get(bundle_ref[0]), bundle_sha256)
        self.clf = load_classifier(model, root=root, use_cache=use_cache)  # checks every checksum again
        self.plan = plan
        self.threshold = threshold
        self.progress = progress
        self.node = ray.get_runtime_context().get_node_id()
        if progress is not None:
            progress.hello.remote(f"{socket.gethostname()}:{os.getpid()}", self.clf.encoder.device, self.node)

    def __call__(self, table):
        from engage.scoring import score_messages

        path_col = "path" if self.plan["with_paths"] else None
        frame = to_frame(table, self.plan["kind"])
        paths = frame.pop(path_col) if path_col else pd.Series([self.plan["files"][0]] * len(frame))
        parts, computed, truncated = [], 0, 0
        for path, rows in frame.groupby(paths.to_numpy(), sort=False):
            rows = rows.reset_index(drop=True)
            try:
                messages = _messages(rows, path, self.plan)
            except InputError as exc:
                raise RowProblem(str(path), exc.message) from None
            scored, scores = score_messages(self.clf, messages, self.threshold)
            parts.append(scored)
            computed += scores.computed
            truncated += int(scores.truncated.sum())
        out = pd.concat(parts, ignore_index=True) if parts else frame
        if self.progress is not None:
            self.progress.add.remote(len(out), computed, truncated, self.node)
        return out


def _messages(rows: pd.DataFrame, path: str, plan: dict):
    from engage.reading import messages_from_table

    return messages_from_table(rows, name=_local_name(path, plan), text_col=plan["text_col"],
                               label_col=plan["label_col"], detect_labels=False)


def _local_name(path: str, plan: dict) -> str:
    """messages_from_table tells the format by the name's suffix; Ray may hand paths without a scheme."""
    return path if os.path.splitext(path)[1] else plan["files"][0]
