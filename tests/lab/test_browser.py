"""The lab in real headless Chromium: every section and view loads and draws, the init
explorer redraws when the scheme changes, play and pause drive the loss curve, a live
learning-rate change keeps training, per-layer widths and feature transforms change the
network picture, the default init race shows its lesson, the page stacks at 380 px, the
λ slider moves the contours, the theory section's point follows its inputs and a drag on
the phase diagram, a stored run opens, a closed tab stops its training, the URL carries
the setup, and the page asks nothing of any other host and logs no error.

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

    def __init__(self, browser: Any, lab: LiveLab, viewport: dict[str, int] = VIEWPORT) -> None:
        self.lab = lab
        self.page = browser.new_page(viewport=viewport)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def open(self, query: str = "") -> None:
        self.page.goto(f"{self.lab.url}/{query}")
        self.page.wait_for_function("document.querySelector('#connection').textContent === 'live'")

    def js(self, expression: str) -> Any:
        return self.page.evaluate(expression)

    def wait(self, expression: str, timeout: float = 30_000) -> None:
        self.page.wait_for_function(expression, timeout=timeout)

    def plotted(self, element: str) -> None:
        self.wait(f"(document.getElementById('{element}').data || []).length > 0")

    def drawn(self, element: str, more_than: int = 0) -> None:
        """Until the canvas ``element`` has been drawn more than ``more_than`` times."""
        self.wait(f"Number(document.getElementById('{element}').dataset.drawn || 0) > {more_than}")

    def draws(self, element: str) -> int:
        return int(self.js(f"Number(document.getElementById('{element}').dataset.drawn || 0)"))

    def ready(self, section: str) -> None:
        self.wait(f"(document.querySelector('#{section}-status').dataset.step || '') !== ''")

    def step(self, section: str) -> int:
        return int(self.status(section)["step"])

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


INIT_VIEWS = ("init-network", "init-boundary", "init-loss", "init-activations", "init-gradients")


def test_init_section_draws_and_redraws_when_the_scheme_changes(tab: Tab) -> None:
    tab.open("?tab=init")
    tab.ready("init")
    for element in (*INIT_VIEWS, "init-variance"):
        tab.drawn(element)
    series = tab.js("JSON.parse(document.getElementById('init-variance').dataset.series)")
    assert series == [
        "Var(z) measured",
        "Var(z) theory",
        "Var(∂L/∂W) training loss",
        "Var(∂W) random probe",
    ]
    assert tab.js("document.querySelectorAll('#init-layers tr').length") == 10  # header, 9
    headers = tab.js(
        "[...document.querySelectorAll('#init-layers th[title]')].map(th => th.textContent)"
    )
    assert {"Var(∂L/∂W)", "Var(∂W) probe", "theory"} <= set(headers)  # defined on hover
    before = tab.draws("init-activations")
    tab.page.select_option("#init-form [name=init]", "zeros")
    tab.drawn("init-activations", before)
    tab.wait("window.weightlab.frames.init.setup.init === 'zeros'")
    assert "init.init=zeros" in tab.page.url
    flags = tab.js("document.querySelector('#init-flags').textContent")
    assert "symmetry (layer 1)" in flags and "No signal" in flags and "exploding" not in flags
    note = tab.js("document.querySelector('#init-variance-note').textContent")
    assert "exactly 0 at layers 1, 2" in note  # the empty log plot says why


def test_play_grows_the_loss_curve_and_pause_stops_it(tab: Tab, tmp_path: Path) -> None:
    tab.open("?tab=init")
    tab.ready("init")
    assert tab.js("document.getElementById('init-loss').dataset.points") == "1"  # step 0 drawn
    tab.page.click("#init .controls [data-action=play]")
    tab.wait("Number(document.getElementById('init-loss').dataset.points) >= 8")
    assert tab.status("init")["running"] == "1"
    tab.wait("Number(document.querySelector('#init-status').dataset.step) >= 300")
    tab.page.click("#init .controls [data-action=pause]")
    tab.wait("document.querySelector('#init-status').dataset.running === '0'")
    points = tab.js("document.getElementById('init-loss').dataset.points")
    step = tab.status("init")["step"]
    tab.page.wait_for_timeout(400)
    assert tab.js("document.getElementById('init-loss').dataset.points") == points
    assert tab.status("init")["step"] == step
    losses = tab.js("window.weightlab.frames.init.arms[0].curves.train_loss")
    assert losses[-1] < losses[0]
    tab.page.click("#init .controls [data-action=step]")  # ten steps
    tab.wait(f"document.querySelector('#init-status').dataset.step === '{int(step) + 10}'")
    tab.page.mouse.move(0, 0)
    tab.screenshot("lab-init.png", tmp_path)
    tab.page.click("#init .controls [data-action=reset]")
    tab.wait("document.querySelector('#init-status').dataset.step === '0'")


def test_a_learning_rate_change_during_play_goes_on_without_a_reset(tab: Tab) -> None:
    tab.open("?tab=init&init.widths=8,8&init.max_steps=20000")
    tab.ready("init")
    live = tab.js("document.querySelector('#init-form [data-field=lr] .kind').textContent")
    restart = tab.js(
        "document.querySelector('#init-form [data-field=activation] .kind').textContent"
    )
    assert live.startswith("live") and restart.startswith("↺")
    generation = tab.status("init")["generation"]
    tab.page.click("#init .controls [data-action=play]")
    tab.wait("Number(document.querySelector('#init-status').dataset.step) > 100")
    tab.page.fill("#init-form [name=lr]", "0.02")
    tab.page.dispatch_event("#init-form [name=lr]", "change")
    tab.wait("window.weightlab.frames.init.changes.length === 1")
    change = tab.js("window.weightlab.frames.init.changes[0] ?? 'the change was lost'")
    assert isinstance(change, dict), change
    assert change["fields"] == {"lr": [0.1, 0.02]} and change["step"] > 100
    assert "applied live" in tab.js("document.querySelector('#init-status').textContent")
    after = tab.step("init")
    tab.wait(f"Number(document.querySelector('#init-status').dataset.step) > {after + 50}")
    assert tab.status("init")["generation"] == generation  # never set up again
    assert tab.status("init")["running"] == "1"
    assert tab.js("window.weightlab.values.init.lr") == 0.02
    tab.page.click("#init .controls [data-action=pause]")


def test_widths_and_features_change_the_network_picture(tab: Tab) -> None:
    tab.open("?tab=init&init.widths=4,4")
    tab.ready("init")
    tab.drawn("init-network")
    label = "document.getElementById('init-network').getAttribute('aria-label')"
    assert "hidden layers of 4, 4 units" in tab.js(label)
    tab.page.click("#init-form [data-action=add-layer]")
    tab.wait("JSON.stringify(window.weightlab.frames.init.hidden) === '[4,4,4]'")
    tab.wait(f"{label}.includes('4, 4, 4 units')")
    tab.page.click("#init-form [data-action=more][data-layer='0']")
    tab.wait("JSON.stringify(window.weightlab.frames.init.hidden) === '[5,4,4]'")
    assert tab.js("window.weightlab.frames.init.picture.hidden[0].shown") == 5
    assert "init.widths=5%2C4%2C4" in tab.page.url
    before = tab.draws("init-network")
    tab.page.check("#init-form fieldset[data-group=features] input[value=x1_sq]")
    tab.wait("window.weightlab.frames.init.picture.inputs.length === 3")
    tab.drawn("init-network", before)
    inputs = tab.js("window.weightlab.frames.init.picture.inputs.map(i => i.label)")
    assert inputs == ["x₁", "x₂", "x₁²"]
    assert "2, 5 inputs" not in tab.js(label) and "3 inputs" in tab.js(label)
    tab.page.click("#init-form [data-action=remove-layer]")
    tab.wait("JSON.stringify(window.weightlab.frames.init.hidden) === '[5,4]'")


def test_hovering_a_unit_shows_its_output_and_a_click_its_histogram(tab: Tab) -> None:
    tab.open("?tab=init&init.widths=6,6&init.activation=relu&init.init=he_normal")
    tab.ready("init")
    tab.drawn("init-network")
    node = tab.js(
        "window.weightlab.targets['init-network'].nodes.find(n => n.kind === 'unit' && n.layer === 1)"
    )
    box = tab.page.locator("#init-network").bounding_box()
    plane = tab.draws("init-boundary")
    tab.page.mouse.move(box["x"] + node["x"] + 5, box["y"] + node["y"] + 5)
    tab.wait(f"window.weightlab.hovered === 'unit:1:{node['unit']}'")  # its output fills the plot
    tab.drawn("init-boundary", plane)
    assert tab.js("document.querySelector('#tooltip').textContent").startswith("layer 2 unit")
    before = tab.draws("init-activations")
    tab.page.mouse.click(box["x"] + node["x"] + 5, box["y"] + node["y"] + 5)
    tab.wait("window.weightlab.selected.init !== null")
    assert tab.js("window.weightlab.selected.init") == {"layer": 1, "unit": node["unit"]}
    tab.drawn("init-activations", before)
    title = tab.js("document.querySelector('#init-activations-title').textContent")
    assert f"layer 2 highlighted with unit {node['unit'] + 1}" in title


def test_regularization_section_trains_two_networks(tab: Tab, tmp_path: Path) -> None:
    tab.open("?tab=regularization")
    tab.ready("regularization")
    for element in (
        "regularization-boundary-regularized",
        "regularization-boundary-plain",
        "regularization-loss",
        "regularization-network",
    ):
        tab.drawn(element)
    for element in ("regularization-weights-regularized", "regularization-weights-plain"):
        tab.plotted(element)
    tab.page.click("#regularization .controls [data-action=play]")
    tab.wait(
        "Number(document.querySelector('#regularization-status').dataset.step) >= 1500",
        timeout=90_000,
    )
    tab.page.click("#regularization .controls [data-action=pause]")
    tab.wait("document.querySelector('#regularization-status').dataset.running === '0'")
    names = tab.js("JSON.parse(document.getElementById('regularization-loss').dataset.series)")
    assert names == [
        "regularized: train loss",
        "plain: train loss",
        "regularized: val loss",
        "plain: val loss",
    ]
    zeros = tab.js("document.getElementById('regularization-weights-regularized').data[1].y[0]")
    plain_zeros = tab.js("document.getElementById('regularization-weights-plain').data[1].y[0]")
    assert zeros > 0 and plain_zeros == 0  # proximal L1 makes exact zeros
    ranges = tab.js(
        "['regularized', 'plain'].map(n => document.getElementById("
        "'regularization-weights-' + n).layout).map(l => [l.xaxis.range, l.yaxis.range])"
    )
    assert ranges[0] == ranges[1]  # twins share their axes
    assert "soft-thresholding" in tab.js(
        "document.querySelector('#regularization-rule').textContent"
    )
    tab.page.mouse.move(0, 0)
    tab.screenshot("lab-regularization.png", tmp_path)


def test_dropout_shows_its_uncertainty_and_p_changes_live(tab: Tab, tmp_path: Path) -> None:
    tab.open("?tab=regularization&reg.regularizer=dropout&reg.dataset=moons&reg.noise=0.2")
    tab.ready("regularization")
    for element in ("regularization-mc-mean", "regularization-mc-std", "regularization-mc-scaled"):
        tab.drawn(element)
    assert tab.js("window.weightlab.frames.regularization.mc_dropout.samples") == 30
    tab.page.click("#regularization .controls [data-action=play]")
    tab.wait("Number(document.querySelector('#regularization-status').dataset.step) >= 200")
    generation = tab.status("regularization")["generation"]
    tab.page.fill("#regularization-form [name='dropout.p']", "0.2")
    tab.page.dispatch_event("#regularization-form [name='dropout.p']", "change")
    tab.wait("window.weightlab.frames.regularization.changes.length === 1")
    assert tab.status("regularization")["generation"] == generation
    tab.wait("Number(document.querySelector('#regularization-status').dataset.step) >= 600")
    tab.page.click("#regularization .controls [data-action=pause]")
    tab.wait("document.querySelector('#regularization-status').dataset.running === '0'")
    assert "dropout(0.2)" in tab.js("window.weightlab.frames.regularization.arms[0].regularization")
    tab.page.mouse.move(0, 0)
    tab.screenshot("lab-dropout.png", tmp_path)


def test_a_regression_set_draws_its_fitted_surface(tab: Tab) -> None:
    tab.open("?tab=init&init.dataset=plane&init.widths=6,6")
    tab.ready("init")
    tab.drawn("init-boundary")
    assert tab.js("window.weightlab.frames.init.task") == "regression"
    assert tab.js("window.weightlab.frames.init.boundary.kind") == "value"
    series = tab.js("JSON.parse(document.getElementById('init-loss').dataset.series)")
    assert series == ["train MSE", "validation MSE"]
    tab.page.select_option("#init-form [name=dataset]", "digits")
    tab.wait("window.weightlab.frames.init.setup.dataset === 'digits'")
    assert tab.js("window.weightlab.frames.init.boundary") is None
    label = tab.js("document.getElementById('init-boundary').getAttribute('aria-label')")
    assert label.startswith("No input plane to draw")


def test_the_default_init_race_shows_its_lesson(tab: Tab, tmp_path: Path) -> None:
    tab.open("?tab=race")
    tab.ready("race")
    tab.drawn("race-loss")
    tab.wait("document.querySelectorAll('#race-lanes .lane').length === 5")
    labels = tab.js(
        "[...document.querySelectorAll('#race-lanes .lane h3 span:first-child')]"
        ".map(s => s.textContent)"
    )
    assert labels == ["zeros", "too small: N(0, 0.01²)", "too large: N(0, 1)", "Xavier", "He"]
    tab.page.click("#race .controls [data-action=play]")
    tab.wait("document.querySelector('#race-status').dataset.step === '500'", timeout=120_000)
    tab.wait("document.querySelector('#race-status').dataset.running === '0'")
    verdict = tab.js("document.querySelector('#race-claim [data-verdict]').dataset.verdict")
    assert verdict == "holds", tab.js("document.querySelector('#race-claim').textContent")
    leader = tab.js("document.querySelector('#race-lanes .lane.leader').dataset.arm")
    assert leader in ("xavier_normal", "he_normal")
    tab.page.mouse.move(0, 0)
    tab.screenshot("lab-race.png", tmp_path)


def test_a_narrow_screen_stacks_the_panels(browser: Any, live_lab: LiveLab, tmp_path: Path) -> None:
    tab = Tab(browser, live_lab, {"width": 380, "height": 900})
    tab.open("?tab=init")
    tab.ready("init")
    tab.drawn("init-boundary")
    aside = tab.page.locator("#init aside").bounding_box()
    plots = tab.page.locator("#init .plots").bounding_box()
    assert plots["y"] >= aside["y"] + aside["height"] - 1  # stacked, controls first
    assert plots["width"] <= 380
    assert tab.js("document.documentElement.scrollWidth") <= 381  # no sideways page
    table = tab.js("(b => [b.scrollWidth, b.clientWidth])(document.getElementById('init-layers'))")
    assert table[0] > table[1]  # the table scrolls inside its panel
    unlabelled = tab.js(
        "[...document.querySelectorAll('#init-form input, #init-form select')]"
        ".filter(e => !e.labels?.length && !e.getAttribute('aria-label')).length"
    )
    assert unlabelled == 0  # every control has a label a screen reader can read
    tab.screenshot("lab-narrow.png", tmp_path)
    assert tab.errors == [] and tab.external() == []
    tab.page.close()


@pytest.mark.parametrize("function", ["quadratic", "rosenbrock"])
def test_the_landscape_title_fits_a_narrow_screen(
    browser: Any, live_lab: LiveLab, function: str
) -> None:
    tab = Tab(browser, live_lab, {"width": 380, "height": 900})
    tab.open("?tab=landscape")
    tab.page.select_option("#landscape-form [name=function]", function)
    tab.wait(
        "(document.getElementById('landscape-plot').layout?.title?.text || '')"
        f".startsWith('{function}:')"
    )
    box = tab.js(
        "(r => [r.left, r.right])(document.querySelector('#landscape-plot .gtitle')"
        ".getBoundingClientRect())"
    )
    assert box[0] >= 0 and box[1] <= 380  # the whole title on screen
    assert tab.errors == []
    tab.page.close()


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
    query = "?tab=init&init.widths=12,7&init.activation=relu&init.init=he_normal"
    tab.open(query + "&init.features=x1,x2,sin_x1&init.train_fraction=0.7")
    tab.ready("init")
    assert tab.js("document.querySelector('#init-form [name=activation]').value") == "relu"
    assert tab.page.locator("#init-form input[data-layer='1']").input_value() == "7"
    setup = tab.js("window.weightlab.frames.init.setup")
    assert (setup["widths"], setup["activation"], setup["init"]) == ([12, 7], "relu", "he_normal")
    assert (setup["features"], setup["train_fraction"]) == (["x1", "x2", "sin_x1"], 0.7)


def test_an_old_link_with_depth_and_width_still_opens(tab: Tab) -> None:
    tab.open("?tab=init&init.depth=2&init.width=12")
    tab.ready("init")
    assert tab.js("window.weightlab.frames.init.hidden") == [12, 12]


def test_a_bad_value_in_the_url_is_reported(tab: Tab) -> None:
    tab.open("?tab=init&init.widths=8,600")
    tab.wait("document.querySelector('#init-error').textContent.length > 0")
    assert tab.js("document.querySelector('#init-error').textContent") == (
        "The 'widths' parameter of init setup must be a list of 1 to 20 ints in [1, 512] "
        "or null. Got [8, 600]."
    )
    assert tab.js(
        "document.querySelector('#init-form fieldset[data-field=widths]').classList"
        ".contains('invalid')"
    )
    # The refused request is the one error the console shows.
    assert tab.errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]
    tab.errors.clear()


def test_closing_the_tab_stops_its_training(tab: Tab, browser: Any) -> None:
    tab.open("?tab=init&init.max_steps=20000")
    tab.ready("init")
    other = Tab(browser, tab.lab)
    other.open("?tab=init")
    other.ready("init")
    tab.page.click("#init .controls [data-action=play]")
    tab.wait("Number(document.querySelector('#init-status').dataset.step) > 20")
    lab = tab.lab.app.state.lab
    assert lab.trainings == 1
    assert other.status("init")["step"] == "0"  # tabs are isolated
    tab.page.close()
    wait_until(lambda: lab.trainings == 0)
    other.page.close()
    assert other.external() == [] and other.errors == []


def test_reloading_ends_the_old_session_so_a_client_never_runs_out(tab: Tab) -> None:
    """A client holds at most max_sessions / 4 sessions (8 by default): each reload must
    give its session back, or the ninth reload would be refused."""
    lab = tab.lab.app.state.lab
    tab.open("?tab=init")
    limit = lab.max_client_sessions
    for _ in range(limit + 2):
        tab.page.reload()
        tab.page.wait_for_function("document.querySelector('#connection').textContent === 'live'")
    wait_until(lambda: len(lab.sessions) == 1)
    tab.ready("init")
    assert tab.external() == [] and tab.errors == []


def test_sections_without_training_work_when_no_session_is_left(tab: Tab) -> None:
    lab = tab.lab.app.state.lab
    held = [lab.create("127.0.0.1") for _ in range(lab.max_client_sessions)]
    assert held
    tab.page.goto(f"{tab.lab.url}/?tab=landscape")
    tab.wait("document.querySelector('#connection').textContent.startsWith('error:')")
    assert "open sessions" in tab.js("document.querySelector('#connection').textContent")
    tab.plotted("landscape-plot")
    assert tab.errors == [  # the refused session, and nothing else
        "Failed to load resource: the server responded with a status of 429 (Too Many Requests)"
    ]
    tab.errors.clear()


def test_theory_section_moves_its_point_by_input_and_by_drag(tab: Tab, tmp_path: Path) -> None:
    tab.open("?tab=theory")
    tab.drawn("theory-phase")
    shown = "document.querySelector('#theory-status').dataset.point"
    tab.wait(f"{shown} === JSON.stringify(['tanh', 1, 0])")
    for element in ("theory-q", "theory-c", "theory-spectrum"):
        tab.drawn(element)
    assert tab.js("JSON.parse(document.getElementById('theory-q').dataset.series)") == [
        "measured",
        "length map",
    ]
    assert tab.js("document.querySelectorAll('#theory-schemes tr').length") == 8  # 7 schemes
    assert "critical" in tab.js("document.querySelector('#theory-info').textContent")
    label = tab.js("document.getElementById('theory-phase').getAttribute('aria-label')")
    assert "Phase diagram of tanh" in label and "σ_w² = 1" in label

    def numbers() -> str:
        return str(tab.js("JSON.stringify(window.weightlab.theory.point.layers)"))

    before, draws = numbers(), tab.draws("theory-c")
    sigma_w = tab.page.locator("#theory-form [name=sigma_w]")
    sigma_w.fill("1.3")
    sigma_w.press("Tab")  # a committed change
    tab.wait(f"{shown} === JSON.stringify(['tanh', 1.3, 0])")
    assert tab.draws("theory-c") > draws and numbers() != before
    assert "theory.sigma_w=1.3" in tab.page.url
    assert tab.js("document.querySelector('#theory-info [data-phase]').dataset.phase") == "chaotic"

    # A value out of range: the error names it, and the page says which point it still shows.
    sigma_w.fill("3")
    sigma_w.press("Tab")
    tab.wait("document.querySelector('#theory-error').textContent.includes('sigma_w')")
    status = tab.js("document.querySelector('#theory-status').textContent")
    assert status.startswith("Still showing the last valid point (σ_w = 1.3, σ_b = 0,"), status
    assert tab.errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]
    tab.errors.clear()
    sigma_w.fill("1.3")
    sigma_w.press("Tab")
    tab.wait("document.querySelector('#theory-error').textContent === ''")

    # Drag the point from (σ_w² 1.69, σ_b² 0) to (0.49, 0.04): σ_w 0.7, σ_b 0.2.
    box = tab.page.locator("#theory-phase").bounding_box()
    start = tab.js("window.weightlab.theory.diagram.pixel(1.69, 0)")
    end = tab.js("window.weightlab.theory.diagram.pixel(0.49, 0.04)")
    tab.page.mouse.move(box["x"] + start[0], box["y"] + start[1])
    tab.page.mouse.down()
    tab.page.mouse.move(box["x"] + end[0], box["y"] + end[1], steps=8)
    tab.page.mouse.up()
    moved = tab.js("window.weightlab.values.theory")
    assert moved["sigma_w"] == pytest.approx(0.7, abs=0.02)
    assert moved["sigma_b"] == pytest.approx(0.2, abs=0.02)
    assert tab.page.locator("#theory-form [name=sigma_b]").input_value() == str(moved["sigma_b"])
    tab.wait(f"{shown} === JSON.stringify(['tanh', {moved['sigma_w']}, {moved['sigma_b']}])")
    url = tab.js("Object.fromEntries(new URL(location).searchParams)")
    assert (float(url["theory.sigma_w"]), float(url["theory.sigma_b"])) == (
        moved["sigma_w"],
        moved["sigma_b"],
    )
    assert tab.js("document.querySelector('#theory-info [data-phase]').dataset.phase") == "ordered"

    # Another activation and orthogonal weights: a new diagram, and a link that restores them.
    draws = tab.draws("theory-phase")
    tab.page.select_option("#theory-form [name=activation]", "relu")
    tab.page.select_option("#theory-form [name=weights]", "orthogonal")
    tab.wait("window.weightlab.theory.phase.activation === 'relu'")
    tab.wait("window.weightlab.theory.point?.weights === 'orthogonal'")
    assert tab.draws("theory-phase") > draws
    assert "theory.activation=relu" in tab.page.url and "theory.weights=orthogonal" in tab.page.url
    tab.page.goto(f"{tab.lab.url}/?tab=theory&theory.sigma_w=1.4&theory.sigma_b=0.3")
    tab.wait(f"{shown} === JSON.stringify(['tanh', 1.4, 0.3])")  # near the critical line
    tab.drawn("theory-phase")
    tab.page.mouse.move(0, 0)  # no hover label in the picture
    tab.screenshot("lab-theory.png", tmp_path)


def test_the_theory_section_at_380_px(browser: Any, live_lab: LiveLab) -> None:
    tab = Tab(browser, live_lab, {"width": 380, "height": 900})
    tab.open("?tab=theory&theory.depth=4&theory.width=32")
    tab.drawn("theory-phase")
    tab.wait("document.querySelector('#theory-status').dataset.point !== undefined")
    tab.drawn("theory-spectrum")
    assert tab.js("document.documentElement.scrollWidth") <= 381  # no sideways page
    assert tab.page.locator("#theory-phase").bounding_box()["width"] <= 380
    unlabelled = tab.js(
        "[...document.querySelectorAll('#theory-form input, #theory-form select')]"
        ".filter(e => !e.labels?.length && !e.getAttribute('aria-label')).length"
    )
    assert unlabelled == 0
    assert tab.errors == [] and tab.external() == []
    tab.page.close()
