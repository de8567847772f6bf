"""The HTML report in headless Chromium: it renders its figures and requests nothing
from any network."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from weightlab.report import build_report
from weightlab.store import Store
from weightlab.sweep import load_spec
from weightlab.sweep.runner import run_sweep

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (.ci/run installs it)",
)


@pytest.mark.slow
def test_report_opens_with_no_external_requests(tmp_path: Path) -> None:
    playwright = pytest.importorskip("playwright.sync_api")
    store = Store(tmp_path / "store")
    spec = load_spec(
        {
            "name": "browser",
            "dataset": {"name": "circle", "n_samples": 200},
            "model": {"arch": "mlp", "hidden": [16], "activation": "tanh"},
            "init": ["zeros", "xavier_normal"],
            "regularization": ["none", "l1(1e-2)"],
            "optimizer": {"name": "sgd", "lr": 0.2},
            "train": {"steps": 100, "batch_size": 20, "eval_every": 50},
        }
    )
    run_sweep(spec, store)
    report = build_report(store, tmp_path / "report")
    requests: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("request", lambda r: requests.append(r.url))
        page.goto(report.html.resolve().as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all(
            "img", "els => els.map(e => [e.complete, e.naturalWidth])"
        )
        page.screenshot(path=str(tmp_path / "report.png"), full_page=False)
        browser.close()
    assert images and all(done and width > 100 for done, width in images)
    external = [u for u in requests if not u.startswith(("file:", "data:"))]
    assert external == []
    assert (tmp_path / "report.png").stat().st_size > 10_000
