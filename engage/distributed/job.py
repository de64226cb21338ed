"""One Ray job: connect (or start a Ray on this machine), read on the cluster, score with a pool of actors, write
shards, then the manifest. Errors become the project's one-line InputError naming file and row."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engage.distributed.bundle import ModelBundle, pack_model
from engage.distributed.plan import ReadingPlan, locate_problem, make_plan, problem_file
from engage.errors import InputError, chain_of
from engage.thresholds import threshold_in_force

Progress = Callable[[int, float], None]  # rows done, rows per second


@dataclass
class RayJob:
    inputs: list[str]
    out: str
    address: str | None = None          # else $RAY_ADDRESS, else a Ray started here for this job
    workers: int = 2                    # the actor pool grows from 1 up to this many
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    batch_size: int = 1000
    model: str | None = None
    threshold: float | None = None
    flagged_only: bool = False
    text_col: str | None = None
    fmt: str | None = None              # parquet, csv or jsonl; else from OUT's name
    use_cache: bool = True
    num_cpus: int | None = None         # of a Ray started here (default: every core)
    progress: Progress | None = None
    progress_every_s: float = 2.0
    extra: dict = field(default_factory=dict)
    history: object = None              # engage.monitor.HistoryWriter: record the job (shard summaries merged)
    source: str = "ray"                 # its source name in the scoring history
    time_col: str | None = None         # else detected by name


class ProgressCounter:
    """A small actor on the driver's node that the scoring actors tell what they did (fire and forget)."""

    def __init__(self) -> None:
        self.rows = self.computed = self.truncated = 0
        self.actors: dict[str, str] = {}
        self.nodes: set[str] = set()
        self.by_node: dict[str, int] = {}

    def hello(self, actor: str, device: str, node: str) -> None:
        self.actors[actor] = device
        self.nodes.add(node)

    def add(self, rows: int, computed: int, truncated: int, node: str = "") -> None:
        self.rows += rows
        self.by_node[node] = self.by_node.get(node, 0) + rows
        self.computed += computed
        self.truncated += truncated

    def read(self) -> dict:
        return {"rows": self.rows, "computed": self.computed, "truncated": self.truncated,
                "actors": dict(self.actors), "nodes": sorted(self.nodes), "rows_by_node": dict(self.by_node)}


def score_on_ray(job: RayJob) -> dict:
    """Score every row of job.inputs on Ray; returns the manifest (also written, last, as OUT/manifest.json)."""
    from engage.distributed.sink import output_format, refuse_used_folder

    start = time.monotonic()
    _check_options(job)
    plan = make_plan(job.inputs, text_col=job.text_col)
    fmt = output_format(job.out, job.fmt)
    refuse_used_folder(job.out)
    bundle = pack_model(job.model)
    threshold_in_force(bundle, job.threshold)  # a threshold out of range ends the job before Ray starts
    with ray_session(job.address, job.num_cpus) as ray:
        counter = _counter(ray)
        sink, stop = None, threading.Event()
        reporter = threading.Thread(target=_report, args=(counter, job, stop), daemon=True)
        try:
            dataset = _pipeline(ray, plan, bundle, job, counter)
            sink = _sink(plan, job, fmt, _history_spec(plan, job))
            reporter.start()
            dataset.write_datasink(sink)
        except InputError:
            raise
        except Exception as exc:
            error = _input_error(plan, exc)
            if error is None:
                raise
            raise error from None
        finally:
            stop.set()
            if reporter.is_alive():
                reporter.join(timeout=10)
            seen = _read_counter(ray, counter)
            _end_counter(ray, counter)
    manifest = _finish(job, plan, bundle, fmt, sink.result, seen, time.monotonic() - start)
    if sink.history is not None:
        manifest |= _record(job, plan, bundle.name, sink.result["history"], sink.history)
    return manifest


def _history_spec(plan: ReadingPlan, job: RayJob):
    """How blocks are summarized for the scoring history (None when not recording), decided here on the first
    file's first rows: the time column and its day/month order, the split columns."""
    if job.history is None or not job.history.enabled:
        return None
    from engage.monitor.recorder import block_spec
    from engage.reading import iter_messages

    first = next(iter_messages(plan.files[0], chunk_size=2000, text_col=plan.text_col, detect_labels=False))
    return block_spec(first, job.time_col, job.history.settings.sample_size)


def _record(job: RayJob, plan: ReadingPlan, model: str, days: dict, spec) -> dict:
    """The driver writes the merged summaries once, under the files' key (the same key as `engage score` and the
    Score page give one file, so scoring it again anywhere does not count it twice)."""
    import hashlib

    from engage import registry
    from engage.monitor.summary import file_batch_key

    keys = []
    for name in plan.files:
        path = Path(name)
        keys.append(file_batch_key(registry.sha256_file(path), plan.text_col) if path.is_file() else None)
    key = None if None in keys else keys[0] if len(keys) == 1 else \
        "files:" + hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()
    recorded = job.history.record_summary(job.source, model, days, key)
    return {"history": "recorded" if recorded else "already recorded (same files, same model)",
            "time_col": spec.time_col, "time_notes": list(spec.notes), "history_days": len(days)}


def _check_options(job: RayJob) -> None:
    if job.workers < 1:
        raise InputError(f"the number of workers must be at least 1, got {job.workers}")
    if job.batch_size < 1:
        raise InputError(f"the batch size (rows per actor call) must be at least 1, got {job.batch_size}")
    if job.gpus_per_worker < 0:
        raise InputError(f"the GPUs per worker must be 0 or more, got {job.gpus_per_worker}")


# ---------------------------------------- Ray

@contextmanager
def ray_session(address: str | None, num_cpus: int | None = None) -> Iterator:
    """The Ray this job runs on: the one already connected, the cluster at address / $RAY_ADDRESS, or a Ray
    started on this machine (loopback only, no dashboard, no usage stats) and stopped after the job."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    import ray
    import ray.data

    _quiet_console()
    if ray.is_initialized():
        yield ray
        return
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address:
        # Workers on other machines need engage's code: it travels with the job (runtime_env py_modules).
        ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING,
                 runtime_env={"py_modules": [str(Path(__file__).resolve().parents[1])],
                              "excludes": ["__pycache__", "*.pyc"]})
    else:
        # A one-machine Ray needs nothing from the network: stay on 127.0.0.1 (see the README, "Scale out").
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING,
                 _node_ip_address="127.0.0.1")
    try:
        yield ray
    finally:
        ray.shutdown()


def _quiet_console() -> None:
    """Ray Data's log stays in the session's ray-data.log; the user's terminal gets engage's own messages only
    (a failed job would otherwise print its traceback there)."""
    from ray.data._internal.logging import SessionFileHandler

    for handler in logging.getLogger("ray.data").handlers:
        if not isinstance(handler, SessionFileHandler):
            handler.setLevel(logging.CRITICAL)


def _counter(ray):
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # On the driver's node, which lives as long as the job: a soft affinity is not kept for a zero-CPU actor (Ray
    # placed it on any node), and a counter lost with a scoring node took the job's figures with it.
    here = NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)
    # named, so that a job's progress can be watched from outside it (the node-loss test does)
    name = f"engage-progress-{uuid.uuid4().hex}"
    return ray.remote(num_cpus=0, max_restarts=0)(ProgressCounter).options(scheduling_strategy=here,
                                                                          name=name).remote()


def _read_counter(ray, counter) -> dict:
    try:
        return ray.get(counter.read.remote(), timeout=30)
    except Exception:  # progress is informational: a lost counter never fails a finished job
        return {"rows": None, "computed": None, "truncated": None, "actors": {}, "nodes": [], "rows_by_node": {}}


def _end_counter(ray, counter) -> None:
    """A failed or interrupted job leaves no actor of its own behind (on a long-lived cluster they would pile up)."""
    try:
        ray.kill(counter)
    except Exception:  # never hide the job's own error behind this one
        pass


def _report(counter, job: RayJob, stop: threading.Event) -> None:
    import ray

    start = time.monotonic()
    while not stop.wait(job.progress_every_s):
        if job.progress is None:
            continue
        try:
            rows = ray.get(counter.read.remote(), timeout=10)["rows"]
        except Exception:
            return
        job.progress(rows, rows / max(time.monotonic() - start, 1e-9))


def _reader(ray, plan: ReadingPlan):
    import pyarrow as pa
    import pyarrow.csv as pcsv

    files = list(plan.files)
    common = {"include_paths": plan.with_paths, "file_extensions": None}
    if plan.kind == "csv":
        return ray.data.read_csv(
            files, **common,
            parse_options=pcsv.ParseOptions(delimiter=plan.delimiter, newlines_in_values=True),
            read_options=pcsv.ReadOptions(encoding=plan.arrow_encoding),
            # every column as text, empty cells as "": exactly what engage.reading gives (ids stay exact)
            convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in plan.columns},
                                                strings_can_be_null=False, quoted_strings_can_be_null=False))
    if plan.kind == "json":
        return ray.data.read_json(files, **common)
    return ray.data.read_parquet(files, **common)


def _pipeline(ray, plan: ReadingPlan, bundle: ModelBundle, job: RayJob, counter):
    from engage.distributed.scorer import Scorer

    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True  # shards in name order hold the rows in input order
    context.enable_progress_bars = False
    plan_dict = {"kind": plan.kind, "files": list(plan.files), "text_col": plan.text_col,
                 "label_col": plan.label_col, "with_paths": plan.with_paths}
    resources = {"num_cpus": job.cpus_per_worker}
    if job.gpus_per_worker:
        resources["num_gpus"] = job.gpus_per_worker
    return _reader(ray, plan).map_batches(
        Scorer, batch_size=job.batch_size, batch_format="pyarrow",
        # an elastic pool: a fixed one larger than what survives a lost node never finishes
        compute=ray.data.ActorPoolStrategy(min_size=1, max_size=job.workers),
        fn_constructor_kwargs={"bundle_ref": [ray.put(bundle.data)], "bundle_sha256": bundle.sha256,
                               "model": bundle.name, "plan": plan_dict, "threshold": job.threshold,
                               "use_cache": job.use_cache, "progress": counter},
        **resources)


def _sink(plan: ReadingPlan, job: RayJob, fmt: str, history=None):
    from engage.distributed.sink import ShardSink

    return ShardSink(job.out, fmt, plan.text_col, job.flagged_only, history)


# ---------------------------------------- errors

def _input_error(plan: ReadingPlan, exc: BaseException) -> InputError | None:
    """The user's bad input behind a failed job, as the project's message; None for anything else (a bug)."""
    from engage.distributed.scorer import RowProblem

    causes = list(chain_of(exc))
    problem = next((c for c in causes if isinstance(c, RowProblem)), None)
    path = problem.path if problem else problem_file(plan, "\n".join(str(c) for c in causes))
    if path is None:
        return next((c for c in causes if isinstance(c, InputError)), None)
    located = locate_problem(plan, path)
    if located is not None:
        return located
    if problem is not None:
        return InputError(problem.message, file=path)
    reason = next((line for c in causes for line in str(c).splitlines() if path in line), str(exc).splitlines()[0])
    return InputError(f"the cluster's reader could not read this file ({reason.strip()[:300]})", file=path)


# ---------------------------------------- the manifest

def _finish(job: RayJob, plan: ReadingPlan, bundle: ModelBundle, fmt: str, written: dict | None, seen: dict,
            seconds: float) -> dict:
    import ray

    from engage.distributed.sink import write_manifest

    written = written or {"rows_in": 0, "rows_out": 0, "flagged": 0, "empty_messages": 0, "shards": []}
    if written["rows_in"] == 0:
        raise InputError(f"no data rows in any of the {len(plan.files)} input file(s)", file=plan.files[0])
    threshold = threshold_in_force(bundle, job.threshold)
    manifest = {"engine": "ray", "rows_in": written["rows_in"], "rows_out": written["rows_out"],
                "flagged": written["flagged"], "empty_messages": written["empty_messages"],
                "model": bundle.name, "model_fingerprint": bundle.fingerprint, "encoder": bundle.encoder_handle,
                "threshold": threshold, "flagged_only": job.flagged_only, "format": fmt,
                "seconds": round(seconds, 3), "workers": job.workers, "gpus_per_worker": job.gpus_per_worker,
                "actors": len(seen["actors"]), "nodes": seen["nodes"],
                "rows_by_node": seen["rows_by_node"], "devices": sorted(set(seen["actors"].values())),
                "encoder_computed": seen["computed"], "truncated": seen["truncated"],
                "inputs": list(plan.files), "text_col": plan.text_col, "label_col": plan.label_col,
                "order": "input order: files as listed, rows as in each file; shards in name order",
                "shards": written["shards"], "ray_version": ray.__version__}
    manifest["manifest"] = write_manifest(job.out, manifest)
    return manifest


def stderr_progress(every_s: float = 10.0) -> Progress:
    """Rows done and rows/s on stderr: a live line on a terminal, a line every every_s seconds in a log."""
    last = [0.0]
    tty = sys.stderr.isatty()

    def show(rows: int, rate: float) -> None:
        now = time.monotonic()
        if tty:
            print(f"\rscoring: {rows:,} rows, {rate:,.0f} rows/s", end="", file=sys.stderr, flush=True)
        elif now - last[0] >= every_s:
            last[0] = now
            print(f"scoring: {rows:,} rows, {rate:,.0f} rows/s", file=sys.stderr, flush=True)

    return show
