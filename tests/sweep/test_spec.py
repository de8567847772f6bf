"""Experiment specs: grids, canonical configs, and errors that name the bad field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from weightlab.sweep import expand, load_spec
from weightlab.sweep.runner import prepare

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.yaml"))

BASE: dict[str, Any] = {
    "name": "t",
    "dataset": {"name": "circle"},
    "model": {"arch": "mlp", "hidden": [8]},
    "init": ["zeros", "he_normal"],
    "regularization": ["none", "l1(1e-4)"],
    "optimizer": {"name": "adam", "lr": [1e-3, 1e-2]},
    "seeds": [0, 1],
}


def _with(change: Any) -> dict[str, Any]:
    spec = copy.deepcopy(BASE)
    change(spec)
    return spec


def test_lists_expand_to_a_grid_with_stable_hashes() -> None:
    runs = expand(load_spec(BASE))
    assert len(runs) == 2 * 2 * 2 * 2
    assert len({r.hash() for r in runs}) == 16
    assert [r.hash() for r in expand(load_spec(BASE))] == [r.hash() for r in runs]
    # Equivalent spellings give the same run.
    same = _with(
        lambda s: s.update(
            init=["zeros", "he_normal(mode=fan_in)"],
            regularization=["none", "l1(0.0001, rule=proximal)"],
        )
    )
    assert {r.hash() for r in expand(load_spec(same))} == {r.hash() for r in runs}


def test_effective_lr_round_trips_and_keeps_run_ids_when_off() -> None:
    plain = expand(load_spec(BASE))
    off = expand(load_spec(_with(lambda s: s.update(train={"effective_lr": False}))))
    on = expand(load_spec(_with(lambda s: s.update(train={"effective_lr": True}))))
    assert [r.hash() for r in off] == [r.hash() for r in plain]
    assert all("effective_lr" not in r.train for r in off)
    assert all(r.train["effective_lr"] is True for r in on)
    assert not {r.hash() for r in on} & {r.hash() for r in plain}
    assert [type(r).from_dict(r.to_dict()).train for r in on] == [r.train for r in on]


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_spec_is_valid(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name == path.stem
    assert expand(spec)


def test_there_is_an_example_per_story() -> None:
    names = {p.stem for p in EXAMPLES}
    assert {
        "init-comparison",
        "l1-vs-l2-histograms",
        "l1-feature-selection",
        "l2-multicollinear",
        "dropout-gap",
        "dropout-ensemble",
        "dropout-coadaptation",
        "dropout-steps",
        "lambda-sweep",
    } <= names


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s["model"].update(hiden=[3]),
            r"The spec field 'model.hiden' is not a known field \(allowed: arch, hidden, activation, channels, kernel_size, path\)\.",
        ),
        (
            lambda s: s.update(train={"steps": 0}),
            r"The spec field 'train.steps' should be greater than or equal to 1\. Got 0\.",
        ),
        (
            lambda s: s.update(init="he_normla"),
            r"The spec field 'init': The 'scheme' parameter of resolve must be one of .*Got 'he_normla'\.",
        ),
        (
            lambda s: s.update(regularization=["none", "l3(1)"]),
            r"The spec field 'regularization': The 'regularization' parameter of regularization must be one of",
        ),
        (
            lambda s: s.update(model={"arch": "linear"}, regularization="dropout(0.2)"),
            r"The spec combines settings that cannot work: dropout needs hidden layers; model.arch is linear\.$",
        ),
        (
            lambda s: s.update(
                optimizer={"name": "adamw", "weight_decay": 0.1},
                regularization="decoupled_decay(1e-2)",
            ),
            r"adamw with weight_decay > 0 and decoupled_decay would decay twice",
        ),
        (lambda s: s.pop("dataset"), r"The spec field 'dataset' is required\."),
        (
            lambda s: s.update(seeds=[1, 1]),
            r"The spec field 'seeds' must be distinct non-negative ints\. Got \[1, 1\]\.",
        ),
        (
            lambda s: s.update(train={"steps": 10, "eval_every": 20}),
            r"eval_every \(20\) must be at most steps \(10\)",
        ),
        (
            lambda s: s["model"].update(activation="relu6"),
            r"The spec field 'model.activation' must be one of linear, relu",
        ),
        (
            lambda s: s.update(optimizer={"name": "adam", "nesterov": True}),
            r"nesterov needs name 'sgd' and momentum > 0",
        ),
        (
            lambda s: s.update(model={"arch": "logistic"}, dataset={"name": "diabetes"}),
            r"logistic needs a classification dataset; diabetes is regression",
        ),
        (lambda s: s.update(name="has space"), r"The spec field 'name' should match pattern"),
        (
            lambda s: s.update(optimizer={"name": "adam", "lr": -1.0}),
            r"The spec field 'optimizer.lr' must be a positive finite float",
        ),
        (
            lambda s: s.update(train={"effective_lr": "yes please"}),
            r"The spec field 'train.effective_lr' should be a valid boolean.*Got 'yes please'\.",
        ),
    ],
)
def test_bad_specs_name_the_field(change: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_spec(_with(change))


def test_dataset_problems_are_caught_before_training() -> None:
    with pytest.raises(ValueError, match=r"The 'name' parameter of load_dataset must be one of"):
        prepare(load_spec(_with(lambda s: s.update(dataset={"name": "cifar"}))))
    with pytest.raises(
        ValueError,
        match=r"keyword arguments accepted by 'circle' \(n_samples, noise\)\. Got nosie=0\.3\.",
    ):
        prepare(load_spec(_with(lambda s: s.update(dataset={"name": "circle", "nosie": 0.3}))))
    with pytest.raises(
        ValueError,
        match=r"The 'arch' parameter of model must be a dataset with \[channels, length\] or \[channels, height, width\] inputs",
    ):
        prepare(load_spec(_with(lambda s: s.update(model={"arch": "cnn"}))))


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=r"The 'spec' parameter of run must be an existing YAML file\. Got"
    ):
        load_spec(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ValueError, match=r"The 'spec' parameter of run must be valid YAML"):
        load_spec(bad)
    listy = tmp_path / "list.yaml"
    listy.write_text("- 1\n- 2\n")
    with pytest.raises(
        ValueError, match=r"must be a YAML mapping with name, dataset, model, \.\.\.\. Got 'list'\."
    ):
        load_spec(listy)


def test_undecodable_and_unreadable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    noise = tmp_path / "noise.yaml"
    noise.write_bytes(b"name: x\n" + bytes(range(128, 256)))
    with pytest.raises(ValueError) as error:
        load_spec(noise)
    assert str(error.value) == (
        "The 'spec' parameter of run must be a UTF-8 text file (byte 8 is not UTF-8). "
        f"Got '{noise}'."
    )
    locked = tmp_path / "locked.yaml"
    locked.write_text("name: x\n")

    def refuse(*_args: object, **_kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(locked))

    monkeypatch.setattr(Path, "read_text", refuse)
    with pytest.raises(ValueError) as error:
        load_spec(locked)
    assert str(error.value) == (
        "The 'spec' parameter of run must be a readable YAML file (Permission denied). "
        f"Got '{locked}'."
    )


def test_deeply_nested_yaml_is_refused(tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: " + "[" * 100_000 + "]" * 100_000)
    with pytest.raises(ValueError, match=r"The 'spec' parameter of run must be"):
        load_spec(deep)
