"""`--backend ray` on a machine where a Ray cluster already runs: without --address the
run starts a private cluster beside it (and says so); with --address it joins that one.
The test starts the "already running" cluster itself, on a free port and in a temporary
folder of its own, so a cluster that really runs on the machine changes nothing."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("ray")

SPEC = """
name: ray-cli
dataset: {name: circle, n_samples: 200}
model: {arch: mlp, hidden: [16], activation: tanh}
init: [xavier_normal, he_normal]
optimizer: {name: adam, lr: 0.01}
train: {steps: 100, batch_size: 20, eval_every: 50}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def running_cluster() -> Iterator[str]:
    """A Ray head node as `ray start --head` makes one; yields its address."""
    port, temp = _free_port(), tempfile.mkdtemp(prefix="wlray", dir="/tmp")
    ray = Path(sys.executable).with_name("ray")
    head = subprocess.Popen(
        [
            str(ray),
            "start",
            "--head",
            f"--port={port}",
            f"--temp-dir={temp}",
            "--num-cpus=1",
            "--include-dashboard=false",
            "--block",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert head.stdout is not None
        deadline = time.monotonic() + 120
        for line in head.stdout:  # the head says when it is up
            if "block forever" in line or time.monotonic() > deadline:
                break
        assert head.poll() is None, "the Ray head did not start"
        yield f"127.0.0.1:{port}"
    finally:
        head.terminate()  # --block: SIGTERM stops the processes it started
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait(30)
        shutil.rmtree(temp, ignore_errors=True)


def _run(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "spec.yaml").write_text(SPEC)
    return subprocess.run(
        [sys.executable, "-m", "weightlab", "run", "spec.yaml", "--backend", "ray", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
        env={**os.environ, **env},
    )


@pytest.mark.slow
def test_backend_ray_beside_a_running_cluster(tmp_path: Path, running_cluster: str) -> None:
    # RAY_ADDRESS is how ray.init() finds a running cluster (as `ray start` records it);
    # before, this ended in "ValueError: When connecting to an existing cluster, num_cpus
    # and num_gpus must not be provided".
    env = {"RAY_ADDRESS": running_cluster}
    private = _run(tmp_path, env, "--store", "private", "--workers", "2", "--json")
    assert private.returncode == 0, private.stderr
    assert (
        "Ray: started a private local cluster with 2 CPUs for this run (--address auto joins "
        "a running cluster instead)." in private.stderr
    )
    assert json.loads(private.stdout)["trained"] == 2
    # Ray sends the cluster's token to an explicit address only when asked to.
    env["RAY_AUTH_MODE"] = "token"
    joined = _run(tmp_path, env, "--store", "joined", "--address", running_cluster, "--json")
    assert joined.returncode == 0, joined.stderr
    port = running_cluster.rsplit(":", 1)[1]  # Ray names the host by its address
    assert re.search(
        rf"^Ray: joined the cluster at [\d.]+:{port} \(1 CPU\)\.$", joined.stderr, re.M
    )
    assert json.loads(joined.stdout)["trained"] == 2
