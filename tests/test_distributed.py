"""`engage score --engine ray` against a real Ray on 127.0.0.1: identity with the local engine for each format,
bad input in one of several files, Ctrl-C, a node lost mid-job, and joining a Ray started apart.

Every Ray here stays on loopback (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0, see ../shared/docs/ray-facts.md), runs
without dashboard or usage stats, on at most 2 CPUs, with its own auth token file (never ~/.ray). The tests that
start a Ray of their own come first: the others share one cluster for the module, and the one that takes a node
away from it comes last. Ray runs its workers at nice 15 by default; here they run at 0, as the test process does,
so that on two cores shared with the other test workers the Ray side is not starved.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from engage.cli import run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ray_env(tmp_path_factory):
    """Environment for every Ray of this module (and the processes it starts)."""
    base = tmp_path_factory.mktemp("ray-env")
    token = base / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
           "RAY_AUTH_TOKEN_PATH": str(token), "ENGAGE_CACHE_DIR": str(base / "node-cache"),
           "RAY_worker_niceness": "0", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    with pytest.MonkeyPatch.context() as mp:
        for key, value in env.items():
            mp.setenv(key, value)
        yield env


@pytest.fixture
def models(world, monkeypatch):
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(world.models))
    return world


def _inputs(world, tmp_path: Path, kind: str, parts: int = 3) -> list[Path]:
    frame = pd.read_csv(world.csv, dtype=str, keep_default_na=False)
    folder = tmp_path / f"in-{kind}"
    folder.mkdir()
    paths = []
    for i, part in enumerate(np.array_split(np.arange(len(frame)), parts)):
        rows = frame.iloc[part].reset_index(drop=True)
        path = folder / f"part{i}.{kind}"
        if kind == "csv":
            rows.to_csv(path, index=False)
        elif kind == "jsonl":
            rows.assign(id=rows["id"].astype(int)).to_json(path, orient="records", lines=True, force_ascii=False)
        else:
            rows.assign(id=rows["id"].astype(int)).to_parquet(path, index=False)
        paths.append(path)
    return paths


def _shards(out: Path) -> pd.DataFrame:
    manifest = json.loads((out / "manifest.json").read_text())
    frames = []
    for name in manifest["shards"]:
        path = out / name
        if path.suffix == ".parquet":
            frames.append(pd.read_parquet(path))
        elif path.suffix == ".jsonl":
            frames.append(pd.read_json(path, lines=True, dtype=False))
        else:
            frames.append(pd.read_csv(path, dtype=str, keep_default_na=False))
    return pd.concat(frames, ignore_index=True)


def _local(paths: list[Path], tmp_path: Path, suffix: str) -> pd.DataFrame:
    frames = []
    for path in paths:
        out = tmp_path / f"local-{path.stem}{suffix}"
        assert run(["score", str(path), "--out", str(out)]) == 0
        if suffix == ".parquet":
            frames.append(pd.read_parquet(out))
        elif suffix == ".jsonl":
            frames.append(pd.read_json(out, lines=True, dtype=False))
        else:
            frames.append(pd.read_csv(out, dtype=str, keep_default_na=False))
    return pd.concat(frames, ignore_index=True)


def _last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def _error_line(stderr: str) -> str:
    """The CLI's one-line message, the last line of stderr; Ray's own log lines may come before it, a traceback
    never."""
    assert "Traceback" not in stderr, stderr[-3000:]
    return stderr.strip().splitlines()[-1]


def _wait_for_port(port: int, proc: subprocess.Popen, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"ray start ended with code {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(2)  # the GCS listens before the head's raylet is up
                return
        time.sleep(0.5)
    raise AssertionError(f"ray start did not listen on 127.0.0.1:{port} within {timeout_s} s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop_group(proc: subprocess.Popen, grace_s: float = 30) -> None:
    """SIGTERM to the process group, SIGKILL after a grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        if not _group_alive(proc.pid, grace_s):
            break
    proc.wait(timeout=grace_s)


def _group_alive(pgid: int, wait_s: float = 30) -> bool:
    """Whether a live (not zombie) process of the group is left, after waiting up to wait_s for them to end."""
    deadline = time.monotonic() + wait_s
    while True:
        alive = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z" and int(fields[2]) == pgid:
                alive.append(stat.parent.name)
        if not alive or time.monotonic() > deadline:
            return bool(alive)
        time.sleep(0.5)


# ---------------------------------------- a Ray started apart (first: one Ray per process)

@pytest.mark.slow
def test_joins_a_ray_started_apart_through_address(ray_env, models, tmp_path, capsys):
    import ray

    assert not ray.is_initialized()
    port = _free_port()
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # Ray's socket paths must stay under 107 bytes
    head = subprocess.Popen(
        [str(Path(sys.executable).parent / "ray"), "start", "--head", "--port", str(port), "--num-cpus", "2",
         "--node-ip-address", "127.0.0.1", "--include-dashboard=false", "--disable-usage-stats", "--block",
         "--temp-dir", str(temp)],
        env=os.environ.copy(), start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port, head)
        inputs = _inputs(models, tmp_path, "csv", parts=2)
        out = tmp_path / "flagged.csv"
        code = run(["score", str(inputs[0].parent), "--out", str(out), "--engine", "ray", "--address",
                    f"127.0.0.1:{port}", "--workers", "1", "--flagged-only", "--json"])
        captured = capsys.readouterr()
        assert code == 0, captured.err[-3000:]
        summary = _last_json(captured.out)
        local = _local(inputs, tmp_path, ".csv")
        local = local[local["engageable"] == "True"].reset_index(drop=True)
        scored = _shards(out)
        assert summary["format"] == "csv" and summary["rows_in"] == 120
        assert summary["rows_out"] == summary["flagged"] == len(local) == len(scored) > 0
        assert scored["id"].tolist() == local["id"].tolist()
        assert np.allclose(scored["engage_score"].astype(float), local["engage_score"].astype(float), atol=1e-6)
    finally:
        _stop_group(head)
        shutil.rmtree(temp, ignore_errors=True)
    assert not ray.is_initialized() and not _group_alive(head.pid)


# ---------------------------------------- one cluster on 127.0.0.1 for the rest of the module

@pytest.fixture(scope="module")
def cluster(ray_env):
    """A head that only runs the driver (no CPU) and two worker nodes of one CPU each: every scoring actor runs on
    a node that a test may remove."""
    import ray
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized()
    store = 200 * 1024 * 1024
    made = Cluster(initialize_head=True, connect=True,
                   head_node_args={"num_cpus": 0, "node_ip_address": "127.0.0.1", "include_dashboard": False,
                                   "object_store_memory": store})
    for _ in range(2):
        made.add_node(num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=store)
    made.wait_for_nodes()
    yield made
    ray.shutdown()
    made.shutdown()


@pytest.mark.slow
def test_ctrl_c_stops_the_workers_and_leaves_no_manifest(cluster, models, tmp_path, capsys):
    import ray

    frame = pd.read_csv(models.csv, dtype=str, keep_default_na=False)
    big = pd.concat([frame.assign(text=frame["text"] + f" ~{k}") for k in range(200)], ignore_index=True)
    source = tmp_path / "big.csv"
    big.to_csv(source, index=False)
    out = tmp_path / "out"
    done, before, pressed_at = threading.Event(), set(ray.util.list_named_actors()), []

    def press_ctrl_c() -> None:
        """As a terminal does: SIGINT to the process once the job's counter says scoring is under way (a CSV's shards
        appear only when its whole block is scored, too late to interrupt reliably)."""
        counter = _progress_counter(ray, done, before)
        deadline = time.monotonic() + 120
        while counter is not None and time.monotonic() < deadline and not done.is_set():
            try:
                rows = ray.get(counter.read.remote(), timeout=30)["rows"]
            except Exception:  # the job ended, its counter with it
                return
            if rows:
                pressed_at.append(rows)
                os.kill(os.getpid(), signal.SIGINT)
                return
            time.sleep(0.05)

    # A test run started in the background (`cmd &`) inherits SIGINT ignored, and Python then raises no
    # KeyboardInterrupt; engage in a terminal's foreground gets Python's own handler, as here.
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    presser = threading.Thread(target=press_ctrl_c, daemon=True)
    presser.start()
    try:
        code = run(["score", str(source), "--out", str(out), "--engine", "ray", "--workers", "1", "--batch-size",
                    "200"])
    finally:
        done.set()
        presser.join(timeout=60)
        signal.signal(signal.SIGINT, inherited)
    assert pressed_at and pressed_at[0] < len(big), "scoring never showed progress to interrupt"
    assert code == 2 and "interrupted" in capsys.readouterr().err
    assert not (out / "manifest.json").exists()
    total = ray.cluster_resources()["CPU"]
    deadline = time.monotonic() + 60
    while ray.available_resources().get("CPU", 0) < total and time.monotonic() < deadline:
        time.sleep(0.5)  # the scoring actors release their CPUs when they are stopped
    assert ray.available_resources().get("CPU", 0) == total


@pytest.mark.slow
@pytest.mark.parametrize("kind,out_name", [("csv", "scored.csv"), ("jsonl", "scored.jsonl"),
                                           ("parquet", "scored")])
def test_same_rows_and_scores_as_the_local_engine(cluster, models, tmp_path, capsys, kind, out_name):
    paths = _inputs(models, tmp_path, kind)
    out = tmp_path / out_name
    given = [str(paths[0].parent)] if kind == "csv" else [str(paths[0].parent / f"*.{kind}")] \
        if kind == "jsonl" else [str(p) for p in paths]
    workers = [] if kind == "csv" else ["--workers", "1"]  # csv: the default pool of up to 2 actors
    capsys.readouterr()
    assert run(["score", *given, "--out", str(out), "--engine", "ray", "--json", *workers]) == 0
    summary = _last_json(capsys.readouterr().out)
    fmt = {"csv": "csv", "jsonl": "jsonl", "parquet": "parquet"}[kind]
    local = _local(paths, tmp_path, {"csv": ".csv", "jsonl": ".jsonl", "parquet": ".parquet"}[kind])
    scored = _shards(out)
    assert summary["format"] == fmt and summary["rows"] == summary["rows_out"] == len(local) == len(scored)
    assert list(scored.columns) == list(local.columns) == ["id", "text", "engage", "domain", "engage_score",
                                                           "engageable"]
    assert scored["id"].astype(str).tolist() == local["id"].astype(str).tolist()  # same rows, same order
    assert scored["text"].tolist() == local["text"].tolist()
    assert np.allclose(scored["engage_score"].astype(float), local["engage_score"].astype(float), atol=1e-6)
    assert scored["engageable"].astype(str).tolist() == local["engageable"].astype(str).tolist()
    assert summary["flagged"] == int(local["engageable"].astype(str).isin(["True", "true"]).sum())
    assert summary["empty_messages"] == 1 and float(scored["engage_score"][4]) == 0.0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["model"] == "fixture-a" and manifest["rows_in"] == len(local) and manifest["complete"]
    if kind == "csv":  # the same formula neutralization as the local CSV output
        assert scored["text"][1].startswith("'=HYPERLINK") and not scored["text"].str.startswith("=").any()


def _two_files(models, tmp_path: Path) -> list[Path]:
    return _inputs(models, tmp_path, "csv", parts=2)


@pytest.mark.slow
def test_unknown_label_in_the_second_file_names_file_and_row(cluster, models, tmp_path, capsys):
    paths = _two_files(models, tmp_path)
    second = pd.read_csv(paths[1], dtype=str, keep_default_na=False)
    second.loc[7, "engage"] = "maybe"
    second.to_csv(paths[1], index=False)
    out = tmp_path / "out"
    assert run(["score", *map(str, paths), "--out", str(out), "--engine", "ray", "--workers", "1"]) == 1
    err = _error_line(capsys.readouterr().err)
    assert err.startswith(f"error: {paths[1]}, row 9, column 'engage': unknown label value(s) 'maybe'")
    assert not (out / "manifest.json").exists()


@pytest.mark.slow
def test_undecodable_bytes_deep_in_the_second_file_name_file_and_row(cluster, models, tmp_path, capsys):
    paths = _two_files(models, tmp_path)
    rows = pd.read_csv(paths[1], dtype=str, keep_default_na=False)
    filler = pd.concat([rows] * 40, ignore_index=True)  # past the 64 KiB sample the driver checks
    text = filler.to_csv(index=False).encode("utf-8")
    lines = text.split(b"\n")
    lines[len(lines) - 5] = lines[len(lines) - 5].replace(b"@brand", b"@br\xffand", 1)
    paths[1].write_bytes(b"\n".join(lines))
    assert len(text) > 64 * 1024
    out = tmp_path / "out"
    assert run(["score", *map(str, paths), "--out", str(out), "--engine", "ray", "--workers", "1"]) == 1
    err = _error_line(capsys.readouterr().err)
    assert err.startswith(f"error: {paths[1]}, row {len(lines) - 4}: bytes that are not utf-8")
    assert not (out / "manifest.json").exists()


# ---------------------------------------- last of the cluster's tests: it takes a node away

def _progress_counter(ray, done: threading.Event, before: set[str]):
    """The new job's progress actor (named engage-progress-<id> so that it can be watched from outside)."""
    while not done.wait(0.2):
        names = [n for n in ray.util.list_named_actors() if n.startswith("engage-progress-") and n not in before]
        if names:
            return ray.get_actor(names[0])
    return None


@pytest.mark.slow
def test_the_progress_counter_lives_on_the_drivers_node(cluster):
    # a counter on a scoring node would be lost with that node, and the manifest's figures with it
    import ray

    from engage.distributed.job import _counter

    driver = ray.get_runtime_context().get_node_id()
    for _ in range(4):
        counter = _counter(ray)
        node = ray.get(counter.__ray_call__.remote(lambda _self: ray.get_runtime_context().get_node_id()),
                       timeout=60)
        ray.kill(counter)
        assert node == driver


@pytest.mark.slow
def test_the_scoring_history_is_the_same_from_ray_the_cli_and_the_app(cluster, models, tmp_path, monkeypatch):
    """One file with a time column, scored by each front end into its own database: the same days and counts; a
    second run does not double them; another model keeps its own series."""
    from engage.monitor import HistoryWriter, read_history
    from engage.monitor.recorder import record_messages
    from engage.reading import messages_from_table, read_table
    from engage.scoring import load_classifier

    frame = pd.read_csv(models.csv, dtype=str, keep_default_na=False)
    frame["created_at"] = [f"2026-11-{1 + i % 3:02d}T{9 + (i * 7) % 12:02d}:30:00+01:00" for i in range(len(frame))]
    source = tmp_path / "timed.csv"
    frame.to_csv(source, index=False)

    def counts(url: str) -> list[tuple]:
        days = read_history(url, samples=False).days
        return sorted((str(r.day.date()), r.model, r.n, r.flagged, r.empty, r.non_english, tuple(r.score_hist))
                      for r in days.itertuples())

    found = {}
    for engine in ("cli", "ray", "app"):
        url = f"sqlite:///{tmp_path / engine}.sqlite"
        monkeypatch.setenv("ENGAGE_DATABASE_URL", url)
        for attempt in range(2):
            if engine == "app":  # what the Score page calls (engage.ui.state.score -> monitor_panel)
                clf = load_classifier("fixture-a")
                messages = messages_from_table(read_table(source.read_bytes(), name="timed.csv"), name="timed.csv",
                                               detect_labels=False)
                sha = hashlib.sha256(source.read_bytes()).hexdigest()
                outcome = record_messages(HistoryWriter(url), messages, clf.score(messages.texts).values, clf.threshold,
                                          clf.name, sha)
                assert outcome["time_col"] == "created_at"
            else:
                out = tmp_path / f"{engine}-{attempt}{'.csv' if engine == 'cli' else ''}"
                extra = ["--engine", "ray", "--workers", "1"] if engine == "ray" else []
                assert run(["score", str(source), "--out", str(out), *extra]) == 0
        found[engine] = counts(url)
    assert found["cli"] == found["ray"] == found["app"]
    assert [c[0] for c in found["cli"]] == ["2026-11-01", "2026-11-02", "2026-11-03"]  # the messages' own days
    assert sum(c[2] for c in found["cli"]) == len(frame)  # scored twice, counted once
    monkeypatch.setenv("ENGAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli'}.sqlite")
    assert run(["score", str(source), "--out", str(tmp_path / "b.csv"), "--model", "fixture-b"]) == 0
    series = counts(f"sqlite:///{tmp_path / 'cli'}.sqlite")
    assert {c[1] for c in series} == {"fixture-a", "fixture-b"} and sum(c[2] for c in series) == 2 * len(frame)


@pytest.mark.slow
def test_a_finetuned_version_scores_on_ray_as_the_local_engine(cluster, tmp_path, monkeypatch):
    """Issue 25: a version carrying its own fine-tuned ELMo (encoder/ inside its folder) reaches the Ray actors in
    its bundle and scores there as the local engine scores it."""
    from engage.encoders import load_encoder
    from engage.encoders.bilm.finetune import FinetuneSettings, finetune_model
    from engage.encoders.bilm.weights import random_bilm, save_bilm
    from engage.reading import read_messages
    from engage.scoring import load_classifier
    from engage.validation import Validation
    from tests.test_bilm_encoder import OPTIONS
    from tests.test_finetune import FAST, RECIPE, _rows

    save_bilm(random_bilm(OPTIONS, seed=5), tmp_path / "elmo", OPTIONS)
    _rows(300, 0).to_csv(tmp_path / "labels.csv", index=False)
    messages = read_messages(str(tmp_path / "labels.csv"), label_col="engage")
    models = tmp_path / "models"
    monkeypatch.setenv("ENGAGE_MODELS_DIR", str(models))
    base = load_encoder(str(tmp_path / "elmo"))
    result = finetune_model(messages, base, RECIPE, name="tuned", settings=FinetuneSettings(epochs=3, **FAST),
                            validation=Validation.cross(3), root=models, cache=None, log=lambda _: None)
    assert result.version.meta["encoder"]["fingerprint"] != base.fingerprint  # its weights are its own
    out = tmp_path / "out"
    assert run(["score", str(tmp_path / "labels.csv"), "--out", str(out), "--engine", "ray", "--workers", "1",
                "--model", "tuned"]) == 0
    local = load_classifier("tuned", root=models, use_cache=False).score(messages.texts).values
    np.testing.assert_allclose(_shards(out)["engage_score"].astype(float), local, atol=1e-6, rtol=0)


@pytest.mark.slow
def test_a_node_lost_mid_job_still_gives_every_row_exactly_once(cluster, models, tmp_path):
    import ray

    from engage.distributed import RayJob, score_on_ray

    frame = pd.read_csv(models.csv, dtype=str, keep_default_na=False)
    big = pd.concat([frame.assign(text=frame["text"] + f" ~{k}", id=frame["id"] + f"-{k}") for k in range(50)],
                    ignore_index=True)  # 6,000 distinct messages
    source = tmp_path / "big.csv"
    big.to_csv(source, index=False)
    removable = {node.node_id: node for node in cluster.list_all_nodes() if node is not cluster.head_node}
    removed: dict = {}
    seen: dict = {}
    done = threading.Event()
    before = set(ray.util.list_named_actors())

    def remove_the_scoring_node() -> None:
        """Once a node has scored rows and most are still to do, take that node away (its actor with it)."""
        counter = _progress_counter(ray, done, before)
        while counter is not None and not done.is_set():
            seen.update(ray.get(counter.read.remote(), timeout=30))
            busy = [node for node, rows in seen["rows_by_node"].items() if rows and node in removable]
            if busy:
                if seen["rows"] < len(big) // 2:
                    cluster.remove_node(removable[busy[0]])
                    removed.update(node=busy[0], rows=seen["rows"])
                return
            time.sleep(0.1)

    remover = threading.Thread(target=remove_the_scoring_node, daemon=True)
    remover.start()
    try:
        manifest = score_on_ray(RayJob([str(source)], str(tmp_path / "out"), workers=2, batch_size=50))
    finally:
        done.set()
        remover.join(timeout=60)
    assert removed, f"no node was removed while it was scoring, with most rows to do: {seen} {list(removable)}"
    assert 0 < removed["rows"] < len(big) // 2
    # An actor on the removed node had scored rows when it went (seen live; the manifest may credit none to it,
    # as what it scored but had not yet written is scored again elsewhere).
    assert seen["rows_by_node"][removed["node"]] > 0
    assert any(rows for node, rows in manifest["rows_by_node"].items() if node != removed["node"]), str(
        {k: manifest[k] for k in ("rows_by_node", "nodes", "actors", "encoder_computed")}) + str(seen) + str(removed)
    scored = _shards(tmp_path / "out")
    assert manifest["rows_in"] == manifest["rows_out"] == len(big) == len(scored)
    assert scored["id"].tolist() == big["id"].tolist()  # every row exactly once, in input order


def test_missing_text_column_and_excel_are_clear_errors(models, tmp_path, capsys):
    paths = _two_files(models, tmp_path)
    pd.read_csv(paths[1], dtype=str).rename(columns={"text": "body_text"}).to_csv(paths[1], index=False)
    assert run(["score", *map(str, paths), "--out", str(tmp_path / "o1"), "--engine", "ray"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {paths[1]}, row 1, column 'text': no column named 'text'")
    xlsx = tmp_path / "sheet.xlsx"
    pd.read_csv(paths[0]).to_excel(xlsx, index=False)
    assert run(["score", str(xlsx), "--out", str(tmp_path / "o2"), "--engine", "ray"]) == 1
    assert "the Ray engine does not read Excel (.xlsx)" in capsys.readouterr().err
    used = tmp_path / "used"
    used.mkdir()
    (used / "x").write_text("x")
    assert run(["score", str(paths[0]), "--out", str(used), "--engine", "ray"]) == 1
    assert "not empty" in capsys.readouterr().err
    assert run(["score", *map(str, paths), "--out", str(tmp_path / "o.csv")]) == 1
    assert "use --engine ray for several" in capsys.readouterr().err


def test_the_local_engine_never_imports_ray(tmp_path):
    """Ray is imported only by a Ray job; the driver's modules of a Ray job do not load TensorFlow either."""
    code = ("import sys, engage.cli, engage.distributed, engage.distributed.plan, engage.distributed.bundle; "
            "print('ray' in sys.modules, 'tensorflow' in sys.modules); import engage.scoring; "
            "print('ray' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert done.stdout.split() == ["False", "False", "False"], done.stderr[-2000:]


def test_writing_a_shard_loads_no_tensorflow(tmp_path):
    """The shard writers only move scored rows: a TensorFlow import in each (seconds of CPU) is Ray's fixed cost."""
    code = ("import sys, types, pyarrow as pa; from engage.distributed.sink import ShardSink; "
            f"sink = ShardSink({str(tmp_path / 'out')!r}, 'csv', 'text', False); sink.on_write_start(); "
            "block = pa.table({'text': ['hi'], 'engage_score': [0.9], 'engageable': [True]}); "
            "print(sink.write([block], types.SimpleNamespace(task_idx=0))['shards'], 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT,
                          env=os.environ | {"PYTHONPATH": str(ROOT)})
    assert done.stdout.split() == ["['part-00000.csv']", "False"], done.stderr[-2000:]
