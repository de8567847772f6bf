"""The effective-learning-rate figure and its caption, and a sweep recorded with
``train.effective_lr`` through the CLI to the report."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from weightlab import cli
from weightlab.histogram import Histogram
from weightlab.report import sweep_figures
from weightlab.report.effective import effective_caption, effective_lr_figure, layer_mean
from weightlab.report.runs import load_runs
from weightlab.store import Store

SPEC = """\
name: eff
dataset: {name: circle, n_samples: 120}
model: {arch: mlp, hidden: [8], activation: tanh}
init: xavier_normal
regularization: [l2(1e-2), decoupled_decay(1e-2)]
optimizer: {name: adam, lr: 0.01}
train: {steps: 30, batch_size: 20, eval_every: 10, diagnose: false, effective_lr: true}
"""


def test_the_figure_draws_each_setting() -> None:
    ratios = {
        "none": [([0, 10, 20], [0.1, 0.01, 0.005]), ([0, 10, 20], [0.1, 0.03, 0.005])],
        "l2(0.01)": [([0, 10, 20], [0.1, 0.02, 0.01])],
    }
    steps = {"l2(0.01)": Histogram(-5.0, -1.0, (1, 2, 3, 4))}
    left, right = effective_lr_figure(ratios, steps, title="t").axes
    lines = left.get_lines()
    assert [line.get_label() for line in lines] == ["none", "l2(0.01)"]
    assert list(lines[0].get_ydata()) == [0.1, 0.02, 0.005]  # mean over seeds
    assert left.get_yscale() == "log"
    assert len(right.patches) == 1  # one stairs per Adam setting
    empty = effective_lr_figure(ratios, {}).axes[1]
    assert [t.get_text() for t in empty.texts] == ["no Adam run"]


def test_the_caption_names_the_uneven_decay() -> None:
    text = effective_caption({"l2(0.01)": 40.0, "decoupled_decay(0.1)": 38.0}, {"none": 0.002})
    assert "l2(0.01) 40; decoupled_decay(0.1) 38" in text
    assert "pulls a weight at the 10th percentile of step sizes 40 times less than one" in text
    assert text.endswith("decoupled decay shrinks every weight by the same lr·λ.")
    # The unregularized run's spread is widest here, but it has no penalty to spread.
    text = effective_caption({"none": 286.0, "l2(0.01)": 47.7}, {"none": 0.003})
    assert "l2(0.01)'s penalty pulls a weight at the 10th percentile of step sizes 47.7" in text
    assert "286 times" not in text and "decoupled" not in text
    assert "pulls" not in effective_caption({"none": 286.0}, {"none": 0.003})
    assert effective_caption({}, {"none": 0.002}) == "Final ‖ΔW‖/‖W‖ of one step: none 0.002."
    assert layer_mean({"update_ratio/0.weight": 0.1, "update_ratio/2.weight": 0.3, "gap": 1}) == 0.2


def _cli(args: list[str]) -> None:
    try:
        cli.main(args)
    except SystemExit as exit_:
        assert not exit_.code, args


def test_a_sweep_with_effective_lr_gets_the_figure_in_its_report(tmp_path: Path) -> None:
    spec = tmp_path / "eff.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    store_dir, out = tmp_path / "store", tmp_path / "report"
    _cli(["run", str(spec), "--store", str(store_dir), "--backend", "inprocess"])
    _cli(["report", "--store", str(store_dir), "--out", str(out)])
    assert "Effective learning rates" in (out / "report.html").read_text(encoding="utf-8")
    assert (out / "figures" / "eff-effective_lr.png").stat().st_size > 0
    store = Store(store_dir)
    with sqlite3.connect(store.path) as db:
        engines = [e for (e,) in db.execute("SELECT engine FROM runs ORDER BY id")]
    assert engines == ["sequential (effective_lr is recorded by the sequential engine)"] * 2
    item = next(i for i in sweep_figures(store, "eff") if i.name == "effective_lr")
    runs = {r.regularization: r for r in load_runs(store, "eff")}
    for reg, run in runs.items():  # the caption's numbers are the stored ones
        assert item.numbers["adam_decay_spread"][reg] == run.final("adam_decay_spread")
        assert item.numbers["update_ratio"][reg] == layer_mean(run.record.final)
        assert [s for s, _ in run.metrics["update_ratio/0.weight"]] == [10, 20, 30]
        assert run.histogram("adam_log_step", "*") is not None
    assert item.numbers["adam_decay_spread"]["l2(0.01)"] > 1
    assert f"{item.numbers['adam_decay_spread']['l2(0.01)']:.3g}" in item.caption


def test_a_sweep_without_it_gets_no_such_figure(tmp_path: Path) -> None:
    spec = tmp_path / "eff.yaml"
    spec.write_text(SPEC.replace(", effective_lr: true", ""), encoding="utf-8")
    _cli(["run", str(spec), "--store", str(tmp_path), "--backend", "inprocess"])
    names = [i.name for i in sweep_figures(Store(tmp_path), "eff")]
    assert "effective_lr" not in names
