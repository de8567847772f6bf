"""A sweep's claims judged on its stored runs: the runs of the spec as it now stands
(a spec that changed keeps its older runs in the store; they are not judged)."""

from __future__ import annotations

from weightlab.claims import Verdict, evaluate_all
from weightlab.claims.metrics import RunView
from weightlab.store import Store
from weightlab.sweep.spec import SweepSpec, expand, load_spec

__all__ = ["judge", "judge_spec"]

FINISHED = ("done", "diverged")


def judge(store: Store, sweep: str) -> list[Verdict]:
    """Every claim of ``sweep``'s stored spec, judged on its finished runs."""
    return judge_spec(load_spec(store.sweep_spec(sweep)), store)


def judge_spec(spec: SweepSpec, store: Store) -> list[Verdict]:
    """Every claim of ``spec``, judged on the finished runs ``store`` holds of it."""
    if not spec.claims:
        return []
    hashes = {config.hash() for config in expand(spec)}
    runs = [
        RunView(
            r.config, r.status, r.final, store.metrics(r.id), store.diagnostics(r.id), r.seconds
        )
        for r in store.runs(spec.name)
        if r.config_hash in hashes and r.status in FINISHED
    ]
    return evaluate_all(spec.claims, runs)
