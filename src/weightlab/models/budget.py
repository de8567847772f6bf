"""Memory budgets: what a network will need, estimated from the requested sizes before
anything is allocated, and compared with the memory the machine has free.

An estimate counts float32 values: the weights, their gradients, the optimizer's state
(Adam keeps two moments per weight, SGD with momentum one), the activations a backward
pass keeps for a batch, and any workspace, times the models held at once (stacked runs,
the lab's side-by-side networks).  It is an estimate, not a measurement, made before
anything is allocated: a request whose estimate is over the free memory would end in a
swapping machine or an out-of-memory kill, so it is refused with one line that shows
both numbers.

Example:
    >>> e = training_estimate(mlp_network(40, [100, 100], 10), batch=0, optimizer="adam")
    >>> e.parameters, e.bytes
    (15210, 243360)
    >>> require_memory("run", "hidden", [100, 100], e, available=1 << 30)  # fits: no error
    >>> require_memory("run", "hidden", [100, 100], e, available=100_000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    weightlab._validate.ParameterError: The 'hidden' parameter of run must be small enough to \
fit in memory: about 238 KiB needed (weights 59.4 KiB, ...), 97.7 KiB available. Got [100, 100].
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from weightlab._validate import fail

__all__ = [
    "BYTES_PER_VALUE",
    "Estimate",
    "Network",
    "available_bytes",
    "cnn_network",
    "format_bytes",
    "measure_estimate",
    "mlp_network",
    "optimizer_slots",
    "require_memory",
    "shortfall",
    "training_estimate",
]

BYTES_PER_VALUE = 4  # float32
# Values kept per unit and example while a batch goes forward and back: the layer's
# output, the activation's output, and the gradient flowing through each.
_KEPT_PER_UNIT = 4


@dataclass(frozen=True)
class Estimate:
    """Float32 values a piece of work holds at once, by what they are for.

    ``parts`` are per model; ``models`` counts the models held together (stacked runs,
    side-by-side networks), ``shared`` the values they share (inputs, data).
    """

    parts: tuple[tuple[str, int], ...]
    parameters: int
    models: int = 1
    shared: tuple[tuple[str, int], ...] = ()
    kind: str = "runs"  # what the models are, in messages: runs, networks

    @property
    def bytes(self) -> int:
        """Everything, in bytes."""
        per_model = sum(v for _, v in self.parts)
        return BYTES_PER_VALUE * (self.models * per_model + sum(v for _, v in self.shared))

    def breakdown(self) -> str:
        """``"weights 59 KiB, gradients 59 KiB, ..."`` (parts that round to nothing left
        out)."""
        shown = [(what, self.models * v) for what, v in self.parts] + list(self.shared)
        return ", ".join(
            f"{what} {format_bytes(BYTES_PER_VALUE * v)}" for what, v in shown if v > 0
        )


def format_bytes(n: float) -> str:
    """Bytes in binary units, three significant digits.

    Example:
        >>> format_bytes(34_359_738_368), format_bytes(1536), format_bytes(12)
        ('32 GiB', '1.5 KiB', '12 B')
    """
    for unit, size in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{int(n)} B"


@dataclass(frozen=True)
class Network:
    """The sizes of a network that its memory depends on."""

    parameters: int  # weights and biases
    largest: int  # values of its largest weight tensor
    units: int  # values one example produces through it, the input included


def mlp_network(in_features: int, hidden: Sequence[int], out_features: int) -> Network:
    """The sizes of ``mlp(in_features, hidden, out_features)``.

    Example:
        >>> mlp_network(40, [100, 100], 10)  # 40·100+100 + 100·100+100 + 100·10+10
        Network(parameters=15210, largest=10000, units=250)
    """
    sizes = [in_features, *hidden, out_features]
    pairs = list(itertools.pairwise(sizes))
    return Network(sum(a * b + b for a, b in pairs), max(a * b for a, b in pairs), sum(sizes))


def cnn_network(
    in_channels: int,
    channels: Sequence[int],
    out_features: int,
    kernel_size: int,
    length: Sequence[int],
) -> Network:
    """The sizes of ``cnn(in_channels, channels, out_features, kernel_size, dim)`` on
    inputs of spatial size ``length`` (``[40]``, ``[32, 32]``; 'same' padding keeps it).

    Example:
        >>> cnn_network(1, [16, 16], 10, 3, [40])  # 1·16·3+16 + 16·16·3+16 + 16·10+10
        Network(parameters=1018, largest=768, units=1330)
    """
    taps = kernel_size ** len(length)
    points = math.prod(length)
    pairs = list(itertools.pairwise([in_channels, *channels]))
    convs = sum(a * b * taps + b for a, b in pairs)
    head = channels[-1] * out_features + out_features
    largest = max(max(a * b * taps for a, b in pairs), channels[-1] * out_features)
    units = (in_channels + sum(channels)) * points + out_features
    return Network(convs + head, largest, units)


def optimizer_slots(name: str, momentum: float = 0.0) -> int:
    """Values the optimizer keeps per weight: Adam and AdamW two moments, SGD with
    momentum one, plain SGD none.

    Example:
        >>> optimizer_slots("adam"), optimizer_slots("sgd", 0.9), optimizer_slots("sgd")
        (2, 1, 0)
    """
    if name in ("adam", "adamw"):
        return 2
    return 1 if momentum > 0 else 0


def training_estimate(
    network: Network,
    *,
    batch: int,
    optimizer: str = "adam",
    momentum: float = 0.0,
    models: int = 1,
    kind: str = "runs",
    shared: int = 0,
) -> Estimate:
    """What training ``models`` copies of ``network`` at once holds: weights,
    gradients, optimizer state and the activations of a batch of ``batch`` examples
    (all per model), plus ``shared`` values (the data); ``kind`` names the copies in
    messages (runs, networks)."""
    slots = optimizer_slots(optimizer, momentum)
    state = "Adam state" if optimizer in ("adam", "adamw") else "momentum"
    n = network.parameters
    parts = (
        ("weights", n),
        ("gradients", n),
        (state, slots * n),
        ("activations", _KEPT_PER_UNIT * batch * network.units),
    )
    return Estimate(parts, n, models, (("data", shared),) if shared else (), kind)


def measure_estimate(network: Network, batch: int, *, orthogonal: bool = False) -> Estimate:
    """What measuring ``network`` at initialization on a batch of ``batch`` examples
    holds: weights, gradients and the activations, and with ``orthogonal`` (orthogonal
    or LSUV init) room to orthogonalize its largest weight (a QR decomposition needs
    about three copies)."""
    n = network.parameters
    parts = (
        ("weights", n),
        ("gradients", n),
        ("QR workspace", 3 * network.largest if orthogonal else 0),
        ("activations", _KEPT_PER_UNIT * batch * network.units),
    )
    return Estimate(parts, n)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_free() -> int | None:
    """Room left under this process's cgroup memory limit (v2, then v1), if it has one."""
    for limit_file, used_file in (
        ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
        (
            "/sys/fs/cgroup/memory/memory.limit_in_bytes",
            "/sys/fs/cgroup/memory/memory.usage_in_bytes",
        ),
    ):
        try:
            limit = Path(limit_file).read_text(encoding="ascii").strip()
            used = int(Path(used_file).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:  # v1 writes "no limit" as ~2**63
            return max(0, int(limit) - used)
    return None


def available_bytes() -> int | None:
    """Memory free for new work: the kernel's MemAvailable (or, where there is no
    /proc/meminfo, the free physical pages), capped by a cgroup limit; None when the
    system does not say."""
    free = _meminfo_available()
    if free is None:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            free = None
    limited = _cgroup_free()
    candidates = [v for v in (free, limited) if v is not None]
    return min(candidates) if candidates else None


def shortfall(estimate: Estimate, *, context: str = "", available: int | None = None) -> str | None:
    """None when ``estimate`` fits in the free memory (or the system does not say how
    much is free), else what completes "must be ...": ``"small enough to fit in
    memory: about X needed (...), Y available"``.  ``context`` follows "in memory"
    (``" at depth 200"``); ``available`` defaults to :func:`available_bytes`."""
    free = available_bytes() if available is None else available
    if free is None or estimate.bytes <= free:
        return None
    needed = f"about {format_bytes(estimate.bytes)} needed"
    if estimate.models > 1:
        needed += f" for {estimate.models} {estimate.kind} trained at once"
    return (
        f"small enough to fit in memory{context}: {needed} ({estimate.breakdown()}), "
        f"{format_bytes(free)} available"
    )


def require_memory(
    owner: str,
    name: str,
    got: object,
    estimate: Estimate,
    *,
    context: str = "",
    available: int | None = None,
) -> None:
    """Refuse work whose estimate is over the free memory, in the one error format
    (``The 'width' parameter of inspect must be small enough to fit in memory: about
    X needed (...), Y available. Got 65536.``); see :func:`shortfall`."""
    expected = shortfall(estimate, context=context, available=available)
    if expected is not None:
        raise fail(owner, name, expected, got)
