"""How much `weightlab.diagnose.measure` adds to a plain forward + backward pass.

Baseline: a 100-layer, width-1024 ReLU MLP, batch 256, one forward pass and the
gradients of every weight (the same `torch.autograd.grad` call `measure` makes).
Target: the measurement costs at most 1.5x the baseline.  Prints the median times of
several repeats and their ratio; one torch thread unless --threads says otherwise.

    python benchmarks/diagnose_overhead.py [--depth 100] [--width 1024] [--batch 256]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from weightlab.diagnose import measure
from weightlab.init import init_module
from weightlab.models import mlp


def _plain(model: torch.nn.Module, x: torch.Tensor, r: torch.Tensor) -> None:
    y = model(x)
    weights = [p for p in model.parameters() if p.dim() >= 2]
    torch.autograd.grad((y * r).sum(), weights)


def _median_seconds(fn: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--width", type=int, default=1024)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    gen = torch.Generator().manual_seed(0)
    model = mlp(args.width, [args.width] * args.depth, 10, "relu")
    init_module(model, "he_normal", generator=gen)
    model.to(args.device)
    x = torch.randn(args.batch, args.width, generator=gen).to(args.device)
    r = torch.randn(args.batch, 10, generator=gen).to(args.device)

    def sync() -> None:
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    def plain() -> None:
        _plain(model, x, r)
        sync()

    def measured() -> None:
        measure(model, x, generator=torch.Generator().manual_seed(1))
        sync()

    plain(), measured()  # warm-up
    base = _median_seconds(plain, args.repeats)
    diag = _median_seconds(measured, args.repeats)
    print(
        f"model: {args.depth} x {args.width} ReLU MLP, batch {args.batch}, {args.device}, "
        f"{args.threads} thread(s)"
    )
    print(f"plain forward+backward: {base * 1000:.1f} ms (median of {args.repeats})")
    print(f"weightlab measure:      {diag * 1000:.1f} ms")
    print(f"ratio: {diag / base:.2f} (target <= 1.50)")


if __name__ == "__main__":
    main()
