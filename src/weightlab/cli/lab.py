"""``weightlab lab``: the browser lab, a local web app over the library and the store."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer

from weightlab._optional import require
from weightlab._validate import fail
from weightlab.cli.common import app, out
from weightlab.cli.run import StoreOption
from weightlab.store import DEFAULT_STORE

__all__ = ["is_loopback", "lab", "url_for"]

LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")
_PURPOSE = "The browser lab's server and charts"


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the name localhost.

    Example:
        >>> [is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "0.0.0.0", "10.1.2.3")]
        [True, True, True, False, False]
    """
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_for(host: str, port: int) -> str:
    """The address to open in a browser (IPv6 hosts in brackets).

    Example:
        >>> url_for("::1", 8000), url_for("127.0.0.1", 8000)
        ('http://[::1]:8000/', 'http://127.0.0.1:8000/')
    """
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: any free one), or a clear error."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as error:
        raise fail("lab", "port", f"free to listen on at {host} ({error.strerror})", port) from None
    sock.listen(128)
    return sock


@app.command("lab")
def lab(
    host: Annotated[
        str, typer.Option(help="Address to listen on; anything but loopback needs --allow-remote.")
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="Port to listen on (0: any free port).", min=0, max=65535)
    ] = 8765,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Allow a non-loopback --host: anyone who can reach it can use it.",
        ),
    ] = False,
    store: StoreOption = DEFAULT_STORE,
    max_trainings: Annotated[
        int, typer.Option(help="Trainings that may run at once, over all tabs.", min=1, max=64)
    ] = 4,
    max_sessions: Annotated[
        int, typer.Option(help="Browser tabs (sessions) open at once.", min=1, max=1024)
    ] = 32,
    max_client_sessions: Annotated[
        int | None,
        typer.Option(
            help="Sessions one client address may hold. \\[default: a quarter of --max-sessions]",
            min=1,
            max=1024,
        ),
    ] = None,
    request_threads: Annotated[
        int,
        typer.Option(
            help="Requests computed at once; the rest wait their turn. More than the cores "
            "only slows every request (they contend for Python's interpreter lock).",
            min=1,
            max=64,
        ),
    ] = 2,
) -> None:
    """Start the browser lab and print its URL.

    Sections: initialization, regularization, init race, landscape, theory and runs.

    Bound to 127.0.0.1 unless --host and --allow-remote say otherwise; Ctrl-C stops it.
    """
    if not is_loopback(host) and not allow_remote:
        expected = "a loopback address (127.0.0.1, ::1 or localhost) unless --allow-remote is given"
        raise fail("lab", "host", expected, host)
    # Installed with weightlab; a damaged environment still gets one line naming pip.
    for package in ("fastapi", "plotly"):  # plotly's own plotly.min.js is served to the page
        require(package, "lab", _PURPOSE)
    uvicorn = require("uvicorn", "lab", _PURPOSE)
    from weightlab.lab.app import create_app

    sock = _bind(host, port)
    url = url_for(host, sock.getsockname()[1])
    if not is_loopback(host):
        sys.stderr.write(
            f"Warning: the lab listens on {host}, so other machines can reach it at {url}. "
            "It has no authentication: anyone who can connect can train models on this "
            "machine and read the run store.\n"
        )
    application = create_app(
        Path(store),
        max_sessions=max_sessions,
        max_trainings=max_trainings,
        max_client_sessions=max_client_sessions,
        request_threads=request_threads,
        warm_up=True,
    )
    out.print(f"weightlab lab: {url}  (Ctrl-C stops it)", soft_wrap=True, markup=False)
    config = uvicorn.Config(application, log_level="warning", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    # Ctrl-C is how the lab is stopped: the server shuts down, then re-raises it.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[sock])
    out.print("weightlab lab stopped.")
