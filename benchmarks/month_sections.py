"""Where the CPU time of a month goes: each part of the monthly schedule, timed apart.

Wraps each measure's ``enrol``/``apply``/``respond``/``cost``, the background dynamics, the
treasury, the invariant checks, the December assessment and the recorder with a CPU-time
(``time.process_time``) accumulator, runs the baseline ``--repeats`` times at ``--scale`` and
prints, for each part, the least CPU time of any repeat in ms per month. The money moved by the
measures (``Measure.charge_by_county``, ``Ledger.spend``, ``Ledger._record``) is inside the
measures' figures and is also shown apart. The wrappers add about 1 µs per call.

Usage::

    python benchmarks/month_sections.py --scale 0.05 --repeats 5
"""

from __future__ import annotations

import argparse
import collections
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"


def _wrap(obj: Any, name: str, label: str, acc: dict, calls: dict) -> None:
    func: Callable = getattr(obj, name)
    clock = time.process_time

    def timed(*args: Any, **kwargs: Any) -> Any:
        t0 = clock()
        try:
            return func(*args, **kwargs)
        finally:
            acc[label] += clock() - t0
            calls[label] += 1

    setattr(obj, name, timed)


def measure(scale: float, repeats: int, scenario_path: Path = BASELINE) -> dict:
    """Best-of-``repeats`` CPU seconds of each part of the month, and of the whole step."""
    import model
    from model.engine import dynamics, funding
    from model.engine.interventions import base
    from model.results.recording import RecordedModel

    scenario = model.load_scenario(scenario_path)
    acc: dict[str, float] = collections.defaultdict(float)
    calls: dict[str, int] = collections.Counter()
    for fn in ("start_of_year", "flow_base_incomes", "illness", "labour_market"):
        _wrap(dynamics, fn, f"dynamics.{fn}", acc, calls)
    money = {
        (base.Measure, "charge_by_county"): "money: Measure.charge_by_county (in measures)",
        (funding.Ledger, "spend"): "money: Ledger.spend (in charge_by_county)",
        (funding.Ledger, "_record"): "money: Ledger._record (in spend, receive)",
    }
    originals = {key: getattr(*key) for key in money}
    for (cls, name), label in money.items():
        _wrap(cls, name, label, acc, calls)
    best: dict[str, float] = collections.defaultdict(lambda: float("inf"))
    per_month_calls: dict[str, float] = {}
    try:
        for _ in range(repeats):
            acc.clear()
            calls.clear()
            m = RecordedModel(scenario, seed=1, population_scale=scale)
            _wrap(m.treasury, "receive_month", "treasury.receive_month", acc, calls)
            _wrap(m.invariants, "check", "invariants.check", acc, calls)
            _wrap(m, "record", "recorder.record", acc, calls)
            _wrap(m, "_assess_december", "assessment (December)", acc, calls)
            for measure_ in m.measures:
                for phase in ("enrol", "apply", "respond", "cost"):
                    _wrap(measure_, phase, f"{measure_.name}.{phase}", acc, calls)
            t0 = time.process_time()
            m.run_model()
            acc["whole step"] = time.process_time() - t0
            months = m.month_index
            households = m.households.n
            for k, v in acc.items():
                best[k] = min(best[k], v)
            per_month_calls = {k: n / months for k, n in calls.items()}
    finally:
        for (cls, name), func in originals.items():
            setattr(cls, name, func)
    return {
        "households": households,
        "months": months,
        "ms_per_month": {k: 1e3 * v / months for k, v in best.items()},
        "calls_per_month": per_month_calls,
    }


def main() -> None:
    """Command line: print the parts of a month, largest first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scenario", type=Path, default=BASELINE)
    a = parser.parse_args()
    out = measure(a.scale, a.repeats, a.scenario)
    ms = out["ms_per_month"]
    print(
        f"{out['households']:,} households, {out['months']} months; least CPU of "
        f"{a.repeats} repeats, ms per month"
    )
    parts = {k: v for k, v in ms.items() if k != "whole step" and not k.startswith("money")}
    for k, v in sorted(parts.items(), key=lambda kv: -kv[1]):
        if v >= 0.005:
            print(f"  {k:44s} {v:7.3f}")
    rest = ms["whole step"] - sum(parts.values())
    print(f"  {'step itself, villages (the rest)':44s} {rest:7.3f}")
    print(f"  {'whole step':44s} {ms['whole step']:7.3f}")
    for k, v in ms.items():
        if k.startswith("money"):
            print(f"  {k:44s} {v:7.3f}  ({out['calls_per_month'][k]:.1f} calls a month)")


if __name__ == "__main__":
    main()
