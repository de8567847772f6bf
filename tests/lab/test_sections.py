"""What the lab's sections draw and how they take changes: the init race and its lesson,
live changes (learning rate, batch size, step limit, a term's parameters, dropout's p)
against structural ones, per-layer widths, feature transforms, regression sets, the
network picture, Monte-Carlo dropout, flags numbered as the plots number layers, the
theory's note, the new inputs' refusals and the landscape's grid cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("fastapi")

from fastapi.testclient import TestClient

from weightlab.lab import landscape
from weightlab.lab.app import create_app
from weightlab.lab.data import load
from weightlab.lab.schemas import (
    FEATURES,
    InitSetup,
    LandscapeQuery,
    RaceSetup,
    RegularizationSetup,
)
from weightlab.lab.sessions import Lab
from weightlab.lab.trainer import (
    init_trainer,
    race_claim,
    race_trainer,
    regularization_trainer,
)
from weightlab.landscape import objective, penalized, regularized_path
from weightlab.models import mlp
from weightlab.regularize import Dropout
from weightlab.train import Trainer as Stepper

SMALL = {"n_samples": 80, "widths": [8, 8]}


# -- the init race ---------------------------------------------------------------------------


@pytest.mark.slow
def test_the_default_race_ends_with_xavier_and_he_ahead() -> None:
    """The race's lesson at its defaults (8 tanh layers of 32 on circle, SGD 0.1, 500
    steps): zeros stays symmetric at log 2, the too small init never gets a signal
    through, N(0, 1) saturates; Xavier and He end with the lowest validation losses."""
    race = race_trainer(RaceSetup())
    race.run(RaceSetup().max_steps)
    assert race.status == "done"
    race.frame()  # records the last point of every curve
    final = {arm.label: arm.curves["val_loss"][-1] for arm in race.arms}
    good = max(final["Xavier"], final["He"])
    bad = min(final["zeros"], final["too small: N(0, 0.01²)"], final["too large: N(0, 1)"])
    assert good < 0.25 and bad > 0.5, final
    assert final["zeros"] == pytest.approx(np.log(2), abs=0.02)  # never learns
    claim = race_claim(race)
    assert claim is not None and claim["holds"] and claim["final"]
    assert claim["text"].startswith("Xavier and He end ahead of zeros, too small, too large")
    accuracy = {arm.label: arm.curves["val_acc"][-1] for arm in race.arms}
    assert min(accuracy["Xavier"], accuracy["He"]) > 0.9


def test_the_race_trains_every_arm_on_the_same_batches_and_shows_each() -> None:
    race = race_trainer(RaceSetup(n_samples=60, widths=[6, 6], max_steps=20))
    assert [arm.name for arm in race.arms] == [
        "zeros",
        "normal(std=0.01)",
        "normal",
        "xavier_normal",
        "he_normal",
    ]
    race.run(5)
    frame = race.frame(full=True)
    assert frame["section"] == "race" and frame["step"] == 5
    assert len(frame["boundary"]["z"]) == 5 and len(frame["activations"]) == 5
    assert [len(a) for a in frame["activations"]] == [2] * 5  # per hidden layer
    zeros = frame["activations"][0][0]
    assert zeros["var"] == 0  # zeros: every unit the same value
    assert frame["claim"]["final"] is False


def test_a_race_without_the_classic_contestants_makes_no_claim() -> None:
    race = race_trainer(RaceSetup(n_samples=40, widths=[4], inits=["lecun_normal", "orthogonal"]))
    assert race.frame()["claim"] is None


# -- live changes --------------------------------------------------------------------------


@pytest.fixture
def lab() -> Iterator[Lab]:
    registry = Lab(max_sessions=4, max_trainings=2, frame_seconds=0.01)
    yield registry
    registry.shutdown()


def test_live_settings_apply_without_a_reset(lab: Lab) -> None:
    session = lab.create()
    lab.configure(session, "init", InitSetup(**SMALL))
    lab.step(session, "init", 30)
    generation = session.generation["init"]
    frame = lab.configure(session, "init", InitSetup(**SMALL, lr=0.02, batch_size=7))
    assert frame["step"] == 30 and frame["generation"] == generation
    assert frame["applied"] == {"live": ["lr", "batch_size"], "reset": False}
    trainer = session.trainer("init")
    assert trainer.arms[0].trainer.lr == 0.02 and trainer._batches.size == 7
    assert frame["changes"] == [{"step": 30, "fields": {"lr": [0.1, 0.02], "batch_size": [32, 7]}}]
    lab.step(session, "init", 5)
    assert session.trainer("init").step == 35  # it went on
    # A structural change starts again at step 0.
    frame = lab.configure(session, "init", InitSetup(**SMALL, activation="relu"))
    assert frame["step"] == 0 and frame["generation"] == generation + 1
    assert frame["applied"] == {"live": [], "reset": True}


def test_raising_the_step_limit_lets_a_finished_training_go_on(lab: Lab) -> None:
    session = lab.create()
    lab.configure(session, "init", InitSetup(**SMALL, max_steps=10))
    lab.step(session, "init", 50)
    assert session.trainer("init").status == "done"
    frame = lab.configure(session, "init", InitSetup(**SMALL, max_steps=40))
    assert frame["status"] == "ready" and frame["step"] == 10


def test_a_terms_parameters_and_dropouts_p_change_live(lab: Lab) -> None:
    session = lab.create()
    body = {"dataset": "moons", **SMALL, "regularizer": "l1", "l1.strength": 0.001}
    lab.configure(session, "regularization", RegularizationSetup.model_validate(body))
    lab.step(session, "regularization", 10)
    stronger = {**body, "l1.strength": 0.05, "l1.rule": "clip"}
    frame = lab.configure(session, "regularization", RegularizationSetup.model_validate(stronger))
    assert frame["step"] == 10 and frame["applied"]["live"] == ["l1.strength", "l1.rule"]
    assert frame["arms"][0]["regularization"] == "l1(0.05, rule='clip')"
    assert frame["arms"][1]["regularization"] == "none"  # the twin stays plain
    dropout = {**body, "regularizer": "dropout", "dropout.p": 0.5}
    frame = lab.configure(session, "regularization", RegularizationSetup.model_validate(dropout))
    assert frame["applied"]["reset"]  # another term: a new start
    lab.step(session, "regularization", 5)
    frame = lab.configure(
        session, "regularization", RegularizationSetup.model_validate({**dropout, "dropout.p": 0.1})
    )
    assert frame["step"] == 5 and frame["applied"]["live"] == ["dropout.p"]
    model = session.trainer("regularization").arms[0].model
    assert [m.p for m in model.modules() if isinstance(m, Dropout)] == [0.1, 0.1]
    classic = {**dropout, "dropout.p": 0.1, "dropout.mode": "classic"}
    frame = lab.configure(session, "regularization", RegularizationSetup.model_validate(classic))
    assert frame["applied"]["reset"]  # what the network computes at test time changed


def test_dropout_at_p_zero_keeps_its_modules_so_p_can_rise() -> None:
    setup = RegularizationSetup.model_validate(
        {"dataset": "moons", **SMALL, "regularizer": "dropout", "dropout.p": 0.0}
    )
    trainer = regularization_trainer(setup)
    modules = [m for m in trainer.arms[0].model.modules() if isinstance(m, Dropout)]
    assert [m.p for m in modules] == [0.0, 0.0]
    assert trainer.frame()["mc_dropout"] is None  # nothing to sample at p = 0


def test_the_library_trainer_sets_dropout_p() -> None:
    net = mlp(3, [4, 4], 2, "relu", dropout=0.5)
    stepper = Stepper(net, "none", {"name": "sgd", "lr": 0.1}, "classification")
    stepper.set_dropout(0.25)
    assert [m.p for m in net.modules() if isinstance(m, Dropout)] == [0.25, 0.25]


def test_live_changes_leave_the_training_as_if_set_from_the_start() -> None:
    """Changing nothing but the live fields gives the same weights as a trainer that
    had them all along, once the change is made at step 0."""
    a = init_trainer(InitSetup(**SMALL))
    a.apply(InitSetup(**SMALL, lr=0.3, batch_size=9))
    b = init_trainer(InitSetup(**SMALL, lr=0.3, batch_size=9))
    a.run(20)
    b.run(20)
    for p, q in zip(a.arms[0].model.parameters(), b.arms[0].model.parameters(), strict=True):
        assert torch.equal(p, q)


# -- per-layer widths, features, regression --------------------------------------------------


def test_per_layer_widths_build_that_network() -> None:
    trainer = init_trainer(InitSetup(n_samples=40, widths=[7, 3, 5]))
    linears = [m for m in trainer.arms[0].model if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [7, 3, 5, 2]
    frame = trainer.frame()
    assert frame["hidden"] == [7, 3, 5] and len(frame["measurement"]["layers"]) == 4
    assert [h["units"] for h in frame["picture"]["hidden"]] == [7, 3, 5]


def test_feature_transforms_are_standardized_columns_of_the_raw_point() -> None:
    features = list(FEATURES)
    lab = load(InitSetup(dataset="xor", n_samples=200, features=features))
    data, plane = lab.data, lab.plane
    assert plane is not None and data.x_train.shape == (100, 7)
    assert torch.allclose(data.x_train.mean(0), torch.zeros(7), atol=1e-5)
    assert torch.allclose(data.x_train.std(0, unbiased=False), torch.ones(7), atol=1e-4)
    raw = plane.train
    expected = torch.stack(
        [
            raw[:, 0],
            raw[:, 1],
            raw[:, 0] ** 2,
            raw[:, 1] ** 2,
            raw[:, 0] * raw[:, 1],
            torch.sin(raw[:, 0]),
            torch.sin(raw[:, 1]),
        ],
        dim=1,
    )
    assert torch.allclose(data.x_train, (expected - plane.mean) / plane.std, atol=1e-5)
    # A grid point maps to the network's input the same way as a training point.
    assert torch.allclose(plane.inputs(raw[:3]), data.x_train[:3], atol=1e-6)
    frame = init_trainer(InitSetup(dataset="xor", n_samples=60, widths=[4], features=features))
    assert [i["label"] for i in frame.frame()["picture"]["inputs"]] == [
        "x₁",
        "x₂",
        "x₁²",
        "x₂²",
        "x₁x₂",
        "sin x₁",
        "sin x₂",
    ]


def test_the_default_features_are_the_datasets_own_standardized_inputs() -> None:
    from weightlab.data import load_dataset

    lab = load(InitSetup(dataset="circle", n_samples=100))
    plain = load_dataset("circle", n_samples=100, noise=0.1, seed=0)
    assert torch.allclose(lab.data.x_train, plain.x_train, atol=1e-5)
    assert torch.equal(lab.data.y_train, plain.y_train)


def test_the_train_share_moves_samples_between_the_splits() -> None:
    lab = load(InitSetup(dataset="gauss", n_samples=200, train_fraction=0.8))
    assert (len(lab.data.y_train), len(lab.data.y_val)) == (160, 40)
    digits = load(InitSetup(dataset="digits", train_fraction=0.5))
    assert abs(len(digits.data.y_train) - len(digits.data.y_val)) <= 1


@pytest.mark.parametrize("dataset", ["plane", "multigauss"])
def test_regression_sets_train_and_draw_their_fitted_surface(dataset: str) -> None:
    trainer = init_trainer(InitSetup(dataset=dataset, n_samples=100, widths=[8], lr=0.05))
    first = trainer.frame(full=True)
    trainer.run(200)
    frame = trainer.frame()
    assert frame["task"] == "regression" and first["dataset"]["task"] == "regression"
    assert frame["boundary"]["kind"] == "value"
    assert set(frame["arms"][0]["curves"]) >= {"train_loss", "val_loss"}
    assert "train_acc" not in frame["arms"][0]["curves"]
    assert (
        frame["arms"][0]["curves"]["train_loss"][-1] < first["arms"][0]["curves"]["train_loss"][0]
    )
    assert frame["picture"]["outputs"] == 1 and frame["picture"]["output"] == "output"
    assert isinstance(first["points"]["label"][0], float)


# -- the network picture -------------------------------------------------------------------


def test_the_picture_marks_dead_saturated_and_constant_units() -> None:
    dead = init_trainer(InitSetup(n_samples=60, widths=[6, 6], activation="relu"))
    with torch.no_grad():
        dead.arms[0].model[0].bias[:3] = -100.0  # units 1-3 of layer 1 never fire
    picture = dead.frame()["picture"]
    assert picture["hidden"][0]["dead"][:3] == [True] * 3
    assert picture["hidden"][0]["dead_fraction"] == 0.5
    large = init_trainer(InitSetup(n_samples=60, widths=[64, 64], init="normal(std=1.0)"))
    assert any(large.frame()["picture"]["hidden"][1]["saturated"])
    zeros = init_trainer(InitSetup(n_samples=60, widths=[5, 5], init="zeros"))
    assert zeros.frame()["picture"]["hidden"][0]["constant"] == [True] * 5


def test_the_picture_of_a_two_class_network_has_one_output() -> None:
    trainer = init_trainer(InitSetup(n_samples=60, widths=[3]))
    picture = trainer.frame()["picture"]
    head = trainer.arms[0].model[-1]
    difference = (head.weight[1] - head.weight[0]).tolist()
    assert picture["outputs"] == 1 and picture["output"] == "P(class 1)"
    assert picture["weights"][-1][0] == pytest.approx(difference, rel=1e-2)
    assert len(picture["hidden"][0]["heat"]) == 3 and picture["grid"] == 14


def test_a_large_network_is_drawn_in_part_on_a_coarser_grid() -> None:
    trainer = init_trainer(InitSetup(n_samples=60, widths=[512] * 3))
    frame = trainer.frame()
    layer = frame["picture"]["hidden"][0]
    assert (layer["units"], layer["shown"]) == (512, 16)
    assert len(frame["picture"]["weights"][1]) == 16  # 16 × 16 edges between layers
    assert len(frame["boundary"]["x1"]) < 28
    assert len(layer["hist"]["counts"]) == 16 and sum(layer["hist"]["counts"][0]) == 60 // 2


def test_other_datasets_have_no_heatmaps() -> None:
    frame = init_trainer(InitSetup(dataset="digits", widths=[8])).frame(full=True)
    picture = frame["picture"]
    assert picture["grid"] is None and picture["hidden"][0]["heat"] is None
    assert picture["n_inputs"] == 64 and len(picture["inputs"]) == 16
    assert picture["outputs"] == 10


# -- what the measurement says ----------------------------------------------------------------


def test_flags_number_layers_as_the_plots_do() -> None:
    frame = init_trainer(InitSetup(n_samples=60, widths=[32] * 6, init="normal(std=1.0)")).frame()
    m = frame["measurement"]
    assert [row["index"] for row in m["layers"]] == [1, 2, 3, 4, 5, 6, 7]
    assert m["flags"] and all(1 <= f["layer"] <= 7 for f in m["flags"])
    for flag in m["flags"]:
        assert f"layer {flag['layer']}" in flag["message"]
        assert "layer 0" not in flag["message"] and "layer 12" not in flag["message"]


def test_a_trained_zero_sigmoid_net_is_no_signal_not_exploding() -> None:
    trainer = init_trainer(
        InitSetup(dataset="xor", widths=[32] * 8, activation="sigmoid", init="zeros")
    )
    trainer.run(4)
    m = trainer.frame()["measurement"]
    assert m["layers"][0]["pre_var"] == 0 and m["layers"][-1]["pre_var"] > 0
    kinds = [f["kind"] for f in m["flags"]]
    assert "exploding_forward" not in kinds and "symmetry" in kinds
    assert "No signal" in next(f["message"] for f in m["flags"] if f["kind"] == "symmetry")


def test_the_two_gradient_variances_are_kept_apart() -> None:
    m = init_trainer(InitSetup(n_samples=60, widths=[16, 16])).frame()["measurement"]
    row = m["layers"][0]
    assert row["train_grad_var"] > 0 and row["probe_grad_var"] > 0
    assert row["train_grad_var"] != row["probe_grad_var"]
    assert "weight_grad_var" not in row  # one name per quantity


def test_constant_init_explains_the_theorys_zero() -> None:
    m = init_trainer(InitSetup(n_samples=60, widths=[16, 16], init="constant(value=0.1)")).frame()[
        "measurement"
    ]
    assert m["layers"][1]["predicted_pre_var"] == 0 and m["layers"][1]["pre_var"] > 0
    assert m["theory_note"] is not None and "zero-mean" in m["theory_note"]
    assert "equals 0.1" in m["theory_note"]
    zeros = init_trainer(InitSetup(n_samples=60, widths=[4], init="zeros")).frame()
    assert "cannot show a 0" in zeros["measurement"]["theory_note"]
    assert (
        init_trainer(InitSetup(n_samples=60, widths=[4])).frame()["measurement"]["theory_note"]
        is None
    )


# -- Monte-Carlo dropout ------------------------------------------------------------------------


def test_the_mc_dropout_map_beside_weight_scaling() -> None:
    setup = RegularizationSetup.model_validate(
        {"dataset": "moons", **SMALL, "regularizer": "dropout", "dropout.p": 0.5}
    )
    trainer = regularization_trainer(setup)
    trainer.run(30)
    frame = trainer.frame()
    mc = frame["mc_dropout"]
    size = len(frame["boundary"]["x1"])
    assert mc["samples"] == 30 and len(mc["mean"]) == size and len(mc["std"][0]) == size
    assert mc["largest_std"] > 0 and 0 <= mc["difference"] < 1
    probabilities = np.array(mc["mean"])
    assert probabilities.min() >= 0 and probabilities.max() <= 1


def test_drawing_the_mc_map_leaves_the_training_unchanged() -> None:
    setup = RegularizationSetup.model_validate(
        {"dataset": "moons", **SMALL, "regularizer": "dropout", "dropout.p": 0.5}
    )
    drawn, quiet = regularization_trainer(setup), regularization_trainer(setup)
    for _ in range(4):
        drawn.run(5)
        drawn.frame()
        quiet.run(5)
    for p, q in zip(
        drawn.arms[0].model.parameters(), quiet.arms[0].model.parameters(), strict=True
    ):
        assert torch.equal(p, q)


# -- the API ----------------------------------------------------------------------------------


@pytest.fixture
def client(small_store: Path) -> Iterator[TestClient]:
    app = create_app(small_store, max_sessions=4, max_trainings=1, max_client_sessions=4)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def session(client: TestClient) -> str:
    return str(client.post("/api/sessions").json()["session"])


NEW_REFUSALS: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "init",
        {"widths": [8, 600]},
        "widths",
        "The 'widths' parameter of init setup must be a list of 1 to 20 ints in [1, 512] or "
        "null. Got [8, 600].",
    ),
    (
        "init",
        {"widths": []},
        "widths",
        "The 'widths' parameter of init setup must be a list of 1 to 20 ints in [1, 512] or "
        "null. Got [].",
    ),
    (
        "init",
        {"widths": [8] * 21},
        "widths",
        "The 'widths' parameter of init setup must be a list of 1 to 20 ints in [1, 512] or "
        f"null. Got {[8] * 21}.",
    ),
    (
        "init",
        {"widths": [8], "depth": 3},
        "widths",
        "The 'widths' parameter of init setup must be null when depth is given (widths sets "
        "both). Got [8].",
    ),
    (
        "init",
        {"features": ["x1", "x1"]},
        "features",
        "The 'features' parameter of init setup must be a list of distinct features from "
        "'x1', 'x2', 'x1_sq', 'x2_sq', 'x1_x2', 'sin_x1', 'sin_x2'. Got ['x1', 'x1'].",
    ),
    (
        "init",
        {"features": ["x3"]},
        "features",
        "The 'features' parameter of init setup must be a list of distinct features from "
        "'x1', 'x2', 'x1_sq', 'x2_sq', 'x1_x2', 'sin_x1', 'sin_x2'. Got ['x3'].",
    ),
    (
        "init",
        {"features": []},
        "features",
        "The 'features' parameter of init setup must be a list of distinct features from "
        "'x1', 'x2', 'x1_sq', 'x2_sq', 'x1_x2', 'sin_x1', 'sin_x2'. Got [].",
    ),
    (
        "init",
        {"dataset": "digits", "features": ["x1", "sin_x1"]},
        "features",
        "The 'features' parameter of init setup must be ['x1', 'x2'] for digits (feature "
        "transforms are for the 2-D sets). Got ['x1', 'sin_x1'].",
    ),
    (
        "init",
        {"train_fraction": 0.95},
        "train_fraction",
        "The 'train_fraction' parameter of init setup must be a float in [0.1, 0.9] or null. "
        "Got 0.95.",
    ),
    (
        "init",
        {"dataset": "mnist1d", "train_fraction": 0.5},
        "train_fraction",
        "The 'train_fraction' parameter of init setup must be null for mnist1d (its 4000/1000 "
        "split is fixed). Got 0.5.",
    ),
    (
        "race",
        {"inits": ["zeros", "zeros"]},
        "inits",
        "The 'inits' parameter of race setup must be a list of 1 to 6 distinct scheme specs of "
        "at most 120 characters. Got ['zeros', 'zeros'].",
    ),
    (
        "race",
        {"inits": []},
        "inits",
        "The 'inits' parameter of race setup must be a list of 1 to 6 distinct scheme specs of "
        "at most 120 characters. Got [].",
    ),
    (
        "race",
        {"inits": ["he_normla"]},
        "inits",
        "The 'inits' parameter of race setup must be one of 'variance_scaling', 'zeros', "
        "'constant', 'normal', 'uniform', 'truncated_normal', 'xavier_normal', "
        "'xavier_uniform', 'he_normal', 'he_uniform', 'lecun_normal', 'lecun_uniform', "
        "'xavier_fan_in', 'orthogonal', 'lsuv'. Got 'he_normla'.",
    ),
    (
        "race",
        {"init": "zeros"},
        "init",
        "The race setup takes no 'init' parameter (it takes: dataset, n_samples, noise, "
        "train_fraction, features, depth, width, widths, activation, seed, optimizer, lr, "
        "batch_size, max_steps, inits, gain_from_activation).",
    ),
]


@pytest.mark.parametrize(("section", "body", "parameter", "message"), NEW_REFUSALS)
def test_new_inputs_are_refused_in_the_one_format(
    client: TestClient,
    session: str,
    section: str,
    body: dict[str, Any],
    parameter: str,
    message: str,
) -> None:
    response = client.put(f"/api/sessions/{session}/{section}", json=body)
    assert response.status_code == 422, response.text
    assert response.json() == {"error": message, "parameter": parameter}


def test_a_race_over_http(client: TestClient, session: str) -> None:
    body = {"n_samples": 60, "widths": [6, 6], "inits": ["zeros", "he_normal"], "max_steps": 30}
    frame = client.put(f"/api/sessions/{session}/race", json=body).json()
    assert [a["label"] for a in frame["arms"]] == ["zeros", "He"]
    stepped = client.post(f"/api/sessions/{session}/race/step", json={"steps": 30}).json()
    assert stepped["status"] == "done" and len(stepped["activations"]) == 2


def test_meta_says_which_fields_are_live(client: TestClient) -> None:
    meta = client.get("/api/meta").json()
    live = {s["name"]: set(s["live"]) for s in meta["sections"]}
    assert live["init"] == {"lr", "batch_size", "max_steps"} == live["race"]
    assert {"l1.strength", "l2.strength", "dropout.p", "max_norm.max_value"} <= live[
        "regularization"
    ]
    assert "dropout.mode" not in live["regularization"] and "depth" not in live["init"]
    assert meta["datasets"]["regression"] == ["plane", "multigauss"]
    assert [f["name"] for f in meta["features"]] == list(FEATURES)
    assert meta["race_labels"]["normal"] == "too large: N(0, 1)"
    assert meta["defaults"]["race"]["inits"][:2] == ["zeros", "normal(std=0.01)"]


def test_widths_beyond_memory_name_widths(
    client: TestClient, session: str, monkeypatch: Any
) -> None:
    from weightlab.models import budget

    monkeypatch.setattr(budget, "available_bytes", lambda: 16 << 20)
    answer = client.put(f"/api/sessions/{session}/init", json={"widths": [512] * 20})
    assert answer.status_code == 422 and answer.json()["parameter"] == "widths"
    assert "fit in memory" in answer.json()["error"]


# -- the landscape's grid cache ----------------------------------------------------------------


def test_lambda_changes_reuse_the_grid_and_agree_with_a_direct_computation() -> None:
    q = LandscapeQuery(function="quadratic", penalty="l1", lam=0.3, grid=40)
    landscape.surface(q)
    misses = landscape._grid.cache_info().misses
    paths = landscape._solved_path.cache_info().misses
    for lam in (0.1, 0.7, 1.3):
        out = landscape.surface(
            LandscapeQuery(function="quadratic", penalty="l1", lam=lam, grid=40)
        )
        obj = objective("quadratic")
        w1, w2 = np.meshgrid(np.array(out["w1"]), np.array(out["w2"]))
        direct = np.asarray(penalized(obj, "l1", lam)(w1, w2))
        assert np.allclose(np.array(out["total"]), direct, rtol=1e-4, atol=1e-6)
        exact = regularized_path(obj, "l1", [lam])[0]
        assert np.allclose(out["optimum"], exact, atol=1e-9)
    assert landscape._grid.cache_info().misses == misses  # one grid per (function, penalty)
    assert landscape._solved_path.cache_info().misses == paths


def test_a_non_convex_optimum_follows_the_path_from_its_warm_start() -> None:
    out = landscape.surface(LandscapeQuery(function="rosenbrock", penalty="l2", lam=0.37, grid=30))
    obj = objective("rosenbrock")
    lams = np.sort(np.append(np.linspace(0.0, out["lam_max"], 25), 0.37))
    along = regularized_path(obj, "l2", lams)[int(np.searchsorted(lams, 0.37))]
    assert np.allclose(out["optimum"], along, atol=1e-6)
