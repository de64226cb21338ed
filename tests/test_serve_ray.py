"""`engage serve --engine ray`: the service on Ray Serve, 2 replicas on a two-node Cluster on 127.0.0.1, inside a
private network namespace with only loopback (Serve replicas open a port on all interfaces; see
../shared/docs/ray-facts.md). tests/serve_ray_scenario.py runs the cluster there; this test judges what it saw."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_ray_engine_same_answers_and_survives_a_killed_replica(world, tmp_path):
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare for a private network namespace")
    from engage.scoring import load_classifier
    from engage.testing.app_world import ACTIVE_VERSION

    texts = [t for t in pd.read_csv(world.csv, keep_default_na=False)["text"]][:60]
    expected = load_classifier(ACTIVE_VERSION, root=world.models, use_cache=False).score(texts).values
    (tmp_path / "in.json").write_text(json.dumps({"texts": texts, "load_seconds": 25, "kill_after_s": 8}))
    token = tmp_path / "auth_token"
    token.write_text(secrets.token_hex(32))
    env = os.environ | world.env() | {
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "token",
        "RAY_AUTH_TOKEN_PATH": str(token), "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT),
        "RAY_worker_niceness": "0",  # Ray's workers at the tests' priority (its default, 15, starves them here)
        "ENGAGE_DATABASE_URL": f"sqlite:///{tmp_path / 'labels.sqlite'}"}
    script = f"ip link set lo up && exec {sys.executable} {ROOT / 'tests' / 'serve_ray_scenario.py'} " \
             f"{tmp_path / 'in.json'} {tmp_path / 'out.json'}"
    done = subprocess.run(["unshare", "-n", "sh", "-c", script], env=env, capture_output=True, text=True,
                          timeout=540, start_new_session=True)
    assert (tmp_path / "out.json").is_file(), done.stderr[-4000:]
    seen = json.loads((tmp_path / "out.json").read_text())
    assert done.returncode == 0, done.stderr[-4000:]

    assert seen["score"]["status"] == 200 and seen["score"]["body"]["model"] == ACTIVE_VERSION
    got = [r["score"] for r in seen["score"]["body"]["results"]]
    np.testing.assert_allclose(got, expected, atol=1e-6)  # the same answers as the local engine
    from engage.explain import explain

    (local_ex,) = explain(load_classifier(ACTIVE_VERSION, root=world.models, use_cache=False), [texts[0]])
    assert seen["explain"]["status"] == 200
    np.testing.assert_allclose([t["contribution"] for t in seen["explain"]["body"]["tokens"]],
                               local_ex.contributions, atol=1e-6)
    assert seen["readyz"]["model"] == ACTIVE_VERSION
    assert seen["bad"]["status"] == 422 and "messages[0].text" in seen["bad"]["body"]["detail"]
    assert seen["bad"]["ctype"].startswith("application/problem+json")
    assert seen["replicas"] == 2 and seen["nodes"] == 2  # one CPU a node: a replica on each

    load = seen["load"]
    assert len(load) > 20
    for row in load:  # each request answered, in time: a success, or 503 with Retry-After
        assert row["status"] == 200 or (row["status"] == 503 and row["retry_after"]), row
        assert row["took"] < 10 + 5, row
    assert any(r["status"] == 200 and r["sent"] > seen["killed"]["at"] for r in load)  # it kept answering
    assert seen["after"] == [200] * 20 and seen["replicas_after"] == 2
    statuses = [r["status"] for r in load]
    print(f"under load: {statuses.count(200)} answered 200, {statuses.count(503)} 503 with Retry-After")
    scored = [line for line in seen["metrics"].splitlines() if line.startswith("engage_serve_batch_requests_count")]
    assert scored and float(scored[0].split()[-1]) > 0  # the ingress counts the scorers' batches
