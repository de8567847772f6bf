"""How long the lab takes to answer and redraw when a control changes.

Three measurements:

- (default) through the HTTP API, as the page does it: one ``PUT /api/sessions/{id}/init``
  per init-scheme change of a 10-layer, width-256 MLP, timed from sending the request to
  having the frame parsed;
- ``--browser``: in headless Chromium, from the control's change event to the redrawn
  page (the frame drawn and painted: the page records it in ``window.weightlab.latency``),
  for every init scheme (LSUV apart), a width, a feature, the dataset and a live learning
  rate change; targets: init changes ≤ 200 ms median and ≤ 350 ms 95th percentile, LSUV
  at most twice that;
- ``--concurrent N``: N clients at once, each moving the landscape's λ slider
  (Rosenbrock, grid 120), setting up a small init explorer and reading its frame;
  target: no kind of call over 1 s at the 95th percentile.

Prints p50/p95 per control (or call) and whether each target is met.

    python benchmarks/lab_latency.py [--browser] [--concurrent 20] [--rounds 5]
                                     [--depth 10] [--width 256]
                                     [--url http://127.0.0.1:8765]  # a running lab
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from weightlab.init import scheme_names

TARGET_MS = 200.0
TARGET_P95_MS = 350.0
CONCURRENT_P95_MS = 1000.0
CHROMIUM = "/usr/bin/chromium"
LANDSCAPE = {"function": "rosenbrock", "grid": 120, "encoding": "float32"}  # as the page asks
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


SERVER = """
import sys, uvicorn
from weightlab.lab.app import create_app
app = create_app("no-store", warm_up=True, max_sessions=64, max_client_sessions=64)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@contextmanager
def local_lab() -> Iterator[str]:
    """A lab on a free loopback port in a process of its own, as ``weightlab lab`` runs
    (clients in this process do not share its interpreter)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _warm(url):  # measured after the start-up warm-up, as a user would see it
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("the lab did not start") from None
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0–1) by linear interpolation."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def report(
    title: str, times: dict[str, list[float]], limits: dict[str, tuple[float, float]]
) -> bool:
    """Print p50/p95 per row against its limits; True when every limit holds."""
    print(title)
    print(f"{'control':<22} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'max ms':>9}  target")
    ok = True
    for name, values in times.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        limit = limits.get(name)
        verdict = ""
        if limit is not None:
            met = p50 <= limit[0] and p95 <= limit[1]
            ok &= met
            verdict = f"p50 ≤ {limit[0]:.0f}, p95 ≤ {limit[1]:.0f}: {'met' if met else 'MISSED'}"
        row = f"{name:<22} {len(values):>4} {p50:>9.1f} {p95:>9.1f} {max(values):>9.1f}"
        print(f"{row}  {verdict}")
    return ok


# -- through the API ---------------------------------------------------------------------


def change_ms(http: httpx.Client, session: str, setup: dict[str, object]) -> float:
    """Milliseconds for one scheme change, from request to parsed frame."""
    start = time.perf_counter()
    response = http.put(f"/api/sessions/{session}/init", json=setup)
    frame = response.json()
    elapsed = 1000 * (time.perf_counter() - start)
    response.raise_for_status()
    assert frame["measurement"]["layers"][0]["post_hist"]["counts"]
    return elapsed


def measure_api(url: str, depth: int, width: int, rounds: int) -> dict[str, list[float]]:
    """Times of every change, per scheme."""
    times: dict[str, list[float]] = {scheme: [] for scheme in scheme_names()}
    with httpx.Client(base_url=url, timeout=60) as http:
        session = http.post("/api/sessions").json()["session"]
        base = {"dataset": "circle", "widths": [width] * depth}
        change_ms(http, session, base)  # loads the data; not counted
        for _ in range(rounds):
            for scheme in times:
                times[scheme].append(change_ms(http, session, {**base, "init": scheme}))
        http.delete(f"/api/sessions/{session}")
    return times


# -- in the browser ----------------------------------------------------------------------


def measure_browser(
    url: str, depth: int, width: int, rounds: int, verbose: bool = False
) -> dict[str, list[float]]:
    """Change event to painted redraw, per control, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    widths = ",".join([str(width)] * depth)
    times: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/?tab=init&init.widths={widths}")
        page.wait_for_function("document.querySelector('#connection').textContent === 'live'")
        page.wait_for_function("(document.querySelector('#init-status').dataset.step || '') !== ''")

        def timed(name: str, act: Any) -> None:
            count = page.evaluate("window.weightlab.latency.length")
            act()
            page.wait_for_function(f"window.weightlab.latency.length > {count}", timeout=60_000)
            entry = page.evaluate("window.weightlab.latency.at(-1)")
            times.setdefault(name, []).append(float(entry["ms"]))
            times.setdefault(f"  {name}: answer", []).append(float(entry["answered"]))
            times.setdefault(f"  {name}: draw", []).append(float(entry["draw"]))
            if verbose:
                for part, ms in entry.get("parts", {}).items():
                    times.setdefault(f"    {name}: {part}", []).append(float(ms))

        form = "#init-form"
        schemes = [s for s in scheme_names() if s != "lsuv"]
        select = f"{form} [name=init]"
        for _ in range(rounds):
            for scheme in schemes:
                timed("init scheme", lambda s=scheme: page.select_option(select, s))
            for scheme in ("lsuv", "xavier_normal"):
                name = "init lsuv" if scheme == "lsuv" else "init scheme"
                timed(name, lambda s=scheme: page.select_option(select, s))
            for value in (str(width - 1), str(width)):
                timed("width (layer 1)", lambda v=value: _set_width(page, v))
            for checked in (True, False):
                timed("feature x1²", lambda c=checked: _feature(page, "x1_sq", c))
            for lr in ("0.05", "0.1"):
                timed("learning rate (live)", lambda v=lr: _fill(page, "#init-form [name=lr]", v))
            for dataset in ("xor", "circle"):
                timed(
                    "dataset", lambda d=dataset: page.select_option("#init-form [name=dataset]", d)
                )
        browser.close()
        if errors:
            raise RuntimeError(f"the page reported errors: {errors}")
    return times


def _set_width(page: Any, value: str) -> None:
    page.fill("#init-form input[data-layer='0']", value)
    page.dispatch_event("#init-form input[data-layer='0']", "change")


def _feature(page: Any, name: str, checked: bool) -> None:
    box = f"#init-form fieldset[data-group=features] input[value='{name}']"
    if checked:
        page.check(box)
    else:
        page.uncheck(box)


def _fill(page: Any, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.dispatch_event(selector, "change")


def _warm(url: str) -> bool:
    try:
        meta = httpx.get(f"{url}/api/meta", timeout=2)
        return meta.is_success and bool(meta.json().get("warm"))
    except httpx.HTTPError:
        return False


# -- many clients at once ----------------------------------------------------------------


def _client(url: str, k: int, rounds: int, start: Any) -> list[tuple[str, float]]:
    """One client (a process of its own, like a browser tab): λ slider moves on
    Rosenbrock's landscape (grid 120), a small init setup and its frame, ``rounds``
    times; answers (call, milliseconds) for each call."""
    times: list[tuple[str, float]] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        session = http.post("/api/sessions").json()["session"]
        start.wait()
        for r in range(rounds):
            lam = round(0.05 + 0.013 * (k * rounds + r), 4)
            setup = {"widths": [16, 16, 16], "init": ("xavier_normal", "he_normal")[r % 2]}
            calls = (
                ("landscape λ", "POST", "/api/landscape", {**LANDSCAPE, "lam": lam}),
                ("init setup", "PUT", f"/api/sessions/{session}/init", setup),
                ("frame", "GET", f"/api/sessions/{session}/init", None),
            )
            for name, method, path, body in calls:
                began = time.perf_counter()
                response = http.request(method, path, json=body)
                response.read()
                times.append((name, 1000 * (time.perf_counter() - began)))
                response.raise_for_status()
        http.delete(f"/api/sessions/{session}")
    return times


def measure_concurrent(url: str, clients: int, rounds: int) -> dict[str, list[float]]:
    """``clients`` client processes at once, started together (see :func:`_client`)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with context.Manager() as manager:
        start = manager.Barrier(clients)
        with context.Pool(clients) as pool:
            results = pool.starmap(_client, [(url, k, rounds, start) for k in range(clients)])
    times: dict[str, list[float]] = {"landscape λ": [], "init setup": [], "frame": []}
    for result in results:
        for name, ms in result:
            times[name].append(ms)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--width", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="Time redraws in Chromium.")
    parser.add_argument("--concurrent", type=int, default=0, help="Clients at once.")
    parser.add_argument("--url", help="Measure a lab that is already running.")
    parser.add_argument("--json", action="store_true", help="Print the times as JSON too.")
    parser.add_argument("--verbose", action="store_true", help="Time each part of a redraw.")
    args = parser.parse_args()

    def run(url: str) -> bool:
        shape = f"{args.depth} layers of width {args.width}"
        every: dict[str, Any] = {}
        ok = True
        if args.browser:
            times = measure_browser(url, args.depth, args.width, args.rounds, args.verbose)
            limits = {
                "init scheme": (TARGET_MS, TARGET_P95_MS),
                "init lsuv": (2 * TARGET_MS, 2 * TARGET_P95_MS),
            }
            ok &= report(f"Redraw in Chromium after a control change, {shape}", times, limits)
            every["browser"] = times
        if args.concurrent:
            times = measure_concurrent(url, args.concurrent, args.rounds)
            limits = {name: (CONCURRENT_P95_MS, CONCURRENT_P95_MS) for name in times}
            title = f"{args.concurrent} clients at once, {args.rounds} rounds each"
            ok &= report(title, times, limits)
            every["concurrent"] = times
        if not args.browser and not args.concurrent:
            times = measure_api(url, args.depth, args.width, args.rounds)
            flat = [t for values in times.values() for t in values]
            limits = {"all schemes": (TARGET_MS, TARGET_P95_MS)}
            ok &= report(
                f"Init scheme change through the API, {shape}, {args.rounds} rounds",
                {**times, "all schemes": flat},
                limits,
            )
            every["api"] = times
        if args.json:
            print(json.dumps(every))
        return ok

    if args.url:
        ok = run(args.url.rstrip("/"))
    else:
        with local_lab() as url:
            ok = run(url)
    print("every target met" if ok else "SOME TARGET MISSED")


if __name__ == "__main__":
    main()
