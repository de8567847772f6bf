"""The lab in real headless Chromium: every section loads and draws, the init explorer
redraws when the scheme changes, play and pause drive the loss curve, the λ slider moves
the contours, a stored run opens, a closed tab stops its training, the URL carries the
setup, and the page asks nothing of any other host.

Set ``WEIGHTLAB_LAB_SCREENSHOTS=docs`` to write the documentation's screenshots there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import LiveLab, wait_until

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORT = {"width": 1440, "height": 1000}

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists() or shutil.which("chromium") is None,
        reason="Debian's chromium is not installed at /usr/bin/chromium (.ci/run installs it)",
    ),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


class Tab:
    """A page of the lab that records every URL it requests."""

    def __init__(self, browser: Any, lab: LiveLab) -> None:
        self.lab = lab
        self.page = browser.new_page(viewport=VIEWPORT)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.lab.url}/{query}")
        self.page.wait_for_function("document.querySelector('#connection').textContent === 'live'")

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def wait(self, expression: str, timeout: float = 30_000) -> None:
        self.page.wait_for_function(expression, timeout=timeout)

    def plotted(self, element: str) -> None:
        self.wait(f"(document.getElementById('{element}').data || []).length > 0")

    def status(self, section: str) -> dict[str, str]:
        return dict(self.js(f"({{...document.querySelector('#{section}-status').dataset}})"))

    def screenshot(self, name: str, tmp_path: Path) -> None:
        target = tmp_path / name
        self.page.screenshot(path=str(target), full_page=True)
        assert target.stat().st_size > 20_000
        folder = os.environ.get("WEIGHTLAB_LAB_SCREENSHOTS")
        if folder:
            shutil.copy(target, Path(folder) / name)

    def external(self) -> list[str]:
        return [u for u in self.requests if not u.startswith((self.lab.url + "/", "data:"))]


@pytest.fixture
def tab(browser: Any, live_lab: LiveLab) -> Iterator[Tab]:
    opened = Tab(browser, live_lab)
    yield opened
    if not opened.page.is_closed():
        opened.page.close()
    assert opened.errors == []
    assert opened.external() == []


def test_init_section_draws_and_redraws_when_the_scheme_changes(tab: Tab) -> None:
    tab.open("?tab=init")
    for element in (
        "init-activations",
        "init-gradients",
        "init-variance",
        "init-loss",
        "init-boundary",
    ):
        tab.plotted(element)
    assert tab.js("document.getElementById('init-variance').data[1].name") == "Var(z) theory"
    assert tab.js("document.querySelectorAll('#init-layers tr').length") == 6  # header, 5 layers
    before = tab.js(
        "JSON.stringify(document.getElementById('init-activations').data.map(t => t.y))"
    )
    tab.page.select_option("#init-form [name=init]", "zeros")
    tab.wait(
        "JSON.stringify(document.getElementById('init-activations').data.map(t => t.y)) !== "
        + repr(before)
    )
    assert "init.init=zeros" in tab.page.url
    assert "symmetry" in tab.js("document.querySelector('#init-flags').textContent")


def test_play_grows_the_loss_curve_and_pause_stops_it(tab: Tab, tmp_path: Path) -> None:
    tab.open("?tab=init&init.dataset=moons&init.depth=3&init.width=16&init.lr=0.3")
    tab.plotted("init-loss")
    tab.page.click("#init .controls [data-action=play]")
    tab.wait("document.getElementById('init-loss').data[0].x.length >= 8")
    assert tab.status("init")["running"] == "1"
    tab.wait("Number(document.querySelector('#init-status').dataset.step) >= 300")
    tab.page.click("#init .controls [data-action=pause]")
    tab.wait("document.querySelector('#init-status').dataset.running === '0'")
    points = tab.js("document.getElementById('init-loss').data[0].x.length")
    step = tab.status("init")["step"]
    tab.page.wait_for_timeout(400)
    assert tab.js("document.getElementById('init-loss').data[0].x.length") == points
    assert tab.status("init")["step"] == step
    losses = tab.js("document.getElementById('init-loss').data[0].y")
    assert losses[-1] < losses[0]
    tab.page.click("#init .controls [data-action=step]")  # ten steps
    tab.wait(f"document.querySelector('#init-status').dataset.step === '{int(step) + 10}'")
    tab.screenshot("lab-init.png", tmp_path)
    tab.page.click("#init .controls [data-action=reset]")
    tab.wait("document.querySelector('#init-status').dataset.step === '0'")


def test_regularization_section_trains_two_networks(tab: Tab, tmp_path: Path) -> None:
    query = "?tab=regularization&reg.width=128"
    tab.open(query)
    for element in (
        "regularization-weights-regularized",
        "regularization-weights-plain",
        "regularization-loss",
    ):
        tab.plotted(element)
    tab.page.click("#regularization .controls [data-action=play]")
    tab.wait(
        "Number(document.querySelector('#regularization-status').dataset.step) >= 600",
        timeout=90_000,
    )
    tab.page.click("#regularization .controls [data-action=pause]")
    tab.wait("document.querySelector('#regularization-status').dataset.running === '0'")
    names = tab.js("document.getElementById('regularization-loss').data.map(t => t.name)")
    assert names == [
        "regularized: train loss",
        "plain: train loss",
        "regularized: val loss",
        "plain: val loss",
    ]
    zeros = tab.js("document.getElementById('regularization-weights-regularized').data[1].y[0]")
    plain_zeros = tab.js("document.getElementById('regularization-weights-plain').data[1].y[0]")
    assert zeros > 0 and plain_zeros == 0  # proximal L1 makes exact zeros
    assert "soft-thresholding" in tab.js(
        "document.querySelector('#regularization-rule').textContent"
    )
    tab.screenshot("lab-regularization.png", tmp_path)


def test_lambda_slider_changes_the_contours_and_a_click_starts_descent(
    tab: Tab, tmp_path: Path
) -> None:
    tab.open("?tab=landscape")
    tab.plotted("landscape-plot")
    before = tab.js("JSON.stringify(document.getElementById('landscape-plot').data[0].z)")
    optimum = tab.js("document.getElementById('landscape-plot').data.at(-1).x[0]")
    tab.page.locator("#lam-slider").fill("800")
    tab.wait(
        "JSON.stringify(document.getElementById('landscape-plot').data[0].z) !== " + repr(before)
    )
    assert tab.js("document.getElementById('landscape-plot').data.at(-1).x[0]") != optimum
    assert "land.lam=" in tab.page.url
    box = tab.page.locator("#landscape-plot .nsewdrag").first.bounding_box()
    tab.page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.75)
    tab.wait("new URL(location).searchParams.has('land.start')")
    start = [
        float(v) for v in tab.js("new URL(location).searchParams.get('land.start')").split(",")
    ]
    tab.wait(
        "document.getElementById('landscape-plot').data.some(t => t.name.startsWith('gradient') "
        f"&& Math.abs(t.x[0] - {start[0]}) < 1e-9)"
    )
    tab.page.mouse.move(0, 0)  # no hover label in the picture
    tab.screenshot("lab-landscape.png", tmp_path)


def test_runs_section_opens_a_run_compares_and_links_the_report(tab: Tab, tmp_path: Path) -> None:
    tab.open("?tab=runs")
    tab.wait("document.querySelectorAll('#runs-table [data-run]').length === 4")
    tab.page.click("#runs-table [data-run='3']")
    tab.plotted("run-curves")
    tab.plotted("run-histograms")
    assert "runs.run=3" in tab.page.url
    assert "xavier_normal" in tab.js("document.querySelector('#run-detail').textContent")
    tab.page.check("#runs-table [data-compare='3']")
    tab.page.check("#runs-table [data-compare='4']")
    tab.wait("(document.getElementById('runs-compare').data || []).length === 2")
    assert "runs.compare=3%2C4" in tab.page.url
    assert (
        tab.js("document.querySelector('#report-open').getAttribute('href')")
        == "/api/store/report?"
    )
    tab.screenshot("lab-runs.png", tmp_path)


def test_the_url_restores_a_shared_setup(tab: Tab) -> None:
    tab.open("?tab=init&init.depth=2&init.activation=relu&init.init=he_normal&init.width=12")
    tab.plotted("init-activations")
    assert tab.js("document.querySelector('#init-form [name=depth]').value") == "2"
    assert tab.js("document.querySelector('#init-form [name=activation]').value") == "relu"
    setup = tab.js("window.weightlab.frames.init.setup")
    assert (setup["depth"], setup["width"], setup["activation"], setup["init"]) == (
        2,
        12,
        "relu",
        "he_normal",
    )


def test_a_bad_value_in_the_url_is_reported(tab: Tab) -> None:
    tab.open("?tab=init&init.depth=99")
    tab.wait("document.querySelector('#init-error').textContent.length > 0")
    assert tab.js("document.querySelector('#init-error').textContent") == (
        "The 'depth' parameter of init setup must be an int in [1, 20]. Got 99."
    )
    assert tab.js("document.querySelector('#init-form [name=depth]').classList.contains('invalid')")


def test_closing_the_tab_stops_its_training(tab: Tab, browser: Any) -> None:
    tab.open("?tab=init&init.max_steps=20000")
    tab.plotted("init-loss")
    other = Tab(browser, tab.lab)
    other.open("?tab=init")
    other.plotted("init-loss")
    tab.page.click("#init .controls [data-action=play]")
    tab.wait("Number(document.querySelector('#init-status').dataset.step) > 20")
    lab = tab.lab.app.state.lab
    assert lab.trainings == 1
    assert other.status("init")["step"] == "0"  # tabs are isolated
    tab.page.close()
    wait_until(lambda: lab.trainings == 0)
    other.page.close()
    assert other.external() == [] and other.errors == []
