"""The framework-agreement figure: data, drawn content, caption, command line, missing extras."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from weightlab import cli
from weightlab._optional import MissingExtraError
from weightlab.interop.trajectory import make_problem, max_difference, trajectory
from weightlab.interop.translate import translate
from weightlab.report import background
from weightlab.report.agreement import (
    SIZES,
    AgreementData,
    agreement_caption,
    agreement_data,
    agreement_figure,
    pick_weights,
    weight_label,
)
from weightlab.report.runs import FigureItem

SETTING = "keras:SGD(learning_rate=0.1)+L2(0.01)"

# Keras' own torch backend converts with np.array(x) in training, which NumPy 2 warns about.
pytestmark = pytest.mark.filterwarnings(
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning"
)


def msg(text: str) -> str:
    return re.escape(text)


def run(
    args: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["weightlab", *args])
    code = 0
    try:
        cli.main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def data() -> AgreementData:
    return agreement_data(SETTING, steps=20)


def left_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if any(line.get_gid() == "weight" for line in ax.get_lines())]


def right_axis(fig: Figure):
    (ax,) = [ax for ax in fig.axes if ax.get_yscale() == "log"]
    return ax


def gid_lines(ax, gid: str) -> list:
    return [line for line in ax.get_lines() if line.get_gid() == gid]


def synthetic(
    gaps: dict[str, list[float]], tolerance: dict[str, float], exact: dict[str, bool] | None = None
) -> AgreementData:
    """Torch as the source, each other framework off by ``gaps[f][t]`` in one weight."""
    steps = len(next(iter(gaps.values()))) - 1
    base = [
        {
            "0.weight": np.full((2, 2), 0.1 * t, np.float32),
            "0.bias": np.full(2, -0.05 * t, np.float32),
        }
        for t in range(steps + 1)
    ]
    paths = {"torch": base}
    for f, gap in gaps.items():
        paths[f] = [
            {**w, "0.bias": w["0.bias"] + np.array([g, 0.0], np.float32)}
            for w, g in zip(base, gap, strict=True)
        ]
    differences = {
        f: np.array(
            [
                float(np.max(np.abs(a["0.bias"] - b["0.bias"])))
                for a, b in zip(base, paths[f], strict=True)
            ]
        )
        for f in gaps
    }
    return AgreementData(
        setting="torch:SGD(lr=0.1)",
        source="torch",
        frameworks=("torch", *gaps),
        settings={"torch": "torch:SGD(lr=0.1)", **{f: f"{f}:SGD(learning_rate=0.1)" for f in gaps}},
        trajectories=paths,
        differences=differences,
        exact=exact or {f: True for f in gaps},
        tolerance=tolerance,
        steps=steps,
    )


# --- the data ----------------------------------------------------------------------------


def test_data_holds_each_framework_trained_from_the_same_start(data: AgreementData) -> None:
    assert data.source == "keras" and data.frameworks == ("keras", "torch", "mlx")
    assert data.others == ("torch", "mlx")
    problem = make_problem(SIZES, steps=20, seed=0)
    for f in ("torch", "mlx"):
        t = translate(SETTING, f)
        assert data.settings[f] == t.target_setting
        assert (data.exact[f], data.tolerance[f]) == (t.exact, t.tolerance)
        assert len(data.trajectories[f]) == 21
        np.testing.assert_array_equal(data.trajectories[f][0]["0.weight"], problem.init["0.weight"])
        assert data.max_difference[f] == max_difference(
            data.trajectories["keras"], data.trajectories[f]
        )
        assert data.differences[f][0] == 0.0 and len(data.differences[f]) == 21
    torch_path = trajectory(data.settings["torch"], problem)
    np.testing.assert_array_equal(
        torch_path[-1]["1.weight"], data.trajectories["torch"][-1]["1.weight"]
    )
    assert all(data.within(f) for f in data.others)


def test_the_source_framework_is_always_trained() -> None:
    small = agreement_data("torch:SGD(lr=0.1, weight_decay=0.02)", ["mlx"], steps=2)
    assert small.frameworks == ("torch", "mlx") and small.others == ("mlx",)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        (
            {"frameworks": ("torch", "jax")},
            "The 'frameworks' parameter of agreement_data must be a non-empty sequence of distinct "
            "names from 'torch', 'keras', 'mlx'. Got ('torch', 'jax').",
        ),
        (
            {"frameworks": ("keras",)},
            "The 'frameworks' parameter of agreement_data must be at least one framework besides "
            "the setting's own ('keras'). Got ('keras',).",
        ),
        ({"steps": 0}, "The 'steps' parameter of agreement_data must be an int >= 1. Got 0."),
        ({"lr": -1.0}, "The 'lr' parameter of agreement_data must be a float > 0. Got -1.0."),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, error: str) -> None:
    with pytest.raises(ValueError, match=msg(error)):
        agreement_data(SETTING, **kwargs)


def test_initializers_are_not_trained() -> None:
    with pytest.raises(ValueError, match=msg("must be an optimizer, penalty or decay setting")):
        agreement_data("keras:GlorotNormal()")
    with pytest.raises(ValueError, match=msg("must be an optimizer, penalty or decay setting")):
        agreement_data("weightlab:dropout(0.5)")


def test_a_weightlab_setting_is_a_source() -> None:
    # weightlab trains its own terms (torch and the registry), and is the reference.
    small = agreement_data("weightlab:max_norm(0.5)", steps=5)
    assert small.source == "weightlab"
    assert small.frameworks == ("weightlab", "torch", "keras", "mlx")
    assert small.settings["weightlab"] == "weightlab:max_norm(0.5)"
    problem = make_problem(SIZES, steps=5, seed=0)
    for f in small.others:
        assert small.settings[f] == translate("weightlab:max_norm(0.5)", f).target_setting
        assert small.within(f) and small.exact[f]
    reference = trajectory("weightlab:max_norm(0.5)", problem)
    assert max_difference(reference, small.trajectories["weightlab"]) == 0.0
    fig = agreement_figure(small)
    assert any(line.get_label() == "weightlab" for line in left_axes(fig)[0].get_lines())
    assert agreement_caption(small).startswith(
        "weightlab:max_norm(0.5) translated to PyTorch, Keras (torch) and MLX"
    )
    assert agreement_caption(small).endswith("Keras ran on its torch backend.")
    assert "difference from weightlab over 5 steps" in agreement_caption(small)


def test_a_setting_the_figure_cannot_train_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from weightlab.report import agreement

    monkeypatch.setattr(agreement, "AGREEMENT_SOURCES", ("torch", "keras", "weightlab"))
    error = (
        "The 'setting' parameter of agreement_data must be a torch, keras or weightlab "
        "setting. Got 'mlx:SGD(0.1)'."
    )
    with pytest.raises(ValueError, match=msg(error)):
        agreement_data("mlx:SGD(0.1)")


# --- the figure --------------------------------------------------------------------------


def test_figure_draws_the_trajectories_and_the_differences(data: AgreementData) -> None:
    fig = agreement_figure(data)
    assert len(fig.axes) == 3 + 1
    chosen = pick_weights(data, 3)
    left = left_axes(fig)
    assert len(left) == 3
    assert sum(len(gid_lines(ax, "weight")) for ax in left) == len(data.frameworks) * 3
    for ax, weight in zip(left, chosen, strict=True):
        assert ax.get_title(loc="left") == weight_label(weight)
        lines = gid_lines(ax, "weight")
        assert [line.get_label() for line in lines] == ["Keras (torch)", "PyTorch", "MLX"]
        for line, f in zip(lines, data.frameworks, strict=True):
            np.testing.assert_array_equal(line.get_xdata(), np.arange(21))
            expected = [w[weight[0]][weight[1]] for w in data.trajectories[f]]
            np.testing.assert_allclose(line.get_ydata(), expected, rtol=0, atol=0)
        # markers and styles differ, so overlaid lines stay visible
        assert len({(line.get_linestyle(), line.get_marker()) for line in lines}) == 3
    right = right_axis(fig)
    diffs = gid_lines(right, "difference")
    assert [line.get_label() for line in diffs] == [
        "PyTorch vs Keras (torch)",
        "MLX vs Keras (torch)",
    ]
    for line, f in zip(diffs, data.others, strict=True):
        expected = np.where(data.differences[f] > 0, data.differences[f], np.nan)
        np.testing.assert_array_equal(line.get_ydata(), expected)
        assert np.nanmax(line.get_ydata()) == data.max_difference[f]
    (tol,) = gid_lines(right, "tolerance")
    assert list(tol.get_ydata()) == [data.tolerance["torch"]] * 2 == [1e-5, 1e-5]
    low, high = right.get_ylim()
    assert low < min(np.nanmin(line.get_ydata()) for line in diffs) and high > 1e-5
    title = fig._suptitle.get_text()
    assert SETTING in title and data.settings["torch"] in title and data.settings["mlx"] in title


@pytest.mark.parametrize("n", [1, 5])
def test_the_number_of_weights_sets_the_panels(data: AgreementData, n: int) -> None:
    fig = agreement_figure(data, weights=n)
    assert len(fig.axes) == n + 1 and len(left_axes(fig)) == n
    assert {ax.get_title(loc="left") for ax in left_axes(fig)} == {
        weight_label(w) for w in pick_weights(data, n)
    }


def test_pick_weights_takes_each_tensor_first(data: AgreementData) -> None:
    chosen = pick_weights(data, 4)
    assert sorted(name for name, _ in chosen) == ["0.bias", "0.weight", "1.bias", "1.weight"]
    path = data.trajectories["keras"]
    moved = [abs(float(path[-1][n][i]) - float(path[0][n][i])) for n, i in chosen]
    assert moved == sorted(moved, reverse=True)
    for name, index in chosen:
        change = np.abs(path[-1][name] - path[0][name])
        assert change[index] == change.max()


def test_distinct_tolerances_get_one_line_each_and_zero_is_said() -> None:
    d = synthetic(
        {"keras": [0.0, 2e-4, 5e-4, 4e-4], "mlx": [0.0, 0.0, 0.0, 0.0]},
        {"keras": 1e-3, "mlx": 1e-5},
        {"keras": False, "mlx": True},
    )
    right = right_axis(agreement_figure(d))
    tols = gid_lines(right, "tolerance")
    assert sorted(t.get_ydata()[0] for t in tols) == [1e-5, 1e-3]
    assert len({t.get_color() for t in tols}) == 2
    keras_line, mlx_line = gid_lines(right, "difference")
    np.testing.assert_allclose(keras_line.get_ydata()[1:], [2e-4, 5e-4, 4e-4], rtol=1e-3)
    assert np.isnan(mlx_line.get_ydata()).all()
    assert mlx_line.get_label() == "MLX vs PyTorch: 0 at every step (identical, not drawn)"


def test_missing_or_empty_data_is_a_clear_error(data: AgreementData) -> None:
    with pytest.raises(
        TypeError, match=msg("The 'data' parameter of agreement_figure must be an AgreementData")
    ):
        agreement_figure(None)  # type: ignore[arg-type]
    empty = AgreementData(SETTING, "keras", ("keras", "torch"), {}, {}, {}, {}, {}, steps=20)
    with pytest.raises(
        ValueError, match=msg("Got an AgreementData with snapshots {} for 20 steps.")
    ):
        agreement_figure(empty)
    with pytest.raises(
        ValueError, match=msg("Got an AgreementData with snapshots {} for 20 steps.")
    ):
        agreement_caption(empty)
    with pytest.raises(
        ValueError,
        match=msg("The 'weights' parameter of agreement_figure must be an int in [1, 6]. Got 0."),
    ):
        agreement_figure(data, weights=0)


# --- the caption -------------------------------------------------------------------------


def test_caption_numbers_are_the_data_numbers(data: AgreementData) -> None:
    caption = agreement_caption(data)
    assert caption.startswith(
        f"{SETTING} translated to PyTorch and MLX and trained from the same start"
    )
    for f, name in (("torch", "PyTorch"), ("mlx", "MLX")):
        value = data.max_difference[f]
        shown = "0" if value == 0 else f"{value:.1e}"
        assert f"{shown} ({name}, " in caption
        if value:
            assert (
                f"({name}, first reached at step {int(np.argmax(data.differences[f]))})" in caption
            )
    assert "over 20 steps" in caption and "within the 1e-05 the translations promise." in caption
    assert "not exact" not in caption
    assert "difference from Keras (torch)" in caption
    assert caption.endswith("Keras ran on its torch backend.")  # the demo report's caption


def test_caption_says_what_is_beyond_and_what_is_not_exact() -> None:
    d = synthetic(
        {"keras": [0.0, 2e-4, 5e-4, 4e-4], "mlx": [0.0, 3e-5, 1e-6, 0.0]},
        {"keras": 1e-3, "mlx": 1e-5},
        {"keras": False, "mlx": True},
    )
    caption = agreement_caption(d)
    assert f"is {d.max_difference['keras']:.1e} (Keras, first reached at step 2)" in caption
    assert f"and {d.max_difference['mlx']:.1e} (MLX, first reached at step 1)" in caption
    assert "beyond the 1e-05 stated for MLX, while Keras stays within its own." in caption
    assert caption.endswith("The translation to Keras is not exact (see the caveats).")
    same = synthetic({"mlx": [0.0, 0.0]}, {"mlx": 1e-5})
    assert agreement_caption(same).endswith(
        "is 0 (MLX, identical at every step), within the 1e-05 the translation promises."
    )


# --- the command line --------------------------------------------------------------------


def test_cli_writes_the_figure_and_json(
    data: AgreementData,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "agreement.png"
    code, out, err = run(
        ["figure", "agreement", "--setting", SETTING, "--out", str(target), "--json"],
        capsys,
        monkeypatch,
    )
    assert code == 0, err
    assert target.stat().st_size > 20_000 and target.read_bytes()[:4] == b"\x89PNG"
    payload = json.loads(out)
    assert (
        payload["kind"] == "agreement" and payload["source"] == "keras" and payload["steps"] == 20
    )
    assert set(payload["frameworks"]) == {"torch", "mlx"}
    for f, row in payload["frameworks"].items():
        assert row["max_difference"] == data.max_difference[f]
        assert (row["tolerance"], row["exact"], row["setting"]) == (
            data.tolerance[f],
            data.exact[f],
            data.settings[f],
        )
        assert row["within_tolerance"] is True
    assert payload["caption"] == agreement_caption(data)


def test_data_names_the_keras_backend(data: AgreementData) -> None:
    assert data.keras_backend == "torch" and data.summary()["keras_backend"] == "torch"
    assert data.name("keras") == "Keras (torch)" and data.name("mlx") == "MLX"
    without = agreement_data("torch:SGD(lr=0.1)", ("torch", "mlx"), steps=2)
    assert without.keras_backend is None and "Keras ran" not in agreement_caption(without)


@pytest.mark.slow
def test_cli_trains_keras_on_the_backend_asked_for(
    data: AgreementData,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # This process's Keras runs on torch, so tensorflow trains in a child process.
    target = tmp_path / "tf.png"
    args = ["figure", "agreement", "--setting", SETTING, "--keras-backend", "tensorflow"]
    code, out, err = run([*args, "--out", str(target), "--json"], capsys, monkeypatch)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["keras_backend"] == "tensorflow"
    assert payload["caption"].endswith("Keras ran on its tensorflow backend.")
    assert "difference from Keras (tensorflow) over 20 steps" in payload["caption"]
    for f, row in payload["frameworks"].items():
        assert row["within_tolerance"] and row["tolerance"] == 1e-5
        # The same translation trained on torch's Keras: float32 rounding apart.
        assert row["max_difference"] == pytest.approx(data.max_difference[f], abs=1e-6)
    assert target.stat().st_size > 20_000


@pytest.mark.slow
def test_trajectory_on_another_backend_runs_in_a_child_process() -> None:
    problem = make_problem(SIZES, steps=3, seed=0)
    here = trajectory(SETTING, problem)
    there = trajectory(SETTING, problem, keras_backend="jax")
    assert len(there) == 4 and sorted(there[-1]) == sorted(here[-1])
    assert max_difference(here, [here[0]] * 4) > 0 and max_difference(here, there) < 1e-6
    with pytest.raises(
        ValueError,
        match=msg("The 'setting' parameter of trajectory must be a keras setting, one of:"),
    ):
        trajectory("keras:Bogus()", problem, keras_backend="jax")


def test_cli_svg_with_chosen_frameworks_and_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.svg"
    args = [
        "figure",
        "agreement",
        "--setting",
        "torch:SGD(lr=0.1, weight_decay=0.02)",
        "--frameworks",
        "torch,mlx",
    ]
    code, out, _ = run([*args, "--steps", "3", "--out", str(target)], capsys, monkeypatch)
    assert code == 0 and out.strip() == f"Wrote {target}"
    assert target.read_text().startswith("<?xml")


def test_cli_draws_a_weightlab_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "w.svg"
    args = ["figure", "agreement", "--setting", "weightlab:max_norm(0.5)", "--steps", "3"]
    code, out, err = run([*args, "--out", str(target), "--json"], capsys, monkeypatch)
    assert code == 0, err
    payload = json.loads(out)
    assert payload["source"] == "weightlab" and set(payload["frameworks"]) == {
        "torch",
        "keras",
        "mlx",
    }
    assert all(row["within_tolerance"] for row in payload["frameworks"].values())
    assert target.read_text().startswith("<?xml")


def test_a_bad_keras_backend_variable_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERAS_BACKEND", "theano")
    target = tmp_path / "x.png"
    code, out, err = run(
        ["figure", "agreement", "--setting", SETTING, "--out", str(target)], capsys, monkeypatch
    )
    assert code == 2 and out == ""
    assert err == (
        "Error: The 'KERAS_BACKEND' parameter of figure must be one of 'tensorflow', 'jax', "
        "'torch'. Got 'theano'.\n"
    )


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ["--setting", "keras:Bogus(1)"],
            "Error: The 'setting' parameter of agreement_data must be a keras setting, one of: SGD, Adam, "
            "AdamW, L1, L2, L1L2, no_bias_correction, weightlab_rules, weightlab_penalty, Dropout, weightlab_dropout, Dense, GlorotNormal, GlorotUniform, "
            "HeNormal, HeUniform, LecunNormal, LecunUniform, VarianceScaling. Got 'keras:Bogus(1)'.",
        ),
        (
            ["--setting", SETTING, "--frameworks", "torch,jax"],
            "Error: The 'frameworks' parameter of figure must be comma-separated distinct names "
            "from 'torch', 'keras', 'mlx'. Got 'torch,jax'.",
        ),
        (
            ["--setting", SETTING, "--steps", "0"],
            "Error: The 'steps' parameter of figure must be an int in [1, 10000]. Got 0.",
        ),
        (
            [],
            "Error: The 'setting' parameter of figure must be given for the agreement figure, "
            "e.g. 'keras:SGD(learning_rate=0.1)+L2(0.01)'. Got None.",
        ),
        (
            ["--setting", SETTING, "--keras-backend", "theano"],
            "Error: The 'keras_backend' parameter of figure must be one of 'tensorflow', "
            "'jax', 'torch'. Got 'theano'.",
        ),
        (
            ["--setting", SETTING, "--keras-backend", "numpy"],
            "Error: The 'keras_backend' parameter of figure must be one of 'tensorflow', "
            "'jax', 'torch'. Got 'numpy'.",
        ),
    ],
)
def test_cli_bad_input_is_one_line(
    args: list[str],
    error: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = tmp_path / "x.png"
    code, out, err = run(["figure", "agreement", *args, "--out", str(target)], capsys, monkeypatch)
    assert code == 2 and out == "" and err == error + "\n"
    assert not target.exists()


# --- a framework missing -----------------------------------------------------------------

KERAS_MISSING = (
    "Keras trajectories need the optional package 'keras', which is not installed. "
    "Install it with: pip install 'weightlab[keras]'"
)


def test_missing_keras_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "keras", None)  # as if Keras were not installed
    with pytest.raises(MissingExtraError, match=msg(KERAS_MISSING)):
        agreement_data(SETTING)
    with pytest.raises(MissingExtraError, match=msg(KERAS_MISSING)):
        agreement_data("torch:SGD(lr=0.1)", ("torch", "keras"))
    assert agreement_data("torch:SGD(lr=0.1)", ("torch", "mlx"), steps=2).others == ("mlx",)
    code, out, err = run(
        ["figure", "agreement", "--setting", SETTING, "--out", str(tmp_path / "a.png")],
        capsys,
        monkeypatch,
    )
    assert code == 2 and out == "" and err == f"Error: {KERAS_MISSING}\n"


def test_a_keras_backend_that_is_not_installed_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)  # as if JAX were not installed
    expected = (
        "Keras' jax backend needs the package 'jax', which is not installed. "
        "Install it with: pip install jax"
    )
    with pytest.raises(MissingExtraError, match=msg(expected)):
        agreement_data(SETTING, keras_backend="jax")
    target = tmp_path / "a.png"
    args = ["figure", "agreement", "--setting", SETTING, "--keras-backend", "jax"]
    code, out, err = run([*args, "--out", str(target)], capsys, monkeypatch)
    assert code == 2 and out == "" and err == f"Error: {expected}\n"
    assert not target.exists()
    with pytest.raises(
        ValueError,
        match=msg(
            "The 'keras_backend' parameter of agreement_data must be one of 'tensorflow', 'jax', 'torch' or None. Got 'cntk'."
        ),
    ):
        agreement_data(SETTING, keras_backend="cntk")


def test_missing_mlx_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mlx", None)
    monkeypatch.setitem(sys.modules, "mlx.core", None)
    with pytest.raises(MissingExtraError, match=msg("pip install 'weightlab[mlx]'")):
        agreement_data(SETTING)


# --- the report's background figures -----------------------------------------------------


def _stub(name: str) -> FigureItem:
    return FigureItem(name, name, Figure(), name)


def test_background_has_the_agreement_figure(
    data: AgreementData, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "_landscape", lambda: _stub("landscape"))
    monkeypatch.setattr(background, "_paths", lambda: _stub("paths"))
    items = background.background_figures()
    assert [item.name for item in items] == ["landscape", "paths", "agreement"]
    item = items[-1]
    assert background.AGREEMENT_SETTING == SETTING
    assert item.caption == agreement_caption(data) and item.numbers == data.summary()
    assert len(item.figure.axes) == 4


@pytest.mark.parametrize("missing", ["keras", "mlx"])
def test_background_skips_the_agreement_figure_without_keras_or_mlx(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "_landscape", lambda: _stub("landscape"))
    monkeypatch.setattr(background, "_paths", lambda: _stub("paths"))
    monkeypatch.setitem(sys.modules, missing, None)
    if missing == "mlx":
        monkeypatch.setitem(sys.modules, "mlx.core", None)
    assert [item.name for item in background.background_figures()] == ["landscape", "paths"]
