"""The output of a Ray job: a folder of shards, then a manifest written last.

Shards are written by Ray's write tasks and named by the task (`part-00012.parquet`): a retried task writes the
same name again, so a row is never in two shards. Each shard is written under a hidden name and moved into place.
The manifest (`manifest.json`) is written by the driver after every write task succeeded; a folder without it is
unfinished (a failed or interrupted job).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.fs as pafs
from ray.data.block import BlockAccessor
from ray.data.datasource import Datasink

from engage.contract import FLAG_COL
from engage.outputs import neutralize_formulas

MANIFEST = "manifest.json"
FORMATS = {"parquet": ".parquet", "csv": ".csv", "jsonl": ".jsonl"}


def output_format(out: str, given: str | None) -> str:
    """--format, else OUT's suffix (scored.csv/ is CSV shards), else Parquet."""
    if given:
        return given
    suffix = Path(out.rstrip("/")).suffix.lower().lstrip(".")
    return suffix if suffix in FORMATS else "parquet"


def filesystem(out: str) -> tuple[pafs.FileSystem, str]:
    if "://" in out:
        return pafs.FileSystem.from_uri(out)
    return pafs.LocalFileSystem(), str(Path(out).resolve())


def _put(fs: pafs.FileSystem, base: str, name: str, data: bytes) -> None:
    tmp = f"{base}/.{name}.tmp"
    with fs.open_output_stream(tmp) as stream:
        stream.write(data)
    fs.move(tmp, f"{base}/{name}")


def shard_bytes(frame: pd.DataFrame, fmt: str) -> bytes:
    """One shard in the format the local engine writes: CSV with formulas neutralized, JSON Lines, Parquet."""
    if fmt == "csv":
        return neutralize_formulas(frame).to_csv(index=False).encode("utf-8")
    if fmt == "jsonl":
        return "".join(json.dumps(r, ensure_ascii=False, default=str) + "\n"
                       for r in frame.to_dict(orient="records")).encode("utf-8")
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), buffer)
    return buffer.getvalue()


def _empty_texts(values: pd.Series) -> int:
    return int(values.map(lambda v: v is None or (not isinstance(v, str) and pd.isna(v))
                          or not str(v).strip()).sum())


class ShardSink(Datasink):
    """Writes scored rows (all, or the flagged ones) and counts rows in, rows out, flagged and empty messages."""

    def __init__(self, out: str, fmt: str, text_col: str, flagged_only: bool, history=None) -> None:
        self.out, self.fmt, self.text_col, self.flagged_only = out, fmt, text_col, flagged_only
        self.history = history  # engage.monitor.recorder.BlockSpec: each block's summary for the scoring history
        self.result: dict | None = None

    def on_write_start(self, schema=None) -> None:
        fs, base = filesystem(self.out)
        fs.create_dir(base, recursive=True)

    def write(self, blocks, ctx) -> dict:
        frames = [BlockAccessor.for_block(b).to_pandas() for b in blocks]
        frames = [f for f in frames if len(f)]
        counts = {"rows_in": 0, "rows_out": 0, "flagged": 0, "empty_messages": 0, "shards": []}
        if not frames:
            return counts
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        flags = frame[FLAG_COL].astype(bool)
        counts |= {"rows_in": len(frame), "flagged": int(flags.sum()),
                   "empty_messages": _empty_texts(frame[self.text_col])}
        if self.history is not None:  # a bounded summary goes back to the driver, never the rows
            from engage.monitor.recorder import summarize_block

            counts["history"] = summarize_block(self.history, frame)
        if self.flagged_only:
            frame = frame[flags.to_numpy()].reset_index(drop=True)
        counts["rows_out"] = len(frame)
        if len(frame):
            name = f"part-{ctx.task_idx:05d}{FORMATS[self.fmt]}"
            fs, base = filesystem(self.out)
            _put(fs, base, name, shard_bytes(frame, self.fmt))
            counts["shards"].append(name)
        return counts

    def on_write_complete(self, write_result) -> None:
        total = {"rows_in": 0, "rows_out": 0, "flagged": 0, "empty_messages": 0, "shards": []}
        summaries = []
        for counts in write_result.write_returns:
            for key, value in counts.items():
                if key == "history":
                    summaries.append(value)
                else:
                    total[key] += value
        if self.history is not None:
            from engage.monitor.summary import merge_all

            total["history"] = merge_all(summaries, self.history.sample_size)
        total["shards"] = sorted(total["shards"])
        self.result = total


def write_manifest(out: str, manifest: dict) -> str:
    fs, base = filesystem(out)
    manifest = {"complete": True, "created": datetime.now(UTC).isoformat(timespec="seconds")} | manifest
    _put(fs, base, MANIFEST, (json.dumps(manifest, indent=2, default=str) + "\n").encode("utf-8"))
    return f"{out.rstrip('/')}/{MANIFEST}"


def refuse_used_folder(out: str) -> None:
    """A job writes into a new or empty folder: shards of two jobs must never mix."""
    from engage.errors import InputError

    fs, base = filesystem(out)
    info = fs.get_file_info(base)
    if info.type == pafs.FileType.NotFound:
        return
    if info.type != pafs.FileType.Directory:
        raise InputError("--out names a file; the Ray engine writes a folder of shards", file=out)
    if fs.get_file_info(pafs.FileSelector(base)):
        raise InputError("the output folder is not empty; give a new folder (shards of two jobs must not mix)",
                         file=out)
