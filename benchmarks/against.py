"""The same workloads on another revision and on this checkout, one after the other, side by side.

Machines differ by a factor of two or more, and an aim set in milliseconds on one machine says
little on another: to tell what the code gained, run an earlier revision's benchmark and this
checkout's on the same machine, in turn. This script checks the revision out in a temporary git
worktree, runs its ``benchmarks/run_benchmarks.py --only ...`` (with its own ``model`` package
first on the path), then this checkout's, ``--rounds`` times alternately so that a slow spell of
the machine falls on both, and prints every figure the two share with the ratio this / revision
(below 1: this checkout is faster). Each figure is the least of the rounds (noise only adds
time). Each side's compiled kernels, where it has them, are loaded into numba's cache first.
The revision must have ``run_benchmarks.py`` with ``--only`` and ``--out`` (from commit
``f7d7a84``, where issue 18's workloads begin).

``--also`` names workloads run on this checkout only (those the revision does not know), such as
the compiled-kernel runs that this checkout's fit of many-run work needs; their figures and fits
are printed for this checkout alone.

Usage::

    python benchmarks/against.py f7d7a84                     # W1 scale 0.1, W1, W4, naive Mesa
    python benchmarks/against.py f7d7a84 --only "W1 scale 0.1,W1" --rounds 2 --json cmp.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ONLY = "W1 scale 0.1,W1,W4,naive"
DEFAULT_ALSO = "W1 scale 0.1 compiled kernels,W1 scale 0.005 compiled kernels"

#: per-household-month figures first (CPU where a side recorded it), then whole-job wall times
FIGURES = (
    ("cpu_ns_per_household_month", "CPU ns per household-month"),
    ("ns_per_household_month", "ns per household-month"),
    ("wall_s", "wall s"),
)


#: the fit each side's many-run work is described by, first found: the compiled kernels' (which
#: every run of a many-run job loads), else the CPU fit of the only engine an older revision had
MANY_RUN_FITS = ("cost_model_compiled_cpu", "cost_model_cpu", "cost_model")


def figures(results: dict[str, Any]) -> dict[str, tuple[str, float]]:
    """Each workload's main figure in a ``results.json``: (what it is, value), lower is better.

    A single-run workload gives its CPU time per household-month (its wall time where CPU was
    not recorded), a many-run workload (W2, W4) its wall time; each fit of the month
    (``cost_model*``) gives its fixed part and its part per household, and the fit of
    :data:`MANY_RUN_FITS` is also given under one name on both sides.
    """
    out: dict[str, tuple[str, float]] = {}
    for row in results.get("workloads", []):
        for key, label in FIGURES:
            if row.get(key) is not None:
                out[row["workload"]] = (label, float(row[key]))
                break
    # the fit of the month as many-run work runs it: the compiled kernels' where a side has them
    many_run = next((k for k in MANY_RUN_FITS if isinstance(results.get(k), dict)), None)
    if many_run is not None:
        fit = results[many_run]
        out["fixed part of a many-run month"] = ("ms a month", float(fit["fixed_ms_per_month"]))
        out["many-run month, per household"] = (
            "ns a household-month",
            float(fit["marginal_ns_per_household_month"]),
        )
    for name, fit in sorted(results.items()):
        if name.startswith("cost_model") and isinstance(fit, dict):
            over = ", ".join(fit.get("fixed_share", {}))
            out[f"{name} fixed ({over})"] = ("ms a month", float(fit["fixed_ms_per_month"]))
            out[f"{name} per household ({over})"] = (
                "ns a household-month",
                float(fit["marginal_ns_per_household_month"]),
            )
    return out


def best_of(rounds: list[dict[str, tuple[str, float]]]) -> dict[str, tuple[str, float]]:
    """The least value of each figure over the rounds (figures missing from a round are kept)."""
    best: dict[str, tuple[str, float]] = {}
    for figs in rounds:
        for name, (label, value) in figs.items():
            if name not in best or value < best[name][1]:
                best[name] = (label, value)
    return best


def compare(
    theirs: dict[str, tuple[str, float]], ours: dict[str, tuple[str, float]]
) -> list[dict[str, Any]]:
    """Rows of the figures: both sides' values and this / revision where both have one."""
    rows = []
    for name in [*theirs, *(n for n in ours if n not in theirs)]:
        label = (theirs.get(name) or ours[name])[0]
        a = theirs[name][1] if name in theirs else None
        b = ours[name][1] if name in ours else None
        ratio = b / a if a is not None and b is not None and a > 0 else None
        rows.append({"figure": name, "unit": label, "revision": a, "this": b, "ratio": ratio})
    return rows


#: Fills numba's cache of a side's compiled kernels, where it has them, before anything is timed
#: (a new worktree starts with an empty cache, and W4's workers would otherwise compile them).
WARM_KERNELS = """
try:
    from model.engine import kernels
except ImportError:  # a revision from before the compiled kernels
    pass
else:
    kernels.load()
"""


def _warm(root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(root)}
    proc = subprocess.run(
        [sys.executable, "-c", WARM_KERNELS], cwd=root, env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: loading the compiled kernels of {root} failed:\n{proc.stderr}")


def _bench(root: Path, only: str, out: Path) -> dict[str, Any]:
    """Run ``root``'s benchmark on the workloads ``only``, with ``root``'s package first."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    cmd = [sys.executable, str(root / "benchmarks" / "run_benchmarks.py"), "--only", only]
    proc = subprocess.run(
        [*cmd, "--out", str(out)], cwd=root, env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise SystemExit(f"error: {' '.join(cmd)} in {root} failed:\n{proc.stderr.strip()}")
    return json.loads(out.read_text())


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:,.3f}" if value < 10 else f"{value:,.1f}"


def main(argv: list[str] | None = None) -> int:
    """Command line: run both sides, print the table, optionally write it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="a git revision of this repository (commit, tag, branch)")
    parser.add_argument("--only", default=DEFAULT_ONLY, help="workloads run on both sides")
    parser.add_argument("--also", default=DEFAULT_ALSO, help="workloads run on this side only")
    parser.add_argument("--rounds", type=int, default=1, help="alternate rounds (default 1)")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument(
        "--no-warm",
        action="store_true",
        help="do not load the compiled kernels first (for workloads that run none, e.g. import)",
    )
    a = parser.parse_args(argv)
    if a.rounds < 1:
        parser.error(f"--rounds: expected a positive integer, found {a.rounds}")
    resolved = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{a.revision}^{{commit}}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if resolved.returncode != 0:
        parser.error(f"revision: {a.revision!r} is no commit of {ROOT}")
    commit = resolved.stdout.strip()
    ours_only = ",".join(w for w in (a.only, a.also) if w)
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="against-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(tree), commit],
            check=True,
        )
        try:
            if not a.no_warm:
                print("loading each side's compiled kernels, where it has them ...", flush=True)
                _warm(tree)
                _warm(ROOT)
            theirs, ours = [], []
            for k in range(a.rounds):
                print(f"round {k + 1} of {a.rounds}: {commit[:7]} ...", flush=True)
                theirs.append(figures(_bench(tree, a.only, Path(tmp) / f"theirs{k}.json")))
                print(f"round {k + 1} of {a.rounds}: this checkout ...", flush=True)
                ours.append(figures(_bench(ROOT, ours_only, Path(tmp) / f"ours{k}.json")))
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
            )
    rows = compare(best_of(theirs), best_of(ours))
    width = max(len(r["figure"]) for r in rows)
    print(f"\n{'figure':{width}}  {'unit':22}  {commit[:7]:>10}  {'this':>10}  this / {commit[:7]}")
    for r in rows:
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}  (1 / {1 / r['ratio']:.2f})"
        print(
            f"{r['figure']:{width}}  {r['unit']:22}  {_fmt(r['revision']):>10}  "
            f"{_fmt(r['this']):>10}  {ratio}"
        )
    load_end = os.getloadavg()
    print(
        f"\nleast of {a.rounds} round(s) each; load average (1, 5, 15 min) "
        f"{', '.join(f'{x:.1f}' for x in load_start)} at the start, "
        f"{', '.join(f'{x:.1f}' for x in load_end)} at the end, {os.cpu_count()} cores"
    )
    if a.json:
        a.json.write_text(
            json.dumps({"revision": commit, "rounds": a.rounds, "rows": rows}, indent=1) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
