"""How long the lab takes to show new histograms when the init scheme changes.

Through the HTTP API, as the page does it: one ``PUT /api/sessions/{id}/init`` per
change, timed from sending the request to having the frame (per-layer activation and
gradient histograms, variances, flags, loss and decision boundary) parsed.  The network
is a 10-layer, width-256 MLP; the target is under 200 ms.  Every scheme of the library
is tried in turn, several rounds; the first request (which loads the data) is not
counted.  Prints the median per scheme and over all changes.

    python benchmarks/lab_latency.py [--depth 10] [--width 256] [--rounds 5]
                                     [--url http://127.0.0.1:8765]  # a running lab
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from weightlab.init import scheme_names
from weightlab.lab.app import create_app

TARGET_MS = 200.0


@contextmanager
def local_lab() -> Iterator[str]:
    """A lab on a free loopback port, served from a thread of this process."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    app = create_app("no-store", warm_up=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def change_ms(http: httpx.Client, session: str, setup: dict[str, object]) -> float:
    """Milliseconds for one scheme change, from request to parsed frame."""
    start = time.perf_counter()
    response = http.put(f"/api/sessions/{session}/init", json=setup)
    frame = response.json()
    elapsed = 1000 * (time.perf_counter() - start)
    response.raise_for_status()
    assert frame["measurement"]["layers"][0]["post_hist"]["counts"]
    return elapsed


def measure(url: str, depth: int, width: int, rounds: int) -> dict[str, list[float]]:
    """Times of every change, per scheme."""
    times: dict[str, list[float]] = {scheme: [] for scheme in scheme_names()}
    with httpx.Client(base_url=url, timeout=60) as http:
        session = http.post("/api/sessions").json()["session"]
        base = {"dataset": "circle", "depth": depth, "width": width}
        change_ms(http, session, base)  # loads the data; not counted
        for _ in range(rounds):
            for scheme in times:
                times[scheme].append(change_ms(http, session, {**base, "init": scheme}))
        http.delete(f"/api/sessions/{session}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--url", help="Measure a lab that is already running.")
    args = parser.parse_args()
    if args.url:
        times = measure(args.url.rstrip("/"), args.depth, args.width, args.rounds)
    else:
        with local_lab() as url:
            times = measure(url, args.depth, args.width, args.rounds)
    print(f"Init scheme change, {args.depth} layers of width {args.width}, {args.rounds} rounds")
    print(f"{'scheme':<18} {'median ms':>10} {'max ms':>8}")
    for scheme, values in times.items():
        print(f"{scheme:<18} {statistics.median(values):>10.1f} {max(values):>8.1f}")
    every = [t for values in times.values() for t in values]
    median = statistics.median(every)
    p90 = statistics.quantiles(every, n=10)[-1]
    verdict = "under" if median < TARGET_MS else "OVER"
    print(
        f"all {len(every)} changes: median {median:.1f} ms, 90th percentile {p90:.1f} ms, "
        f"max {max(every):.1f} ms ({verdict} the {TARGET_MS:.0f} ms target)"
    )


if __name__ == "__main__":
    main()
