"""Every example spec tells its story with claims, and every claim holds when the
example runs at its real size (slow: about a minute each on two cores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from weightlab.store import Store
from weightlab.sweep import load_spec, run_sweep
from weightlab.sweep.judge import judge_spec

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "examples").glob("*.yaml"))
# Stories that need several seeds to be judged at all state at least this many.
MIN_SEEDS = 5


def test_every_example_states_claims_over_enough_seeds() -> None:
    assert len(EXAMPLES) >= 9
    for path in EXAMPLES:
        spec = load_spec(path)
        seeds = spec.seeds if isinstance(spec.seeds, list) else [spec.seeds]
        assert spec.claims, path.name
        assert len(seeds) >= MIN_SEEDS, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_claim_of_every_example_holds(path: Path, tmp_path: Path) -> None:
    spec = load_spec(path)
    store = Store(tmp_path)
    summary = run_sweep(spec, store, backend="local", workers=2)
    assert not summary.failed, summary.failed
    verdicts = judge_spec(spec, store)
    assert len(verdicts) == len(spec.claims)
    failing = [f"{v.text}: {v.verdict} ({v.detail})" for v in verdicts if v.verdict != "holds"]
    assert not failing, failing
