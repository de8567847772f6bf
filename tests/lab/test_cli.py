"""``weightlab lab``: loopback by default, remote only when asked (with a warning), the
URL printed, and a real start that serves the API."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

from weightlab import cli  # noqa: E402


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        cli.main(args)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Record what the server would run instead of serving forever."""
    calls: list[dict[str, Any]] = []

    def fake_run(self: Any, sockets: list[socket.socket]) -> None:
        calls.append({"app": self.config.app, "address": sockets[0].getsockname()})
        for sock in sockets:
            sock.close()

    monkeypatch.setattr(uvicorn.Server, "run", fake_run)
    return calls


def test_remote_hosts_need_allow_remote(
    capsys: pytest.CaptureFixture[str], served: list[Any]
) -> None:
    code, out, err = run(["lab", "--host", "0.0.0.0"], capsys)
    assert code == 2 and out == "" and not served
    assert err == (
        "Error: The 'host' parameter of lab must be a loopback address (127.0.0.1, ::1 or "
        "localhost) unless --allow-remote is given. Got '0.0.0.0'.\n"
    )


def test_allow_remote_warns(
    capsys: pytest.CaptureFixture[str], served: list[Any], tmp_path: Path
) -> None:
    code, out, err = run(
        ["lab", "--host", "0.0.0.0", "--port", "0", "--allow-remote", "--store", str(tmp_path)],
        capsys,
    )
    assert code == 0 and len(served) == 1
    port = served[0]["address"][1]
    assert out.splitlines()[0] == f"weightlab lab: http://0.0.0.0:{port}/  (Ctrl-C stops it)"
    assert err.startswith(
        f"Warning: the lab listens on 0.0.0.0, so other machines can reach it at http://0.0.0.0:{port}/."
    )
    assert "no authentication" in err


def test_default_is_loopback_and_prints_the_url(
    capsys: pytest.CaptureFixture[str], served: list[Any], tmp_path: Path
) -> None:
    code, out, err = run(
        [
            "lab",
            "--port",
            "0",
            "--store",
            str(tmp_path),
            "--max-trainings",
            "3",
            "--request-threads",
            "1",
        ],
        capsys,
    )
    assert code == 0 and err == ""
    host, port = served[0]["address"]
    assert host == "127.0.0.1" and port > 0
    assert out.splitlines() == [
        f"weightlab lab: http://127.0.0.1:{port}/  (Ctrl-C stops it)",
        "weightlab lab stopped.",
    ]
    app = served[0]["app"]
    assert app.state.lab.max_trainings == 3 and app.state.runs.directory == tmp_path
    assert app.state.request_threads == 1


def test_a_busy_port_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], served: list[Any]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code, _, err = run(["lab", "--port", str(port)], capsys)
    assert code == 2 and not served
    assert err.startswith(
        "Error: The 'port' parameter of lab must be free to listen on at 127.0.0.1 ("
    )
    assert err.endswith(f"). Got {port}.\n")


@pytest.mark.slow
def test_the_command_serves_the_lab(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "weightlab", "lab", "--port", "0", "--store", str(tmp_path)]
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("weightlab lab: http://127.0.0.1:"), line
        url = line.split()[2]
        meta = httpx.get(url + "api/meta", timeout=30)
        assert meta.status_code == 200 and meta.json()["store"] == str(tmp_path)
        assert httpx.get(url, timeout=30).status_code == 200
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    assert process.returncode == 0
    assert rest.strip() == "weightlab lab stopped."
    assert not (tmp_path / "runs.db").exists()  # the lab reads a store, never makes one
