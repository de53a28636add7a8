"""Instructions executed per month (valgrind's callgrind): a figure that load cannot blur.

CPU time on a shared machine varies by 10-40% from run to run, more than most changes to the
monthly step save. The number of instructions the step executes does not depend on the load:
this script runs the baseline under ``valgrind --tool=callgrind`` with instrumentation off
while it imports and builds the model and runs the first month, switches it on
(``callgrind_control -i on``) for the remaining months, and prints the instructions per month
(``Ir``). Repeated runs of the same code agree to about 0.1% (some set orders follow Python's
hash seed). Needs ``valgrind`` on the PATH; about 40 s at scale 0.05 and 2 minutes at full scale.

``--part`` counts only the calls of one part of the month instead (``Measure.charge_by_county``,
``Ledger.spend``, ``Ledger._record``, ``InvariantChecker.check``, ``Recorder.record_month``, a
measure's phase such as ``industry.enrol``, a mechanism's hook such as
``verification.after_household_verdict``, or the model's own ``model._assess_december``): the
part is called through ``exec`` and callgrind collects only inside it.

``--tables`` records only the tables named besides ``annual`` and ``monthly`` (``--tables ""``
for none), as the runs of many-run work do (:func:`model.results.recording.run_for_outcomes`).

Usage::

    python benchmarks/month_instructions.py --scale 0.05
    python benchmarks/month_instructions.py --scale 0.05 --part InvariantChecker.check
    python benchmarks/month_instructions.py --scale 0.05 --tables by_party
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "baseline.toml"
CALL = compile("result = part(*args, **kwargs)", "<part>", "exec")


def _through_exec(obj: Any, name: str) -> None:
    func = getattr(obj, name)

    def called(*args: Any, **kwargs: Any) -> Any:
        namespace = {"part": func, "args": args, "kwargs": kwargs}
        exec(CALL, namespace)  # callgrind collects inside builtin exec only
        return namespace["result"]

    setattr(obj, name, called)


def _child(
    scenario: Path, scale: float, part: str | None, flags: Path, tables: tuple[str, ...] | None
) -> None:
    import model
    from model.engine import dynamics, funding, invariants
    from model.engine.interventions import base
    from model.results.recording import RecordedModel, Recorder

    m = RecordedModel(model.load_scenario(scenario), seed=1, population_scale=scale, tables=tables)
    m.step()  # the first month outside the count (lazy imports, first-use caches)
    if part:
        owner, _, attribute = part.rpartition(".")
        classes = {
            "Measure": base.Measure,
            "Ledger": funding.Ledger,
            "Treasury": funding.Treasury,
            "InvariantChecker": invariants.InvariantChecker,
            "Recorder": Recorder,
            "dynamics": dynamics,
        }
        targets = [classes[owner]] if owner in classes else []
        targets += [measure for measure in m.measures if measure.name == owner]
        targets += [mechanism for mechanism in m.mechanisms if mechanism.name == owner]
        targets += [m] if owner == "model" else []
        if not targets:
            raise SystemExit(f"--part {part}: no such part")
        for target in targets:
            _through_exec(target, attribute)
    (flags / "ready").touch()
    while not (flags / "go").exists():
        time.sleep(0.05)
    m.run_model()
    (flags / "done").touch()
    print(f"MONTHS {m.month_index - 1}")
    time.sleep(0.5)  # callgrind_control switches instrumentation off before the exit


def measure(
    scenario: Path, scale: float, part: str | None = None, tables: str | None = None
) -> float:
    """Instructions per month (months 2 to the last) of the baseline at ``scale``."""
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        flags = Path(tmp)
        out = flags / "callgrind.out"
        cmd = [
            "valgrind",
            "--tool=callgrind",
            "--instr-atstart=no",
            f"--callgrind-out-file={out}",
        ]
        if part:
            cmd += ["--collect-atstart=no", "--toggle-collect=builtin_exec*"]
        cmd += [sys.executable, __file__, "--child", str(flags), "--scale", str(scale)]
        cmd += ["--scenario", str(scenario)] + (["--part", part] if part else [])
        cmd += [] if tables is None else ["--tables", tables]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        while not (flags / "ready").exists():
            if proc.poll() is not None:
                raise SystemExit("the model failed under valgrind")
            time.sleep(0.2)
        control = ["callgrind_control", "-i"]
        subprocess.run([*control, "on", str(proc.pid)], capture_output=True, check=True)
        (flags / "go").touch()
        while not (flags / "done").exists():
            time.sleep(0.2)
        subprocess.run([*control, "off", str(proc.pid)], capture_output=True, check=True)
        stdout, _ = proc.communicate()
        months = int(next(x for x in stdout.splitlines() if x.startswith("MONTHS ")).split()[1])
        totals = next(x for x in out.read_text().splitlines() if x.startswith("totals:"))
        return int(totals.split()[1]) / months


def main() -> None:
    """Command line: print the instructions per month."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--scenario", type=Path, default=BASELINE)
    parser.add_argument("--part", help="count only this part of the month")
    parser.add_argument(
        "--tables", help="record only these tables (comma-separated) besides annual and monthly"
    )
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.child is not None:
        tables = None if a.tables is None else tuple(t for t in a.tables.split(",") if t)
        _child(a.scenario, a.scale, a.part, a.child, tables)
        return
    ir = measure(a.scenario, a.scale, a.part, a.tables)
    what = a.part or "the whole month"
    if a.tables is not None:
        what += f", recording annual, monthly{''.join(', ' + t for t in a.tables.split(',') if t)}"
    print(f"{a.scenario.name} at scale {a.scale}: {ir / 1e6:.3f} M instructions a month ({what})")


if __name__ == "__main__":
    sys.path.append(str(ROOT))  # after PYTHONPATH: another checkout can be measured
    os.chdir(ROOT)
    main()
