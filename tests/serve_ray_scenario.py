"""The Ray engine's scenario, run by tests/test_serve_ray.py inside a private network namespace with only loopback
(`unshare -n`: Serve replicas open a port on all interfaces). Starts a two-node Cluster on 127.0.0.1, deploys the
service with 2 replicas, scores the texts given, then runs bounded load while killing one replica's process, and
prints one JSON object of what it saw (the test judges it).

    python tests/serve_ray_scenario.py IN.json OUT.json
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(in_path: str, out_path: str) -> None:
    import httpx
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from engage.serve.ray_app import application
    from engage.serve.settings import load_settings
    from tests.serve_helpers import free_port

    given = json.loads(Path(in_path).read_text())
    texts = given["texts"]
    seen: dict = {"load": []}
    cluster = Cluster(initialize_head=True, connect=True,
                      head_node_args={"num_cpus": 0, "node_ip_address": "127.0.0.1", "include_dashboard": False,
                                      "object_store_memory": 200 * 1024 * 1024})
    for _ in range(2):
        cluster.add_node(num_cpus=1, node_ip_address="127.0.0.1", object_store_memory=200 * 1024 * 1024)
    cluster.wait_for_nodes()
    try:
        port = free_port()
        settings = load_settings(port=port, request_timeout_s=10, reload_poll_s=0, rate_per_key=0)
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        serve.run(application(settings, replicas=2, open_mode=True), name="engage", route_prefix="/")
        base = f"http://127.0.0.1:{port}"
        answer = httpx.post(f"{base}/v1/score", json={"messages": [{"text": t} for t in texts]}, timeout=120)
        seen["score"] = {"status": answer.status_code, "body": answer.json()}
        explained = httpx.post(f"{base}/v1/explain", json={"text": texts[0]}, timeout=120)
        seen["explain"] = {"status": explained.status_code, "body": explained.json()}
        seen["readyz"] = httpx.get(f"{base}/readyz", timeout=30).json()
        bad = httpx.post(f"{base}/v1/score", json={"messages": [{"text": 5}]}, timeout=30)
        seen["bad"] = {"status": bad.status_code, "body": bad.json(), "ctype": bad.headers.get("content-type")}
        seen["nodes"] = len([n for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU")])
        seen["replicas"] = len(_replicas())

        stop_at = time.monotonic() + given.get("load_seconds", 30)
        lock = threading.Lock()
        counter = [0]

        def client() -> None:
            with httpx.Client(base_url=base, timeout=60) as http:
                while time.monotonic() < stop_at:
                    with lock:
                        i = counter[0]
                        counter[0] += 1
                    sent = time.monotonic()
                    try:
                        r = http.post("/v1/score", json={"messages": [{"text": f"{texts[i % len(texts)]} ~{i}"}]})
                        row = {"status": r.status_code, "retry_after": r.headers.get("retry-after"),
                               "ctype": r.headers.get("content-type", "")}
                    except httpx.HTTPError as exc:
                        row = {"status": None, "error": type(exc).__name__}
                    row |= {"sent": sent, "took": time.monotonic() - sent}
                    with lock:
                        seen["load"].append(row)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(given.get("kill_after_s", 8))
        victim = _replicas()[0]
        seen["killed"] = {"pid": victim["pid"], "at": time.monotonic()}
        os.kill(victim["pid"], signal.SIGKILL)
        for t in threads:
            t.join(120)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and len([a for a in _replicas() if a["state"] == "ALIVE"]) < 2:
            time.sleep(1)
        time.sleep(2)
        seen["after"] = []
        with httpx.Client(base_url=base, timeout=60) as http:
            for i in range(20):
                seen["after"].append(http.post("/v1/score", json={"messages": [{"text": texts[i % len(texts)]}]})
                                     .status_code)
        seen["replicas_after"] = len([a for a in _replicas() if a["state"] == "ALIVE"])
        seen["metrics"] = httpx.get(f"{base}/metrics", timeout=30).text
    finally:
        Path(out_path).write_text(json.dumps(seen))
        serve.shutdown()
        ray.shutdown()
        cluster.shutdown()


def _replicas() -> list[dict]:
    """The scorer replicas' worker processes, found by the title Ray gives them (ray::ServeReplica:engage:scorer); Ray's
    state API needs the dashboard, which these tests do not start."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            title = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
            state = (cmdline.parent / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if title.startswith("ray::ServeReplica:engage:scorer") and state != "Z":
            found.append({"pid": int(cmdline.parent.name), "state": "ALIVE"})
    return found


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
