"""Where the CPU time of a month goes: each part of the monthly schedule, timed apart.

Wraps each measure's ``enrol``/``apply``/``respond``/``cost``, the background dynamics, the
treasury, the invariant checks, step 7's bookkeeping, the December assessment and the recorder
with a CPU-time (``time.process_time``) accumulator, runs the baseline ``--repeats`` times at
``--scale`` and prints, for each part, the least CPU time of any repeat in ms per month. The
money moved by the measures (``Measure.charge_by_county``, ``Ledger.spend``,
``Ledger._record``) is inside the measures' figures and is also shown apart. The wrappers add
about 1 µs per call.

With ``--knockout`` it measures the other way, without timers: each part in turn is replaced
by a call that does nothing, and the whole step's saving is shown. That is the part's own cost
together with what it makes the later parts do (a measure that enrols nobody leaves its apply
and its charges less work), and small savings, negative ones among them, are noise and such
knock-on effects. The months run without a part are wrong, so only their time is read; a part
without which the run stops (an invariant check fails) is named with the error instead.

Usage::

    python benchmarks/month_sections.py --scale 0.05 --repeats 5
    SHAOGUAN_ABM_KERNELS=compiled python benchmarks/month_sections.py --scale 0.005 \\
        --repeats 15 --knockout

(``SHAOGUAN_ABM_KERNELS=compiled``: the compiled kernels every run of a many-run job has; a
lone small run otherwise keeps numpy's.)
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
            _wrap(m.households, "close_month", "households.close_month (step 7)", acc, calls)
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


#: the phases of a measure and the hooks of a mechanism that ``--knockout`` replaces
MEASURE_PHASES = ("enrol", "apply", "respond")
MECHANISM_HOOKS = ("after_villages_act", "end_of_month")


def _parts(m: Any) -> dict[str, tuple[Any, str]]:
    """Each part ``--knockout`` can replace: label -> (the object, the method's name)."""
    parts = {"invariants.check": (m.invariants, "check"), "recorder.record": (m, "record")}
    for measure_ in m.measures:
        for phase in MEASURE_PHASES:
            parts[f"{measure_.name}.{phase}"] = (measure_, phase)
    for mechanism in m.mechanisms:
        for hook in MECHANISM_HOOKS:
            parts[f"{mechanism.name}.{hook}"] = (mechanism, hook)
    return parts


class UnknownPart(ValueError):
    """A ``--knockout`` part that the model does not have."""


def _nothing(*args: Any, **kwargs: Any) -> None:
    return None


def knockout(
    scale: float, repeats: int, scenario_path: Path = BASELINE, only: tuple[str, ...] = ()
) -> dict:
    """CPU ms a month the step saves without each part: the least step with it and without it.

    The saving is the part's own cost and what it makes the later parts do (module docstring).

    Args:
        scale: Population scale of the runs.
        repeats: Runs of each variant (the least CPU time is kept).
        scenario_path: The scenario.
        only: Labels of the parts to replace (default every part, :func:`_parts`).

    Returns:
        ``households``, ``months``, ``kernels`` (``compiled`` or ``numpy``), ``whole`` (ms a
        month with every part) and ``saved``:
        label -> ms a month saved without the part, or why the run stopped without it.
    """
    import model
    from model.results.recording import RecordedModel

    scenario = model.load_scenario(scenario_path)
    labels = list(only) or list(_parts(RecordedModel(scenario, seed=1, population_scale=scale)))

    def least(part: str | None) -> tuple[float, Any]:
        """Least CPU ms a month over the repeats, and the last run's model."""
        best = float("inf")
        for _ in range(repeats):
            m = RecordedModel(scenario, seed=1, population_scale=scale)
            if part is not None:
                known = _parts(m)
                if part not in known:
                    raise UnknownPart(f"no part {part!r}: expected one of {sorted(known)}")
                setattr(*known[part], _nothing)
            t0 = time.process_time()
            m.run_model()
            best = min(best, time.process_time() - t0)
        return 1e3 * best / m.month_index, m

    whole, m = least(None)
    saved: dict[str, float | str] = {}
    for label in labels:
        try:
            saved[label] = whole - least(label)[0]
        except UnknownPart:
            raise
        except Exception as err:  # noqa: BLE001 - the run without the part stopped: say how
            first_line = str(err).splitlines()[0] if str(err) else ""
            saved[label] = f"the run stops without it ({type(err).__name__}: {first_line[:80]})"
    return {
        "households": m.households.n,
        "months": m.month_index,
        "kernels": m.kernels,
        "whole": whole,
        "saved": saved,
    }


def main() -> None:
    """Command line: print the parts of a month, largest first."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scenario", type=Path, default=BASELINE)
    parser.add_argument(
        "--knockout", action="store_true", help="each part's cost as what the step saves without it"
    )
    a = parser.parse_args()
    if a.knockout:
        out = knockout(a.scale, a.repeats, a.scenario)
        print(
            f"{out['households']:,} households, {out['months']} months, {out['kernels']} kernels; "
            f"least CPU of {a.repeats} runs: {out['whole']:.3f} ms a month; saved without each "
            "part:"
        )
        numbers = {k: v for k, v in out["saved"].items() if not isinstance(v, str)}
        for k, v in sorted(numbers.items(), key=lambda kv: -kv[1]):
            print(f"  {k:44s} {v:+7.3f}")
        for k, v in out["saved"].items():
            if isinstance(v, str):
                print(f"  {k:44s} {v}")
        return
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
