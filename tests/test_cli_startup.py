"""The `engage` command as a user starts it: a real process of the console script, a real TensorFlow start-up."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

NOISE = ("All log messages before absl::InitializeLog()", "Could not find cuda drivers", "cuInit", "oneDNN")
ABSL_LINE = re.compile(r"^[IWEF]\d{4} ", re.M)


@pytest.fixture
def labeled(tmp_path) -> Path:
    rows = [("where is my refund?? order 123", 1), ("love the new phone", 0), ("my package never came", 1),
            ("thanks team, all good", 0), ("still waiting on support", 1), ("great service today", 0)] * 5
    path = tmp_path / "small.csv"
    pd.DataFrame({"message": [r[0] for r in rows], "label": [r[1] for r in rows]}).to_csv(path, index=False)
    return path


def _engage(*args: str, tmp_path: Path) -> subprocess.CompletedProcess:
    engage = Path(sys.executable).with_name("engage")
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "GRPC_VERBOSITY")}
    env |= {"ENGAGE_MODELS_DIR": str(tmp_path / "models"), "ENGAGE_CACHE_DIR": str(tmp_path / "cache"),
            "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # this checkout's engage, as pytest imports it
    return subprocess.run([str(engage), *args], capture_output=True, text=True, env=env, timeout=600)


def test_tensorflow_start_up_is_quiet_by_default_and_shown_with_verbose(tmp_path, labeled, hub_fixture):
    train = ["train", str(labeled), "--label-col", "label", "--encoder", str(hub_fixture), "--elmo-branch",
             "linear", "--val-split", "0.3"]
    quiet = _engage(*train, "--name", "quiet", tmp_path=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert [n for n in NOISE if n in quiet.stderr] == [], quiet.stderr
    assert not ABSL_LINE.search(quiet.stderr), quiet.stderr
    assert re.search(r"trained quiet on 30 messages \((CPU|GPU: .+)\)", quiet.stdout)  # the device report stays

    loud = _engage("--verbose", *train, "--name", "loud", tmp_path=tmp_path)
    assert loud.returncode == 0, loud.stderr
    assert ABSL_LINE.search(loud.stderr), loud.stderr  # TensorFlow's own C++ log lines
    assert "trained loud on 30 messages" in loud.stdout


def test_noise_filter_drops_start_up_lines_and_their_continuations_only():
    from engage.tf_startup import without_noise

    captured = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796127853.682496   31596 cpu_feature_guard.cc:227] This TensorFlow binary is optimized\n"
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.\n"
        "I0000 00:00:1796126019.538345    7118 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"
        "E0000 00:00:1796125839.288362    4007 cuda_platform.cc:52] failed call to cuInit: something real\n"
        "Traceback (most recent call last):\n"
        "ImportError: libfoo.so: cannot open shared object file\n")
    assert without_noise(captured) == (
        "E0000 00:00:1796125839.288362    4007 cuda_platform.cc:52] failed call to cuInit: something real\n"
        "Traceback (most recent call last):\n"
        "ImportError: libfoo.so: cannot open shared object file\n")
    assert without_noise("a warning of our own\n") == "a warning of our own\n"
