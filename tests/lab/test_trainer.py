"""The lab's steppable trainer, what it measures, and the session registry with its
bounded training pool."""

from __future__ import annotations

import threading
import time

import pytest
import torch

pytest.importorskip("fastapi")

from weightlab.init import layers
from weightlab.lab import trainer as trainer_module
from weightlab.lab.errors import LabError
from weightlab.lab.schemas import InitSetup, RegularizationSetup
from weightlab.lab.sessions import Lab, Session
from weightlab.lab.trainer import init_trainer, regularization_trainer
from weightlab.regularize import REGISTRY, Dropout, make_term

TINY = {"n_samples": 60, "depth": 2, "width": 8}
REG_TINY = {"dataset": "moons", "n_samples": 80, "depth": 2, "width": 16, "lr": 0.2}


def reg_setup(**values: object) -> RegularizationSetup:
    """A regularization setup; term parameters are written ``l1__strength`` here and
    ``l1.strength`` in the form."""
    body = {**REG_TINY, **{k.replace("__", "."): v for k, v in values.items()}}
    return RegularizationSetup.model_validate(body)


def weights(model: torch.nn.Module) -> list[torch.Tensor]:
    return [layer.weight.detach().clone() for _, layer in layers(model)]


# -- the trainer ---------------------------------------------------------------------------


def test_steps_stop_at_the_limit() -> None:
    trainer = init_trainer(InitSetup(**TINY, max_steps=7))
    trainer.run(5)
    assert (trainer.step, trainer.status) == (5, "ready")
    trainer.frame()  # a curve point per frame drawn
    trainer.run(100)
    assert (trainer.step, trainer.status) == (7, "done")
    assert trainer.frame()["steps"] == [0, 5, 7]


def test_same_setup_gives_the_same_training() -> None:
    a, b = init_trainer(InitSetup(**TINY)), init_trainer(InitSetup(**TINY))
    a.run(30)
    b.run(30)
    assert a.frame()["arms"][0]["curves"] == b.frame()["arms"][0]["curves"]
    assert all(
        torch.equal(x, y)
        for x, y in zip(weights(a.arms[0].model), weights(b.arms[0].model), strict=True)
    )


def test_the_seed_changes_init_and_data() -> None:
    a, b = init_trainer(InitSetup(**TINY)), init_trainer(InitSetup(**TINY, seed=1))
    assert not torch.equal(weights(a.arms[0].model)[0], weights(b.arms[0].model)[0])
    assert not torch.equal(a.data.x_train, b.data.x_train)


def test_arms_start_from_the_same_weights_and_see_the_same_batches() -> None:
    # With λ = 0 the regularized arm is the plain one: same init, same batches, same steps.
    trainer = regularization_trainer(reg_setup(l1__strength=0.0))
    regularized, plain = trainer.arms
    assert all(
        torch.equal(x, y)
        for x, y in zip(weights(regularized.model), weights(plain.model), strict=True)
    )
    trainer.run(25)
    assert all(
        torch.equal(x, y)
        for x, y in zip(weights(regularized.model), weights(plain.model), strict=True)
    )
    frame = trainer.frame()
    assert frame["arms"][0]["curves"]["train_loss"] == frame["arms"][1]["curves"]["train_loss"]


def test_dropout_arm_has_dropout_and_the_plain_one_none() -> None:
    trainer = regularization_trainer(reg_setup(regularizer="dropout", dropout__p=0.5))
    regularized, plain = trainer.arms
    assert any(isinstance(m, Dropout) for m in regularized.model.modules())
    assert not any(isinstance(m, Dropout) for m in plain.model.modules())
    assert all(
        torch.equal(x, y)
        for x, y in zip(weights(regularized.model), weights(plain.model), strict=True)
    )
    trainer.run(5)
    assert not torch.equal(weights(regularized.model)[0], weights(plain.model)[0])
    assert [a["regularization"] for a in trainer.frame()["arms"]] == ["dropout(0.5)", "none"]


@pytest.mark.parametrize("name", ["none", *REGISTRY])
def test_every_registered_term_trains_with_its_form_defaults(name: str) -> None:
    trainer = regularization_trainer(reg_setup(regularizer=name))
    trainer.run(3)
    regularized = trainer.frame()["arms"][0]
    if name == "none":
        assert regularized["regularization"] == "none" and regularized["about"] == []
        return
    entry = REGISTRY[name]
    term = make_term(name, **{p.name: p.start for p in entry.params})
    assert regularized["regularization"] == str(term)
    assert regularized["about"] == [term.doc.replace("``", "")]
    assert trainer.step == 3 and regularized["diverged_step"] is None


def test_term_parameters_reach_the_trainer() -> None:
    setup = reg_setup(regularizer="l1", l1__strength=0.01, l1__rule="clip")
    assert regularization_trainer(setup).frame()["arms"][0]["regularization"] == (
        "l1(0.01, rule='clip')"
    )
    setup = reg_setup(regularizer="max_norm", max_norm__max_value=0.5)
    trainer = regularization_trainer(setup)
    trainer.run(5)
    norms = [w.detach().norm(dim=1) for w in trainer.arms[0].trainer.weights]
    assert max(float(n.max()) for n in norms) <= 0.5 + 1e-6


def test_proximal_l1_makes_exact_zeros_and_the_histogram_counts_them() -> None:
    setup = reg_setup(regularizer="l1", l1__strength=0.05, l1__rule="proximal")
    trainer = regularization_trainer(setup)
    trainer.run(60)
    regularized, plain = trainer.frame()["arms"]
    zeros = sum(int((w == 0).sum()) for w in trainer.arms[0].trainer.weights)
    assert regularized["weights"]["zeros"] == zeros > 0
    assert regularized["curves"]["sparsity_zero"][-1] > 0
    assert plain["weights"]["zeros"] == 0
    assert regularized["curves"]["penalty"][-1] == 0.0  # an update rule, not a loss term


def test_l2_penalty_is_recorded_apart_from_the_loss() -> None:
    trainer = regularization_trainer(reg_setup(regularizer="l2", l2__strength=0.1))
    trainer.run(2)
    assert trainer.frame()["arms"][0]["curves"]["penalty"][-1] > 0


def test_history_is_thinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trainer_module, "HISTORY", 20)
    trainer = init_trainer(InitSetup(**{**TINY, "width": 2, "depth": 1}, batch_size=8))
    for _ in range(45):
        trainer.run(1)
        trainer.frame()
    steps = trainer.frame()["steps"]
    assert len(steps) <= 20
    assert steps[0] == 0 and steps[-1] == 45
    assert steps == sorted(steps)
    assert len(trainer.arms[0].curves["train_loss"]) == len(steps)


def test_divergence_stops_training() -> None:
    setup = InitSetup(**TINY, activation="linear", init="normal(std=1e20)")
    trainer = init_trainer(setup)
    trainer.run(10)
    assert trainer.status == "diverged"
    assert trainer.step == 1 and trainer.arms[0].diverged_step == 1


def test_a_time_budget_cuts_a_long_run_short() -> None:
    trainer = init_trainer(InitSetup(**TINY, max_steps=20000))
    trainer.run(20000, seconds=0.05)
    assert 0 < trainer.step < 20000


# -- what the init explorer shows ---------------------------------------------------------


def test_measurement_has_every_layer_with_histograms_and_theory() -> None:
    frame = init_trainer(InitSetup(**TINY)).frame(full=True)
    m = frame["measurement"]
    assert [row["activation"] for row in m["layers"]] == ["tanh", "tanh", "linear"]
    for row in m["layers"]:
        for key in ("pre_hist", "post_hist", "grad_hist"):
            assert sum(row[key]["counts"]) > 0
        assert row["predicted_pre_var"] > 0
    assert m["recommendation"]["scheme"]
    assert frame["points"] is not None and frame["boundary"] is not None
    assert frame["dataset"]["n_train"] == 30 and frame["setup"]["depth"] == 2


@pytest.mark.parametrize(
    ("setup", "flag"),
    [
        ({"init": "zeros"}, "symmetry"),
        ({"init": "normal(std=1.0)", "width": 64}, "saturation"),
        ({"activation": "relu", "width": 2, "depth": 12}, "dead_units"),
        ({"activation": "relu", "init": "normal(std=0.01)", "depth": 8}, "vanishing_forward"),
    ],
)
def test_flags(setup: dict[str, object], flag: str) -> None:
    frame = init_trainer(InitSetup(**{**TINY, **setup})).frame()  # type: ignore[arg-type]
    assert flag in [f["kind"] for f in frame["measurement"]["flags"]]


def test_the_seeds_rule_and_lsuv_are_offered_and_work() -> None:
    for scheme in ("xavier_fan_in", "lsuv"):
        frame = init_trainer(InitSetup(**TINY, init=scheme)).frame()
        assert frame["measurement"]["layers"]
    lsuv = init_trainer(InitSetup(**{**TINY, "width": 32}, init="lsuv")).frame()["measurement"]
    assert abs(lsuv["layers"][0]["pre_var"] - 1.0) < 0.15  # unit variance, as LSUV promises


def test_no_boundary_or_points_beyond_two_dimensions() -> None:
    frame = init_trainer(InitSetup(dataset="digits", depth=1, width=8)).frame(full=True)
    assert frame["boundary"] is None and frame["points"] is None


# -- sessions and the training pool --------------------------------------------------------


@pytest.fixture
def lab() -> Lab:
    registry = Lab(max_sessions=3, max_trainings=1, idle_seconds=60, frame_seconds=0.01)
    yield registry  # type: ignore[misc]
    registry.shutdown()


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


def wait_for_last_frame(session: Session) -> None:
    """Until a stopped training's last frame (the only one not running) is out."""
    wait_for(lambda: any('"running":false' in e for e in session.events_since({})))


def test_play_needs_an_open_stream(lab: Lab) -> None:
    session = lab.create()
    lab.configure(session, "init", InitSetup(**TINY))
    with pytest.raises(LabError, match="before playing") as error:
        lab.play(session, "init", 1)
    assert error.value.status == 409


def test_closing_the_last_stream_stops_training(lab: Lab) -> None:
    session = lab.create()
    lab.configure(session, "init", InitSetup(**TINY))
    lab.attach(session)
    lab.attach(session)
    lab.play(session, "init", 1)
    wait_for(lambda: session.trainers["init"].step > 3)
    lab.detach(session)
    assert "init" in session.playing  # one stream is still open
    lab.detach(session)
    wait_for(lambda: not session.playing)
    step = session.trainers["init"].step
    time.sleep(0.05)
    assert session.trainers["init"].step == step
    assert lab.trainings == 0


def test_trainings_beyond_the_pool_are_refused(lab: Lab) -> None:
    a, b = lab.create(), lab.create()
    for session in (a, b):
        lab.configure(session, "init", InitSetup(**TINY))
        lab.attach(session)
    lab.play(a, "init", 1)
    with pytest.raises(LabError, match="training slots are busy") as error:
        lab.play(b, "init", 1)
    assert error.value.status == 429
    with pytest.raises(LabError, match="training slots are busy"):
        lab.step(b, "init", 1)  # stepping needs a slot too
    lab.pause(a, "init")
    lab.play(b, "init", 1)
    lab.pause(b, "init")


def test_sessions_are_isolated(lab: Lab) -> None:
    a, b = lab.create(), lab.create()
    lab.configure(a, "init", InitSetup(**TINY))
    lab.configure(b, "init", InitSetup(**{**TINY, "depth": 3}))
    lab.step(a, "init", 5)
    assert (a.trainers["init"].step, b.trainers["init"].step) == (5, 0)
    assert len(b.frame("init")["measurement"]["layers"]) == 4
    assert a.id != b.id
    with pytest.raises(LabError, match="no setup yet"):
        a.trainer("regularization")


def test_step_pause_reset(lab: Lab) -> None:
    session = lab.create()
    first = lab.configure(session, "init", InitSetup(**TINY))
    lab.attach(session)
    lab.play(session, "init", 2)
    with pytest.raises(LabError, match="pause it first"):
        lab.step(session, "init", 1)
    wait_for(lambda: session.trainers["init"].step >= 4)
    lab.pause(session, "init")
    paused = session.frame("init")
    assert not paused["running"] and paused["step"] >= 4
    assert lab.step(session, "init", 3)["step"] == paused["step"] + 3
    reset = lab.reset(session, "init")
    assert reset["step"] == 0 and reset["generation"] == first["generation"] + 1
    assert reset["arms"][0]["curves"] == first["arms"][0]["curves"]


def test_a_finished_or_diverged_training_cannot_go_on(lab: Lab) -> None:
    session = lab.create()
    lab.configure(session, "init", InitSetup(**TINY, max_steps=2))
    lab.step(session, "init", 5)
    with pytest.raises(LabError, match="step limit"):
        lab.step(session, "init", 1)
    lab.configure(session, "init", InitSetup(**TINY, activation="linear", init="normal(std=1e20)"))
    lab.step(session, "init", 1)
    with pytest.raises(LabError, match="diverged"):
        lab.step(session, "init", 1)


def test_playing_publishes_frames_and_ends_at_the_limit(lab: Lab) -> None:
    session = lab.create()
    lab.configure(session, "init", InitSetup(**TINY, max_steps=12))
    lab.attach(session)
    lab.play(session, "init", 5)
    wait_for_last_frame(session)
    seen: dict[str, int] = {}
    [last] = session.events_since(seen)
    assert '"step":12' in last and '"running":false' in last and '"status":"done"' in last
    assert session.events_since(seen) == []


def test_full_registry_is_a_429_and_idle_sessions_go(lab: Lab) -> None:
    sessions = [lab.create() for _ in range(3)]
    with pytest.raises(LabError, match="open sessions") as error:
        lab.create()
    assert error.value.status == 429
    sessions[0].last_seen -= 120  # idle for two minutes, no stream
    lab.attach(sessions[1])
    sessions[1].last_seen -= 120  # idle but watched: kept
    lab.create()
    assert sessions[0].id not in lab.sessions and sessions[1].id in lab.sessions


def test_unknown_and_closed_sessions_are_404(lab: Lab) -> None:
    session = lab.create()
    lab.close(session)
    with pytest.raises(LabError, match="expired or never existed") as error:
        lab.get(session.id)
    assert error.value.status == 404


def test_training_errors_reach_the_stream(lab: Lab, monkeypatch: pytest.MonkeyPatch) -> None:
    session = lab.create()
    lab.configure(session, "init", InitSetup(**TINY))
    lab.attach(session)

    def broken(steps: int, *, seconds: float | None = None) -> None:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(session.trainers["init"], "run", broken)
    lab.play(session, "init", 1)
    wait_for_last_frame(session)
    [event] = session.events_since({})
    assert '"error":"Training stopped: RuntimeError: out of memory"' in event
    assert '"running":false' in event


def test_concurrent_requests_on_one_session_are_serialized(lab: Lab) -> None:
    session = lab.create()
    lab.configure(session, "init", InitSetup(**TINY, max_steps=10_000))
    errors: list[Exception] = []

    def stepper() -> None:
        for _ in range(5):
            try:
                lab.step(session, "init", 2)
            except LabError as error:  # the one slot may be taken by the other thread
                assert error.status == 429
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

    threads = [threading.Thread(target=stepper) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert session.trainers["init"].step % 2 == 0
