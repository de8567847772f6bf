"""Claims judged from a store filled with synthetic runs whose outcomes are known, and
the ``weightlab claims`` command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from weightlab.cli import main
from weightlab.store import Store
from weightlab.sweep import expand, load_spec
from weightlab.sweep.judge import judge

SPEC: dict[str, Any] = {
    "name": "synthetic",
    "dataset": {"name": "moons"},
    "regularization": ["none", "dropout(0.5)", "l2(1e-2)"],
    "seeds": [0, 1, 2, 3, 4],
    "claims": [
        {"metric": "gap", "of": "dropout(0.5)", "below": "none", "says": "dropout narrows"},
        {"metric": "gap", "of": "l2(1e-2)", "below": "none", "says": "l2 narrows"},
        {"metric": "val_acc", "of": "dropout(0.5)", "above": 0.9, "says": "dropout scores"},
    ],
}
# gap per regularization and seed: dropout clearly lower, l2 clearly higher.
GAPS = {"none": 2.0, "dropout(0.5)": 1.0, "l2(0.01)": 2.5}


def _fill(store: Store, spec_dict: dict[str, Any], *, val_acc: float = 0.8) -> None:
    spec = load_spec(spec_dict)
    configs = expand(spec)
    store.add_sweep(
        spec.name,
        spec.model_dump(mode="json"),
        [(c.hash(), c.label(), c.to_dict()) for c in configs],
    )
    while (taken := store.claim(spec.name, "tester")) is not None:
        run_id, config = taken
        noise = 0.01 * config["seed"]
        final = {"gap": GAPS[config["regularization"]] + noise, "val_acc": val_acc + noise}
        store.finish(
            run_id,
            status="done",
            metrics=[],
            histograms=[],
            diagnostics=[],
            final=final,
            seconds=1.0,
            versions={},
            owner="tester",
        )


def test_known_outcomes_from_a_store(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _fill(store, SPEC)
    verdicts = {v.text: v for v in judge(store, "synthetic")}
    assert verdicts["dropout narrows"].verdict == "holds"
    assert verdicts["dropout narrows"].effect == pytest.approx(-1.0)
    assert verdicts["l2 narrows"].verdict == "fails"
    assert verdicts["dropout scores"].verdict == "fails"  # 0.8 + noise is not above 0.9


def test_runs_of_an_older_spec_are_not_judged(tmp_path: Path) -> None:
    store = Store(tmp_path)
    _fill(store, {**SPEC, "seeds": [0]})  # one seed: inconclusive
    assert {v.verdict for v in judge(store, "synthetic")} == {"inconclusive"}
    changed = {**SPEC, "seeds": [0], "optimizer": {"name": "adam", "lr": 0.5}}
    _fill(store, changed, val_acc=0.99)  # same sweep name, other runs: only these count
    verdicts = {v.text: v for v in judge(store, "synthetic")}
    assert verdicts["dropout scores"].n == 1 and verdicts["dropout scores"].effect > 0.08


def test_the_claims_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(tmp_path)
    _fill(store, SPEC)
    with pytest.raises(SystemExit) as done:
        main(["claims", "--store", str(tmp_path), "--json"])
    assert done.value.code == 0
    payload = json.loads(capsys.readouterr().out)
    assert [v["verdict"] for v in payload["synthetic"]] == ["holds", "fails", "fails"]
    assert payload["synthetic"][0]["interval"][1] < 0
    with pytest.raises(SystemExit) as done:
        main(["claims", "--store", str(tmp_path), "--strict"])
    assert done.value.code == 1
    table = capsys.readouterr().out
    assert "dropout narrows" in table and "holds" in table and "1 holds, 2 fails" in table
    with pytest.raises(SystemExit) as done:
        main(["claims", "--store", str(tmp_path), "--sweep", "nope"])
    assert done.value.code == 2
    assert (
        "The 'sweep' parameter of claims must be a sweep in the store (synthetic)"
        in capsys.readouterr().err
    )
