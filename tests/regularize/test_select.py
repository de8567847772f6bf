"""Parameter selection: the nanoGPT default, biases/norms switches, patterns, groups."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from weightlab.regularize.select import param_groups, select_params

from .conftest import msg


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.conv = nn.Conv1d(4, 4, 3)
        self.bn = nn.BatchNorm1d(4)
        self.gn = nn.GroupNorm(2, 4)
        self.inorm = nn.InstanceNorm1d(4, affine=True)
        self.fc1 = nn.Linear(4, 8)
        self.ln = nn.LayerNorm(8)
        self.rms = nn.RMSNorm(8)
        self.act = nn.PReLU()
        self.fc2 = nn.Linear(8, 2)
        self.frozen = nn.Linear(2, 2)
        self.frozen.requires_grad_(False)


def _names(pairs: list[tuple[str, nn.Parameter]]) -> list[str]:
    return [name for name, _ in pairs]


NORM_NAMES = [
    "bn.weight",
    "bn.bias",
    "gn.weight",
    "gn.bias",
    "inorm.weight",
    "inorm.bias",
    "ln.weight",
    "ln.bias",
    "rms.weight",
]


def test_default_is_weights_of_non_norm_layers() -> None:
    assert _names(select_params(Net())) == ["emb.weight", "conv.weight", "fc1.weight", "fc2.weight"]


def test_default_is_nanogpt_rule_without_norms() -> None:
    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Conv2d(1, 2, 3), nn.Linear(4, 1))
    chosen = {id(p) for _, p in select_params(net)}
    assert chosen == {id(p) for p in net.parameters() if p.dim() >= 2}


def test_biases_switch_skips_norm_biases() -> None:
    got = _names(select_params(Net(), biases=True))
    assert got == [
        "emb.weight",
        "conv.weight",
        "conv.bias",
        "fc1.weight",
        "fc1.bias",
        "fc2.weight",
        "fc2.bias",
    ]


def test_norms_switch_adds_all_norm_params() -> None:
    got = _names(select_params(Net(), norms=True))
    assert sorted(got) == sorted(
        ["emb.weight", "conv.weight", "fc1.weight", "fc2.weight", *NORM_NAMES]
    )


def test_include_and_exclude_patterns() -> None:
    net = Net()
    got = _names(select_params(net, include=["act.*", "*.bias"], exclude=["fc1.*", "bn.*"]))
    assert got == [
        "emb.weight",
        "conv.weight",
        "conv.bias",
        "gn.bias",
        "inorm.bias",
        "ln.bias",
        "act.weight",
        "fc2.weight",
        "fc2.bias",
    ]
    # Exclusion wins over include and over the switches.
    assert "fc2.bias" not in _names(
        select_params(net, biases=True, include=["fc2.*"], exclude=["*.bias"])
    )


class _ConvWithBroadcastBias(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, bias=False)
        self.bias = nn.Parameter(torch.zeros(1, 3, 1, 1))  # 4-d, still a bias
        self.head_bias = nn.Parameter(torch.zeros(2, 2))


def test_bias_named_params_of_any_shape_are_biases() -> None:
    net = _ConvWithBroadcastBias()
    assert _names(select_params(net)) == ["conv.weight"]
    assert _names(select_params(net, biases=True)) == ["bias", "head_bias", "conv.weight"]
    groups = param_groups(net, 0.1)
    assert [len(g["params"]) for g in groups] == [1, 2]


def test_frozen_never_selected() -> None:
    assert not any(name.startswith("frozen") for name in _names(select_params(Net(), biases=True)))


def test_tied_weights_appear_once() -> None:
    emb, head = nn.Embedding(5, 3), nn.Linear(3, 5, bias=False)
    head.weight = emb.weight
    net = nn.Sequential(emb, head)
    assert _names(select_params(net)) == ["0.weight"]


def test_param_groups_split() -> None:
    net = Net()
    groups = param_groups(net, 0.1, biases=True)
    assert [g["weight_decay"] for g in groups] == [0.1, 0.0]
    decayed = {id(p) for p in groups[0]["params"]}
    rest = {id(p) for p in groups[1]["params"]}
    trainable = {id(p) for p in net.parameters() if p.requires_grad}
    assert decayed.isdisjoint(rest) and decayed | rest == trainable
    assert decayed == {id(p) for _, p in select_params(net, biases=True)}
    opt = torch.optim.AdamW(groups, lr=1e-3)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.1, 0.0]


def test_param_groups_decay_only_selected() -> None:
    net = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
    opt = torch.optim.AdamW(param_groups(net, 0.5), lr=0.1)
    before = [p.detach().clone() for p in net.parameters()]
    for p in net.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()
    after = list(net.parameters())
    assert torch.allclose(after[0], before[0] * (1 - 0.1 * 0.5))  # Linear weight decayed
    for p, b in zip(after[1:], before[1:], strict=True):  # bias, LayerNorm untouched
        assert torch.equal(p, b)


# --- validation ------------------------------------------------------------------------------


def test_unmatched_pattern_names_it_and_lists_names() -> None:
    text = (
        "The 'include' parameter of select_params must be glob patterns matching trainable "
        "parameter names ('emb.weight', 'conv.weight', 'conv.bias', 'bn.weight', 'bn.bias', "
        "'gn.weight', 'gn.bias', 'inorm.weight', ...). Got 'fc9.*', which matches none."
    )
    with pytest.raises(ValueError, match=msg(text)):
        select_params(Net(), include=["fc1.*", "fc9.*"])
    text = "The 'exclude' parameter of param_groups must be glob patterns matching trainable"
    with pytest.raises(ValueError, match=msg(text)):
        param_groups(Net(), 0.1, exclude=["frozen.*"])  # frozen params are not candidates


def test_patterns_must_be_a_list_of_strings() -> None:
    text = (
        "The 'include' parameter of select_params must be a list or tuple of glob pattern "
        "strings. Got 'fc1.*'."
    )
    with pytest.raises(ValueError, match=msg(text)):
        select_params(Net(), include="fc1.*")
    with pytest.raises(ValueError, match=msg("The 'exclude' parameter of select_params")):
        select_params(Net(), exclude=[1])  # type: ignore[list-item]


def test_bad_model_and_switches() -> None:
    text = "The 'model' parameter of select_params must be a torch.nn.Module. Got 'net'."
    with pytest.raises(TypeError, match=msg(text)):
        select_params("net")  # type: ignore[arg-type]
    text = "The 'biases' parameter of select_params must be a bool. Got 'yes'."
    with pytest.raises(TypeError, match=msg(text)):
        select_params(Net(), biases="yes")  # type: ignore[arg-type]
    text = "The 'norms' parameter of param_groups must be a bool. Got 1."
    with pytest.raises(TypeError, match=msg(text)):
        param_groups(Net(), 0.1, norms=1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "shown"), [(-0.1, "-0.1"), (float("nan"), "nan"), (float("inf"), "inf")]
)
def test_bad_weight_decay(bad: float, shown: str) -> None:
    text = f"The 'weight_decay' parameter of param_groups must be a float >= 0. Got {shown}."
    with pytest.raises(ValueError, match=msg(text)):
        param_groups(Net(), bad)
