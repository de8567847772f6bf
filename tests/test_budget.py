"""Memory budgets: the sizes counted from a request match the modules built from it,
the free memory is read from the system, and work that would not fit is refused with
one line showing both numbers, in the CLI (exit 2), in specs and in the lab (422)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from weightlab import cli
from weightlab._validate import ParameterError
from weightlab.models import budget, cnn, mlp
from weightlab.models.budget import (
    Estimate,
    available_bytes,
    cnn_network,
    format_bytes,
    measure_estimate,
    mlp_network,
    require_memory,
    shortfall,
    training_estimate,
)
from weightlab.sweep import load_spec
from weightlab.sweep.runner import MAX_CHUNK
from weightlab.sweep.spec import STACKED_AT_ONCE, memory_estimate, runs_at_once

GIB = 1 << 30


def _numel(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


# -- sizes against the real modules --------------------------------------------------------


@pytest.mark.parametrize(
    ("in_features", "hidden", "out_features"), [(40, [100, 100], 10), (2, [7], 3), (5, [], 1)]
)
def test_mlp_sizes_are_the_modules(in_features: int, hidden: list[int], out_features: int) -> None:
    net = mlp(in_features, hidden, out_features)
    sizes = mlp_network(in_features, hidden, out_features)
    assert sizes.parameters == _numel(net)
    assert sizes.largest == max(m.weight.numel() for m in net if isinstance(m, torch.nn.Linear))
    assert sizes.units == in_features + sum(hidden) + out_features


@pytest.mark.parametrize(("length", "kernel"), [([40], 3), ([8, 8], 5)])
def test_cnn_sizes_are_the_modules(length: list[int], kernel: int) -> None:
    net = cnn(3, [16, 8], 10, kernel_size=kernel, dim=len(length))
    sizes = cnn_network(3, [16, 8], 10, kernel, length)
    assert sizes.parameters == _numel(net)
    weights = [m.weight.numel() for m in net.modules() if hasattr(m, "weight")]
    assert sizes.largest == max(weights)
    out = net[:-3](torch.zeros(1, 3, *length))  # the last conv block's activations
    assert sizes.units >= out.numel() + 3 * torch.Size(length).numel()


def test_estimates_add_up_exactly() -> None:
    net = mlp_network(10, [20], 5)  # 10·20+20 + 20·5+5 = 325 parameters, 35 units
    adam = training_estimate(net, batch=8, optimizer="adam", models=3)
    assert adam.bytes == 4 * 3 * (325 * 4 + 4 * 8 * 35)
    sgd = training_estimate(net, batch=8, optimizer="sgd")
    momentum = training_estimate(net, batch=8, optimizer="sgd", momentum=0.9)
    assert momentum.bytes - sgd.bytes == 4 * 325
    plain = measure_estimate(net, 16)
    assert measure_estimate(net, 16, orthogonal=True).bytes - plain.bytes == 4 * 3 * 200


def test_a_measured_network_holds_about_what_the_estimate_says() -> None:
    # Weights and gradients as torch allocates them, against the estimate's two parts.
    net = mlp(64, [256, 256], 10)
    x = torch.randn(32, 64)
    net(x).square().sum().backward()
    held = sum(p.numel() + (p.grad.numel() if p.grad is not None else 0) for p in net.parameters())
    parts = dict(measure_estimate(mlp_network(64, [256, 256], 10), 32).parts)
    assert parts["weights"] + parts["gradients"] == held


def test_bytes_are_shown_in_binary_units() -> None:
    assert [format_bytes(n) for n in (0, 1023, 1024, 5 * GIB, 3 << 40)] == [
        "0 B",
        "1023 B",
        "1 KiB",
        "5 GiB",
        "3 TiB",
    ]


# -- the free memory ---------------------------------------------------------------------


@pytest.mark.skipif(not Path("/proc/meminfo").is_file(), reason="no /proc/meminfo here")
def test_free_memory_is_read_from_the_system() -> None:
    free = available_bytes()
    total = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0]) * 1024
    assert free is not None and 0 < free <= total


def test_unknown_free_memory_refuses_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budget, "available_bytes", lambda: None)
    huge = training_estimate(mlp_network(1, [10**6, 10**6], 1), batch=1)
    assert shortfall(huge) is None
    require_memory("run", "hidden", [10**6, 10**6], huge)


def test_refusals_show_what_is_needed_and_what_is_free() -> None:
    estimate = Estimate((("weights", 3 * GIB // 4), ("gradients", 3 * GIB // 4)), 3 * GIB // 4)
    with pytest.raises(ParameterError) as error:
        require_memory("inspect", "width", 4096, estimate, context=" at depth 9", available=GIB)
    assert str(error.value) == (
        "The 'width' parameter of inspect must be small enough to fit in memory at depth 9: "
        "about 6 GiB needed (weights 3 GiB, gradients 3 GiB), 1 GiB available. Got 4096."
    )
    require_memory("inspect", "width", 4096, estimate, available=6 * GIB)  # fits exactly


# -- the CLI, specs and the lab ------------------------------------------------------------


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        cli.main(args)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["demo", "--depth", "200", "--width", "4096"],
            "Error: The 'width' parameter of demo must be small enough to fit in memory at "
            "depth 200: about 31.5 GiB needed (weights 12.5 GiB, gradients 12.5 GiB, QR "
            "workspace 192 MiB, activations 6.28 GiB), 8 GiB available. Got 4096.",
        ),
        (
            ["inspect", "--depth", "1", "--width", "65536"],
            "Error: The 'width' parameter of inspect must be small enough to fit in memory at "
            "depth 1: about 32.5 GiB needed (weights 16 GiB, gradients 16 GiB, activations "
            "512 MiB), 8 GiB available. Got 65536.",
        ),
    ],
)
def test_the_cli_refuses_work_beyond_memory_before_allocating(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(budget, "available_bytes", lambda: 8 * GIB)
    code, out, err = _run(args, capsys)
    assert (code, out) == (2, "")
    assert err == message + "\n"


def test_inspect_within_memory_still_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(budget, "available_bytes", lambda: 8 * GIB)
    code, out, _ = _run(["inspect", "--depth", "2", "--width", "8", "--no-figures"], capsys)
    assert code == 0 and "per-layer statistics" in out


SPEC = {
    "name": "big",
    "dataset": {"name": "digits"},
    "model": {"arch": "mlp", "hidden": [100_000, 100_000]},
    "init": ["he_normal", "xavier_normal"],
    "regularization": ["none", "l2(1e-3)"],
    "seeds": [0, 1, 2],
}


def test_a_spec_beyond_memory_is_refused_with_its_runs_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(budget, "available_bytes", lambda: 24 * GIB)
    with pytest.raises(ParameterError) as error:
        load_spec(SPEC)
    assert str(error.value) == (
        "The spec field 'model.hidden' must be small enough to fit in memory: about 1.75 TiB "
        "needed for 12 runs trained at once (weights 447 GiB, gradients 447 GiB, Adam state "
        "894 GiB), 24 GiB available. Got [100000, 100000]."
    )


def test_specs_count_up_to_a_stacked_chunk_of_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert STACKED_AT_ONCE == MAX_CHUNK
    monkeypatch.setattr(budget, "available_bytes", lambda: None)
    many = load_spec({**SPEC, "seeds": list(range(40))})  # 160 runs
    assert runs_at_once(many) == MAX_CHUNK
    one = memory_estimate(load_spec({**SPEC, "init": "he_normal", "regularization": "none"}))
    stacked = memory_estimate(many)
    assert one is not None and stacked is not None
    assert stacked.bytes == 64 * one.bytes // 3  # 3 seeds in the single-init spec
    assert memory_estimate(load_spec({**SPEC, "model": {"arch": "linear"}})) is None


def test_a_spec_that_states_its_examples_counts_their_activations(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(budget, "available_bytes", lambda: None)
    base = {"name": "s", "model": {"hidden": [1000]}, "train": {"batch_size": 500}}
    unknown = memory_estimate(load_spec({**base, "dataset": {"name": "digits"}}))
    stated = memory_estimate(load_spec({**base, "dataset": {"name": "circle", "n_samples": 50}}))
    assert unknown is not None and stated is not None
    assert dict(unknown.parts)["activations"] == 0
    assert dict(stated.parts)["activations"] == 4 * 50 * (1 + 1000 + 1)


def test_the_lab_refuses_a_setup_beyond_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from weightlab.lab.app import create_app

    monkeypatch.setattr(budget, "available_bytes", lambda: 64 << 20)
    with TestClient(create_app("no-such-store")) as client:
        session = client.post("/api/sessions").json()["session"]
        answer = client.put(
            f"/api/sessions/{session}/regularization", json={"depth": 20, "width": 512}
        )
        assert answer.status_code == 422
        assert answer.json() == {
            "error": "The 'width' parameter of regularization setup must be small enough to "
            "fit in memory at depth 20: about 116 MiB needed for 2 networks trained at once "
            "(weights 38.1 MiB, gradients 38.1 MiB, activations 40 MiB), 64 MiB available. "
            "Got 512.",
            "parameter": "width",
        }
        small = client.put(f"/api/sessions/{session}/init", json={"depth": 1, "width": 4})
        assert small.status_code == 200
